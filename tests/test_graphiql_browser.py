"""GraphiQL at `/api/graphql/` in headless Chromium, served as production serves it (gunicorn,
DEBUG off, collected static files behind whitenoise): every request the page makes stays on
the machine, a query run from it returns data, and `Bearer <token>` typed in its headers pane
signs the query in.

Needs Chromium (Debian: `apt-get install -y chromium`) and the `playwright` package, which
drives the installed browser (no browser download).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from core.management.commands.load_demo_data import DEMO_PASSWORD
from tests.services import free_port
from tests.test_e2e_static import ASSET, fetch

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def graphiql_server(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("graphiql-var")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "graphiql-test-key-not-secret",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "JOBBOARD_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
        "GRAPHIQL_ENABLED": "true",
        "GRAPHQL_INTROSPECTION": "true",
        "THROTTLE_ENABLED": "false",
    }
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL"):
        env.pop(name, None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run(
        [*manage, "load_demo_data", "--force"],
        env=env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "jobboard.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            fetch(f"{base}/healthz")
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"gunicorn did not start: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(timeout=10)


def page_html(base: str) -> str:
    request = urllib.request.Request(f"{base}/api/graphql/", headers={"Accept": "text/html"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
        assert response.status == 200
        return response.read().decode()


def test_graphiql_assets_are_the_apps_own(graphiql_server):
    html = page_html(graphiql_server)
    assets = ASSET.findall(html)
    assert any("graphiql" in asset for asset in assets)
    for asset in assets:
        assert asset.startswith("/static/"), f"GraphiQL loads {asset} from outside the app"
        status, content = fetch(graphiql_server + asset)
        assert status == 200, asset
        assert content, asset


def access_token(base: str) -> str:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        f"{base}/api/token/",
        data=json.dumps({"username": "demo_seeker", "password": DEMO_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())["access"]


@pytest.fixture
def browser_page(graphiql_server):
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    requested: list[str] = []
    left_the_machine: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context()

        def only_this_server(route):
            url = route.request.url
            requested.append(url)
            if url.startswith(graphiql_server + "/") or url.startswith("data:"):
                route.continue_()
            else:
                left_the_machine.append(url)
                route.abort()

        context.route("**/*", only_this_server)
        page = context.new_page()
        yield page, requested, left_the_machine
        browser.close()


def run_query(page, base: str, query: str, expected: str) -> str:
    page.goto(f"{base}/api/graphql/#query={quote(query)}", wait_until="networkidle")
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".graphiql-response")
    result.get_by_text(expected).first.wait_for(timeout=15_000)
    return result.inner_text()


def test_a_query_run_from_graphiql_returns_data_and_nothing_leaves(graphiql_server, browser_page):
    page, requested, left_the_machine = browser_page
    text = run_query(page, graphiql_server, "{ categories { slug openJobsCount } }", "engineering")
    assert '"data"' in text
    assert "errors" not in text
    assert left_the_machine == []
    assert any(url.endswith(".js") for url in requested)
    assert any("/api/graphql/" in url for url in requested)


def test_bearer_token_typed_in_the_headers_pane_signs_in(graphiql_server, browser_page):
    page, _, left_the_machine = browser_page
    token = access_token(graphiql_server)
    page.goto(
        f"{graphiql_server}/api/graphql/#query={quote('{ me { username } }')}",
        wait_until="networkidle",
    )
    page.get_by_role("button", name="Headers").click()
    page.locator(".graphiql-editor-tool .CodeMirror").last.click()
    page.keyboard.insert_text(json.dumps({"Authorization": f"Bearer {token}"}))
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".graphiql-response")
    result.get_by_text('"demo_seeker"').first.wait_for(timeout=15_000)
    assert "UNAUTHENTICATED" not in result.inner_text()
    assert left_the_machine == []
