"""Sending a signed request over httpx, sync and async: the only module that does HTTP.

Both functions send exactly the signed bytes and headers, read the whole
answer, and turn httpx's failures into :class:`alisms.TransportError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import httpx

from alisms._errors import TransportError
from alisms.signing import SignedRequest

__all__ = ["Answer", "send", "send_async", "surely_not_sent", "transport_error"]

Timeout = httpx.Timeout | httpx._client.UseClientDefault

# Failures where httpx never got a connection to write the request on.
_NOT_SENT: Final = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


@dataclass(frozen=True)
class Answer:
    """An HTTP answer, read in full; header names lower-case (the last value of a repeat)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def _answer(response: httpx.Response) -> Answer:
    # One pass over httpx's headers: its own lookups decode every header each time.
    return Answer(response.status_code, dict(response.headers.items()), response.content)


def _request(url: str, signed: SignedRequest) -> tuple[str, dict[str, str], bytes]:
    return url, dict(signed.headers), signed.body


def _closed(url: str) -> TransportError:
    return TransportError(
        f"the client is closed; nothing was sent to {url}",
        may_have_been_sent=False,
        hint="Create a new client, or keep this one open for the life of the application",
    )


def surely_not_sent(exc: httpx.HTTPError) -> bool:
    """Whether ``exc`` proves the request never left: no connection was ever made.

    httpx's own connection errors prove it. A transport that maps a foreign
    library's errors onto httpx's may not: httpx-aiohttp turns every
    ``aiohttp.ClientConnectionError``, a server disconnect after the request
    was written included, into ``httpx.ConnectTimeout``. So an error that
    wraps an aiohttp exception counts only when that exception is one of
    aiohttp's connector errors (the connection was never established).
    """
    if not isinstance(exc, _NOT_SENT):
        return False
    cause = exc.__cause__
    if cause is None or not type(cause).__module__.startswith("aiohttp"):
        return True
    return any(k.__name__.startswith("ClientConnector") for k in type(cause).__mro__)


def transport_error(exc: httpx.HTTPError, url: str) -> TransportError:
    """Describe an httpx failure as a :class:`TransportError` (without the request's headers)."""
    kind = type(exc).__name__
    if surely_not_sent(exc):
        return TransportError(
            f"could not send the request to {url}: {kind}: {exc}",
            may_have_been_sent=False,
            hint="Nothing was sent; check the endpoint and the network, then try again",
        )
    return TransportError(
        f"no answer from {url}: {kind}: {exc}",
        may_have_been_sent=True,
        hint=(
            "The request may have reached the service and the message may have been "
            "accepted: check before sending it again"
        ),
    )


def send(client: httpx.Client, url: str, signed: SignedRequest, timeout: Timeout) -> Answer:
    """POST ``signed`` to ``url`` with ``client`` and return the whole answer."""
    target, headers, body = _request(url, signed)
    if client.is_closed:
        raise _closed(url)
    try:
        response = client.post(target, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise transport_error(exc, url) from None
    return _answer(response)


async def send_async(
    client: httpx.AsyncClient, url: str, signed: SignedRequest, timeout: Timeout
) -> Answer:
    """POST ``signed`` to ``url`` with ``client`` and return the whole answer, without blocking."""
    target, headers, body = _request(url, signed)
    if client.is_closed:
        raise _closed(url)
    try:
        response = await client.post(target, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise transport_error(exc, url) from None
    return _answer(response)
