"""The facades: :class:`Client` (blocking) and :class:`AsyncClient` (asyncio, trio via anyio).

Both are thin: they validate through :mod:`alisms._operations`, sign and
parse through :class:`alisms._core.Core`, and send through
:mod:`alisms._transport`. They share their constructor through
:class:`_Settings` and differ only in how they wait.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
import os
import random
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self, TypeVar, cast

import httpx

from alisms import _core, _operations, _transport, signing
from alisms._config import Endpoint, resolve_endpoint, resolve_timeout
from alisms._credentials import (
    ENV_ACCESS_KEY_ID,
    ENV_ACCESS_KEY_SECRET,
    Credentials,
    CredentialsProvider,
    EnvironmentCredentials,
    StaticCredentials,
)
from alisms._errors import (
    AlismsError,
    ConfigurationError,
    CredentialsError,
    ThrottlingError,
)
from alisms._ratelimit import DEFAULT_RATE_LIMITS, RateLimiter, limiters
from alisms._record import Record
from alisms._results import (
    BatchSendResult,
    ConversionResult,
    MessageType,
    QueryMessageResult,
    SendResult,
)
from alisms._retry import DEFAULT_RETRY, Attempts, Retry, Step
from alisms.signing import check_algorithm

if TYPE_CHECKING:
    from decimal import Decimal

    import aiohttp

    from alisms._bulk import AsyncBulkRun, BulkMessage, BulkRun, BulkSummary

__all__ = ["DEFAULT_DEADLINE", "AsyncClient", "Client"]

T = TypeVar("T")
logger = logging.getLogger("alisms")

_sending: ContextVar[bool] = ContextVar("alisms_sending", default=False)


async def _async_sleep(seconds: float) -> None:
    """Wait without blocking the event loop, under asyncio or trio (anyio, imported on use)."""
    import anyio

    await anyio.sleep(seconds)


def call_may_have_sent() -> bool:
    """Whether the last call in this context got as far as sending a request.

    A call interrupted (Ctrl-C, a task cancel) while it waited for its rate
    limit or before its first attempt sent nothing; once a request went out,
    it may have been accepted. Bulk runs read this to keep an exact account.
    """
    return _sending.get()


class _Unset:
    """The type of :data:`_UNSET`: "not given", where ``None`` means something."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Final = _Unset()
DEFAULT_DEADLINE: Final = 30.0
"""Seconds one call may take in all, retries and waits included."""


class _Settings(Record):
    """Everything a facade needs that is not I/O; shared by Client and AsyncClient.

    Never changed once made: :meth:`replace` makes a new one.
    """

    __slots__ = (
        "_longest_timeout",
        "core",
        "credentials",
        "deadline",
        "endpoint",
        "limits",
        "retry",
        "timeout",
    )
    _fields = ("core", "credentials", "timeout", "retry", "deadline", "limits")

    core: _core.Core
    credentials: CredentialsProvider
    timeout: httpx.Timeout
    retry: Retry
    deadline: float | None
    limits: Mapping[str, RateLimiter]
    endpoint: Endpoint
    _longest_timeout: float

    def __init__(
        self,
        core: _core.Core,
        credentials: CredentialsProvider,
        timeout: httpx.Timeout,
        retry: Retry,
        deadline: float | None,
        limits: Mapping[str, RateLimiter],
    ) -> None:
        for name, value in zip(
            self._fields, (core, credentials, timeout, retry, deadline, limits), strict=True
        ):
            object.__setattr__(self, name, value)
        # Derived, kept for every call's use.
        object.__setattr__(self, "endpoint", core.endpoint)
        phases = (timeout.connect, timeout.read, timeout.write, timeout.pool)
        longest = math.inf if None in phases else max(p for p in phases if p is not None)
        object.__setattr__(self, "_longest_timeout", longest)

    __hash__ = None  # type: ignore[assignment]  # limits is a dict: unhashable, like the fields

    def replace(
        self,
        *,
        timeout: httpx.Timeout | None = None,
        retry: Retry | None = None,
        deadline: float | _Unset | None = _UNSET,
    ) -> _Settings:
        """A copy with the given settings changed (``deadline=_UNSET`` keeps the deadline)."""
        return _Settings(
            self.core,
            self.credentials,
            self.timeout if timeout is None else timeout,
            self.retry if retry is None else retry,
            self.deadline if isinstance(deadline, _Unset) else deadline,
            self.limits,
        )

    def pace(self, operation: _operations.Operation[Any]) -> float:
        """Book the first attempt's rate-limit slot and return the wait.

        This wait is queueing in the client, before anything is signed or
        sent; the call's deadline starts after it.
        """
        limiter = self.limits.get(operation.action)
        if limiter is None:
            return 0.0
        wait = limiter.reserve(time.monotonic())
        assert wait is not None
        return wait

    def pace_retry(
        self,
        attempts: Attempts,
        operation: _operations.Operation[Any],
        signed: signing.SignedRequest,
        error: AlismsError,
    ) -> float:
        """Book a retry's rate-limit slot and return the wait.

        When no slot is free before the deadline, nothing is booked and the
        call ends with ``error``, its last failure (or
        :class:`~alisms.DeliveryUnknownError` when a send is in doubt).
        """
        limiter = self.limits.get(operation.action)
        if limiter is None:
            return 0.0
        now = time.monotonic()
        wait = limiter.reserve(now, within=attempts.remaining(now))
        if wait is None:
            raise attempts.out_of_time(
                error,
                nonce=signed.headers["x-acs-signature-nonce"],
                date=signed.headers["x-acs-date"],
            )
        return wait

    def succeeded(self, operation: _operations.Operation[Any]) -> None:
        limiter = self.limits.get(operation.action)
        if limiter is not None:
            limiter.succeeded()

    def start(self, operation: _operations.Operation[Any]) -> Attempts:
        return Attempts(self.retry, operation.billed, time.monotonic(), self.deadline)

    def sign(
        self, operation: _operations.Operation[Any], credentials: Credentials
    ) -> signing.SignedRequest:
        return self.core.sign(operation, credentials, date=_core.utc_now(), nonce=_core.new_nonce())

    def attempt_timeout(self, attempts: Attempts) -> httpx.Timeout:
        """Return the attempt's timeouts: the configured ones, cut to what the deadline leaves."""
        left = attempts.remaining(time.monotonic())
        t = self.timeout
        if left is None or left >= self._longest_timeout:
            return t  # the deadline cannot cut this attempt short
        left = max(left, 0.001)
        return httpx.Timeout(
            connect=_cap(t.connect, left),
            read=_cap(t.read, left),
            write=_cap(t.write, left),
            pool=_cap(t.pool, left),
        )

    def parse(
        self,
        operation: _operations.Operation[T],
        answer: _transport.Answer,
        credentials: Credentials,
        signed: signing.SignedRequest,
    ) -> T:
        return self.core.parse(
            operation,
            answer.status,
            answer.headers,
            answer.body,
            credentials,
            sent_date=signed.headers["x-acs-date"],
        )

    def after_failure(
        self,
        attempts: Attempts,
        error: AlismsError,
        operation: _operations.Operation[Any],
        signed: signing.SignedRequest,
    ) -> Step:
        """Return the next step, or raise the call's final error."""
        limiter = self.limits.get(operation.action)
        if limiter is not None and isinstance(error, ThrottlingError):
            limiter.throttled()
        step = attempts.after_failure(
            error,
            now=time.monotonic(),
            rand=random.random(),  # noqa: S311 - jitter, not a secret
            nonce=signed.headers["x-acs-signature-nonce"],
            date=signed.headers["x-acs-date"],
        )
        logger.debug(
            "%s attempt %d failed (%s: %s); %s in %.3f s",
            operation.action,
            attempts.tries - 1,
            type(error).__name__,
            error.code or error.message,
            "signing anew" if step.resign else "resending the identical request",
            step.delay,
        )
        return step


def _cap(value: float | None, left: float) -> float:
    return left if value is None else min(value, left)


def _retry_policy(retry: Retry | bool) -> Retry:
    if isinstance(retry, Retry):
        return retry
    if retry is True:
        return DEFAULT_RETRY
    if retry is False:
        return Retry(attempts=1)
    raise ConfigurationError(f"retry= takes an alisms.Retry, True or False, not {retry!r}")


def _deadline(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    if (
        isinstance(deadline, bool)
        or not isinstance(deadline, int | float)
        or not math.isfinite(deadline)
        or deadline <= 0
    ):
        raise ConfigurationError(f"deadline= takes positive seconds or None, not {deadline!r}")
    return float(deadline)


def _settings(
    *,
    access_key_id: str | None,
    access_key_secret: str | None,
    security_token: str | None,
    credentials: CredentialsProvider | None,
    endpoint: str | None,
    region: str | None,
    signature_algorithm: str,
    timeout: float | httpx.Timeout | None,
    allow_insecure_http: bool,
    retry: Retry | bool,
    deadline: float | None,
    rate_limits: Mapping[str, float | None] | None,
) -> _Settings:
    if credentials is not None:
        if access_key_id is not None or access_key_secret is not None or security_token:
            raise CredentialsError("give credentials= or an AccessKey pair, not both")
        if not isinstance(credentials, CredentialsProvider):
            raise CredentialsError(
                "credentials= needs get_credentials() and get_credentials_async() methods"
            )
        provider = credentials
    elif access_key_id is not None or access_key_secret is not None:
        if not access_key_id or not access_key_secret:
            raise CredentialsError(
                "give both access_key_id= and access_key_secret=, or neither to read "
                "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET"
            )
        provider = StaticCredentials(access_key_id, access_key_secret, security_token)
    else:
        if security_token is not None:
            raise CredentialsError("security_token= needs access_key_id= and access_key_secret=")
        provider = _default_provider()
    try:
        algorithm = check_algorithm(signature_algorithm)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    core = _core.Core(
        resolve_endpoint(endpoint, region, allow_insecure_http=allow_insecure_http), algorithm
    )
    return _Settings(
        core,
        provider,
        resolve_timeout(timeout),
        _retry_policy(retry),
        _deadline(deadline),
        limiters(rate_limits),
    )


def _default_provider() -> CredentialsProvider:
    """The environment variables when set, else the default chain (checked without I/O)."""
    if (
        os.environ.get(ENV_ACCESS_KEY_ID, "").strip()
        and os.environ.get(ENV_ACCESS_KEY_SECRET, "").strip()
    ):
        return EnvironmentCredentials()
    from alisms._chain import DefaultCredentialsChain  # with its providers, on demand

    chain = DefaultCredentialsChain()
    chain.check()
    return chain


class _Base:
    _settings: _Settings
    _owns_http: bool

    def with_options(
        self,
        *,
        retry: Retry | bool | None = None,
        timeout: float | httpx.Timeout | None = None,
        deadline: float | _Unset | None = _UNSET,
    ) -> Self:
        """A client like this one with other retry, timeout or deadline settings.

        It shares this client's connections and credentials (closing it
        closes nothing), so it is cheap to make per call::

            client.with_options(retry=False).send_message_to_globe(...)
        """
        settings = self._settings
        clone = copy.copy(self)
        clone._settings = settings.replace(
            retry=None if retry is None else _retry_policy(retry),
            timeout=None if timeout is None else resolve_timeout(timeout),
            deadline=deadline if isinstance(deadline, _Unset) else _deadline(deadline),
        )
        clone._owns_http = False  # closing the clone closes nothing
        return clone

    @property
    def endpoint(self) -> str:
        """The URL requests are sent to."""
        return self._settings.endpoint.url

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(endpoint={self.endpoint!r}, "
            f"signature_algorithm={self._settings.core.algorithm!r}, "
            f"credentials={self._settings.credentials!r})"
        )


class Client(_Base):
    """A blocking client for the international SMS API (dysmsapi 2018-05-01).

    Credentials come from ``access_key_id``/``access_key_secret`` (and
    ``security_token`` for STS), or from ``credentials``, a
    :class:`~alisms.CredentialsProvider`; with neither, from the
    ``ALIBABA_CLOUD_ACCESS_KEY_ID``, ``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` and
    ``ALIBABA_CLOUD_SECURITY_TOKEN`` environment variables, else the rest of
    :class:`~alisms.DefaultCredentialsChain` (resolved at the first call).

    ``endpoint`` is a host name or URL (default: ``$ALISMS_ENDPOINT``, else
    ``https://dysmsapi.ap-southeast-1.aliyuncs.com``); plain ``http://`` is
    allowed to loopback addresses, elsewhere only with
    ``allow_insecure_http=True``. ``region`` picks the documented endpoint of
    a region instead. ``timeout`` is seconds or an :class:`httpx.Timeout`
    (default: 5 s to connect, 10 s for the rest). ``http_client`` is an
    :class:`httpx.Client` to send through; it stays yours to close.
    ``transport`` is an httpx transport for a client alisms creates and
    closes (for example :class:`alisms.testing.FakeTransport`).

    ``retry`` is an :class:`alisms.Retry` (default: three tries in all),
    ``True`` for the default or ``False`` for none; ``deadline`` bounds a
    whole call from its first request, retries and waits included (default
    30 s; ``None`` for no bound); the wait for the first rate-limit slot is
    queueing in the client and does not count. Retries never send a
    message twice: see :mod:`alisms._retry` and
    :class:`alisms.DeliveryUnknownError`. :meth:`with_options` changes them
    for one call. ``rate_limits`` maps actions to calls per second for a
    client-side limiter shared by every call on the client (default: the
    documented account limits, 2,000/s for SendMessageToGlobe, 1/s for
    BatchSendMessageToGlobe, 300/s for QueryMessage; a throttling answer
    slows it down); ``None`` turns it off.

    Use it as a context manager, or call :meth:`close`. One client is safe to
    share between threads.
    """

    def __init__(
        self,
        *,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        security_token: str | None = None,
        credentials: CredentialsProvider | None = None,
        endpoint: str | None = None,
        region: str | None = None,
        signature_algorithm: str = "ACS3-HMAC-SHA256",
        timeout: float | httpx.Timeout | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        allow_insecure_http: bool = False,
        retry: Retry | bool = True,
        deadline: float | None = DEFAULT_DEADLINE,
        rate_limits: Mapping[str, float | None] | None = DEFAULT_RATE_LIMITS,
    ) -> None:
        self._settings = _settings(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            security_token=security_token,
            credentials=credentials,
            endpoint=endpoint,
            region=region,
            signature_algorithm=signature_algorithm,
            timeout=timeout,
            allow_insecure_http=allow_insecure_http,
            retry=retry,
            deadline=deadline,
            rate_limits=rate_limits,
        )
        if _transport.is_aiohttp_session(http_client) or cast(object, transport) == "aiohttp":
            raise ConfigurationError(
                "aiohttp is asynchronous: Client cannot send through it",
                hint="use alisms.AsyncClient for aiohttp; Client takes an httpx.Client",
            )
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise ConfigurationError("http_client= must be an httpx.Client (for Client)")
        if http_client is not None and transport is not None:
            raise ConfigurationError("give http_client= or transport=, not both")
        if transport is not None and not isinstance(transport, httpx.BaseTransport):
            raise ConfigurationError("transport= must be an httpx.BaseTransport (for Client)")
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=self._settings.timeout, transport=transport, cookies=_transport.NoCookies()
        )
        if http_client is not None and timeout is None:
            # A client we were given keeps its own timeouts (still cut to the deadline).
            self._settings = self._settings.replace(timeout=http_client.timeout)

    def _call(self, operation: _operations.Operation[T]) -> T:
        settings = self._settings
        _sending.set(False)
        wait = settings.pace(operation)
        if wait:
            time.sleep(wait)
        credentials = settings.credentials.get_credentials()
        attempts = settings.start(operation)
        signed = settings.sign(operation, credentials)  # after the wait: a fresh date
        while True:
            try:
                timeout = settings.attempt_timeout(attempts)
                _sending.set(True)
                answer = _transport.send(self._http, settings.endpoint.url, signed, timeout)
                result = settings.parse(operation, answer, credentials, signed)
                settings.succeeded(operation)
                return result
            except AlismsError as error:
                step = settings.after_failure(attempts, error, operation, signed)
                failure = error
            time.sleep(step.delay + settings.pace_retry(attempts, operation, signed, failure))
            if step.resign:
                credentials = settings.credentials.get_credentials()
                signed = settings.sign(operation, credentials)

    def send_message_to_globe(
        self,
        to: str,
        message: str,
        *,
        from_: str | None = None,
        type: MessageType | str | None = None,
        task_id: str | None = None,
        validity_period: int | None = None,
        channel_id: str | None = None,
    ) -> SendResult:
        """Send ``message`` to one number outside the Chinese mainland.

        ``to`` is the dialing code and number (a leading ``+`` or ``00`` is
        removed). ``from_`` is the sender ID, ``type`` one of ``OTP``,
        ``NOTIFY``, ``MKT``, ``task_id`` is echoed in delivery receipts and
        ``validity_period`` is in seconds. Returns the accepted message's
        :class:`~alisms.SendResult`; raises :class:`~alisms.ValidationError`
        before sending for bad input and an :class:`~alisms.APIError` when
        the service does not accept the message.
        """
        return self._call(
            _operations.send_message_to_globe(
                to,
                message,
                from_=from_,
                type=type,
                task_id=task_id,
                validity_period=validity_period,
                channel_id=channel_id,
            )
        )

    def batch_send_message_to_globe(
        self,
        to: Sequence[str],
        message: str | Sequence[str],
        *,
        from_: str | None = None,
        type: MessageType | str | None = None,
        task_id: str | None = None,
        validity_period: int | None = None,
        channel_id: str | None = None,
    ) -> BatchSendResult:
        """Send to 1 to 1,000 numbers in one call.

        ``message`` is one text for every number, or a sequence with one text
        per number. ``type`` is ``NOTIFY`` or ``MKT``. Numbers the service
        refuses are listed in the result's ``failed``.
        """
        return self._call(
            _operations.batch_send_message_to_globe(
                to,
                message,
                from_=from_,
                type=type,
                task_id=task_id,
                validity_period=validity_period,
                channel_id=channel_id,
            )
        )

    def query_message(self, message_id: str) -> QueryMessageResult:
        """Ask where a sent message stands (QueryMessage).

        ``message_id`` is a send result's ``message_id``. The answer's
        ``status`` is an :class:`~alisms.DeliveryStatus` (the raw value is in
        ``status_code``), with the carrier's ``error_code`` and the dates as
        timezone-aware datetimes. Sends nothing, so it is retried like any
        safe call.
        """
        return self._call(_operations.query_message(message_id))

    def send_message_with_template(
        self,
        to: str,
        from_: str,
        template_code: str,
        template_param: Mapping[str, str | int | float] | str | None = None,
        *,
        sms_up_extend_code: str | None = None,
        validity_period: int | None = None,
        channel_id: str | None = None,
    ) -> SendResult:
        """Send an approved template to one Chinese mainland number (SendMessageWithTemplate).

        ``to`` must be a mainland mobile number (``86`` then 11 digits; the
        mirror of the Globe methods, which refuse those). ``from_`` is the
        approved signature name, ``template_code`` the approved template's
        code (``SMS_...``), and ``template_param`` its variables, a mapping
        sent as a JSON object (or a JSON object string, sent as given).
        ``sms_up_extend_code`` is the extension code for replies and
        ``validity_period`` is in seconds. Billed like any send, so never
        resent after an ambiguous failure (see
        :class:`~alisms.DeliveryUnknownError`).
        """
        return self._call(
            _operations.send_message_with_template(
                to,
                from_,
                template_code,
                template_param,
                sms_up_extend_code=sms_up_extend_code,
                validity_period=validity_period,
                channel_id=channel_id,
            )
        )

    def sms_conversion(
        self,
        message_id: str,
        delivered: bool,
        *,
        conversion_time: datetime | int | None = None,
        to: str | None = None,
    ) -> ConversionResult:
        """Report whether the recipient used one message, such as an OTP (SmsConversion).

        ``delivered`` is ``True`` when the recipient used (or replied to) the
        message. ``conversion_time`` is when, as a timezone-aware datetime or
        Unix epoch milliseconds (default: the service's now); it must fall
        after the send. ``to`` is the recipient's number.
        """
        return self._call(
            _operations.sms_conversion(
                message_id, delivered, conversion_time=conversion_time, to=to
            )
        )

    def conversion_data(
        self,
        conversion_rate: float | Decimal,
        *,
        report_time: datetime | int | None = None,
    ) -> ConversionResult:
        """Report an aggregate OTP conversion rate, from 0 to 1 (ConversionData).

        ``report_time`` is the moment the rate is for, as a timezone-aware
        datetime or Unix epoch milliseconds (default: the service's now).
        """
        return self._call(_operations.conversion_data(conversion_rate, report_time=report_time))

    def send_many(
        self,
        messages: Iterable[BulkMessage | tuple[str, str]],
        *,
        concurrency: int = 16,
        batch: bool = False,
        on_progress: Callable[[BulkSummary], object] | None = None,
    ) -> BulkRun:
        """Send a campaign: one outcome per recipient, lazily, ``concurrency`` calls at a time.

        ``messages`` is any iterable of :class:`~alisms.BulkMessage` or
        ``(to, text)`` pairs. Use the returned run as a context manager and
        iterate it; calls are paced by the client's ``rate_limits``. With
        ``batch=True``, recipients go out in BatchSendMessageToGlobe calls of
        up to 1,000. ``on_progress`` is called with the
        :class:`~alisms.BulkSummary` after each outcome. See :mod:`alisms._bulk`.
        """
        from alisms._bulk import BulkRun

        return BulkRun(
            self, messages, concurrency=concurrency, batch=batch, on_progress=on_progress
        )

    def close(self) -> None:
        """Close the HTTP connections, unless the ``http_client`` was passed in."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(_Base):
    """The asynchronous twin of :class:`Client`: the same constructor and methods, awaitable.

    ``http_client`` is an :class:`httpx.AsyncClient`, ``transport`` an
    :class:`httpx.AsyncBaseTransport`. Use it as an async
    context manager, or call :meth:`aclose`. One client is safe to share
    between tasks of one event loop; it never blocks the loop.

    The fast path (asyncio only, needs ``pip install 'alisms-intl[aiohttp]'``)
    sends through aiohttp without httpx's request and response models:
    ``transport="aiohttp"`` makes alisms create an ``aiohttp.ClientSession``
    on the first call, inside the running loop, and close it in
    :meth:`aclose`; ``http_client`` may instead be your own
    ``aiohttp.ClientSession``, which stays yours to close. Either way,
    ``timeout`` (default or given) applies to every request, mapped onto
    ``aiohttp.ClientTimeout``.
    """

    def __init__(
        self,
        *,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        security_token: str | None = None,
        credentials: CredentialsProvider | None = None,
        endpoint: str | None = None,
        region: str | None = None,
        signature_algorithm: str = "ACS3-HMAC-SHA256",
        timeout: float | httpx.Timeout | None = None,
        http_client: httpx.AsyncClient | aiohttp.ClientSession | None = None,
        transport: httpx.AsyncBaseTransport | Literal["aiohttp"] | None = None,
        allow_insecure_http: bool = False,
        retry: Retry | bool = True,
        deadline: float | None = DEFAULT_DEADLINE,
        rate_limits: Mapping[str, float | None] | None = DEFAULT_RATE_LIMITS,
    ) -> None:
        self._settings = _settings(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            security_token=security_token,
            credentials=credentials,
            endpoint=endpoint,
            region=region,
            signature_algorithm=signature_algorithm,
            timeout=timeout,
            allow_insecure_http=allow_insecure_http,
            retry=retry,
            deadline=deadline,
            rate_limits=rate_limits,
        )
        self._send: Callable[
            [str, signing.SignedRequest, httpx.Timeout], Awaitable[_transport.Answer]
        ]
        if http_client is not None and transport is not None:
            raise ConfigurationError("give http_client= or transport=, not both")
        if transport == "aiohttp" or _transport.is_aiohttp_session(http_client):
            self._owns_http = http_client is None
            session = http_client if _transport.is_aiohttp_session(http_client) else None
            sender = _transport.AiohttpSender(
                session, tls=self._settings.endpoint.scheme == "https"
            )
            self._http: httpx.AsyncClient | _transport.AiohttpSender = sender
            self._send = sender.send
            return
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ConfigurationError(
                "http_client= must be an httpx.AsyncClient or an aiohttp.ClientSession "
                "(for AsyncClient)"
            )
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise ConfigurationError(
                'transport= must be an httpx.AsyncBaseTransport or "aiohttp" (for AsyncClient)'
            )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=self._settings.timeout, transport=transport, cookies=_transport.NoCookies()
        )
        self._send = functools.partial(_transport.send_async, self._http)
        if http_client is not None and timeout is None:
            self._settings = self._settings.replace(timeout=http_client.timeout)

    async def _call(self, operation: _operations.Operation[T]) -> T:
        settings = self._settings
        _sending.set(False)
        wait = settings.pace(operation)
        if wait:
            await _async_sleep(wait)
        credentials = await settings.credentials.get_credentials_async()
        attempts = settings.start(operation)
        signed = settings.sign(operation, credentials)  # after the wait: a fresh date
        while True:
            try:
                timeout = settings.attempt_timeout(attempts)
                _sending.set(True)
                answer = await self._send(settings.endpoint.url, signed, timeout)
                result = settings.parse(operation, answer, credentials, signed)
                settings.succeeded(operation)
                return result
            except AlismsError as error:
                step = settings.after_failure(attempts, error, operation, signed)
                failure = error
            await _async_sleep(
                step.delay + settings.pace_retry(attempts, operation, signed, failure)
            )
            if step.resign:
                credentials = await settings.credentials.get_credentials_async()
                signed = settings.sign(operation, credentials)

    async def send_message_to_globe(
        self,
        to: str,
        message: str,
        *,
        from_: str | None = None,
        type: MessageType | str | None = None,
        task_id: str | None = None,
        validity_period: int | None = None,
        channel_id: str | None = None,
    ) -> SendResult:
        """Send ``message`` to one number outside the Chinese mainland.

        See :meth:`Client.send_message_to_globe`.
        """
        return await self._call(
            _operations.send_message_to_globe(
                to,
                message,
                from_=from_,
                type=type,
                task_id=task_id,
                validity_period=validity_period,
                channel_id=channel_id,
            )
        )

    async def batch_send_message_to_globe(
        self,
        to: Sequence[str],
        message: str | Sequence[str],
        *,
        from_: str | None = None,
        type: MessageType | str | None = None,
        task_id: str | None = None,
        validity_period: int | None = None,
        channel_id: str | None = None,
    ) -> BatchSendResult:
        """Send to 1 to 1,000 numbers in one call.

        See :meth:`Client.batch_send_message_to_globe`.
        """
        return await self._call(
            _operations.batch_send_message_to_globe(
                to,
                message,
                from_=from_,
                type=type,
                task_id=task_id,
                validity_period=validity_period,
                channel_id=channel_id,
            )
        )

    async def query_message(self, message_id: str) -> QueryMessageResult:
        """Ask where a sent message stands (QueryMessage).

        See :meth:`Client.query_message`.
        """
        return await self._call(_operations.query_message(message_id))

    async def send_message_with_template(
        self,
        to: str,
        from_: str,
        template_code: str,
        template_param: Mapping[str, str | int | float] | str | None = None,
        *,
        sms_up_extend_code: str | None = None,
        validity_period: int | None = None,
        channel_id: str | None = None,
    ) -> SendResult:
        """Send an approved template to one Chinese mainland number (SendMessageWithTemplate).

        See :meth:`Client.send_message_with_template`.
        """
        return await self._call(
            _operations.send_message_with_template(
                to,
                from_,
                template_code,
                template_param,
                sms_up_extend_code=sms_up_extend_code,
                validity_period=validity_period,
                channel_id=channel_id,
            )
        )

    async def sms_conversion(
        self,
        message_id: str,
        delivered: bool,
        *,
        conversion_time: datetime | int | None = None,
        to: str | None = None,
    ) -> ConversionResult:
        """Report whether the recipient used one message, such as an OTP (SmsConversion).

        See :meth:`Client.sms_conversion`.
        """
        return await self._call(
            _operations.sms_conversion(
                message_id, delivered, conversion_time=conversion_time, to=to
            )
        )

    async def conversion_data(
        self,
        conversion_rate: float | Decimal,
        *,
        report_time: datetime | int | None = None,
    ) -> ConversionResult:
        """Report an aggregate OTP conversion rate, from 0 to 1 (ConversionData).

        See :meth:`Client.conversion_data`.
        """
        return await self._call(
            _operations.conversion_data(conversion_rate, report_time=report_time)
        )

    def send_many(
        self,
        messages: Iterable[BulkMessage | tuple[str, str]]
        | AsyncIterable[BulkMessage | tuple[str, str]],
        *,
        concurrency: int = 64,
        batch: bool = False,
        on_progress: Callable[[BulkSummary], object] | None = None,
    ) -> AsyncBulkRun:
        """Send a campaign: ``async with client.send_many(...) as run: async for outcome in run``.

        ``messages`` may also be an async iterable. See
        :meth:`Client.send_many`.
        """
        from alisms._bulk import AsyncBulkRun

        return AsyncBulkRun(
            self, messages, concurrency=concurrency, batch=batch, on_progress=on_progress
        )

    async def aclose(self) -> None:
        """Close the HTTP connections, unless the ``http_client`` was passed in."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
