"""The Postman collection (`postman/nexus-jobboard.postman_collection.json`) is the contract's
flow once per API version, and newman runs it against a live gunicorn with every request's tests
passing.

newman is an npm package pinned in `.ci/package-lock.json` (`tests/node_tools.py`). The shape of
the collection is checked too: a `baseUrl` variable that is a server's origin, a folder per
version holding folders per area, every request on `{{baseUrl}}` with tests, each version's
requests on its own paths, the contract's requests in the contract's order in each, and v2's
three changes (registration by `role`, problem details, cursor pages) called.
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

# The top-level folders: one per version, with the prefix its requests call (v1 on the
# unversioned paths, which are v1 for good).
VERSION_FOLDERS = {"v1 (also the unversioned paths)": "/api/", "v2": "/api/v2/"}


def collection() -> dict:
    return json.loads(COLLECTION.read_text())


def requests_in_order(items: list[dict]) -> list[dict]:
    found = []
    for item in items:
        found += requests_in_order(item["item"]) if "item" in item else [item]
    return found


def path_of(item: dict) -> str:
    return "/" + "/".join(item["request"]["url"]["path"])


def version_folders() -> dict[str, list[dict]]:
    """Each version's prefix and its requests, in order."""
    folders = collection()["item"]
    assert [folder["name"] for folder in folders] == list(VERSION_FOLDERS)
    return {VERSION_FOLDERS[f["name"]]: requests_in_order(f["item"]) for f in folders}


def script_of(item: dict, listen: str = "test") -> str:
    """The lines of an item's (a request's or a folder's) `listen` scripts."""
    return "\n".join(
        line
        for event in item.get("event", [])
        if event["listen"] == listen
        for line in event["script"]["exec"]
    )


def body_of(item: dict) -> dict:
    """A request's JSON body, the variables filled in (ids go in unquoted: numbers)."""
    return json.loads(re.sub(r"\{\{\w+\}\}", "1", item["request"]["body"]["raw"]))


def test_collection_has_a_base_url_folders_and_tests_on_every_request():
    document = collection()
    variables = {variable["key"]: variable["value"] for variable in document["variable"]}
    base = urlsplit(variables["baseUrl"])
    assert (base.scheme, base.path, base.query) == ("http", "", ""), variables["baseUrl"]
    assert base.hostname
    assert base.port

    for version in document["item"]:
        areas = version["item"]
        assert areas
        assert all("item" in area for area in areas), "requests belong in folders per area"
        assert all("item" not in item for area in areas for item in area["item"]), version["name"]
    for item in requests_in_order(document["item"]):
        request = item["request"]
        assert request["url"]["raw"].startswith("{{baseUrl}}/api/"), item["name"]
        assert request["url"]["host"] == ["{{baseUrl}}"], item["name"]
        assert "pm.test(" in script_of(item), item["name"]
        if request["method"] in ("POST", "PATCH", "PUT") and "body" in request:
            body_of(item)  # valid JSON once the variables are filled in


@pytest.mark.parametrize("prefix", VERSION_FOLDERS.values())
def test_each_version_holds_the_contract_requests_in_order_on_its_paths(prefix):
    items = version_folders()[prefix]
    for item in items:
        path = path_of(item)
        assert path.startswith(prefix), item["name"]
        if prefix == "/api/":  # v1's folder calls the unversioned paths, none of a version's
            assert not path.startswith(("/api/v1/", "/api/v2/")), item["name"]
    called = [(item["request"]["method"], path_of(item)) for item in items]
    expected = [(method, prefix + path.removeprefix("/api/")) for method, path in CONTRACT_REQUESTS]
    positions = [called.index(request) for request in expected if request in called]
    assert [request for request in expected if request not in called] == []
    assert positions == sorted(positions), called


def test_v2_calls_its_three_changes():
    v2 = collection()["item"][1]
    items = version_folders()["/api/v2/"]
    by_path = {}
    for item in items:
        by_path.setdefault((item["request"]["method"], path_of(item)), []).append(item)

    # Registration by role; v1's booleans refused, the field error under `role`.
    registrations = by_path["POST", "/api/v2/users/register/"]
    assert [body_of(item).get("role") for item in registrations] == [
        "employer",
        "job_seeker",
        None,
    ]
    refused = registrations[2]
    assert body_of(refused)["is_employer"] is True
    assert "to.have.status(400)" in script_of(refused)
    assert "problem.errors).to.have.property('role')" in script_of(refused)
    # Every error answer of the folder is checked as problem details, a 404 among them.
    assert "'application/problem+json'" in script_of(v2)
    assert "if (pm.response.code >= 400)" in script_of(v2)
    assert any("to.have.status(404)" in script_of(item) for item in items)
    # A cursor page of the listing (no count), then its `next` link followed.
    first, followed, *_ = by_path["GET", "/api/v2/jobs/"]
    assert "to.not.have.property('count')" in script_of(first)
    assert "pm.collectionVariables.set('nextPage', page.next)" in script_of(first)
    assert "pm.request.url.update(pm.collectionVariables.get('nextPage'))" in script_of(
        followed, "prerequest"
    )


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
    executions = run["executions"]
    assert all(execution["assertions"] for execution in executions), [
        execution["item"]["name"] for execution in executions if not execution["assertions"]
    ]
    # v2's listing was paged by the links it answered: page 1, then its `next` cursor.
    listing = [
        {query["key"]: query["value"] for query in execution["request"]["url"].get("query", [])}
        for execution in executions
        if execution["request"]["url"]["path"] == ["api", "v2", "jobs", ""]
    ]
    assert "cursor" not in listing[0], listing
    assert listing[1]["cursor"], listing
