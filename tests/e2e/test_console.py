"""The console (docs/console.md) in a real browser: Debian's Chromium, headless, driven by Playwright against the
local stack. It signs in, browses to a run with a server and a client tool call, reads their timeline, and takes
the screenshot the README shows."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from openai import OpenAI
from playwright.sync_api import expect, sync_playwright

from tests.e2e.helpers import ACCOUNT_BALANCE_TOOL, server_tool, steps
from threadrunner.api.console import CONTENT_SECURITY_POLICY

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium, which `make test` installs: nothing is downloaded at run time."""
HEADLESS = [
    "--headless=new",
    "--no-sandbox",  # root in CI, no user namespaces
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",  # no calls home: the page must load nothing but the stack's files
]
SCREENSHOT = Path(__file__).resolve().parents[2] / ".aws-sam" / "console.png"
"""Where the test leaves its screenshot: `make screenshot` copies it to docs/console.png, which a test run never
changes."""
HTML = "<img src=x onerror=alert(1)><b>bold</b>"
"""A message that would run script and make bold text, were it taken for markup."""
CLIENT_OUTPUT = '{"usd": 12, "memo": "<script>alert(2)</script>"}'
CLIENT_SECONDS = 0.5
"""How long the client takes with its output: a wait the timeline shows."""
LOOPBACK = ("127.0.0.1", "localhost")
USER = "alice@example.com"


def _run_with_both_sides(client: Any) -> tuple[Any, Any]:
    """A completed run whose one turn called a server tool (get_weather) and a client tool, on a thread that also
    holds a message written in HTML. Returns (thread, run)."""
    assistant = client.beta.assistants.create(
        model="gpt-4.1-mini", name="Weather desk", tools=[server_tool("get_weather"), ACCOUNT_BALANCE_TOOL]
    )
    thread = client.beta.threads.create(
        messages=[
            {"role": "user", "content": f"A note pasted from a web page: {HTML}"},
            {"role": "user", "content": "What's the weather in Paris and my account balance?"},
        ]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, timeout=60)
    assert run.status == "requires_action"
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    time.sleep(CLIENT_SECONDS)
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": CLIENT_OUTPUT}]
    )
    assert run.status == "completed"
    return thread, run


def _share_of_the_wait(client: Any, run: Any) -> float:
    """The client's wait for its output over the time from the first turn's start to the answer, from the steps'
    ``timing`` extension (at least the time the client took)."""
    tool_step, answer = steps(client, run)
    (waited,) = [
        call.model_extra["timing"]
        for call in tool_step.step_details.tool_calls
        if not call.model_extra.get("execution")
    ]
    wait = waited["completed_at_ms"] - waited["started_at_ms"]
    assert wait >= CLIENT_SECONDS * 1000
    return wait / (
        answer.model_extra["timing"]["created_at_ms"] - tool_step.model_extra["timing"]["turn_started_at_ms"]
    )


def _watched_page(browser: Any, blocked: list[str], dialogs: list[str], problems: list[str]) -> Any:
    """A page that may reach loopback only (``blocked``: what it tried elsewhere), and whose dialogs, errors and
    breaches of its own policy are kept."""

    def refused(text: str) -> None:
        if "Content Security Policy" in text:  # the page broke its own policy
            problems.append(text)

    def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.route("**/*", only_loopback)
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda line: refused(line.text))
    return page


def test_the_console_signs_in_shows_a_runs_timeline_as_text_and_only_the_projects_data(stack, project_client):
    client, _ = project_client
    key = client.api_key
    thread, run = _run_with_both_sides(client)
    status, queued = stack.api(
        "POST", f"/users/{USER}/messages", {"assistant_id": run.assistant_id, "content": "Hi"}, key
    )
    assert status == 202
    elsewhere = OpenAI(base_url=stack.api_url, api_key=stack.config.api_key, max_retries=0).beta.threads.create()
    console = stack.api_url.removesuffix("/v1") + "/console"
    blocked: list[str] = []
    dialogs: list[str] = []
    problems: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=HEADLESS)
        try:
            page = _watched_page(browser, blocked, dialogs, problems)

            # The page comes with its policy.
            answer = page.goto(console)
            assert answer is not None and answer.status == 200
            assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "no-referrer"

            # A wrong key: a clear refusal, and nothing kept.
            page.fill("#api-key", "sk-not-a-key-of-anyone")
            page.click("#sign-in-form button")
            expect(page.locator("#sign-in-error")).to_contain_text("Sign-in failed: the API refused this key.")
            expect(page.locator("#sign-in-error")).to_contain_text("Incorrect API key provided")
            assert page.evaluate("sessionStorage.length") == 0 and page.locator("#nav").is_hidden()

            # The project's key: its threads, newest first; the key in this tab's session storage only.
            page.fill("#api-key", key)
            page.click("#sign-in-form button")
            expect(page.locator("table.list")).to_contain_text(thread.id)
            stored = page.evaluate(
                "[sessionStorage.getItem('threadrunner.apiKey'), localStorage.length, document.cookie]"
            )
            assert stored == [key, 0, ""]
            assert elsewhere.id not in page.locator("#view").inner_text()

            # The thread: a message written in HTML is shown as the text it is.
            page.click(f"text={thread.id}")
            note = page.locator(".message-text", has_text=HTML)
            expect(note).to_have_count(1)
            assert note.inner_text() == f"A note pasted from a web page: {HTML}"
            assert page.locator("#view b, #view img, #view script").count() == 0

            # Its run: both calls on the timeline, with their arguments and outputs.
            page.click(f"text={run.id}")
            timeline = page.locator(".timeline")
            expect(timeline).to_contain_text("total")
            expect(page.locator(".row-model")).to_have_count(2)
            server = page.locator("details.row-server")
            client_call = page.locator("details.row-client")
            expect(server).to_contain_text("get_weather · server tool")
            expect(client_call).to_contain_text("get_account_balance · client tool · waited")
            server.locator("summary").click()
            client_call.locator("summary").click()
            assert json.loads(server.locator("pre.arguments").inner_text()) == {"city": "Paris"}
            assert json.loads(server.locator("pre.output").inner_text())["city"] == "Paris"
            assert json.loads(client_call.locator("pre.output").inner_text()) == json.loads(CLIENT_OUTPUT)
            assert page.locator("#view script").count() == 0
            # Drawn to scale: the wait's share of the bar is its share of the run's time, as the steps tell it.
            total = page.locator(".row-total .bar").bounding_box()
            waited = client_call.locator(".bar").bounding_box()
            assert total is not None and waited is not None
            assert abs(waited["width"] / total["width"] - _share_of_the_wait(client, run)) < 0.02
            client_call.locator("summary").click()  # the whole timeline in one screen, one call open
            page.evaluate("window.scrollTo(0, 0)")
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))

            # A user's thread, from the user's id.
            page.fill("#open-user-id", USER)
            page.click("#open-user button")
            page.click(f"text={queued['thread_id']}")
            expect(page.locator(".message-text", has_text="Hi")).not_to_have_count(0)

            # Another project's thread, by its id: not found, and nothing of it shown.
            page.goto(f"{console}#/threads/{elsewhere.id}")
            expect(page.locator("#view .error")).to_contain_text(f"Not found: No thread found with id '{elsewhere.id}'")
            assert page.locator(".messages").count() == 0
        finally:
            browser.close()

    assert blocked == [] and dialogs == [] and problems == []


def test_the_console_lists_the_projects_conversations_and_shows_their_items_as_text(stack, project_client):
    client, _ = project_client
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": f"A note pasted from a web page: {HTML}"}],
        metadata={"topic": "console"},
    )
    reply = client.responses.create(model="gpt-4.1-mini", conversation=conversation.id, input="Hello there")
    elsewhere = OpenAI(base_url=stack.api_url, api_key=stack.config.api_key, max_retries=0).conversations.create()
    blocked: list[str] = []
    dialogs: list[str] = []
    problems: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=HEADLESS)
        try:
            page = _watched_page(browser, blocked, dialogs, problems)
            page.goto(stack.api_url.removesuffix("/v1") + "/console")
            page.fill("#api-key", client.api_key)
            page.click("#sign-in-form button")
            page.click("#nav >> text=Conversations")
            expect(page.locator("table.list")).to_contain_text(conversation.id)
            expect(page.locator("table.list")).to_contain_text("topic: console")
            assert elsewhere.id not in page.locator("#view").inner_text()

            page.click(f"text={conversation.id}")
            texts = page.locator(".message-text")
            expect(texts).to_have_count(3)
            assert texts.all_inner_texts() == [
                reply.output_text,
                "Hello there",
                f"A note pasted from a web page: {HTML}",
            ]
            assert page.locator("#view b, #view img, #view script").count() == 0
        finally:
            browser.close()

    assert blocked == [] and dialogs == [] and problems == []
