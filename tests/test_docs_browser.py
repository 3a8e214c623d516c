"""The docs and the admin work in a real browser under their Content-Security-Policy.

Headless Chromium, driven through chromedriver's W3C WebDriver protocol (plain HTTP, no client
library), against a live server on the test database: Swagger UI's documented flow (Authorize
with `Bearer <access_token>`, then "Try it out" and Execute on a protected operation) answers
200 in the page; ReDoc renders the schema; the admin's login page loads. The browser's console
must report no Content-Security-Policy violation on any of them.

Needs `chromium` and `chromedriver` on the PATH (`apt-get install -y chromium chromium-driver`);
without them the test skips saying so (CI forbids skips).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from core.accounts.models import Role
from tests.factories import PASSWORD, make_user
from tests.services import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
INSTALL = "apt-get install -y chromium chromium-driver"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,2000",
]


class Browser:
    """A WebDriver session: just the commands these tests use."""

    def __init__(self, endpoint: str, session_id: str) -> None:
        self.endpoint = endpoint
        self.session = f"{endpoint}/session/{session_id}"

    def call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 (chromedriver on loopback)
            self.session + path, data=data, method=method
        )
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            return json.loads(answer.read())["value"]

    def go(self, url: str) -> None:
        self.call("POST", "/url", {"url": url})

    def run(self, script: str, *args):
        return self.call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait_for(self, script: str, *args, timeout: float = 20, what: str = "the page"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.run(script, *args)
            if value:
                return value
            time.sleep(0.2)
        pytest.fail(f"timed out waiting for {what}; console: {self.console()}")

    def click(self, selector: str, *, what: str) -> None:
        self.wait_for(
            "const e = document.querySelector(arguments[0]); if (!e) return false;"
            " e.scrollIntoView(); e.click(); return true;",
            selector,
            what=what,
        )

    def type_into(self, selector: str, text: str, *, what: str) -> None:
        element = self.wait_for("return document.querySelector(arguments[0])", selector, what=what)
        self.call("POST", f"/element/{next(iter(element.values()))}/value", {"text": text})

    def console(self) -> list[str]:
        return [entry["message"] for entry in self.call("POST", "/se/log", {"type": "browser"})]

    def csp_violations(self) -> list[str]:
        return [m for m in self.console() if "Content Security Policy" in m]


@pytest.fixture
def browser(tmp_path) -> Iterator[Browser]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(f"chromium and chromedriver are needed: {INSTALL}")
    port = free_port()
    driver = subprocess.Popen(
        [CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/status", timeout=2):  # noqa: S310
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("chromedriver did not start")
                time.sleep(0.2)
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [*CHROMIUM_ARGS, f"--user-data-dir={tmp_path / 'profile'}"],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }
        request = urllib.request.Request(  # noqa: S310
            f"{endpoint}/session",
            data=json.dumps({"capabilities": {"alwaysMatch": capabilities}}).encode(),
            method="POST",
        )
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            session_id = json.loads(answer.read())["value"]["sessionId"]
        browser = Browser(endpoint, session_id)
        try:
            yield browser
        finally:
            browser.call("DELETE", "")
    finally:
        driver.terminate()
        driver.wait(timeout=20)


def csp_of(base: str, path: str) -> str:
    with urllib.request.urlopen(base + path, timeout=10) as answer:  # noqa: S310
        return answer.headers["Content-Security-Policy"]


def test_swagger_ui_authorize_and_try_it_out_work_under_the_policy(browser, live_server):
    seeker = make_user(Role.JOB_SEEKER, username="csp_seeker")
    base = live_server.url
    body = json.dumps({"username": seeker.username, "password": PASSWORD}).encode()
    request = urllib.request.Request(f"{base}/api/token/", data=body, method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=20) as answer:  # noqa: S310
        access = json.loads(answer.read())["access"]
    assert "script-src 'self';" in csp_of(base, "/api/docs/")

    browser.go(f"{base}/api/docs/")
    browser.wait_for("return !!document.querySelector('.swagger-ui .info')", what="Swagger UI")
    browser.click(".btn.authorize", what="the Authorize button")
    browser.type_into(".auth-container input", f"Bearer {access}", what="the value field")
    browser.click(".auth-btn-wrapper .btn.modal-btn.auth.authorize", what="the modal's Authorize")
    browser.click(".btn-done, .auth-btn-wrapper .btn-done, .close-modal", what="closing it")
    browser.click(
        "[id^='operations-users-'][id*='users_me_retrieve'] .opblock-summary-control",
        what="GET /api/users/me/",
    )
    browser.click(".opblock.is-open .try-out__btn", what="Try it out")
    browser.click(".opblock.is-open .btn.execute", what="Execute")
    status = browser.wait_for(
        "const c = document.querySelector('.opblock.is-open .live-responses-table"
        " .response .response-col_status'); return c && c.textContent.trim();",
        what="the response",
    )
    assert status.startswith("200"), status
    shown = browser.run(
        "return document.querySelector('.opblock.is-open .live-responses-table').textContent"
    )
    assert seeker.username in shown
    assert browser.csp_violations() == []


def test_redoc_and_the_admin_render_under_their_policies(browser, live_server):
    base = live_server.url
    browser.go(f"{base}/api/docs/redoc/")
    title = browser.wait_for(
        "const h = document.querySelector('.api-info h1, h1'); return h && h.textContent;",
        what="ReDoc",
    )
    assert "Nexus Job Board API" in title
    # ReDoc's side menu links Redocly's logo from their CDN: the policy blocks that, as it should
    # (the docs load nothing from outside). Anything else refused would be a page that breaks.
    refused = [m for m in browser.csp_violations() if "https://cdn.redoc.ly/" not in m]
    assert refused == []

    assert "form-action 'self'" in csp_of(base, "/admin/login/")
    browser.go(f"{base}/admin/login/")
    browser.wait_for("return !!document.querySelector('#login-form')", what="the admin login")
    assert browser.csp_violations() == []
