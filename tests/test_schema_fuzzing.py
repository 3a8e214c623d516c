"""Schema fuzzing: schemathesis holds the running API to its own OpenAPI schema, as every role.

Each run starts a live server on the test database, seeds a small world (categories, jobs in
every state, applications) and runs `st run` against `/api/docs/swagger.json` with every check
schemathesis has: server errors, response schema and status code conformance, content types,
negative data rejected and positive data accepted, ignored authentication, object-level
authorization between two users of one role, use after free, resource availability, stateful
sequences over the links schemathesis infers. It runs once anonymous and once each as an
employer, a job seeker and an administrator, with a valid `Authorization: Bearer` header.

`tests/schemathesis.toml` is the configuration; it excludes nothing and only declares, per
operation, the 400s business rules give to schema-valid data. Throttling is off for the run, as
`THROTTLE_ENABLED=false` would turn it off: a fuzzer is one very busy client (429 is documented
on every operation all the same).

The bounded run of `make test` is deterministic: a fixed seed, derandomized generation and a few
examples per operation. `make fuzz` runs the same test on a time budget with a random seed:

    FUZZ_MAX_TIME       seconds per role; unset: bounded by FUZZ_MAX_EXAMPLES alone
    FUZZ_MAX_EXAMPLES   examples per operation in each phase (default 6)
    FUZZ_SEED           `random`, or the seed a report printed, to replay it (unset: the fixed
                        seed and derandomized generation of the bounded run)

A failure prints schemathesis' report: each failing request as a curl command, and the seed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import WSGIServer
from django.db import connections
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler
from rest_framework.test import APIClient
from rest_framework.views import APIView

from core.accounts.models import Role, User
from core.api.accounts import session_refresh_token
from core.applications import services as application_services
from core.jobs import services as job_services
from core.jobs.models import Category, Job, JobStatus
from tests.factories import make_user

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMA_PATH = "/api/docs/swagger.json"
# Each version's document: the unversioned one (v1, the contract's paths) and v2's.
SCHEMA_PATHS = {"v1": SCHEMA_PATH, "v2": "/api/v2/docs/swagger.json"}
DEFAULT_SEED = 20260101

MAX_TIME = int(os.environ.get("FUZZ_MAX_TIME") or 0) or None
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES") or 6)
SEED = os.environ.get("FUZZ_SEED", "").strip().lower()


def seed_options() -> list[str]:
    if not SEED:
        return ["--seed", str(DEFAULT_SEED), "--generation-deterministic"]
    if SEED == "random":
        return []
    return ["--seed", SEED]


def _job(employer: User, category: Category, title: str, **state) -> int:
    fields = {
        "title": title,
        "description": "Build and run the APIs of a job board.",
        "company_name": employer.username,
        "location": "Berlin",
        "employment_type": "full_time",
        "category": category,
        "salary_min": 50_000,
        "salary_max": 70_000,
        "salary_currency": "EUR",
    }
    draft = state.get("status") == JobStatus.DRAFT
    job = job_services.create_job(employer=employer, fields=fields, draft=draft)
    if state.get("status") == JobStatus.CLOSED:
        job_services.close_job(job=job)
    return job.pk


def seed_world() -> dict:
    """Two users of each role and objects in every state, so links and ids lead somewhere."""
    users = {
        "employer": make_user(Role.EMPLOYER, username="acme_hr"),
        "other_employer": make_user(Role.EMPLOYER, username="globex_hr"),
        "job_seeker": make_user(Role.JOB_SEEKER, username="alice"),
        "other_job_seeker": make_user(Role.JOB_SEEKER, username="bob"),
        "admin": make_user("", username="root_admin", is_staff=True, is_superuser=True),
    }
    backend = job_services.create_category(name="Backend", slug="backend")
    design = job_services.create_category(name="Design", slug="design")
    job_services.create_category(name="Unused", slug="unused")  # deletable by the admin

    employer, other = users["employer"], users["other_employer"]
    open_jobs = [
        _job(employer, backend, "Backend Engineer"),
        _job(employer, design, "Product Designer"),
        _job(other, backend, "Data Engineer"),
    ]
    jobs = [
        *open_jobs,
        _job(employer, backend, "Draft posting", status=JobStatus.DRAFT),
        _job(employer, design, "Closed posting", status=JobStatus.CLOSED),
        _job(other, design, "Other draft", status=JobStatus.DRAFT),
    ]
    applications = []
    for seeker in (users["job_seeker"], users["other_job_seeker"]):
        for job_id in open_jobs[::2]:
            application = application_services.apply_to_job(
                applicant=seeker,
                job=Job.objects.get(pk=job_id),
                cover_letter="I build APIs.",
                resume_url=f"https://example.com/{seeker.username}.pdf",
            )
            applications.append(application.pk)
    return {
        "users": users,
        "categories": [backend.pk, design.pk],
        "open_jobs": open_jobs,
        "jobs": jobs,
        "applications": applications,
    }


def bearer(user: User) -> str:
    token = session_refresh_token(user).access_token
    # Valid for the whole run, however long `make fuzz` is told to go on.
    token.set_exp(lifetime=timedelta(seconds=(MAX_TIME or 0) + 3600))
    return f"Bearer {token}"


def _toml_list(values: list[int]) -> str:
    return "[" + ", ".join(str(value) for value in values) + "]"


def run_config(world: dict, role: str, directory: Path) -> Path:
    """`tests/schemathesis.toml` plus this run's identities and the ids of the seeded objects.

    The ids are dictionaries that generation draws from half of the time (the other half stays
    random), so requests reach real jobs, applications and categories, not only 404s.
    """
    ids = f"""

# --- This run: identities and the ids of the seeded objects -------------------------------------

[dictionaries.categories]
values = {_toml_list(world["categories"])}

[dictionaries.jobs]
values = {_toml_list(world["jobs"])}

[dictionaries.open_jobs]
values = {_toml_list(world["open_jobs"])}

[dictionaries.applications]
values = {_toml_list(world["applications"])}

[parameters]
"body.category" = {{ dictionary = "categories", probability = 0.5 }}
"body.job" = {{ dictionary = "open_jobs", probability = 0.5 }}
"query.job" = {{ dictionary = "jobs", probability = 0.5 }}

[[operations]]
include-path-regex = "^/api/(v2/)?jobs/[{{]id[}}]/"
parameters = {{ "path.id" = {{ dictionary = "jobs", probability = 0.5 }} }}

[[operations]]
include-path-regex = "^/api/(v2/)?categories/[{{]id[}}]/"
parameters = {{ "path.id" = {{ dictionary = "categories", probability = 0.5 }} }}

[[operations]]
include-path-regex = "^/api/(v2/)?applications/[{{]id[}}]/"
parameters = {{ "path.id" = {{ dictionary = "applications", probability = 0.5 }} }}
"""
    identities = {
        "employer": ["employer", "other_employer"],
        "job_seeker": ["job_seeker", "other_job_seeker"],
        "admin": ["admin"],
    }.get(role)
    auth = ""
    if identities:
        # Web Fuzzing Commons auth: the run's identity, plus a peer of the same role that must
        # not see its objects (the object-level authorization check reads them as the peer).
        document = {
            "auth": [
                {
                    "name": name,
                    "fixedHeaders": [
                        {"name": "Authorization", "value": bearer(world["users"][name])}
                    ],
                }
                for name in identities
            ]
        }
        auth_file = directory / "auth.json"
        auth_file.write_text(json.dumps(document))
        auth = f'\n[auth.wfc]\npath = "{auth_file}"\nuser = "{role}"\n'
        if len(identities) > 1:
            auth += f"peers = {json.dumps(identities)}\n"
    config = directory / "schemathesis.toml"
    config.write_text(CONFIG.read_text() + ids + auth)
    return config


class OneConnectionServerThread(LiveServerThread):
    """Django's live server, answering one request at a time on one database connection.

    The stock one answers each request in a thread of its own that opens and closes a database
    connection; over the thousands of requests of a fuzzing run that costs more than the work.
    """

    def _create_server(self, connections_override=None):
        return WSGIServer(
            (self.host, self.port), QuietWSGIRequestHandler, allow_reuse_address=False
        )


@pytest.fixture
def fuzzed_server(transactional_db, monkeypatch) -> Iterator[str]:
    """A live server on the test database, unthrottled as `THROTTLE_ENABLED=false` leaves it."""
    monkeypatch.setattr(APIView, "throttle_classes", [])
    # The report is schemathesis'; a log line per request would bury it. Errors still show.
    logging.disable(logging.WARNING)
    # An in-memory SQLite database exists only in this connection: the server must share it.
    shared = {
        connection.alias: connection
        for connection in connections.all()
        if connection.vendor == "sqlite" and connection.is_in_memory_db()
    }
    for connection in shared.values():
        connection.inc_thread_sharing()
    thread = OneConnectionServerThread("localhost", StaticFilesHandler, connections_override=shared)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    try:
        if thread.error:
            raise thread.error
        yield f"http://{thread.host}:{thread.port}"
    finally:
        thread.terminate()
        for connection in shared.values():
            connection.dec_thread_sharing()
        logging.disable(logging.NOTSET)


@pytest.mark.parametrize("version", list(SCHEMA_PATHS))
@pytest.mark.parametrize("role", ["anonymous", "employer", "job_seeker", "admin"])
def test_api_conforms_to_its_schema(fuzzed_server, role, version, tmp_path):
    world = seed_world()
    config = run_config(world, role, tmp_path)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{fuzzed_server}{SCHEMA_PATHS[version]}",
        "--workers",
        "1",
        "--max-examples",
        str(MAX_EXAMPLES),
    ]
    command += seed_options()
    if MAX_TIME:
        command += ["--max-time", str(MAX_TIME)]
    result = subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=(MAX_TIME or 0) + 900,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"schemathesis as {role} found failures:\n{report}"
    print(f"{role}: {report[report.rfind('SUMMARY') :]}")  # shown by `make fuzz` (pytest -s)
    # Not a vacuous pass: every operation of the schema was called.
    schema = APIClient().get(SCHEMA_PATHS[version]).json()
    operations = sum(len(methods) for methods in schema["paths"].values())
    tested = re.search(r"^\s*Tested: (\d+)$", report, re.MULTILINE)
    assert tested, report
    assert int(tested.group(1)) == operations, report
