"""The text of a document, for file_search: plain text, markdown, HTML, JSON, source code, PDF and DOCX.

PDF with pypdf and DOCX with python-docx, imported only when such a file comes (only the IndexFunction reads
documents). A file whose text cannot be had raises :class:`Unreadable`, with what the client can fix.
"""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser

TEXT_EXTENSIONS = frozenset(
    [
        "txt",
        "md",
        "markdown",
        "rst",
        "json",
        "jsonl",
        "csv",
        "tsv",
        "xml",
        "yaml",
        "yml",
        "toml",
        "ini",
        "log",
        "tex",
        "py",
        "pyi",
        "js",
        "mjs",
        "cjs",
        "ts",
        "tsx",
        "jsx",
        "java",
        "kt",
        "kts",
        "c",
        "h",
        "cc",
        "cpp",
        "hpp",
        "cs",
        "go",
        "rs",
        "rb",
        "php",
        "swift",
        "scala",
        "sh",
        "bash",
        "zsh",
        "ps1",
        "sql",
        "r",
        "lua",
        "pl",
        "css",
        "scss",
    ]
)
HTML_EXTENSIONS = frozenset({"html", "htm", "xhtml"})


class Unreadable(Exception):
    """No text could be had of the file: ``unsupported_file`` (a kind not read) or ``invalid_file`` (broken)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def text_of(filename: str, data: bytes) -> str:
    """The file's text, by its kind (its name's extension, else what its bytes look like)."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension == "pdf" or data.startswith(b"%PDF-"):
        return _pdf(data)
    if extension == "docx":
        return _docx(data)
    if extension in HTML_EXTENSIONS:
        return _html(_decoded(data))
    if extension in TEXT_EXTENSIONS or not extension:
        text = _decoded(data)
        if extension == "json":
            try:
                json.loads(text)
            except ValueError as exc:
                raise Unreadable("invalid_file", f"The JSON file could not be parsed: {exc}.") from exc
        return text
    raise Unreadable("unsupported_file", f"Files of type '.{extension}' cannot be searched.")


def _decoded(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise Unreadable("unsupported_file", "The file is binary, not text.")
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Unreadable("invalid_file", "The file is not UTF-8 or UTF-16 text.")


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise Unreadable("invalid_file", "The PDF is encrypted.")
        text = "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise Unreadable("invalid_file", "The PDF could not be read.") from exc
    if not text.strip():
        raise Unreadable("unsupported_file", "The PDF has no text (a scan needs text recognition first).")
    return text


def _docx(data: bytes) -> str:
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise Unreadable("invalid_file", "The DOCX file could not be read.") from exc
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        parts += [" | ".join(cell.text for cell in row.cells) for row in table.rows]
    return "\n".join(part for part in parts if part.strip())


class _Text(HTMLParser):
    """The visible text of a page: scripts and styles left out, blocks on lines of their own."""

    _SKIPPED = frozenset({"script", "style", "noscript", "template"})
    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _html(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)
