"""Retry decisions: which failures are retried, how, and after how long. No I/O.

SMS is billed on submission and the API has no idempotency key, so a retry
must never send a message twice. Every failure falls in one of four classes:

1. **Not sent**: the connection was never made (refused, DNS, TLS, no
   connection from the pool). Retried.
2. **Refused, try again**: the service answered that it did not accept the
   request and asks for a retry later (503 ``ServiceUnavailable``, throttling,
   ``SYSTEM_ERROR``, ``QPS_LIMIT_CONTROL``, ``ONLINE_BILLING_FAILED``).
   Retried with a newly signed request, after the server's retry-after if it
   gave one.
3. **Ambiguous**: the request may have arrived but no usable answer came (a
   read timeout, a connection reset or closed during the response, a
   truncated or garbled body, a 500). For a send, the *identical* signed
   request (same date, nonce and signature) is sent again: if the first one
   reached the gateway, it refuses the reused nonce with
   ``SignatureNonceUsed`` instead of sending a second message, and the call
   ends in :class:`~alisms.DeliveryUnknownError`. Once a call is ambiguous,
   every later attempt is that identical request.
4. **Final**: anything else (validation, authentication, permission, a
   business code such as an invalid number). Not retried.

Both clients drive the same :class:`Attempts` object and differ only in how
they wait.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from alisms._errors import (
    AlismsError,
    APIError,
    ConfigurationError,
    DeliveryUnknownError,
    MalformedResponseError,
    MessageRejectedError,
    TransportError,
    bare_code,
)
from alisms._record import Record

__all__ = [
    "DEFAULT_RETRY",
    "Attempts",
    "Failure",
    "Retry",
    "Step",
    "classify",
    "parse_retry_after",
]

_RETRY_LATER_CODES: Final = frozenset(
    {
        "ServiceUnavailable",
        "SYSTEM_ERROR",
        "ONLINE_BILLING_FAILED",
        "QPS_LIMIT_CONTROL",
        "DATA_NOT_EXIST",
    }
)
_AMBIGUOUS_CODES: Final = frozenset({"InternalError", "UnknownError", "UNKNOWN", "GATEWAY_ERROR"})
_NONCE_USED: Final = "SignatureNonceUsed"


class Failure:
    """The four classes of failure (see the module's documentation).

    Four constants, compared with ``is``: ``NOT_SENT``, ``RETRY_LATER``,
    ``AMBIGUOUS`` and ``FINAL``. (Not an :class:`~enum.Enum`, which takes
    longer to create at import than the retry logic takes to run.)
    """

    __slots__ = ("name", "value")

    NOT_SENT: ClassVar[Failure]
    RETRY_LATER: ClassVar[Failure]
    AMBIGUOUS: ClassVar[Failure]
    FINAL: ClassVar[Failure]

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    def __repr__(self) -> str:
        return f"<Failure.{self.name}: {self.value!r}>"


Failure.NOT_SENT = Failure("NOT_SENT", "not sent")
Failure.RETRY_LATER = Failure("RETRY_LATER", "refused, try again")
Failure.AMBIGUOUS = Failure("AMBIGUOUS", "ambiguous")
Failure.FINAL = Failure("FINAL", "final")


def classify(error: AlismsError) -> Failure:
    """Return the class of ``error`` for the retry decision."""
    if isinstance(error, TransportError):
        return Failure.AMBIGUOUS if error.may_have_been_sent else Failure.NOT_SENT
    if isinstance(error, MalformedResponseError):
        return Failure.AMBIGUOUS
    if isinstance(error, APIError):
        code = bare_code(error.code)
        if code in _RETRY_LATER_CODES or code.startswith("Throttling"):
            return Failure.RETRY_LATER
        if code in _AMBIGUOUS_CODES:
            return Failure.AMBIGUOUS
    return Failure.FINAL


@dataclass(frozen=True)
class Retry:
    """How a client retries: at most ``attempts`` tries in all (1 means never retry).

    The wait before retry *n* is drawn uniformly from 0 to
    ``min(backoff_cap, backoff_base * 2**(n-1))`` ("full jitter"), or is the
    server's retry-after when it gives one, never past the call's deadline.
    """

    attempts: int = 3
    backoff_base: float = 0.25
    backoff_cap: float = 4.0

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise ConfigurationError(
                f"Retry.attempts must be a whole number, not {self.attempts!r}"
            )
        if not 1 <= self.attempts <= 100:
            raise ConfigurationError(f"Retry.attempts must be 1 to 100, not {self.attempts}")
        for name in ("backoff_base", "backoff_cap"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigurationError(f"Retry.{name} must be seconds >= 0, not {value!r}")

    def backoff(self, retry_number: int, rand: float) -> float:
        """The jittered wait before retry ``retry_number`` (1-based); ``rand`` is in [0, 1)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** min(retry_number - 1, 30))
        return float(ceiling * rand)


DEFAULT_RETRY: Final = Retry()
"""Three tries in all, waits of up to 0.25 s, 0.5 s, ... capped at 4 s."""


# Step and Attempts are plain classes, not dataclasses: a dataclass costs a few
# hundred microseconds to create at import, and these are internal records.
class Step(Record):
    """What to do after a failure: wait ``delay`` seconds, then resend.

    ``resign`` says whether to sign a new request (new date and nonce) or to
    send the identical one again. Immutable; equal when both fields are.
    """

    __slots__ = ("delay", "resign")
    _fields = ("delay", "resign")

    delay: float
    resign: bool

    def __init__(self, delay: float, resign: bool) -> None:
        object.__setattr__(self, "delay", delay)
        object.__setattr__(self, "resign", resign)


class Attempts:
    """The retry state of one call. The facades call :meth:`after_failure` after each failure.

    ``billed`` is true for operations that send messages: their ambiguous
    failures are resent identically and end in
    :class:`~alisms.DeliveryUnknownError`; other operations simply retry.
    ``deadline`` is seconds from ``started`` (a monotonic time), or ``None``.
    """

    __slots__ = ("ambiguous", "billed", "deadline", "request_ids", "retry", "started", "tries")

    retry: Retry
    billed: bool
    started: float
    deadline: float | None
    tries: int
    ambiguous: bool
    request_ids: list[str]

    def __init__(
        self,
        retry: Retry,
        billed: bool,
        started: float,
        deadline: float | None,
        tries: int = 1,
        ambiguous: bool = False,
        request_ids: list[str] | None = None,
    ) -> None:
        self.retry = retry
        self.billed = billed
        self.started = started
        self.deadline = deadline
        self.tries = tries
        self.ambiguous = ambiguous
        self.request_ids = [] if request_ids is None else request_ids

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.retry,
            self.billed,
            self.started,
            self.deadline,
            self.tries,
            self.ambiguous,
            self.request_ids,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__qualname__}(retry={self.retry!r}, billed={self.billed!r}, "
            f"started={self.started!r}, deadline={self.deadline!r}, tries={self.tries!r}, "
            f"ambiguous={self.ambiguous!r}, request_ids={self.request_ids!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Attempts) or other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass with eq

    def remaining(self, now: float) -> float | None:
        """Seconds left before the deadline, or ``None`` without one."""
        if self.deadline is None:
            return None
        return self.deadline - (now - self.started)

    def after_failure(
        self,
        error: AlismsError,
        *,
        now: float,
        rand: float,
        nonce: str,
        date: str,
    ) -> Step:
        """Decide what follows ``error``: return the :class:`Step`, or raise the final error.

        ``now`` is the monotonic time, ``rand`` a number in [0, 1) for the
        jitter; ``nonce`` and ``date`` identify the signed request just sent.
        """
        if error.request_id and error.request_id not in self.request_ids:
            self.request_ids.append(error.request_id)
        kind = classify(error)
        if self.ambiguous and isinstance(error, APIError) and error.code == _NONCE_USED:
            raise self._unknown(
                "the service refused the identical resend because it had already seen "
                "this request: the message may have been accepted",
                error,
                nonce,
                date,
            ) from error
        if self.billed and kind is Failure.AMBIGUOUS:
            self.ambiguous = True
        if kind is Failure.FINAL:
            # A business refusal of the identical resend comes from behind the gateway,
            # past its nonce check, so the first attempt never got that far either.
            # Anything the gateway itself refused (a date or STS token that aged out,
            # a key disabled since) may have been checked before the nonce: it
            # proves nothing about the first attempt.
            if self.ambiguous and not isinstance(error, MessageRejectedError):
                raise self._final(error, nonce, date)
            raise error
        if self.tries >= self.retry.attempts:
            raise self._final(error, nonce, date)
        retry_after = error.retry_after if isinstance(error, APIError) else None
        wait = retry_after if retry_after is not None else self.retry.backoff(self.tries, rand)
        left = self.remaining(now)
        if left is not None and wait >= left:
            raise self._final(error, nonce, date)
        self.tries += 1
        return Step(delay=max(wait, 0.0), resign=not self.ambiguous)

    def out_of_time(self, error: AlismsError, *, nonce: str, date: str) -> AlismsError:
        """The error to raise when the deadline passed during an attempt."""
        return self._final(error, nonce, date)

    def _final(self, error: AlismsError, nonce: str, date: str) -> AlismsError:
        if not self.ambiguous:
            return error
        unknown = self._unknown(
            "no usable answer came, so whether the message was accepted is unknown",
            error,
            nonce,
            date,
        )
        unknown.__cause__ = error
        return unknown

    def _unknown(
        self, reason: str, error: AlismsError, nonce: str, date: str
    ) -> DeliveryUnknownError:
        return DeliveryUnknownError(
            reason,
            nonce=nonce,
            date=date,
            attempts=self.tries,
            request_ids=tuple(self.request_ids),
            last_error=error,
        )


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Read ``x-acs-retry-after`` or ``Retry-After`` (seconds); ``None`` when absent or odd."""
    for name in ("x-acs-retry-after", "retry-after"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        if math.isfinite(seconds) and 0 <= seconds <= 3600:
            return seconds
    return None
