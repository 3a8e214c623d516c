"""Spectral with the OWASP API Security ruleset on the OpenAPI schema: no error that is not a
deliberate decision listed, with its reason, in `.ci/spectral-accepted.txt`.

Spectral and the ruleset are npm packages pinned in `.ci/package-lock.json`
(`tests/node_tools.py`). A finding is named by its rule and its dotted path in the schema, with
a parameter named by its `name` rather than its position (`paths./api/jobs/.get.parameters.
page_size.schema`), so an accepted line keeps meaning the same thing as operations change.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.node_tools import node_bin, require_node_package

ROOT = Path(__file__).resolve().parents[2]
RULESET = ROOT / ".ci" / "spectral.yaml"
ACCEPTED = ROOT / ".ci" / "spectral-accepted.txt"
ERROR = 0  # Spectral's severities: 0 error, 1 warning, 2 information, 3 hint


@dataclass(frozen=True)
class Accepted:
    rule: str
    where: str
    why: str


@dataclass(frozen=True)
class Finding:
    rule: str
    where: str
    severity: int
    message: str

    def __str__(self) -> str:
        return f"{self.rule} {self.where}: {self.message}"


def accepted_findings() -> list[Accepted]:
    lines = ACCEPTED.read_text().splitlines()
    entries = [line.split(maxsplit=2) for line in lines if line.strip() and line[0] != "#"]
    assert all(len(entry) == 3 for entry in entries), "every line: rule, where, why"
    return [Accepted(*entry) for entry in entries]


def named_path(schema: dict[str, Any], path: list[str]) -> str:
    """`path` dotted, with each parameter named by its name instead of its index."""
    node: Any = schema
    parts = []
    for previous, part in zip([None, *path], path, strict=False):
        if isinstance(node, list):
            node = node[int(part)]
            if previous == "parameters" and isinstance(node, dict) and "name" in node:
                part = node["name"]
        elif isinstance(node, dict):
            node = node.get(part)
        parts.append(str(part))
    return ".".join(parts)


def lint(schema: dict[str, Any], directory: Path) -> list[Finding]:
    require_node_package("@stoplight/spectral-cli")
    require_node_package("@stoplight/spectral-owasp-ruleset")
    document = directory / "openapi.json"
    document.write_text(json.dumps(schema))
    report = directory / "spectral.json"
    result = subprocess.run(
        [
            str(node_bin("spectral")),
            "lint",
            "--ruleset",
            str(RULESET),
            "--format",
            "json",
            "--output",
            str(report),
            "--quiet",
            "--fail-severity",
            "error",
            str(document),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # 0: no error; 1: errors found. Anything else (a broken ruleset) is the tool failing.
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return [
        Finding(f["code"], named_path(schema, f["path"]), f["severity"], f["message"])
        for f in json.loads(report.read_text())
    ]


def unaccepted_errors(findings: list[Finding]) -> list[Finding]:
    accepted = accepted_findings()
    return [
        finding
        for finding in findings
        if finding.severity == ERROR
        and not any(
            # A decision about a path holds for it in every version.
            entry.rule == finding.rule
            and fnmatchcase(finding.where.replace("paths./api/v2/", "paths./api/"), entry.where)
            for entry in accepted
        )
    ]


@pytest.fixture(params=["/api/docs/swagger.json", "/api/v2/docs/swagger.json"])
def schema(db, request) -> dict[str, Any]:
    """The contract's document (v1's) and v2's."""
    return APIClient().get(request.param).json()


def test_schema_has_no_owasp_error_that_is_not_a_listed_decision(schema, tmp_path):
    findings = lint(schema, tmp_path)

    assert findings, "Spectral found nothing at all: is the ruleset loaded?"
    assert unaccepted_errors(findings) == [], "\n".join(map(str, unaccepted_errors(findings)))


def test_an_unbounded_request_field_is_an_error_no_line_accepts(schema, tmp_path):
    """The list accepts decisions, not everything: a request shape with an unbounded string
    and integer (what the schema had before its bounds) is reported."""
    schema["components"]["schemas"]["ProbeRequest"] = {
        "type": "object",
        "properties": {"text": {"type": "string"}, "number": {"type": "integer"}},
    }

    reported = {(f.rule, f.where) for f in unaccepted_errors(lint(schema, tmp_path))}

    probe = "components.schemas.ProbeRequest.properties"
    assert reported >= {
        ("owasp:api4:2023-string-limit", f"{probe}.text"),
        ("owasp:api4:2023-integer-limit-legacy", f"{probe}.number"),
    }, reported


def test_every_accepted_finding_says_why():
    for entry in accepted_findings():
        assert entry.rule.startswith("owasp:"), entry
        assert len(entry.why) > 10, entry
