"""Settings of Nexus Job Board, read from environment variables.

Every variable has an embedded default so that the one-command run needs no services; the names
and their production values are listed in `.env.example`. The app refuses to start with `DEBUG`
off and no secret key.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from jobboard.env import Env

# django-environ's typed readers; a missing or malformed value stops the start with
# ImproperlyConfigured naming the variable (jobboard/env.py).
env = Env()

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state of the embedded run (SQLite file, file cache, collected static files, emails).
VAR_DIR = Path(env.str("JOBBOARD_VAR_DIR", default=str(BASE_DIR / "var")))


# --- Core -----------------------------------------------------------------------------------

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off. "
            "Set it, or set DJANGO_DEBUG=true for a local development run."
        )
    SECRET_KEY = "django-insecure-local-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"]
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # GraphQL (core/graphql/): graphene-django's schema command and GraphiQL's script; the
    # second app ships GraphiQL's JavaScript and CSS, served by whitenoise (no CDN).
    "graphene_django",
    "graphene_django_graphiql_static",
    "django_celery_beat",
    "core.apps.CoreConfig",
    "tasks.apps.TasksConfig",
]

MIDDLEWARE = [
    # First: the request id is bound before anything else runs, and the logged duration covers
    # the whole stack.
    "core.middleware.RequestLogMiddleware",
    # Probes are answered before host validation and the HTTPS redirect (see jobboard/health.py).
    "jobboard.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # RateLimit-Policy / RateLimit from what the throttles counted (core/api/throttling.py).
    "core.api.throttling.RateLimitHeadersMiddleware",
    # Last: the policy of each page (CONTENT_SECURITY_POLICIES); static files carry none.
    "core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "jobboard.urls"
WSGI_APPLICATION = "jobboard.wsgi.application"
AUTH_USER_MODEL = "core.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "jobboard" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=env.int("DATABASE_CONN_MAX_AGE", default=60),
        conn_health_checks=True,
    )
}
# Bounded waits (jobboard/database.py): no process waits on PostgreSQL longer than these.
# Connecting (TCP, start-up, authentication):
DATABASE_CONNECT_TIMEOUT = env.float("DATABASE_CONNECT_TIMEOUT", default=3.0)
# Any one database answer during a web request; past it the request answers 503.
DATABASE_REQUEST_TIMEOUT = env.float("DATABASE_REQUEST_TIMEOUT", default=5.0)
# The server cancels any statement after this (0: never); outside web requests (tasks, beat,
# commands) the client gives up a few seconds later, on a server that does not answer at all.
DATABASE_STATEMENT_TIMEOUT = env.float("DATABASE_STATEMENT_TIMEOUT", default=30.0)
# After a wait ran out, how long this process answers "unavailable" at once before trying again.
DATABASE_CIRCUIT_SECONDS = env.float("DATABASE_CIRCUIT_SECONDS", default=2.0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        # libpq wants whole seconds, at least 2; the wait callback enforces the exact bound.
        "connect_timeout": max(2, math.ceil(DATABASE_CONNECT_TIMEOUT)),
        # A peer that vanished (host down, cable cut) is noticed within about 20 s.
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 2,
        "tcp_user_timeout": 20_000,
        # statement_timeout bounds runaway queries; a session left idle inside a transaction (its
        # client timed out or died) is ended, so its row locks never block the others for long.
        "options": (
            f"-c statement_timeout={int(DATABASE_STATEMENT_TIMEOUT * 1000)}"
            " -c idle_in_transaction_session_timeout=60000"
        ),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite creates the file but not its folder; every process of the embedded run needs it.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat all write to the one file: WAL lets readers run beside a writer,
    # IMMEDIATE takes the write lock up front instead of failing with "database is locked"
    # when a read transaction later tries to write.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

# --- Cache (listing cache, throttle counters) -----------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="").strip()
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "jobboard",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    # Shared by every local process (gunicorn workers, Celery), unlike the per-process locmem.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": "jobboard",
        }
    }

# --- Auth -----------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# New and changed passwords are hashed with Argon2id at or above OWASP's recommendation
# (m=46 MiB, t=1, p=1; here m=46 MiB, t=2, p=1: see `core.accounts.hashers`). PBKDF2 stays
# after it so the hashes stored before verify; each is re-hashed with Argon2id at its next login.
PASSWORD_HASHERS = [
    "core.accounts.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=10)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    # Blank as in .env.example: the secret key, never an empty HMAC key.
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

# How long the cache may answer "open" for a session before the database is asked again: the
# longest a session ended while the cache was unreachable could still be taken as open.
SESSION_STATE_CACHE_SECONDS = env.int("SESSION_STATE_CACHE_SECONDS", default=60)

# Per-account lockout (core.accounts.lockout): this many failed logins of one username, from any
# address, within the window lock it until the window ends (429, Retry-After). 0 turns it off.
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=10)
LOGIN_FAILURES_WINDOW_SECONDS = env.int("LOGIN_FAILURES_WINDOW_SECONDS", default=15 * 60)
if LOGIN_FAILURES_PER_ACCOUNT < 0 or LOGIN_FAILURES_WINDOW_SECONDS < 1:
    raise ImproperlyConfigured(
        "LOGIN_FAILURES_PER_ACCOUNT must be 0 (off) or more, LOGIN_FAILURES_WINDOW_SECONDS 1+"
    )

# --- REST framework, throttling, docs -------------------------------------------------------

THROTTLE_ENABLED = env.bool("THROTTLE_ENABLED", default=True)
DEFAULT_THROTTLE_RATES = {
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


def parse_throttle_rates(raw: str) -> dict[str, str]:
    """Parse `anon=100/min,login=5/min` into DRF's `DEFAULT_THROTTLE_RATES` shape."""
    rates = dict(DEFAULT_THROTTLE_RATES)
    for item in filter(None, (part.strip() for part in raw.split(","))):
        scope, sep, rate = item.partition("=")
        if not sep or not scope.strip() or not rate.strip():
            raise ImproperlyConfigured(
                f"THROTTLE_RATES entry {item!r} must look like scope=N/period"
            )
        rates[scope.strip()] = rate.strip()
    return rates


REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.api.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSON parser with a nesting bound: a deeply nested body is a 400, not a 500.
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": (
        [
            "core.api.throttling.AnonRateThrottle",
            "core.api.throttling.UserRateThrottle",
            "core.api.throttling.ScopedRateThrottle",
        ]
        if THROTTLE_ENABLED
        else []
    ),
    "DEFAULT_THROTTLE_RATES": parse_throttle_rates(env.str("THROTTLE_RATES", default="")),
    # Client identity for throttling is REMOTE_ADDR unless the operator says how many trusted
    # proxies sit in front; trusting X-Forwarded-For blindly lets a client pick its own identity.
    "NUM_PROXIES": env.int("TRUSTED_PROXY_COUNT", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Nexus Job Board API",
    "DESCRIPTION": (
        "Employers post jobs into categories; job seekers search and apply.\n\n"
        "**Authorize:** obtain a token pair at `POST /api/token/`, click *Authorize* and enter "
        "`Bearer <access_token>` in the value field."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "core.jobs.models.JobStatus",
        "ApplicationStatusEnum": "core.applications.models.ApplicationStatus",
        "EmploymentTypeEnum": "core.jobs.models.EmploymentType",
        "WebhookDeliveryStatusEnum": "core.webhooks.models.WebhookDeliveryStatus",
    },
    # What generated clients and API tools need (servers, enum member names, bounds, security).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.postprocess_for_clients",
    ],
}

# --- GraphQL (core/graphql/) -----------------------------------------------------------------

GRAPHENE = {"SCHEMA": "core.graphql.schema.schema"}
# Refused before execution, with the code QUERY_TOO_COMPLEX (see core/graphql/limits.py).
GRAPHQL_MAX_DEPTH = env.int("GRAPHQL_MAX_DEPTH", default=8)
GRAPHQL_MAX_ALIASES = env.int("GRAPHQL_MAX_ALIASES", default=15)
GRAPHQL_MAX_TOKENS = env.int("GRAPHQL_MAX_TOKENS", default=2000)
# Every field costs 1; a connection multiplies what is under it by its `first` (at most 100).
GRAPHQL_MAX_COST = env.int("GRAPHQL_MAX_COST", default=5000)
GRAPHQL_MAX_FIRST = 100
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=DEBUG)
GRAPHIQL_ENABLED = env.bool("GRAPHIQL_ENABLED", default=DEBUG)

# --- Domain ---------------------------------------------------------------------------------

JOB_LIFETIME_DAYS = env.int("JOB_LIFETIME_DAYS", default=30)
# A full-text search answers from this many most recently published matches (PostgreSQL).
SEARCH_RESULT_LIMIT = env.int("SEARCH_RESULT_LIMIT", default=1000)
# Employers are reminded this many days before a posting expires (once per posting).
JOB_EXPIRY_REMINDER_DAYS = env.int("JOB_EXPIRY_REMINDER_DAYS", default=3)

# --- Listings cache and periodic work --------------------------------------------------------

LISTINGS_CACHE_ENABLED = env.bool("LISTINGS_CACHE_ENABLED", default=True)
# Longest life of a cached listing page (shorter when a job on it expires sooner).
LISTING_CACHE_SECONDS = env.int("LISTING_CACHE_SECONDS", default=300)
# How stale a process's view of the listings generation may be.
LISTING_LOCAL_REVALIDATE_SECONDS = env.float("LISTING_LOCAL_REVALIDATE_SECONDS", default=0.25)
# Cache-Control max-age of public listing responses.
LISTING_CLIENT_MAX_AGE = env.int("LISTING_CLIENT_MAX_AGE", default=5)
JOB_EXPIRY_INTERVAL_SECONDS = env.int("JOB_EXPIRY_INTERVAL_SECONDS", default=60)
JOB_EXPIRY_BATCH_SIZE = env.int("JOB_EXPIRY_BATCH_SIZE", default=1000)
HOUSEKEEPING_INTERVAL_SECONDS = env.int("HOUSEKEEPING_INTERVAL_SECONDS", default=3600)
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=7)
DELIVERY_RETENTION_DAYS = env.int("DELIVERY_RETENTION_DAYS", default=90)

# --- Events, Celery and email -----------------------------------------------------------------

BROKER_DIR = VAR_DIR / "broker"
# The host is spelled out: the transport ignores it, but kombu warns on every connection that
# names none ("No hostname was supplied").
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="").strip() or "filesystem://localhost//"
if CELERY_BROKER_URL.startswith("filesystem"):
    # One folder for in and out: web, worker and beat all send and consume on this machine.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
    }
else:
    # Publisher confirms: a publish returns only once RabbitMQ has taken the message.
    # max_retries=0: opening a channel does not retry for seconds when the broker is down (the
    # web process must answer at once; the outbox sweep retries). The worker's own consumer
    # connection and retried publishes keep their reconnect policies.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True, "max_retries": 0}
# Short, so a broker that does not answer costs a request a fraction of a second, not seconds.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=0.5)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Longest wait for one publish: the socket write and RabbitMQ's confirmation (worker/celery.py).
CELERY_BROKER_PUBLISH_TIMEOUT = env.float("CELERY_BROKER_PUBLISH_TIMEOUT", default=1.0)
# A worker or beat notices a broker that stopped answering after two missed heartbeats.
CELERY_BROKER_HEARTBEAT = env.int("CELERY_BROKER_HEARTBEAT", default=10)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A task that fails with an unexpected error is rejected (dead-lettered), not acknowledged away.
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Unset: one pool process per core (measured on 2 cores: 4 or 6 processes drained no faster).
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=0) or None
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# How often beat sweeps the outbox for events an outage left behind, and for how long the web
# process stops trying to publish after the broker failed it once.
OUTBOX_SWEEP_SECONDS = env.float("OUTBOX_SWEEP_SECONDS", default=5.0)
OUTBOX_CIRCUIT_SECONDS = env.float("OUTBOX_CIRCUIT_SECONDS", default=5.0)
# Retries of a notification on transient SMTP or database errors: exponential backoff from
# NOTIFY_RETRY_BASE_SECONDS with jitter, then the dead-letter queue.
NOTIFY_MAX_RETRIES = env.int("NOTIFY_MAX_RETRIES", default=6)
NOTIFY_RETRY_BASE_SECONDS = env.float("NOTIFY_RETRY_BASE_SECONDS", default=2.0)
NOTIFY_RETRY_MAX_SECONDS = env.float("NOTIFY_RETRY_MAX_SECONDS", default=600.0)

# --- Webhooks (core/webhooks, tasks/webhooks.py) ---
# Per attempt: connect and each read wait this long at most. Retries wait these seconds in turn,
# then the delivery fails; an endpoint failing for WEBHOOK_DISABLE_AFTER_HOURS is disabled.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_RETRY_SCHEDULE = [
    int(seconds)
    for seconds in env.list(
        "WEBHOOK_RETRY_SCHEDULE", default=["5", "300", "1800", "7200", "18000", "36000", "36000"]
    )
    if seconds.strip()
]
WEBHOOK_DISABLE_AFTER_HOURS = env.float("WEBHOOK_DISABLE_AFTER_HOURS", default=72.0)
WEBHOOK_SECRET_ROTATION_HOURS = env.float("WEBHOOK_SECRET_ROTATION_HOURS", default=24.0)
# Plain http and the networks listed here (CIDR) only for development and tests.
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=False)
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
# How often beat starts the deliveries that are due (retries, and any a lost worker left).
WEBHOOK_SWEEP_SECONDS = env.float("WEBHOOK_SWEEP_SECONDS", default=5.0)
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=30)

# Where links in emails point.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://localhost:8000").rstrip("/")


def url_template(name: str, default: str, *variables: str) -> str:
    """The URL template in the variable `name`: absolute (http or https, with a host), holding
    each of `variables` as `{variable}` and no other placeholder, or the start is refused."""
    template = env.str(name, default=default).strip()
    parts = urlsplit(template)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ImproperlyConfigured(f"{name} must be an absolute http(s) URL, got {template!r}")
    missing = [f"{{{variable}}}" for variable in variables if f"{{{variable}}}" not in template]
    if missing:
        raise ImproperlyConfigured(f"{name} must contain {' and '.join(missing)}")
    try:
        template.format(**dict.fromkeys(variables, ""))
    except (KeyError, IndexError, ValueError) as exc:
        allowed = " and ".join(f"{{{variable}}}" for variable in variables)
        raise ImproperlyConfigured(
            f"{name} may hold no other {{placeholder}} than {allowed}"
        ) from exc
    return template


# The front end's page that sets a new password: `{uid}` and `{token}` are filled in per email.
PASSWORD_RESET_URL = url_template(
    "PASSWORD_RESET_URL",
    f"{PUBLIC_BASE_URL}/reset-password?uid={{uid}}&token={{token}}",
    "uid",
    "token",
)
# The front end's pages that emails link to, `{id}` filled in per email (the API's own URLs need
# a token, and a browser cannot POST a renewal from a link).
FRONTEND_APPLICATION_URL = url_template(
    "FRONTEND_APPLICATION_URL", "http://localhost:3000/applications/{id}", "id"
)
FRONTEND_JOB_URL = url_template("FRONTEND_JOB_URL", "http://localhost:3000/jobs/{id}", "id")
FRONTEND_RENEW_JOB_URL = url_template(
    "FRONTEND_RENEW_JOB_URL", "http://localhost:3000/jobs/{id}/renew", "id"
)
FRONTEND_ALERTS_URL = url_template("FRONTEND_ALERTS_URL", "http://localhost:3000/alerts/{id}", "id")
FRONTEND_WEBHOOK_URL = url_template(
    "FRONTEND_WEBHOOK_URL", "http://localhost:3000/webhooks/{id}", "id"
)
# --- Job alerts ---
# Alerts per seeker, and jobs listed in one digest (the email links to the rest).
JOB_ALERTS_PER_USER = env.int("JOB_ALERTS_PER_USER", default=20)
JOB_ALERT_MAX_JOBS = env.int("JOB_ALERT_MAX_JOBS", default=20)
# When beat runs the digests (UTC): daily at this time, weekly on this ISO weekday (1 = Monday).
JOB_ALERT_DIGEST_TIME = env.str("JOB_ALERT_DIGEST_TIME", default="07:00")
JOB_ALERT_WEEKLY_DAY = env.int("JOB_ALERT_WEEKLY_DAY", default=1)
# A digest run takes alerts this many at a time, and at most this many batches run at once
# across every process (so a digest run never takes the connections the API needs).
JOB_ALERT_DIGEST_BATCH_SIZE = env.int("JOB_ALERT_DIGEST_BATCH_SIZE", default=200)
JOB_ALERT_DIGEST_CONCURRENCY = env.int("JOB_ALERT_DIGEST_CONCURRENCY", default=2)
# How long a reset link works, in seconds (it also stops once used: the password changed).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
DEFAULT_FROM_EMAIL = env.str("EMAIL_FROM", default="Nexus Job Board <noreply@jobboard.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The fully qualified domain the Message-IDs of our emails are under; default: EMAIL_FROM's.
EMAIL_MESSAGE_ID_DOMAIN = env.str(
    "EMAIL_MESSAGE_ID_DOMAIN",
    default=DEFAULT_FROM_EMAIL.rpartition("@")[2].rstrip(">").strip(),
).lower()
if not re.fullmatch(
    r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+", EMAIL_MESSAGE_ID_DOMAIN
):
    raise ImproperlyConfigured(
        f"EMAIL_MESSAGE_ID_DOMAIN must be a fully qualified domain name, got "
        f"{EMAIL_MESSAGE_ID_DOMAIN!r} (set it, or give EMAIL_FROM an address at such a domain)"
    )
EMAIL_URL = env.str("EMAIL_URL", default="").strip()
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
if EMAIL_URL:
    # smtp://, smtp+tls:// (STARTTLS) or smtps:// (TLS from the first byte).
    _email = env.email_url("EMAIL_URL")
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email["EMAIL_HOST"]
    EMAIL_PORT = _email["EMAIL_PORT"]
    EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
    EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
    EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
    EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
else:
    # The embedded run writes every email to a file in var/mail/ so it can be read.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")

# --- API versions (core.api.versions) ------------------------------------------------------

REST_FRAMEWORK.update(
    {
        "DEFAULT_VERSIONING_CLASS": "core.api.versions.PathVersioning",
        "DEFAULT_VERSION": "v1",
        "ALLOWED_VERSIONS": ["v1", "v2"],
        # The API's handler, its answers as problem details (RFC 9457) on v2.
        "EXCEPTION_HANDLER": "core.api.versions.problems.exception_handler",
    }
)
MIDDLEWARE.insert(1, "core.api.versions.deprecation.DeprecationMiddleware")


def parse_api_deprecations(raw: str) -> dict:
    """`v1=2027-12-31` (sunset) or `v1=2026-12-01/2027-12-31` (deprecated since/sunset), comma
    separated, as `{"v1": (since or None, sunset)}`."""
    from datetime import date

    deprecations = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        version, _, dates = (text.strip() for text in item.partition("="))
        since, _, sunset = dates.rpartition("/")
        try:
            parsed = (date.fromisoformat(since) if since else None, date.fromisoformat(sunset))
        except ValueError as exc:
            raise ImproperlyConfigured(f"API_DEPRECATIONS: {item!r}: {exc}") from exc
        if (
            version not in REST_FRAMEWORK["ALLOWED_VERSIONS"]
            or (parsed[0] or parsed[1]) > parsed[1]
        ):
            raise ImproperlyConfigured(f"API_DEPRECATIONS: {item!r}: unknown version or order")
        deprecations[version] = parsed
    return deprecations


# Every response of a version named here carries Deprecation, Sunset and a Link to the notes.
API_DEPRECATIONS = parse_api_deprecations(env.str("API_DEPRECATIONS", default=""))
API_MIGRATION_NOTES_URL = env.str(
    "API_MIGRATION_NOTES_URL",
    # v2's reference, whose introduction holds the notes (core.api.versions.schema).
    default=f"{PUBLIC_BASE_URL}/api/v2/docs/redoc/",
)

# --- Health probes --------------------------------------------------------------------------

# How long /readyz waits for each dependency (database, cache, broker) before calling it down.
HEALTH_CHECK_TIMEOUT_SECONDS = env.float("HEALTH_CHECK_TIMEOUT_SECONDS", default=2.0)

# --- HTTP, CORS and security ----------------------------------------------------------------

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
# Response headers a browser app may read (the README's "For API consumers").
CORS_EXPOSE_HEADERS = ["ETag", "X-Request-ID", "RateLimit", "RateLimit-Policy", "Retry-After"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Cover letters are bounded far below this; anything bigger is not a job application.
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024

# Content-Security-Policy by path prefix, the longest matching (core.middleware). Everything is
# served from here (no CDN): scripts only from our static files, never inline; inline styles,
# which Swagger UI, ReDoc and the admin set on elements, are allowed; ReDoc runs its search in a
# blob: worker; Swagger UI's "Try it out" calls the API on this origin. GraphiQL adds its own
# entry (or sets `content_security_policy` on its response).
# What every page's policy ends with (GraphiQL's, built per page in core/graphql/, too).
CONTENT_SECURITY_POLICY_COMMON = "base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
_CSP_COMMON = CONTENT_SECURITY_POLICY_COMMON
_DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
    f"form-action 'none'; {_CSP_COMMON}"
)
CONTENT_SECURITY_POLICIES = {
    "": f"default-src 'none'; form-action 'none'; {_CSP_COMMON}",
    "/api/docs/": _DOCS_POLICY,
    # Each version's Swagger UI and ReDoc (core.api.versions) are the same pages.
    "/api/v1/docs/": _DOCS_POLICY,
    "/api/v2/docs/": _DOCS_POLICY,
    "/admin/": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
        f"form-action 'self'; {_CSP_COMMON}"
    ),
}
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SESSION_COOKIE_HTTPONLY = True

# --- Static files ---------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # whitenoise's compressed manifest storage, tolerant of a missing source map (GraphiQL's).
    "staticfiles": {"BACKEND": "jobboard.static_storage.StaticFilesStorage"},
}
# In the development run the finders serve files straight from the apps.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# --- I18N -----------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging --------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# json: one JSON object per line, for a log collector (production); text: readable lines for the
# development run. Web, worker and beat all log through the one console handler below (Celery
# hands its logging to this configuration, see worker/celery.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="").strip().lower() or ("text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "jobboard.logs.RequestIdFilter"},
    },
    "formatters": {
        "json": {"()": "jobboard.logs.JsonFormatter"},
        "text": {"()": "jobboard.logs.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Without handlers of its own, Django's logger goes through the console handler like
        # everything else (Django's defaults would add a second, plain-text one under DEBUG).
        "django": {"level": LOG_LEVEL},
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": LOG_LEVEL},
        # Celery's own "Task ... succeeded" line repeats the task-run line of `jobboard.task`
        # (worker/celery.py), which carries the event and request ids; its failures are errors.
        "celery.app.trace": {"level": "WARNING"},
    },
}
