"""The console's files (docs/console.md): served under a strict policy, revalidated, and written so that what the
API returns can only ever be text."""

from __future__ import annotations

import json
import re
from pathlib import Path

from threadrunner.api import console
from threadrunner.api.http_server import http_event

FILES = Path(console.__file__).parent


def test_the_page_and_its_files_come_with_a_policy_that_keeps_the_browser_to_them():
    for path, media_type in (
        ("/console", "text/html"),
        ("/console/console.js", "text/javascript"),
        ("/console/console.css", "text/css"),
    ):
        answer = console.answer(path, {})

        assert answer["statusCode"] == 200 and answer["headers"]["Content-Type"].startswith(media_type)
        headers = answer["headers"]
        assert headers["Content-Security-Policy"] == (
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
            "base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
        )
        assert (headers["X-Content-Type-Options"], headers["Referrer-Policy"]) == ("nosniff", "no-referrer")
        assert headers["Cache-Control"] == "no-cache" and headers["ETag"].startswith('"')


def test_a_browser_with_the_current_file_gets_304_and_a_path_the_console_lacks_gets_404():
    tag = console.answer("/console/console.js", {})["headers"]["ETag"]

    again = console.answer("/console/console.js", {"if-none-match": f'W/"old", {tag}'})
    missing = console.answer("/console/secrets.txt", {})

    assert (again["statusCode"], again["body"]) == (304, "")
    assert missing["statusCode"] == 404
    assert json.loads(missing["body"])["error"]["code"] == "unknown_url"
    assert console.serves("/console") and console.serves("/console/x") and not console.serves("/consoles")


def test_the_console_is_routed_as_api_gateway_routes_it():
    assert http_event("GET", "/console", [], b"")["routeKey"] == "GET /console"
    event = http_event("GET", "/console/console.js", [], b"")
    assert (event["routeKey"], event["pathParameters"]) == ("GET /console/{proxy+}", {"proxy": "console.js"})
    assert http_event("GET", "/v1/threads", [], b"")["pathParameters"] == {"proxy": "threads"}


def test_the_files_hold_no_inline_script_or_style_and_the_script_never_writes_markup():
    page = (FILES / "index.html").read_text()
    script = (FILES / "console.js").read_text()
    style = (FILES / "console.css").read_text()

    assert all(tag.group(1) for tag in re.finditer(r"<script([^>]*\bsrc=)?[^>]*>", page))
    assert "<style" not in page and not re.search(r"\sstyle=|\son\w+=", page)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(", "srcdoc"):
        assert sink not in script, sink
    assert "@import" not in style and "url(" not in style
    assert not re.search(r"https?://", page + script + style)  # nothing from elsewhere
