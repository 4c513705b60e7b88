"""GraphiQL at /graphql, driven in Debian's Chromium through Playwright.

The browser tests need ``/usr/bin/chromium`` (``scripts/install-system-deps.sh``) and
the vendored assets (``scripts/build-web.sh``); they never run ``playwright install``.
They use the ``live_server_url`` and ``admin_credentials`` fixtures from
``tests/conftest.py``: a real uvicorn serving the real app.

Queries go through GraphiQL itself: the test types into the query editor (CodeMirror)
and clicks the run button, so a pass proves the page, its fetcher, the CSRF header and
the session cookie all work together.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    Route,
    expect,
    sync_playwright,
)

from web.graphiql import CSRF_HEADER, STATIC_DIR, VENDOR_FILES, graphiql_html, vendor_ready

CHROMIUM = Path(os.environ.get("OMEGRAPH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000

# GraphiQL 3 (CodeMirror 5) selectors.
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
RESULT_PANE = ".result-window"
RESULT_EDITOR = ".result-window .CodeMirror"
RUN_BUTTON = "button.graphiql-execute-button"

ME_QUERY = "{ me { username } }"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _skip_or_fail(reason: str) -> None:
    """Skip on a developer machine, fail in CI: a silently skipped browser test hides a
    missing install step."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _skip_or_fail(f"{CHROMIUM} missing: run scripts/install-system-deps.sh")
    if not vendor_ready(STATIC_DIR):
        _skip_or_fail("GraphiQL assets missing from web/static/vendor: run scripts/build-web.sh")
    browser = playwright_instance.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


class PageRecord:
    """What one page did: every request it made, and errors it reported."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.page_errors: list[str] = []
        self.csp_violations: list[str] = []

    def on_request(self, request: Request) -> None:
        self.requests.append(request)

    def on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)


@pytest.fixture
def record() -> PageRecord:
    return PageRecord()


@pytest.fixture
def context(browser: Browser, live_server_url: str, record: PageRecord) -> Iterator[BrowserContext]:
    """A fresh context (no cookies, no localStorage) that records every request and
    refuses to let any leave the live server's origin."""
    origin = _origin(live_server_url)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)

    def guard(route: Route) -> None:
        if _origin(route.request.url) == origin:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    ctx.route("**/*", guard)
    ctx.on("request", record.on_request)
    yield ctx
    ctx.close()


@pytest.fixture
def graphiql(context: BrowserContext, live_server_url: str, record: PageRecord) -> Page:
    """The GraphiQL page, loaded and ready for typing."""
    page = context.new_page()
    page.on("pageerror", lambda exc: record.page_errors.append(str(exc)))
    page.on("console", record.on_console)
    page.goto(f"{live_server_url}/graphql", wait_until="load")
    expect(page.locator(QUERY_EDITOR)).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator(RUN_BUTTON)).to_be_enabled(timeout=TIMEOUT_MS)
    return page


# --------------------------------------------------------------------------- helpers


def _editor_value(page: Page, selector: str) -> str:
    value = page.eval_on_selector(selector, "el => el.CodeMirror.getValue()")
    assert isinstance(value, str)
    return value


def _posted_query(request: Request) -> str | None:
    try:
        body = request.post_data_json
    except ValueError:
        return None
    return body.get("query") if isinstance(body, dict) else None


def run_in_graphiql(page: Page, endpoint: str, query: str) -> dict[str, Any]:
    """Type ``query`` into GraphiQL's editor, click run, and return the result pane's JSON.

    Typing: click into CodeMirror, select all, delete, then ``insert_text`` (an input
    event, like a paste) so CodeMirror's bracket auto-closing and autocomplete popups
    don't alter the text the way per-key typing would.
    """
    page.locator(QUERY_EDITOR).click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(query)
    assert _editor_value(page, QUERY_EDITOR) == query

    def is_ours(response: Response) -> bool:
        request = response.request
        return (
            request.method == "POST"
            and response.url == endpoint
            and (_posted_query(request) or "").strip() == query.strip()
        )

    with page.expect_response(is_ours) as response_info:
        page.locator(RUN_BUTTON).click()
    response = response_info.value
    assert response.request.headers.get(CSRF_HEADER.lower()) == "1"
    assert "application/json" in (response.request.headers.get("content-type") or "")
    body = response.json()

    # Wait until the result pane shows exactly what the server answered.
    page.wait_for_function(
        """([selector, expected]) => {
            const cm = document.querySelector(selector)?.CodeMirror;
            if (!cm) return false;
            try {
                return JSON.stringify(JSON.parse(cm.getValue())) === JSON.stringify(expected);
            } catch (e) {
                return false;
            }
        }""",
        arg=[RESULT_EDITOR, body],
    )
    shown = json.loads(_editor_value(page, RESULT_EDITOR))
    assert isinstance(shown, dict)
    return shown


def _error_messages(result: dict[str, Any]) -> str:
    return " | ".join(
        f"{err.get('message', '')} {json.dumps(err.get('extensions') or {})}"
        for err in result.get("errors") or []
    )


def _assert_same_origin_only(record: PageRecord, live_server_url: str) -> None:
    origin = _origin(live_server_url)
    urls = [r.url for r in record.requests]
    foreign = [u for u in urls if not u.startswith(("data:", "blob:")) and _origin(u) != origin]
    assert not foreign, f"page requested off-origin URLs (CDN?): {foreign}"
    paths = {urlsplit(u).path for u in urls}
    for name in VENDOR_FILES:
        assert f"/static/vendor/{name}" in paths, f"{name} not loaded; requests: {urls}"
    assert not record.page_errors, record.page_errors
    assert not record.csp_violations, record.csp_violations


# --------------------------------------------------------------------------- browser tests


@pytest.mark.browser
def test_login_then_me_through_graphiql(
    graphiql: Page,
    context: BrowserContext,
    record: PageRecord,
    live_server_url: str,
    admin_credentials: tuple[str, str],
) -> None:
    page = graphiql
    endpoint = f"{live_server_url}/graphql"
    username, password = admin_credentials
    cookies_before = {c["name"] for c in context.cookies()}

    login = (
        "mutation {\n"
        f"  login(username: {json.dumps(username)}, password: {json.dumps(password)}) {{\n"
        "    __typename\n"
        "    ... on LoginPayload { expiresAt user { username } }\n"
        "  }\n"
        "}"
    )
    result = run_in_graphiql(page, endpoint, login)
    assert not result.get("errors"), result
    payload = result["data"]["login"]
    assert payload["__typename"] == "LoginPayload", payload
    assert payload["user"]["username"] == username
    assert payload["expiresAt"]

    new_cookies = [c for c in context.cookies() if c["name"] not in cookies_before]
    assert new_cookies, "login set no cookie"
    assert all(c["httpOnly"] for c in new_cookies), new_cookies

    result = run_in_graphiql(page, endpoint, ME_QUERY)
    assert not result.get("errors"), result
    assert result["data"]["me"]["username"] == username
    expect(page.locator(RESULT_PANE)).to_contain_text(f'"username": {json.dumps(username)}')

    _assert_same_origin_only(record, live_server_url)


@pytest.mark.browser
def test_me_without_login_is_an_authentication_error(
    graphiql: Page, record: PageRecord, live_server_url: str
) -> None:
    page = graphiql
    result = run_in_graphiql(page, f"{live_server_url}/graphql", ME_QUERY)
    assert result.get("errors"), result
    assert re.search(r"authenticat", _error_messages(result), re.IGNORECASE), result
    assert not (result.get("data") or {}).get("me"), result
    expect(page.locator(RESULT_PANE)).to_contain_text(re.compile("authenticat", re.IGNORECASE))

    _assert_same_origin_only(record, live_server_url)


# --------------------------------------------------------------------------- page unit tests
# (no browser: they check the HTML graphiql_html() produces)


@pytest.fixture
def fake_static(tmp_path: Path) -> Path:
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    for name in VENDOR_FILES:
        (vendor / name).write_text("/* stub */\n")
    return tmp_path


def test_page_references_only_same_origin_assets(fake_static: Path) -> None:
    page = graphiql_html("/graphql", "/static/vendor", static_dir=fake_static)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "absolute URL in page"
    refs = re.findall(r"""(?:src|href)="([^"]*)\"""", page)
    assert refs
    assert all(ref.startswith("/static/vendor/") or ref.startswith("data:") for ref in refs), refs
    assert 'credentials: "same-origin"' in page
    assert 'data-csrf-header="X-OMEGraph-CSRF"' in page
    assert 'data-endpoint="/graphql"' in page
    assert "login(username:" in page


def test_page_csp_allows_exactly_its_inline_script(fake_static: Path) -> None:
    page = graphiql_html(static_dir=fake_static)
    inline = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert csp
    assert f"'sha256-{digest}'" in html.unescape(csp.group(1))


def test_page_escapes_its_settings(fake_static: Path) -> None:
    page = graphiql_html('/g"><script>x</script>', "/s", static_dir=fake_static)
    assert "<script>x</script>" not in page
    assert 'data-endpoint="/g&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in page


def test_page_without_vendor_files_says_how_to_build(tmp_path: Path) -> None:
    assert not vendor_ready(tmp_path)
    page = graphiql_html(static_dir=tmp_path)
    assert "scripts/build-web.sh" in page
    assert "<script" not in page
