"""The reader of the settings' environment variables: django-environ's `Env`, made strict.

`jobboard/settings.py` reads every variable through one `Env()` with django-environ's typed
readers (`env.bool`, `env.int`, `env.float`, `env.list`, `env.str`, `env.db_url`,
`env.email_url`). This subclass changes only what the project cannot live with:

- A value that does not parse stops the start with `ImproperlyConfigured` naming the variable
  (stock django-environ reads `DJANGO_DEBUG=maybe` as false, `JOB_LIFETIME_DAYS=abc` raises a
  bare `ValueError`, and `1e3` as a float becomes 13.0).
- A number or a boolean set to the empty string is unset: docker compose passes `VAR=` for the
  ones it leaves alone.
- A value is taken as it is: no `$OTHER_VARIABLE` indirection, which would turn a secret that
  starts with `$` into a lookup of another variable.
- `env.db_url` parses with dj-database-url (connection age and health checks included), and
  `env.email_url` knows the three schemes of `.env.example`: `smtp://`, `smtp+tls://` (STARTTLS)
  and `smtps://` (TLS from the first byte), where stock django-environ reads `smtps://` as STARTTLS.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import dj_database_url
import environ
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
EMAIL_SCHEMES = ("smtp", "smtp+tls", "smtps")
# What a parse error says the variable must be; other casts (URLs) say what was wrong instead,
# without echoing a value that may hold a password.
EXPECTED = {bool: "a boolean (true/false)", int: "an integer", float: "a number"}


def parse_bool(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def parse_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class Env(environ.Env):
    """django-environ's reader, strict about values and plain about strings (see the module)."""

    def get_value(
        self,
        var: str,
        cast: Callable[[str], Any] | None = None,
        default: Any = environ.Env.NOTSET,
        parse_default: bool = False,
    ) -> Any:
        raw = self.ENVIRON.get(var)
        expected = EXPECTED.get(cast) if isinstance(cast, type) else None
        if raw is None or (expected and not raw.strip()):
            if default is self.NOTSET:
                raise ImproperlyConfigured(f"Set the {var} environment variable")
            if not parse_default or default is None:
                return default
            raw = default
        try:
            return self.parse_value(raw, cast)
        except ImproperlyConfigured:
            raise
        except (TypeError, ValueError) as exc:
            if expected:
                message = f"{var} must be {expected}, got {raw!r}"
            else:
                message = f"{var} is not valid: {exc}"
            raise ImproperlyConfigured(message) from exc

    @classmethod
    def parse_value(cls, value: Any, cast: Callable[[str], Any] | None) -> Any:
        if not isinstance(value, str):
            return value
        if cast is bool:
            return parse_bool(value)
        if cast is float:
            return builtins.float(value)
        if cast is list:
            return parse_list(value)
        return super().parse_value(value, cast)

    def db_url(
        self, var: str = "DATABASE_URL", default: Any = environ.Env.NOTSET, **options: Any
    ) -> dict[str, Any]:
        """`DATABASES["default"]` from a URL, by dj-database-url with its options."""
        return self.get_value(
            var,
            cast=lambda url: dj_database_url.parse(url, **options),
            default=default,
            parse_default=True,
        )

    def email_url(self, var: str = "EMAIL_URL", default: Any = environ.Env.NOTSET) -> dict:
        """Django's `EMAIL_*` SMTP settings from `smtp://`, `smtp+tls://` or `smtps://`."""
        return self.get_value(var, cast=self.email_url_config, default=default, parse_default=True)

    @classmethod
    def email_url_config(cls, url: str, backend: str | None = None) -> dict[str, Any]:
        parts = urlsplit(url.strip())
        if parts.scheme not in EMAIL_SCHEMES:
            raise ValueError("it must be smtp://, smtp+tls:// or smtps://host:port")
        return {
            "EMAIL_BACKEND": backend or "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parts.hostname or "localhost",
            "EMAIL_PORT": parts.port or (465 if parts.scheme == "smtps" else 25),
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_SSL": parts.scheme == "smtps",
            "EMAIL_USE_TLS": parts.scheme == "smtp+tls",
        }
