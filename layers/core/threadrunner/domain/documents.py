"""The text of a document, for file_search: plain text, markdown, HTML, JSON, source code, PDF and DOCX.

PDF with pypdf and DOCX with python-docx, imported only when such a file comes (only the IndexFunction reads
documents). A file whose text cannot be had raises :class:`Unreadable`, with what the client can fix, whatever
the parser raised. The work one file may cost is bounded (docs/operations.md, "Limits"): a small file must not
unfold into more text, memory or time than one IndexFunction invocation has.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

MAX_TEXT_CHARS = 2_000_000
"""The most characters of text a file may give (about 500,000 tokens); a longer one fails ``invalid_file``."""
MAX_PDF_PAGES = 2_000
"""The most pages a PDF may have."""
MAX_PDF_OPERATIONS = 1_000_000
"""The most content-stream operations the pages of one PDF may take to read (forms they draw included): pages
that share one huge stream, or draw one form thousands of times, cost their reader however small the file is."""
MAX_PDF_STREAM_BYTES = 16 * 1024 * 1024
"""The most bytes one stream of a PDF may decompress to."""
MAX_DOCX_PART_BYTES = 8 * 1024 * 1024
"""The most bytes one part of a DOCX (a zip) may unpack to: python-docx holds a part's XML tree, about twenty
times its size, in memory."""
MAX_DOCX_BYTES = 64 * 1024 * 1024
"""The most bytes all the parts of a DOCX may unpack to."""
MAX_DOCX_RATIO = 100
"""The most a part of over :data:`DOCX_RATIO_FROM` bytes may be compressed (unpacked size over packed size): text
and XML pack ten or twenty times; more is a decompression bomb."""
DOCX_RATIO_FROM = 1024 * 1024

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
    """The file's text, by its kind (its name's extension, else what its bytes look like), at most
    :data:`MAX_TEXT_CHARS` characters. Whatever a parser raises on a hostile file (a recursion too deep, broken
    XML, an exhausted limit) is :class:`Unreadable` (``invalid_file``), never an error of the IndexFunction."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    reader: Callable[[bytes], str]
    if extension == "pdf" or data.startswith(b"%PDF-"):
        kind, reader = "PDF", _pdf
    elif extension == "docx":
        kind, reader = "DOCX", _docx
    elif extension in HTML_EXTENSIONS:
        kind, reader = "HTML", lambda raw: _html(_bounded(_decoded(raw)))
    elif extension in TEXT_EXTENSIONS or not extension:
        kind, reader = extension.upper() or "text", lambda raw: _checked(extension, _bounded(_decoded(raw)))
    else:
        raise Unreadable("unsupported_file", f"Files of type '.{extension}' cannot be searched.")
    try:
        return _bounded(reader(data))
    except Unreadable:
        raise
    except Exception as exc:  # a parser's own error, a recursion or memory limit: the file is the cause
        raise Unreadable("invalid_file", f"The {kind} file could not be read.") from exc


def _bounded(text: str) -> str:
    _check_length(len(text))
    return text


def _check_length(characters: int) -> None:
    if characters > MAX_TEXT_CHARS:
        raise Unreadable(
            "invalid_file",
            f"The file's text is longer than {MAX_TEXT_CHARS:,} characters; split it into smaller files.",
        )


def _checked(extension: str, text: str) -> str:
    if extension == "json":
        try:
            json.loads(text)
        except RecursionError as exc:
            raise Unreadable("invalid_file", "The JSON file is nested too deeply to be read.") from exc
        except ValueError as exc:
            raise Unreadable("invalid_file", f"The JSON file could not be parsed: {exc}.") from exc
    return text


def _decoded(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise Unreadable("unsupported_file", "The file is binary, not text.")
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Unreadable("invalid_file", "The file is not UTF-8 or UTF-16 text.")


class _Operations:
    """Counts the content-stream operations a PDF's pages take to read, and stops the reading past the bound."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, operator: Any, operands: Any, cm: Any, tm: Any) -> None:
        self.count += 1
        self.check()

    def check(self) -> None:
        if self.count > MAX_PDF_OPERATIONS:
            raise Unreadable(
                "invalid_file", f"The PDF's pages take more than {MAX_PDF_OPERATIONS:,} drawing operations to read."
            )


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader, apply_configuration

    with apply_configuration(zlib_maximum_output_length=MAX_PDF_STREAM_BYTES):
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise Unreadable("invalid_file", "The PDF is encrypted.")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise Unreadable("invalid_file", f"The PDF has more than {MAX_PDF_PAGES:,} pages; split it.")
        operations, pages, size = _Operations(), list[str](), 0
        for page in reader.pages:
            pages.append((page.extract_text(visitor_operand_before=operations) or "").strip())
            operations.check()  # pypdf swallows what a visitor raises inside a form
            size += len(pages[-1])
            _check_length(size)
    text = "\n\n".join(pages)
    if not text.strip():
        raise Unreadable("unsupported_file", "The PDF has no text (a scan needs text recognition first).")
    return text


def _docx(data: bytes) -> str:
    import zipfile

    import docx

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        # Sizes as the zip declares them: zipfile never unpacks more than a part declares (its CRC fails).
        members = archive.infolist()
        if sum(member.file_size for member in members) > MAX_DOCX_BYTES or any(
            member.file_size > MAX_DOCX_PART_BYTES
            or (member.file_size > DOCX_RATIO_FROM and member.file_size > MAX_DOCX_RATIO * max(member.compress_size, 1))
            for member in members
        ):
            raise Unreadable(
                "invalid_file",
                f"The DOCX file unpacks to too much: at most {MAX_DOCX_PART_BYTES // 1024 // 1024} MiB a part, "
                f"{MAX_DOCX_BYTES // 1024 // 1024} MiB in all, each part packed at most {MAX_DOCX_RATIO} times.",
            )
    document = docx.Document(io.BytesIO(data))
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
