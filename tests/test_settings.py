"""The settings as a process sees them at start: the embedded defaults with nothing set, the
values of `.env.example`, and a start refused with `ImproperlyConfigured` naming the variable
whose value is missing or does not parse.

Each case imports `jobboard.settings` in a fresh interpreter whose environment holds only the
variables the case sets, so the suite's own environment cannot leak in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What the child prints: every upper-case setting, JSON where it can be, repr() otherwise.
DUMP = (
    "import json; from jobboard import settings; "
    "print(json.dumps({name: getattr(settings, name) for name in dir(settings) if name.isupper()}, "
    "default=repr))"
)


def start(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "JOBBOARD_VAR_DIR": str(tmp_path / "var"),
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-c", DUMP],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def settings_of(tmp_path: Path, **variables: str) -> dict:
    result = start(tmp_path, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refusal(tmp_path: Path, **variables: str) -> str:
    """The last line of the traceback of a start that must fail."""
    result = start(tmp_path, **variables)
    assert result.returncode != 0, "the settings started with a value they must refuse"
    return result.stderr.strip().splitlines()[-1]


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def test_with_only_a_secret_key_the_embedded_defaults_apply(tmp_path):
    var = tmp_path / "var"

    settings = settings_of(tmp_path, DJANGO_SECRET_KEY="k")

    assert settings["DEBUG"] is False
    assert settings["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]", "testserver"]
    assert settings["DATABASES"]["default"] == {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(var / "db.sqlite3"),
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": True,
        "DISABLE_SERVER_SIDE_CURSORS": False,
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
    assert settings["CACHES"]["default"]["BACKEND"].endswith("FileBasedCache")
    assert settings["CACHES"]["default"]["LOCATION"] == str(var / "cache")
    assert settings["REDIS_URL"] == ""
    assert settings["CELERY_BROKER_URL"] == "filesystem://localhost//"
    assert settings["CELERY_BROKER_TRANSPORT_OPTIONS"]["data_folder_in"] == str(
        var / "broker" / "queue"
    )
    assert settings["CELERY_BROKER_CONNECTION_TIMEOUT"] == 0.5
    assert settings["CELERY_WORKER_CONCURRENCY"] is None
    assert settings["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert settings["EMAIL_FILE_PATH"] == str(var / "mail")
    assert settings["EMAIL_TIMEOUT"] == 10
    assert settings["DEFAULT_FROM_EMAIL"] == "Nexus Job Board <noreply@jobboard.local>"
    assert settings["PUBLIC_BASE_URL"] == "http://localhost:8000"
    assert settings["SIMPLE_JWT"]["ACCESS_TOKEN_LIFETIME"] == repr(timedelta(minutes=10))
    assert settings["SIMPLE_JWT"]["REFRESH_TOKEN_LIFETIME"] == repr(timedelta(days=7))
    assert settings["SIMPLE_JWT"]["SIGNING_KEY"] == "k"
    assert settings["THROTTLE_ENABLED"] is True
    assert settings["REST_FRAMEWORK"]["DEFAULT_THROTTLE_RATES"] == {
        "anon": "300/min",
        "user": "600/min",
        "login": "5/min",
        "token_refresh": "30/min",
        "register": "20/hour",
        "apply": "30/hour",
        "job_post": "60/hour",
        "password_reset": "5/hour",
        "password_reset_confirm": "10/hour",
    }
    assert settings["REST_FRAMEWORK"]["NUM_PROXIES"] == 0
    assert {
        name: settings[name]
        for name in (
            "JOB_LIFETIME_DAYS",
            "SEARCH_RESULT_LIMIT",
            "JOB_EXPIRY_REMINDER_DAYS",
            "LISTINGS_CACHE_ENABLED",
            "LISTING_CACHE_SECONDS",
            "LISTING_LOCAL_REVALIDATE_SECONDS",
            "LISTING_CLIENT_MAX_AGE",
            "JOB_EXPIRY_INTERVAL_SECONDS",
            "JOB_EXPIRY_BATCH_SIZE",
            "HOUSEKEEPING_INTERVAL_SECONDS",
            "OUTBOX_RETENTION_DAYS",
            "DELIVERY_RETENTION_DAYS",
            "OUTBOX_SWEEP_SECONDS",
            "OUTBOX_CIRCUIT_SECONDS",
            "NOTIFY_MAX_RETRIES",
            "NOTIFY_RETRY_BASE_SECONDS",
            "NOTIFY_RETRY_MAX_SECONDS",
            "HEALTH_CHECK_TIMEOUT_SECONDS",
        )
    } == {
        "JOB_LIFETIME_DAYS": 30,
        "SEARCH_RESULT_LIMIT": 1000,
        "JOB_EXPIRY_REMINDER_DAYS": 3,
        "LISTINGS_CACHE_ENABLED": True,
        "LISTING_CACHE_SECONDS": 300,
        "LISTING_LOCAL_REVALIDATE_SECONDS": 0.25,
        "LISTING_CLIENT_MAX_AGE": 5,
        "JOB_EXPIRY_INTERVAL_SECONDS": 60,
        "JOB_EXPIRY_BATCH_SIZE": 1000,
        "HOUSEKEEPING_INTERVAL_SECONDS": 3600,
        "OUTBOX_RETENTION_DAYS": 7,
        "DELIVERY_RETENTION_DAYS": 90,
        "OUTBOX_SWEEP_SECONDS": 5.0,
        "OUTBOX_CIRCUIT_SECONDS": 5.0,
        "NOTIFY_MAX_RETRIES": 6,
        "NOTIFY_RETRY_BASE_SECONDS": 2.0,
        "NOTIFY_RETRY_MAX_SECONDS": 600.0,
        "HEALTH_CHECK_TIMEOUT_SECONDS": 2.0,
    }
    assert settings["CORS_ALLOWED_ORIGINS"] == []
    assert settings["CSRF_TRUSTED_ORIGINS"] == []
    assert settings["SECURE_SSL_REDIRECT"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 60 * 60 * 24 * 30
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["STATIC_ROOT"] == repr(var / "static")
    assert settings["LOG_LEVEL"] == "INFO"
    assert settings["LOG_FORMAT"] == "json"


def test_with_nothing_set_the_start_is_refused_for_want_of_a_secret_key(tmp_path):
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is required" in refusal(tmp_path)


def test_the_values_of_env_example_are_read_as_production_would(tmp_path):
    settings = settings_of(tmp_path, **env_example())

    assert settings["DEBUG"] is False
    assert settings["ALLOWED_HOSTS"] == ["jobs.example.com"]
    database = settings["DATABASES"]["default"]
    assert (database["ENGINE"], database["HOST"], database["PORT"], database["NAME"]) == (
        "django.db.backends.postgresql",
        "localhost",
        5432,
        "jobboard",
    )
    assert (database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]) == (60, True)
    # Bounded waits (jobboard/database.py): libpq's connect timeout, keepalives and the
    # server-side timeouts of every session, from .env.example's values.
    assert database["OPTIONS"]["connect_timeout"] == 3
    assert database["OPTIONS"]["keepalives"] == 1
    assert database["OPTIONS"]["options"] == (
        "-c statement_timeout=30000 -c idle_in_transaction_session_timeout=60000"
    )
    assert (settings["DATABASE_REQUEST_TIMEOUT"], settings["DATABASE_CIRCUIT_SECONDS"]) == (5, 2)
    assert settings["CELERY_BROKER_PUBLISH_TIMEOUT"] == 1
    assert settings["CACHES"]["default"]["LOCATION"] == "redis://localhost:6379/0"
    assert settings["CELERY_BROKER_URL"] == "amqp://guest:guest@localhost:5672//"
    assert settings["CELERY_BROKER_TRANSPORT_OPTIONS"] == {
        "confirm_publish": True,
        "max_retries": 0,
    }
    # Set to the empty string: one pool process per core.
    assert settings["CELERY_WORKER_CONCURRENCY"] is None
    assert (
        settings["EMAIL_HOST"],
        settings["EMAIL_PORT"],
        settings["EMAIL_HOST_USER"],
        settings["EMAIL_HOST_PASSWORD"],
        settings["EMAIL_USE_TLS"],
        settings["EMAIL_USE_SSL"],
    ) == ("localhost", 1025, "user", "password", False, False)
    assert settings["CORS_ALLOWED_ORIGINS"] == ["https://jobs.example.com"]
    # JWT_SIGNING_KEY is listed blank: tokens are signed with the secret key, not an empty one.
    assert settings["SIMPLE_JWT"]["SIGNING_KEY"] == env_example()["DJANGO_SECRET_KEY"]
    assert settings["REST_FRAMEWORK"]["NUM_PROXIES"] == 1
    assert settings["SECURE_HSTS_SECONDS"] == 2592000
    assert settings["CELERY_BROKER_CONNECTION_TIMEOUT"] == 0.5
    assert settings["LISTING_LOCAL_REVALIDATE_SECONDS"] == 0.25


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example:2525", ("mail.example", 2525, False, False, "", "")),
        ("smtp+tls://mail.example", ("mail.example", 25, True, False, "", "")),
        (
            "smtps://us%40er:p%2Fss@mail.example",
            ("mail.example", 465, False, True, "us@er", "p/ss"),
        ),
    ],
)
def test_email_url_schemes_choose_plain_starttls_or_tls(tmp_path, url, expected):
    settings = settings_of(tmp_path, DJANGO_SECRET_KEY="k", EMAIL_URL=url)

    assert settings["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (
        settings["EMAIL_HOST"],
        settings["EMAIL_PORT"],
        settings["EMAIL_USE_TLS"],
        settings["EMAIL_USE_SSL"],
        settings["EMAIL_HOST_USER"],
        settings["EMAIL_HOST_PASSWORD"],
    ) == expected


def test_blank_numbers_and_booleans_are_unset_and_strings_are_taken_as_they_are(tmp_path):
    settings = settings_of(
        tmp_path,
        DJANGO_SECRET_KEY="$not-a-reference-to-another-variable",
        DJANGO_DEBUG="",
        OUTBOX_SWEEP_SECONDS="",
        JOB_LIFETIME_DAYS=" ",
        DJANGO_ALLOWED_HOSTS=" a.example , b.example ,, ",
        THROTTLE_ENABLED="Off",
        LISTINGS_CACHE_ENABLED="1",
    )

    assert settings["SECRET_KEY"] == "$not-a-reference-to-another-variable"
    assert settings["DEBUG"] is False
    assert settings["OUTBOX_SWEEP_SECONDS"] == 5.0
    assert settings["JOB_LIFETIME_DAYS"] == 30
    assert settings["ALLOWED_HOSTS"] == ["a.example", "b.example"]
    assert settings["THROTTLE_ENABLED"] is False
    assert settings["LISTINGS_CACHE_ENABLED"] is True


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("JOB_LIFETIME_DAYS", "abc", "JOB_LIFETIME_DAYS must be an integer, got 'abc'"),
        ("DATABASE_CONN_MAX_AGE", "1.5", "DATABASE_CONN_MAX_AGE must be an integer"),
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG must be a boolean (true/false), got 'maybe'"),
        ("THROTTLE_ENABLED", "2", "THROTTLE_ENABLED must be a boolean"),
        ("OUTBOX_SWEEP_SECONDS", "abc", "OUTBOX_SWEEP_SECONDS must be a number, got 'abc'"),
        # Stock django-environ would read this as 5.0.
        ("CELERY_BROKER_CONNECTION_TIMEOUT", "0.5s", "CELERY_BROKER_CONNECTION_TIMEOUT must be"),
        ("DATABASE_URL", "posgres://db/jobboard", "DATABASE_URL is not valid"),
        ("EMAIL_URL", "http://mail.example", "EMAIL_URL is not valid"),
        ("EMAIL_URL", "smtp://mail.example:port", "EMAIL_URL is not valid"),
        ("THROTTLE_RATES", "login", "THROTTLE_RATES entry 'login' must look like scope=N/period"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be json or text"),
    ],
)
def test_a_malformed_value_stops_the_start_naming_the_variable(tmp_path, variable, value, says):
    last_line = refusal(tmp_path, DJANGO_SECRET_KEY="k", **{variable: value})

    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert says in last_line


def test_a_url_with_a_password_is_not_echoed_when_refused(tmp_path):
    last_line = refusal(
        tmp_path, DJANGO_SECRET_KEY="k", DATABASE_URL="nosuchdb://user:hunter2@db/jobboard"
    )

    assert "DATABASE_URL is not valid" in last_line
    assert "hunter2" not in last_line


# --- Front-end URL templates ------------------------------------------------------------------

FRONTEND_URLS = {
    "FRONTEND_APPLICATION_URL": "http://localhost:3000/applications/{id}",
    "FRONTEND_JOB_URL": "http://localhost:3000/jobs/{id}",
    "FRONTEND_RENEW_JOB_URL": "http://localhost:3000/jobs/{id}/renew",
    "FRONTEND_ALERTS_URL": "http://localhost:3000/alerts/{id}",
    "FRONTEND_WEBHOOK_URL": "http://localhost:3000/webhooks/{id}",
}


def test_front_end_urls_have_documented_defaults_and_env_example_sets_each(tmp_path):
    defaults = settings_of(tmp_path, DJANGO_SECRET_KEY="k")
    assert {name: defaults[name] for name in FRONTEND_URLS} == FRONTEND_URLS
    example = env_example()
    production = settings_of(tmp_path, **example)
    for name in FRONTEND_URLS:
        assert production[name] == example[name]
        assert example[name].startswith("https://app.example.com/")


@pytest.mark.parametrize("variable", [*FRONTEND_URLS, "PASSWORD_RESET_URL"])
@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("/applications/{id}", "must be an absolute http(s) URL"),
        ("app.example.com/{id}", "must be an absolute http(s) URL"),
        ("ftp://app.example.com/{id}", "must be an absolute http(s) URL"),
        ("https://app.example.com/applications", "must contain {"),
        ("https://app.example.com/{id}/{uid}/{token}/{slug}", "may hold no other {placeholder}"),
    ],
)
def test_a_url_template_that_is_not_absolute_or_lacks_its_variable_stops_the_start(
    tmp_path, variable, value, says
):
    last_line = refusal(tmp_path, DJANGO_SECRET_KEY="k", **{variable: value})

    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert variable in last_line
    assert says in last_line


def test_message_ids_are_under_a_fully_qualified_domain(tmp_path):
    assert settings_of(tmp_path, DJANGO_SECRET_KEY="k")["EMAIL_MESSAGE_ID_DOMAIN"] == (
        "jobboard.local"
    )
    example = settings_of(tmp_path, **env_example())
    assert example["EMAIL_MESSAGE_ID_DOMAIN"] == "jobs.example.com"
    from_domain = settings_of(tmp_path, DJANGO_SECRET_KEY="k", EMAIL_FROM="Ops <ops@Mail.Acme.io>")
    assert from_domain["EMAIL_MESSAGE_ID_DOMAIN"] == "mail.acme.io"
    for value in ("localhost", "nexus-jobboard", "-bad.example.com", "a..b"):
        last_line = refusal(tmp_path, DJANGO_SECRET_KEY="k", EMAIL_MESSAGE_ID_DOMAIN=value)
        assert "EMAIL_MESSAGE_ID_DOMAIN must be a fully qualified domain name" in last_line
