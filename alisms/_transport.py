"""Sending a signed request: the only module that does HTTP.

:func:`send` and :func:`send_async` go through httpx; :class:`AiohttpSender`
goes straight through an ``aiohttp.ClientSession`` (the fast async path,
``AsyncClient(transport="aiohttp")``), without httpx's request and response
models. Each sends exactly the signed bytes and headers, reads the whole
answer, and turns its library's failures into :class:`alisms.TransportError`
by the same rule: only an error proving that no connection was ever made says
``may_have_been_sent=False``.

aiohttp is imported only when an aiohttp path is asked for, never with alisms.
"""

from __future__ import annotations

import functools
import http.cookiejar
import io
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Final, TypeGuard

import httpx

from alisms._errors import ConfigurationError, TransportError
from alisms.signing import SignedRequest

if TYPE_CHECKING:
    import asyncio
    import ssl

    import aiohttp

__all__ = [
    "AIOHTTP_INSTALL_HINT",
    "NoCookies",
    "AiohttpSender",
    "Answer",
    "aiohttp_client_timeout",
    "aiohttp_error",
    "is_aiohttp_session",
    "send",
    "send_async",
    "surely_not_sent",
    "transport_error",
]

Timeout = httpx.Timeout | httpx._client.UseClientDefault

# Failures where httpx never got a connection to write the request on.
_NOT_SENT: Final = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


class Answer:
    """An HTTP answer, read in full; header names lower-case (the last value of a repeat)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status: Final = status
        self.headers: Final = headers
        self.body: Final = body

    def __repr__(self) -> str:
        return f"Answer(status={self.status!r}, {len(self.body)} bytes)"


def _answer(response: httpx.Response) -> Answer:
    # One pass over httpx's headers: its own lookups decode every header each time.
    return Answer(response.status_code, dict(response.headers.items()), response.content)


class NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing, for the httpx clients alisms makes itself.

    The API is stateless and every request is signed, so a cookie from the
    gateway (a load balancer's, say) is nothing to send back, and a cookie
    would go out unsigned. httpx hands every answer to its jar, and the
    standard jar's parsing costs about 15 µs a request. An ``http_client``
    you pass keeps its own jar.
    """

    def extract_cookies(self, response: object, request: object) -> None:
        """Keep no cookie of the answer."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        """Keep no cookie."""

    def add_cookie_header(self, request: object) -> None:
        """Send no cookie."""


@functools.lru_cache(maxsize=64)
def _target(url: str) -> httpx.URL:
    """``url`` parsed once: httpx parses a ``str`` URL anew on every request (about 9 µs)."""
    return httpx.URL(url)


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
    return _failure(exc, url, not_sent=surely_not_sent(exc))


def _failure(exc: BaseException, url: str, *, not_sent: bool) -> TransportError:
    kind = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if not_sent:
        return TransportError(
            f"could not send the request to {url}: {kind}",
            may_have_been_sent=False,
            hint="Nothing was sent; check the endpoint and the network, then try again",
        )
    return TransportError(
        f"no answer from {url}: {kind}",
        may_have_been_sent=True,
        hint=(
            "The request may have reached the service and the message may have been "
            "accepted: check before sending it again"
        ),
    )


def send(client: httpx.Client, url: str, signed: SignedRequest, timeout: Timeout) -> Answer:
    """POST ``signed`` to ``url`` with ``client`` and return the whole answer."""
    if client.is_closed:
        raise _closed(url)
    try:
        response = client.post(
            _target(url), content=signed.body, headers=signed.headers, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise transport_error(exc, url) from None
    return _answer(response)


async def send_async(
    client: httpx.AsyncClient, url: str, signed: SignedRequest, timeout: Timeout
) -> Answer:
    """POST ``signed`` to ``url`` with ``client`` and return the whole answer, without blocking."""
    if client.is_closed:
        raise _closed(url)
    try:
        response = await client.post(
            _target(url), content=signed.body, headers=signed.headers, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise transport_error(exc, url) from None
    return _answer(response)


# -- aiohttp -----------------------------------------------------------------------

AIOHTTP_INSTALL_HINT: Final = "pip install 'alisms-intl[aiohttp]'"


def is_aiohttp_session(obj: object) -> TypeGuard[aiohttp.ClientSession]:
    """Whether ``obj`` is an ``aiohttp.ClientSession``, without importing aiohttp.

    An object can only be one if aiohttp is already imported.
    """
    module = sys.modules.get("aiohttp")
    return module is not None and isinstance(obj, module.ClientSession)


def _import_aiohttp() -> ModuleType:
    try:
        import aiohttp
    except ImportError:
        raise ConfigurationError(
            "transport='aiohttp' needs aiohttp, which is not installed",
            hint=f"install the aiohttp extra: {AIOHTTP_INSTALL_HINT}",
        ) from None
    return aiohttp


def _not_sent_errors(aiohttp: ModuleType) -> tuple[type[BaseException], ...]:
    # ClientConnectorError covers refused connections, DNS, TLS and certificate
    # failures and an unreachable proxy: the connection was never made. aiohttp
    # 3.10+ raises ConnectionTimeoutError only when getting a connection (from
    # the pool or a new one) timed out; older versions raise ServerTimeoutError
    # for that and for read timeouts alike, so it proves nothing there.
    found: tuple[type[BaseException], ...] = (aiohttp.ClientConnectorError,)
    connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", None)
    return (*found, connect_timeout) if connect_timeout is not None else found


def aiohttp_error(exc: BaseException, url: str) -> TransportError:
    """Describe an aiohttp failure as a :class:`TransportError` (without the request's headers).

    Only aiohttp's connector errors and its connect timeout prove the request
    never left; anything else (a read or total timeout, a server disconnect
    after the request was written, a truncated body) may have been sent.
    """
    aiohttp = sys.modules.get("aiohttp")
    not_sent = aiohttp is not None and isinstance(exc, _not_sent_errors(aiohttp))
    return _failure(exc, url, not_sent=not_sent)


_WRITE_NEVER_WAITS: Final = 32 * 1024
"""Bytes of body that go out without waiting: aiohttp waits on a write only once
more than 64 KiB sit unsent in the transport's buffer, and the request head is
a few hundred bytes. Every SendMessageToGlobe body is below this; a large batch
may not be."""

_LARGE_BODY: Final = 1024 * 1024
"""Past this, aiohttp wants a body as a stream (it warns about large raw bytes, which it
writes in one go); a BytesIO goes out in 64 KiB chunks, still with its Content-Length."""


def aiohttp_client_timeout(timeout: httpx.Timeout, *, body_size: int = 0) -> aiohttp.ClientTimeout:
    """The ``aiohttp.ClientTimeout`` that bounds a request as ``timeout`` bounds it in httpx.

    httpx's pool and connect phases are aiohttp's ``connect`` (waiting for a
    pooled connection plus opening a new one); httpx's connect is also
    aiohttp's ``sock_connect``, and its read is ``sock_read`` (the longest
    wait for data once the request is written). aiohttp has no write
    timeout, and a body of ``body_size`` bytes below 32 KiB never waits to
    be written; a larger one gets a ``total`` of the four phases added up,
    which bounds a write that never ends without cutting short an exchange
    httpx would allow (a total costs a timer per request, so small bodies go
    without). A phase without a limit (``None``) leaves the bounds it enters
    unlimited.
    """
    import aiohttp

    connect, read, write, pool = timeout.connect, timeout.read, timeout.write, timeout.pool
    acquire = None if connect is None or pool is None else connect + pool
    total = None
    if body_size > _WRITE_NEVER_WAITS and not (acquire is None or write is None or read is None):
        total = acquire + write + read
    return aiohttp.ClientTimeout(total=total, connect=acquire, sock_connect=connect, sock_read=read)


def _trust_store() -> ssl.SSLContext:
    """The certificate checks httpx makes by default: the same CA bundle, verification on."""
    return httpx.create_ssl_context()


class AiohttpSender:
    """Sends signed requests through an ``aiohttp.ClientSession``: asyncio only.

    With ``session``, that session (the caller's: never closed here).
    Without, one created inside the running loop on the first send (an
    aiohttp session belongs to the loop it was made in) and closed by
    :meth:`aclose`; ``tls`` gives it httpx's default certificate checks for
    an ``https://`` endpoint.
    """

    _CACHED_TIMEOUTS: Final = 16

    def __init__(self, session: aiohttp.ClientSession | None = None, *, tls: bool = True) -> None:
        import asyncio  # with aiohttp, not with alisms

        module = _import_aiohttp()
        self._running_loop: Final = asyncio.get_running_loop
        self._session = session
        self._owned = session is None
        self._ssl = _trust_store() if self._owned and tls else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._errors: Final = (module.ClientError, OSError)  # OSError: TimeoutError too
        self._timeouts: dict[tuple[float | bool | None, ...], aiohttp.ClientTimeout] = {}

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The session requests go through (``None`` until an owned one is first needed)."""
        return self._session

    def _current(self, url: str) -> aiohttp.ClientSession:
        """The session to send on now, created if it is ours and not made yet."""
        if self._closed:
            raise _closed(url)
        try:
            loop = self._running_loop()
        except RuntimeError:
            raise ConfigurationError(
                "the aiohttp transport runs on asyncio only, and no asyncio event loop is "
                "running (trio?); nothing was sent",
                hint="under trio, use AsyncClient's default httpx transport",
            ) from None
        session = self._session
        if session is None:
            import aiohttp

            connector = aiohttp.TCPConnector(ssl=self._ssl) if self._ssl is not None else None
            session = self._session = aiohttp.ClientSession(connector=connector)
            self._loop = loop
        elif session.closed:
            raise _closed(url)
        elif self._owned and loop is not self._loop:
            raise ConfigurationError(
                "this AsyncClient's aiohttp session was made in another event loop; "
                "nothing was sent",
                hint="create the client inside the event loop that uses it (one per loop)",
            )
        return session

    def _timeout(self, timeout: httpx.Timeout, body_size: int) -> aiohttp.ClientTimeout:
        big = body_size > _WRITE_NEVER_WAITS
        key = (timeout.connect, timeout.read, timeout.write, timeout.pool, big)
        found = self._timeouts.get(key)
        if found is None:
            found = aiohttp_client_timeout(timeout, body_size=body_size)
            if len(self._timeouts) < self._CACHED_TIMEOUTS:  # deadline-cut ones are one-offs
                self._timeouts[key] = found
        return found

    async def send(self, url: str, signed: SignedRequest, timeout: httpx.Timeout) -> Answer:
        """POST ``signed`` to ``url`` and return the whole answer, without blocking."""
        session = self._current(url)
        body = signed.body
        data = body if len(body) <= _LARGE_BODY else io.BytesIO(body)
        try:
            # Our headers go out as they are: aiohttp adds Host, Accept, User-Agent
            # and Content-Type only when they are missing, and signed.headers has
            # them all. No redirects (a POST must not wander), no compression, no
            # chunking (bytes go with a Content-Length), no raise_for_status:
            # an error status is an answer to parse.
            response = await session.post(
                url,
                data=data,
                headers=signed.headers,
                timeout=self._timeout(timeout, len(body)),
                allow_redirects=False,
                raise_for_status=False,
                compress=None,
                chunked=None,
            )
            try:
                answer = await response.read()
            finally:
                response.release()
        except self._errors as exc:
            raise aiohttp_error(exc, url) from None
        headers = {name.lower(): value for name, value in response.headers.items()}
        return Answer(response.status, headers, answer)

    async def aclose(self) -> None:
        """Close the session if it is ours; later sends fail as on a closed client."""
        self._closed = True
        if self._owned and self._session is not None:
            session, self._session = self._session, None
            await session.close()
