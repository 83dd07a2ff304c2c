"""Client settings: the endpoint, the region map and timeouts. No I/O."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from functools import cache
from typing import Final
from urllib.parse import urlsplit

import httpx

from alisms._errors import ConfigurationError
from alisms._record import Record

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_TIMEOUT",
    "ENV_ENDPOINT",
    "REGION_ENDPOINTS",
    "Endpoint",
    "resolve_endpoint",
    "resolve_timeout",
]

DEFAULT_ENDPOINT: Final = "https://dysmsapi.ap-southeast-1.aliyuncs.com"
"""Singapore, the endpoint of the international API."""

ENV_ENDPOINT: Final = "ALISMS_ENDPOINT"
"""Environment variable naming the endpoint when neither ``endpoint`` nor ``region`` is given."""

REGION_ENDPOINTS: Final[Mapping[str, str]] = {
    "ap-southeast-1": "dysmsapi.ap-southeast-1.aliyuncs.com",
    "ap-southeast-5": "dysmsapi.ap-southeast-5.aliyuncs.com",
    "eu-central-1": "dysmsapi.eu-central-1.aliyuncs.com",
    "us-east-1": "dysmsapi.us-east-1.aliyuncs.com",
    "cn-hongkong": "dysmsapi.aliyuncs.com",
    "cn-hangzhou": "dysmsapi.aliyuncs.com",
    "cn-shanghai": "dysmsapi.aliyuncs.com",
    "cn-beijing": "dysmsapi.aliyuncs.com",
    "cn-shenzhen": "dysmsapi.aliyuncs.com",
}
"""The documented dysmsapi endpoint of each region."""

DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
"""Five seconds to connect, ten for each of write, read and pool."""


class Endpoint(Record):
    """Where requests go: ``scheme://host`` with ``host`` as signed (port included).

    Immutable; equal when both fields are. (A plain class rather than a frozen
    dataclass, which costs a few hundred microseconds to create at import.)
    """

    __slots__ = ("host", "scheme")
    _fields = ("scheme", "host")

    scheme: str
    host: str

    def __init__(self, scheme: str, host: str) -> None:
        object.__setattr__(self, "scheme", scheme)
        object.__setattr__(self, "host", host)

    @property
    def url(self) -> str:
        """The URL every RPC-style request is POSTed to."""
        return f"{self.scheme}://{self.host}/"


@cache
def _host_name() -> re.Pattern[str]:
    # Compiled when an endpoint is first resolved, not with the package.
    return re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def _is_ip(hostname: str) -> bool:
    import ipaddress  # imported when an endpoint is resolved, not with the package

    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


def _is_loopback(hostname: str) -> bool:
    import ipaddress

    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def resolve_endpoint(
    endpoint: str | None,
    region: str | None,
    *,
    allow_insecure_http: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Endpoint:
    """Return the :class:`Endpoint` for the client's ``endpoint`` or ``region``.

    ``endpoint`` is a host name (HTTPS is used) or a full URL with no path.
    ``http://`` is accepted for loopback hosts (``127.0.0.1``, ``[::1]``,
    ``localhost``) and elsewhere only with ``allow_insecure_http``. With
    neither argument, ``$ALISMS_ENDPOINT`` or the Singapore endpoint is used.
    """
    if endpoint is not None and region is not None:
        raise ConfigurationError(
            "give endpoint= or region=, not both", hint="region= only picks the endpoint"
        )
    if region is not None:
        host = REGION_ENDPOINTS.get(region) if isinstance(region, str) else None
        if host is None:
            raise ConfigurationError(
                f"unknown region {region!r}",
                hint=f"use one of {', '.join(REGION_ENDPOINTS)}, or pass endpoint=",
            )
        return Endpoint("https", host)
    if endpoint is None:
        env = os.environ if environ is None else environ
        endpoint = env.get(ENV_ENDPOINT) or DEFAULT_ENDPOINT
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise ConfigurationError(f"endpoint must be a host name or URL, not {endpoint!r}")
    text = endpoint.strip()
    try:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        hostname = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"endpoint {endpoint!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http") or not hostname:
        raise ConfigurationError(
            f"endpoint {endpoint!r} is not an http(s) URL or host name",
            hint="for example 'dysmsapi.ap-southeast-1.aliyuncs.com' or 'http://127.0.0.1:8080'",
        )
    if not _host_name().fullmatch(hostname) and not _is_ip(hostname):
        raise ConfigurationError(
            f"endpoint {endpoint!r} has an unusable host name {hostname!r}",
            hint="use ASCII letters, digits, '-' and '.', or an IP address "
            "(write an internationalised name in its xn-- form)",
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ConfigurationError(
            f"endpoint {endpoint!r} must be scheme, host and port only (no path, query or user)"
        )
    if parts.scheme == "http" and not (allow_insecure_http or _is_loopback(hostname)):
        raise ConfigurationError(
            f"endpoint {endpoint!r} is plain HTTP to a host that is not loopback",
            hint=(
                "requests would cross the network unencrypted; use https://, or pass "
                "allow_insecure_http=True if you really mean it"
            ),
        )
    default_port = 443 if parts.scheme == "https" else 80
    bracketed = f"[{hostname}]" if ":" in hostname else hostname
    host = bracketed if port in (None, default_port) else f"{bracketed}:{port}"
    return Endpoint(parts.scheme, host.lower())


def resolve_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """Return ``timeout`` as an :class:`httpx.Timeout`; ``None`` gives the default.

    A number is seconds for every phase; it must be positive.
    """
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not timeout > 0
        or not math.isfinite(timeout)
    ):
        raise ConfigurationError(
            f"timeout must be a positive number of seconds or an httpx.Timeout, not {timeout!r}"
        )
    return httpx.Timeout(float(timeout))
