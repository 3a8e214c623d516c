"""A client generated from the live schema does the contract's flow, and type-checks.

openapi-python-client (pinned in requirements/dev.txt) generates a package from a running
gunicorn's `/api/docs/swagger.json` into this test's temporary folder (generated code is never
committed); `mypy --strict` checks `tests/client_flow/flow.py` against it; the flow script then
runs CONTRACT.md's part-one flow through it against that same server. A schema that gives a body
no fields, demands a token where none is needed or documents an answer as "no body" fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLOW = ROOT / "tests" / "client_flow" / "flow.py"
FLOW_V2 = ROOT / "tests" / "client_flow" / "flow_v2.py"
GENERATOR_CONFIG = ROOT / "tests" / "client_flow" / "openapi-python-client.yaml"
PACKAGE = "nexus_jobboard_client"

pytestmark = pytest.mark.e2e


def run(command: list[str | Path], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(part) for part in command],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def generate_client(schema_url: str, into: Path) -> Path:
    """The generated package's parent folder (what goes on the path).

    The schema is fetched here, not by the generator: its `--url` gives the server 5 s, which a
    first schema build on a loaded machine can exceed.
    """
    into.mkdir(parents=True, exist_ok=True)
    schema = into / "swagger.json"
    with urllib.request.urlopen(schema_url, timeout=60) as answer:  # noqa: S310 (a local test server)
        schema.write_bytes(answer.read())
    result = run(
        [
            Path(sys.executable).with_name("openapi-python-client"),
            "generate",
            "--path",
            schema,
            "--config",
            GENERATOR_CONFIG,
            "--meta",
            "none",
            "--output-path",
            into / PACKAGE,
        ]
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    # The generator skips what it cannot type (and says so) rather than failing.
    assert "Warning" not in report, report
    return into


def test_generated_client_runs_the_contract_flow_and_type_checks(start_gunicorn, tmp_path):
    server = start_gunicorn("--workers", "2")
    packages = generate_client(f"{server.base}/api/docs/swagger.json", tmp_path / "client")

    checked = run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            tmp_path / "mypy",
            FLOW,
        ],
        MYPYPATH=str(packages),
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("Success: no issues found"), checked.stdout

    flow = run([sys.executable, FLOW, server.base], PYTHONPATH=str(packages))
    assert flow.returncode == 0, flow.stdout + flow.stderr
    assert "ok  POST /api/token/blacklist/: 200" in flow.stdout
    assert flow.stdout.rstrip().endswith("the whole flow passed"), flow.stdout


def test_a_client_generated_from_v2s_schema_runs_v2s_flow_and_type_checks(start_gunicorn, tmp_path):
    """v2's changes as a generated client meets them: `role` an enum, errors problem details
    parsed into `Error`, the listing a `JobCursorPage` paged by its cursor."""
    server = start_gunicorn("--workers", "2")
    packages = generate_client(f"{server.base}/api/v2/docs/swagger.json", tmp_path / "client")
    checked = run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            tmp_path / "mypy",
            FLOW_V2,
        ],
        MYPYPATH=str(packages),
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    flow = run([sys.executable, FLOW_V2, server.base], PYTHONPATH=str(packages))
    assert flow.returncode == 0, flow.stdout + flow.stderr
    assert "ok  POST /api/v2/token/ (wrong password): 401" in flow.stdout
    assert flow.stdout.rstrip().endswith("v2: the whole flow passed"), flow.stdout


def test_public_operations_take_the_unauthenticated_client(start_gunicorn, tmp_path):
    """The generated signatures, not only the flow: what anyone may call takes a `Client`."""
    server = start_gunicorn()
    package = generate_client(f"{server.base}/api/docs/swagger.json", tmp_path) / PACKAGE
    public = {
        "users/users_register_create.py",
        "token/token_create.py",
        "token/token_refresh_create.py",
        "token/token_verify_create.py",
        "token/token_blacklist_create.py",
        "categories/categories_list.py",
        "jobs/jobs_list.py",
        "jobs/jobs_retrieve.py",
    }
    protected = {"jobs/jobs_create_create.py", "applications/applications_apply_create.py"}
    for module in public | protected:
        source = (package / "api" / module).read_text()
        takes_anonymous = "client: AuthenticatedClient | Client,\n" in source
        assert takes_anonymous == (module in public), module
