"""One signed POST of a delivery, to the address the SSRF check returned.

The HTTP client is `requests` with an adapter that connects to the checked address while the
request keeps its host name (`Host` header, TLS SNI and certificate check): the technique of
requests-hardened, the library Saleor sends its webhooks with. Its own filter is not used as is:
it resolves the host a second time inside the adapter, blocks a fixed set of ranges (loopback
all or nothing, no allowed networks for development), and checks only one answer; here the one
check of `addresses.check_url` decides and its address is the one connected to. Redirects are
never followed; the response body is read up to 1 KB and the connection closed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from standardwebhooks import Webhook

from core.webhooks.addresses import CheckedURL

EXCERPT_BYTES = 1024
USER_AGENT = "NexusJobBoard-Webhooks/1.0"


class _CheckedAddressAdapter(HTTPAdapter):
    """Connect to `checked.address`, whatever DNS says now; TLS still verifies the host name."""

    def __init__(self, checked: CheckedURL) -> None:
        super().__init__(max_retries=0)
        self._checked = checked

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        address = self._checked.address
        host_params["host"] = f"[{address}]" if address.version == 6 else str(address)
        if host_params["scheme"] == "https":
            pool_kwargs["assert_hostname"] = self._checked.hostname
            pool_kwargs["server_hostname"] = self._checked.hostname
        return host_params, pool_kwargs


def sign(*, secrets: list[str], message_id: str, timestamp: datetime, body: str) -> str:
    """The `webhook-signature` header: one `v1,<base64>` per secret, space-separated."""
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets)


def signed_headers(
    *, secrets: list[str], message_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": sign(
            secrets=secrets, message_id=message_id, timestamp=timestamp, body=body
        ),
    }


@dataclass(frozen=True)
class Response:
    status_code: int | None
    duration_ms: int
    excerpt: str = ""
    error: str = ""
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(checked: CheckedURL, *, headers: dict[str, str], body: str) -> Response:
    """POST `body` to the checked URL; never raises for what the network or receiver does."""
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    host = checked.hostname if ":" not in checked.hostname else f"[{checked.hostname}]"
    default_port = 443 if checked.scheme == "https" else 80
    headers = {
        **headers,
        "Host": host if checked.port == default_port else f"{host}:{checked.port}",
    }
    started = time.monotonic()
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: the checked address it is
        session.mount(f"{checked.scheme}://", _CheckedAddressAdapter(checked))
        try:
            response = session.post(
                checked.url,
                data=body.encode(),
                headers=headers,
                timeout=(timeout, timeout),
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            return Response(None, _ms_since(started), error=f"{type(exc).__name__}: {exc}"[:2000])
        try:
            raw = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
        except Exception as exc:  # a reset or timeout while reading the answer's body
            raw = f"(reading the body failed: {type(exc).__name__})".encode()
        finally:
            response.close()
    error = ""
    if 300 <= response.status_code < 400:
        error = f"redirect to {response.headers.get('Location', '?')} not followed"
    return Response(
        response.status_code,
        _ms_since(started),
        excerpt=raw[:EXCERPT_BYTES].decode("utf-8", errors="replace"),
        error=error,
        retry_after=response.headers.get("Retry-After"),
    )


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
