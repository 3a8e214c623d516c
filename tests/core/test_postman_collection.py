"""The Postman collection (`postman/nexus-jobboard.postman_collection.json`) is the contract's
flow, and newman runs it against a live gunicorn with every request's tests passing.

newman is an npm package pinned in `.ci/package-lock.json` (`tests/node_tools.py`). The shape of
the collection is checked too: a `baseUrl` variable that is a server's origin, folders per area,
every request on `{{baseUrl}}` with tests, the contract's requests in the contract's order.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.node_tools import node_bin, require_node_package

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "postman" / "nexus-jobboard.postman_collection.json"

# CONTRACT.md, part one, as a client calls it: each of these, in this order.
CONTRACT_REQUESTS = [
    ("POST", "/api/users/register/"),
    ("POST", "/api/token/"),
    ("POST", "/api/categories/"),
    ("GET", "/api/categories/"),
    ("POST", "/api/jobs/create/"),
    ("GET", "/api/jobs/"),
    ("POST", "/api/applications/apply/"),
    ("GET", "/api/applications/seeker/"),
    ("GET", "/api/applications/employer/"),
    ("POST", "/api/token/refresh/"),
    ("POST", "/api/token/blacklist/"),
]


def collection() -> dict:
    return json.loads(COLLECTION.read_text())


def requests_in_order(items: list[dict]) -> list[dict]:
    found = []
    for item in items:
        found += requests_in_order(item["item"]) if "item" in item else [item]
    return found


def path_of(item: dict) -> str:
    return "/" + "/".join(item["request"]["url"]["path"])


def test_collection_has_a_base_url_folders_and_tests_on_every_request():
    document = collection()
    variables = {variable["key"]: variable["value"] for variable in document["variable"]}
    base = urlsplit(variables["baseUrl"])
    assert (base.scheme, base.path, base.query) == ("http", "", ""), variables["baseUrl"]
    assert base.hostname
    assert base.port

    assert all("item" in folder for folder in document["item"]), "requests belong in folders"
    for item in requests_in_order(document["item"]):
        request = item["request"]
        assert request["url"]["raw"].startswith("{{baseUrl}}/api/"), item["name"]
        assert request["url"]["host"] == ["{{baseUrl}}"], item["name"]
        tests = [
            line
            for event in item["event"]
            if event["listen"] == "test"
            for line in event["script"]["exec"]
        ]
        assert "pm.test(" in "\n".join(tests), item["name"]
        if request["method"] in ("POST", "PATCH", "PUT") and "body" in request:
            # Valid JSON once the variables are filled in (ids go in unquoted: numbers).
            json.loads(re.sub(r"\{\{\w+\}\}", "1", request["body"]["raw"]))


def test_collection_holds_the_contract_requests_in_order():
    called = [
        (item["request"]["method"], path_of(item))
        for item in requests_in_order(collection()["item"])
    ]
    positions = [called.index(request) for request in CONTRACT_REQUESTS if request in called]
    assert [request for request in CONTRACT_REQUESTS if request not in called] == []
    assert positions == sorted(positions), called


@pytest.mark.e2e
def test_newman_runs_the_collection_against_a_live_server(start_gunicorn, tmp_path):
    require_node_package("newman")
    server = start_gunicorn("--workers", "2")
    report = tmp_path / "newman.json"

    result = subprocess.run(
        [
            str(node_bin("newman")),
            "run",
            str(COLLECTION),
            "--env-var",
            f"baseUrl={server.base}",
            "--reporters",
            "cli,json",
            "--reporter-json-export",
            str(report),
            "--color",
            "off",
            "--disable-unicode",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    run = json.loads(report.read_text())["run"]
    assert run["failures"] == [], run["failures"]
    requests = len(requests_in_order(collection()["item"]))
    assert run["stats"]["requests"] == {"total": requests, "pending": 0, "failed": 0}
    assert run["stats"]["assertions"]["total"] >= requests
    assert run["stats"]["assertions"]["failed"] == 0
