"""Which URLs an endpoint may have, and which address a delivery connects to (SSRF rules).

A URL is `https` (plain `http` only with `WEBHOOK_ALLOW_HTTP`), carries no credentials, and
every address its host resolves to is public: not loopback, private, link-local, CGNAT,
multicast, reserved, unspecified, IPv4-mapped, NAT64 or 6to4, unless it lies in one of
`WEBHOOK_ALLOWED_NETWORKS`. The check runs when the URL is saved and again at every delivery,
which then connects to the address this check returned (`CheckedURL.address`), never to a
second DNS answer.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

from core.exceptions import DomainError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges Python's `is_global` lets through, or that translate to IPv4 behind the check's back
# (the list requests-hardened keeps for the same reason).
_ALWAYS_BLOCKED = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "100.64.0.0/10",  # CGNAT
        "192.0.0.0/24",  # IETF protocol assignments
        "192.88.99.0/24",  # 6to4 relay anycast
        "::ffff:0:0/96",  # IPv4-mapped
        "64:ff9b::/96",  # NAT64
        "64:ff9b:1::/48",  # local NAT64
        "2002::/16",  # 6to4
        "2001:20::/28",  # ORCHIDv2
        "5f00::/16",  # segment routing
        "3fff::/20",  # documentation
    )
)


class WebhookURLRefused(DomainError):
    """The URL may not be a webhook endpoint; `default_code` is replaced by the reason."""

    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__(detail, field="url")
        self.default_code = code


@dataclass(frozen=True)
class CheckedURL:
    url: str
    scheme: str
    hostname: str
    port: int
    address: IPAddress


@lru_cache(maxsize=8)
def _allowed_networks(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in spec if cidr.strip())


def allowed_networks() -> tuple:
    return _allowed_networks(tuple(settings.WEBHOOK_ALLOWED_NETWORKS))


def address_refusal(address: IPAddress) -> str | None:
    """Why `address` may not be connected to, or None when it may."""
    if any(address in network for network in allowed_networks()):
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return "an IPv4-mapped address"
    checks = (
        ("a loopback address", address.is_loopback),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("an unspecified address", address.is_unspecified),
        ("a reserved address", address.is_reserved),
        ("a private address", address.is_private),
        ("a blocked address", any(address in net for net in _ALWAYS_BLOCKED)),
        ("a non-public address", not address.is_global),
    )
    return next((reason for reason, blocked in checks if blocked), None)


def _resolve(hostname: str, port: int) -> list[IPAddress]:
    try:
        literal = ipaddress.ip_address(hostname)
    except ValueError:
        pass
    else:
        return [literal]
    try:
        answers = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookURLRefused(
            f"The host {hostname!r} does not resolve.", code="host_unresolvable"
        ) from exc
    found: list[IPAddress] = []
    for family, *_rest, sockaddr in answers:
        if family in (socket.AF_INET, socket.AF_INET6):
            address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
            if address not in found:
                found.append(address)
    if not found:
        raise WebhookURLRefused(
            f"The host {hostname!r} does not resolve.", code="host_unresolvable"
        )
    return found


def check_url(url: str) -> CheckedURL:
    """Check `url` against the rules above, resolving its host now; raises `WebhookURLRefused`
    (with the reason as `code`) or returns the address to connect to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookURLRefused("Enter a valid URL.", code="invalid_url") from exc
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if settings.WEBHOOK_ALLOW_HTTP else ("https",)
    if scheme not in allowed:
        raise WebhookURLRefused("The URL must use https.", code="https_required")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise WebhookURLRefused("The URL may not carry credentials.", code="credentials_in_url")
    hostname = (parts.hostname or "").rstrip(".")
    if not hostname:
        raise WebhookURLRefused("The URL has no host.", code="invalid_url")
    port = port or (443 if scheme == "https" else 80)
    addresses = _resolve(hostname, port)
    for address in addresses:
        reason = address_refusal(address)
        if reason is not None:
            raise WebhookURLRefused(
                f"The URL's host {hostname!r} is {reason} ({address}); webhooks go to public "
                "addresses only.",
                code="address_not_allowed",
            )
    return CheckedURL(url=url, scheme=scheme, hostname=hostname, port=port, address=addresses[0])
