"""Production-like run: gunicorn with DEBUG off serves the docs and the admin with all their assets.

Nothing comes from a CDN: every script and stylesheet the pages reference is a local `/static/`
file that whitenoise serves from the collected static root.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.services import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
ASSET = re.compile(r"""(?:src|href)=["']([^"']+\.(?:js|css)[^"']*)["']""")


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback only)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def production_server(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("prod-var")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "e2e-static-test-key-not-secret",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "JOBBOARD_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
    }
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
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
            fetch(f"{base}/api/categories/")
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"gunicorn did not start: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(timeout=10)


@pytest.mark.parametrize("page", ["/api/docs/", "/api/docs/redoc/", "/admin/login/"])
def test_page_and_every_asset_load_with_debug_off(production_server, page):
    status, body = fetch(production_server + page)
    assert status == 200
    assets = ASSET.findall(body.decode())
    assert assets, f"{page} references no scripts or stylesheets"
    for asset in assets:
        assert asset.startswith("/static/"), f"{page} loads {asset} from outside the app"
        asset_status, content = fetch(production_server + asset)
        assert asset_status == 200, asset
        assert content, asset


def test_unknown_url_is_a_json_404_with_debug_off(production_server):
    status, body = fetch(production_server + "/no/such/page/")
    assert status == 404
    assert body == b'{"detail": "Not found.", "code": "not_found"}'
