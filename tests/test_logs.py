"""Log output: the JSON line a log collector parses, the readable line of the development run, and
which of the two the settings pick."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.request_id import bind_request_id, reset_request_id
from jobboard.logs import JsonFormatter, RequestIdFilter, TextFormatter

ROOT = Path(__file__).resolve().parent.parent


def record(
    message: str = "hello %s", *args, level: int = logging.INFO, **extra
) -> logging.LogRecord:
    logger = logging.getLogger("tests.logs")
    made = logger.makeRecord(
        logger.name, level, __file__, 1, message, args or ("world",), None, extra=extra or None
    )
    RequestIdFilter().filter(made)
    return made


@pytest.fixture
def request_id():
    token = bind_request_id("req-42")
    yield "req-42"
    reset_request_id(token)


def test_a_json_line_has_the_standard_fields(request_id):
    line = json.loads(JsonFormatter().format(record()))

    assert line["message"] == "hello world"
    assert line["level"] == "INFO"
    assert line["logger"] == "tests.logs"
    assert line["request_id"] == "req-42"
    stamp = datetime.fromisoformat(line["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(stamp.tzinfo) - stamp) < timedelta(minutes=1)


def test_a_json_line_outside_a_request_has_a_null_request_id():
    line = json.loads(JsonFormatter().format(record()))

    assert line["request_id"] is None


def test_extras_become_fields_and_values_json_lacks_become_text():
    event_id = uuid.uuid4()

    line = json.loads(
        JsonFormatter().format(record(status=201, event_id=event_id, tags=["a", "b"]))
    )

    assert line["status"] == 201
    assert line["event_id"] == str(event_id)
    assert line["tags"] == ["a", "b"]


def test_extras_cannot_overwrite_the_standard_fields():
    line = json.loads(JsonFormatter().format(record(level_name="x", logger="spoofed")))

    assert line["logger"] == "tests.logs"
    assert line["level_name"] == "x"


@pytest.mark.parametrize(
    "key", ["password", "Authorization", "access_token", "refresh", "api_key", "cookie"]
)
def test_extras_named_like_secrets_are_masked(key):
    line = json.loads(JsonFormatter().format(record(**{key: "s3cr3t-value"})))

    assert line[key] == "[redacted]"
    assert "s3cr3t-value" not in json.dumps(line)


def test_djangos_request_object_is_left_out():
    class FakeRequest:
        def __repr__(self) -> str:
            return "<WSGIRequest: GET '/api/jobs/?token=abc'>"

    line = json.loads(JsonFormatter().format(record(request=FakeRequest(), status_code=404)))

    assert "request" not in line
    assert line["status_code"] == 404


def test_an_exception_is_one_field_of_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        logger = logging.getLogger("tests.logs")
        made = logger.makeRecord(
            logger.name, logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )

    text = JsonFormatter().format(made)

    assert "\n" not in text
    line = json.loads(text)
    assert line["level"] == "ERROR"
    assert "ValueError: boom" in line["exc_info"]
    assert "Traceback" in line["exc_info"]


def test_a_text_line_is_readable_and_names_the_request(request_id):
    text = TextFormatter().format(record())

    assert text.endswith("INFO    tests.logs [req-42] hello world")


def test_a_text_line_outside_a_request_shows_a_dash():
    assert TextFormatter().format(record()).endswith("tests.logs [-] hello world")


def logging_settings(**env: str) -> dict:
    """The LOG_FORMAT and console formatter the settings pick in a fresh process."""
    script = (
        "import json; from django.conf import settings; "
        "print(json.dumps({'format': settings.LOG_FORMAT, "
        "'formatter': settings.LOGGING['handlers']['console']['formatter']}))"
    )
    base = {
        key: value for key, value in os.environ.items() if key not in {"LOG_FORMAT", "DJANGO_DEBUG"}
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**base, "DJANGO_SETTINGS_MODULE": "jobboard.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        return {"error": result.stderr}
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "json"),
        ({"DJANGO_DEBUG": "false"}, "json"),
        ({"DJANGO_DEBUG": "true"}, "text"),
        ({"DJANGO_DEBUG": "true", "LOG_FORMAT": "json"}, "json"),
        ({"DJANGO_DEBUG": "false", "LOG_FORMAT": "TEXT"}, "text"),
    ],
)
def test_log_format_defaults_to_json_unless_debug_is_on(env, expected):
    assert logging_settings(**env) == {"format": expected, "formatter": expected}


def test_an_unknown_log_format_is_refused_at_start():
    outcome = logging_settings(LOG_FORMAT="xml")

    assert "LOG_FORMAT must be json or text" in outcome["error"]
