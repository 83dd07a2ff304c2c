"""Retries (``alisms._retry``): the policy on its own, then both clients retrying.

The first half drives :func:`classify`, :class:`Retry` and :class:`Attempts`
with explicit times and random numbers (no clock, no I/O). The second half
sends through :class:`alisms.testing.FakeSMSService` (in process, through
``FakeTransport``), the sandbox (the same fake over real HTTP) or the
independent ``tests/local_server.py``, and checks on the wire what each retry
sent: a new signature after a refusal, the identical request after an
ambiguous failure, and never a second accepted message.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from local_server import LocalGateway

import alisms
from alisms import _client, _core
from alisms._errors import (
    AlismsError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    CredentialsError,
    DeliveryUnknownError,
    MalformedResponseError,
    MessageRejectedError,
    ServerError,
    ThrottlingError,
    TransportError,
    ValidationError,
    error_class_for,
)
from alisms._retry import DEFAULT_RETRY, Attempts, Failure, Retry, Step, classify
from alisms._retry import parse_retry_after as retry_after_of
from alisms._sandbox import Sandbox
from alisms.testing import FakeRequest, FakeResponse, FakeSMSService, FakeTransport

KINDS = ["sync", "async"]
FAST = Retry(attempts=3, backoff_base=0)
"""Three tries with no waits between them, to keep the tests quick."""
NUMBER = "85212345678"
HANG = 10.0
"""Seconds after which a call is said to hang: an upper bound, never a speed claim."""
NO_PACING: dict[str, Any] = (
    {"rate_limits": None} if "rate_limits" in inspect.signature(alisms.Client).parameters else {}
)
"""Client-side rate limiting, where the clients have it, would add waits of its own."""
KEYS: dict[str, Any] = {
    "access_key_id": "alisms-test-id",
    "access_key_secret": "alisms-test-secret",
    **NO_PACING,
}


# -- building errors as the parser does ---------------------------------------------


def gateway(code: str, status: int = 400, **kwargs: Any) -> APIError:
    """The error the parser raises for a gateway ``Code``."""
    return error_class_for(code, http_status=status, business=False)(
        f"message of {code}", code=code, http_status=status, **kwargs
    )


def business(code: str, **kwargs: Any) -> APIError:
    """The error the parser raises for a ``ResponseCode`` other than OK."""
    return error_class_for(code, http_status=200, business=True)(
        f"description of {code}", code=code, http_status=200, **kwargs
    )


def not_sent() -> TransportError:
    return TransportError("could not connect: ConnectError", may_have_been_sent=False)


def no_answer() -> TransportError:
    return TransportError("no answer: ReadTimeout", may_have_been_sent=True)


def garbled(request_id: str | None = None) -> MalformedResponseError:
    return MalformedResponseError(
        "the service answered HTTP 502 with a body that is not a JSON object",
        http_status=502,
        excerpt="<html>",
        request_id=request_id,
    )


# -- classify ---------------------------------------------------------------------

CLASSES: list[tuple[str, Callable[[], AlismsError], Failure]] = [
    ("connect-refused", not_sent, Failure.NOT_SENT),
    ("closed-client", lambda: TransportError("closed", may_have_been_sent=False), Failure.NOT_SENT),
    ("read-timeout", no_answer, Failure.AMBIGUOUS),
    (
        "reset-during-response",
        lambda: TransportError("RemoteProtocolError", may_have_been_sent=True),
        Failure.AMBIGUOUS,
    ),
    ("malformed", garbled, Failure.AMBIGUOUS),
    ("503", lambda: gateway("ServiceUnavailable", 503), Failure.RETRY_LATER),
    ("throttling", lambda: gateway("Throttling"), Failure.RETRY_LATER),
    ("throttling-user", lambda: gateway("Throttling.User"), Failure.RETRY_LATER),
    ("throttling-api", lambda: gateway("Throttling.Api", 429), Failure.RETRY_LATER),
    ("system-error", lambda: business("SYSTEM_ERROR"), Failure.RETRY_LATER),
    ("isp-system-error", lambda: business("isp.SYSTEM_ERROR"), Failure.RETRY_LATER),
    ("qps", lambda: business("QPS_LIMIT_CONTROL"), Failure.RETRY_LATER),
    ("isv-qps", lambda: business("isv.QPS_LIMIT_CONTROL"), Failure.RETRY_LATER),
    ("billing", lambda: business("ONLINE_BILLING_FAILED"), Failure.RETRY_LATER),
    ("500", lambda: gateway("InternalError", 500), Failure.AMBIGUOUS),
    ("unknown-error", lambda: gateway("UnknownError", 500), Failure.AMBIGUOUS),
    ("business-unknown", lambda: business("UNKNOWN"), Failure.AMBIGUOUS),
    ("gateway-error", lambda: business("GATEWAY_ERROR"), Failure.AMBIGUOUS),
    ("bad-signature", lambda: gateway("SignatureDoesNotMatch"), Failure.FINAL),
    ("nonce-used", lambda: gateway("SignatureNonceUsed"), Failure.FINAL),
    ("clock-skew", lambda: gateway("InvalidTimeStamp.Expired"), Failure.FINAL),
    ("unknown-key", lambda: gateway("InvalidAccessKeyId.NotFound", 404), Failure.FINAL),
    ("sts-expired", lambda: gateway("InvalidSecurityToken.Expired"), Failure.FINAL),
    ("ram-denied", lambda: gateway("Forbidden.RAM", 403), Failure.FINAL),
    ("missing-param", lambda: gateway("MissingTo"), Failure.FINAL),
    ("bad-number", lambda: business("MOBILE_NUMBER_ILLEGAL"), Failure.FINAL),
    ("no-balance", lambda: business("AMOUNT_NOT_ENOUGH"), Failure.FINAL),
    ("daily-limit", lambda: business("BUSINESS_LIMIT_DAY"), Failure.FINAL),
    ("validation", lambda: ValidationError("to", "not a number"), Failure.FINAL),
    ("configuration", lambda: ConfigurationError("bad endpoint"), Failure.FINAL),
    ("credentials", lambda: CredentialsError("no credentials"), Failure.FINAL),
    (
        "delivery-unknown",
        lambda: DeliveryUnknownError("unknown", nonce="n", date="d", attempts=2),
        Failure.FINAL,
    ),
    ("root", lambda: AlismsError("something"), Failure.FINAL),
]


@pytest.mark.parametrize(
    ("make", "expected"), [c[1:] for c in CLASSES], ids=[c[0] for c in CLASSES]
)
def test_classify(make: Callable[[], AlismsError], expected: Failure) -> None:
    assert classify(make()) is expected


@pytest.mark.parametrize(
    "code",
    ["ServiceUnavailable", "SYSTEM_ERROR", "QPS_LIMIT_CONTROL", "ONLINE_BILLING_FAILED"],
)
def test_the_issue_s_retry_later_codes_are_retried_wherever_they_appear(code: str) -> None:
    """The code decides, not where it came from: gateway ``Code`` or business ``ResponseCode``."""
    for status in (200, 400, 503):
        assert classify(gateway(code, status)) is Failure.RETRY_LATER
    assert classify(business(code)) is Failure.RETRY_LATER


# -- Retry ------------------------------------------------------------------------


def test_the_default_policy() -> None:
    assert DEFAULT_RETRY == Retry() == Retry(attempts=3, backoff_base=0.25, backoff_cap=4.0)
    assert alisms.Retry is Retry


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": 0},
        {"attempts": 101},
        {"attempts": -1},
        {"attempts": True},
        {"attempts": 2.0},
        {"attempts": "3"},
        {"attempts": None},
        {"backoff_base": -0.1},
        {"backoff_base": math.nan},
        {"backoff_base": math.inf},
        {"backoff_base": True},
        {"backoff_base": "1"},
        {"backoff_cap": -1},
        {"backoff_cap": math.inf},
        {"backoff_cap": None},
    ],
    ids=repr,
)
def test_retry_refuses_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Retry(**kwargs)
    assert next(iter(kwargs)) in str(caught.value)


@pytest.mark.parametrize(
    "kwargs", [{"attempts": 1}, {"attempts": 100}, {"backoff_base": 0}, {"backoff_cap": 0}]
)
def test_retry_accepts_the_limits(kwargs: dict[str, Any]) -> None:
    Retry(**kwargs)


def test_retry_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Retry().attempts = 5  # type: ignore[misc]


def test_backoff_doubles_up_to_the_cap() -> None:
    retry = Retry(backoff_base=0.25, backoff_cap=4.0)
    ceilings = [retry.backoff(n, 0.999999) for n in range(1, 9)]
    assert ceilings == pytest.approx([0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0], rel=1e-5)
    assert retry.backoff(3, 0.5) == pytest.approx(0.5)
    assert retry.backoff(10**6, 0.5) == pytest.approx(2.0)  # no overflow far out


@settings(max_examples=300)
@given(
    base=st.floats(0, 100, allow_nan=False),
    cap=st.floats(0, 1000, allow_nan=False),
    retry_number=st.integers(1, 10_000),
    rand=st.floats(0, 1, exclude_max=True),
)
def test_backoff_is_full_jitter_within_its_ceiling(
    base: float, cap: float, retry_number: int, rand: float
) -> None:
    retry = Retry(backoff_base=base, backoff_cap=cap)
    ceiling = min(cap, base * 2 ** min(retry_number - 1, 30))
    wait = retry.backoff(retry_number, rand)
    assert 0 <= wait <= ceiling
    assert wait == pytest.approx(ceiling * rand)
    assert retry.backoff(retry_number, 0.0) == 0  # full jitter reaches down to zero


# -- Attempts -----------------------------------------------------------------------

T0 = 1000.0
"""The monotonic time every Attempts below starts at."""
SLOW = Retry(attempts=3, backoff_base=1.0, backoff_cap=8.0)


def attempts_of(
    *, billed: bool = True, deadline: float | None = None, retry: Retry = SLOW
) -> Attempts:
    return Attempts(retry, billed, T0, deadline)


def fail(
    attempts: Attempts,
    error: AlismsError,
    *,
    now: float = T0,
    rand: float = 0.5,
    nonce: str = "nonce-1",
    date: str = "2024-05-01T00:00:00Z",
) -> Step:
    return attempts.after_failure(error, now=now, rand=rand, nonce=nonce, date=date)


@pytest.mark.parametrize(
    "make",
    [not_sent, lambda: gateway("ServiceUnavailable", 503), lambda: gateway("Throttling.User")],
    ids=["not-sent", "503", "throttled"],
)
def test_not_sent_and_retry_later_sign_anew_after_a_jittered_wait(
    make: Callable[[], AlismsError],
) -> None:
    attempts = attempts_of()
    assert fail(attempts, make(), rand=0.5) == Step(delay=0.5, resign=True)  # 1.0 * 0.5
    assert attempts.tries == 2
    assert fail(attempts, make(), rand=0.25) == Step(delay=0.5, resign=True)  # 2.0 * 0.25
    assert attempts.tries == 3
    assert attempts.ambiguous is False


@pytest.mark.parametrize(
    "make",
    [no_answer, garbled, lambda: gateway("InternalError", 500)],
    ids=["timeout", "malformed", "500"],
)
def test_an_ambiguous_send_is_resent_identically_and_stays_identical(
    make: Callable[[], AlismsError],
) -> None:
    attempts = attempts_of(retry=Retry(attempts=6, backoff_base=1.0, backoff_cap=8.0))
    assert fail(attempts, make()).resign is False
    assert attempts.ambiguous is True
    # Whatever comes next, the call never signs a new request again.
    for later in (gateway("ServiceUnavailable", 503), gateway("Throttling.User"), not_sent()):
        assert fail(attempts, later).resign is False
    assert attempts.tries == 5


def test_nonce_used_after_an_identical_resend_is_delivery_unknown() -> None:
    attempts = attempts_of()
    fail(attempts, garbled(request_id="REQ-1"), nonce="n-1", date="D-1")
    refusal = gateway("SignatureNonceUsed", request_id="REQ-2")
    with pytest.raises(DeliveryUnknownError) as caught:
        fail(attempts, refusal, nonce="n-1", date="D-1")
    unknown = caught.value
    assert (unknown.nonce, unknown.date, unknown.attempts) == ("n-1", "D-1", 2)
    assert unknown.request_ids == ("REQ-1", "REQ-2")
    assert unknown.request_id == "REQ-2"
    assert unknown.last_error is refusal
    assert unknown.__cause__ is refusal
    assert unknown.code == "SignatureNonceUsed"
    text = str(unknown)
    assert "n-1" in text and "D-1" in text and "Do not resend blindly" in text


def test_nonce_used_on_a_first_attempt_is_raised_as_itself() -> None:
    refusal = gateway("SignatureNonceUsed")
    assert isinstance(refusal, AuthenticationError)
    with pytest.raises(AuthenticationError) as caught:
        fail(attempts_of(), refusal)
    assert caught.value is refusal


def test_nonce_used_after_a_re_signed_retry_is_raised_as_itself() -> None:
    """After a 503 the retry had a new nonce: a reused-nonce refusal then is not our resend."""
    attempts = attempts_of()
    fail(attempts, gateway("ServiceUnavailable", 503))
    refusal = gateway("SignatureNonceUsed")
    with pytest.raises(AuthenticationError) as caught:
        fail(attempts, refusal)
    assert caught.value is refusal


def test_tries_running_out_while_ambiguous_is_delivery_unknown() -> None:
    attempts = attempts_of()
    fail(attempts, no_answer(), nonce="n-9", date="D-9")
    fail(attempts, gateway("ServiceUnavailable", 503, request_id="REQ-5"), nonce="n-9", date="D-9")
    last = no_answer()
    with pytest.raises(DeliveryUnknownError) as caught:
        fail(attempts, last, nonce="n-9", date="D-9")
    unknown = caught.value
    assert (unknown.nonce, unknown.date, unknown.attempts) == ("n-9", "D-9", 3)
    assert unknown.request_ids == ("REQ-5",)
    assert unknown.last_error is last and unknown.__cause__ is last


def test_a_single_try_that_is_ambiguous_is_delivery_unknown() -> None:
    attempts = attempts_of(retry=Retry(attempts=1))
    with pytest.raises(DeliveryUnknownError) as caught:
        fail(attempts, no_answer())
    assert caught.value.attempts == 1


@pytest.mark.parametrize(
    "make", [not_sent, lambda: gateway("ServiceUnavailable", 503), lambda: business("SYSTEM_ERROR")]
)
def test_tries_running_out_otherwise_raise_the_last_error_unchanged(
    make: Callable[[], AlismsError],
) -> None:
    attempts = attempts_of()
    fail(attempts, make())
    fail(attempts, make())
    last = make()
    with pytest.raises(AlismsError) as caught:
        fail(attempts, last)
    assert caught.value is last


@pytest.mark.parametrize(
    "make",
    [
        lambda: business("MOBILE_NUMBER_ILLEGAL"),
        lambda: gateway("SignatureDoesNotMatch"),
        lambda: gateway("Forbidden.RAM", 403),
        lambda: ValidationError("to", "bad"),
    ],
    ids=["business", "signature", "permission", "validation"],
)
def test_final_errors_are_raised_unchanged_and_not_retried(
    make: Callable[[], AlismsError],
) -> None:
    attempts = attempts_of()
    final = make()
    with pytest.raises(AlismsError) as caught:
        fail(attempts, final)
    assert caught.value is final
    assert attempts.tries == 1
    # ... also after a retried refusal.
    attempts = attempts_of()
    fail(attempts, gateway("ServiceUnavailable", 503))
    final = make()
    with pytest.raises(AlismsError) as caught:
        fail(attempts, final)
    assert caught.value is final


def test_a_final_answer_to_the_identical_resend_is_raised_as_itself() -> None:
    """The first attempt would have had the same answer: it was not accepted either."""
    attempts = attempts_of()
    fail(attempts, no_answer())
    rejected = business("MOBILE_NUMBER_ILLEGAL")
    with pytest.raises(MessageRejectedError) as caught:
        fail(attempts, rejected)
    assert caught.value is rejected


@pytest.mark.parametrize("code", ["InvalidTimeStamp.Expired", "InvalidTimeStamp.Format"])
def test_an_aged_date_on_the_identical_resend_proves_nothing(code: str) -> None:
    attempts = attempts_of()
    fail(attempts, no_answer(), nonce="n-2", date="D-2")
    expired = gateway(code)
    with pytest.raises(DeliveryUnknownError) as caught:
        fail(attempts, expired, nonce="n-2", date="D-2")
    assert caught.value.last_error is expired and caught.value.__cause__ is expired
    assert (caught.value.nonce, caught.value.date) == ("n-2", "D-2")


def test_an_sts_token_expiring_before_the_identical_resend_proves_nothing() -> None:
    attempts = attempts_of()
    fail(attempts, no_answer())
    with pytest.raises(DeliveryUnknownError):
        fail(attempts, gateway("InvalidSecurityToken.Expired"))


def test_operations_that_send_nothing_retry_ambiguous_failures_by_signing_anew() -> None:
    attempts = attempts_of(billed=False)
    assert fail(attempts, no_answer()).resign is True
    assert fail(attempts, garbled()).resign is True
    assert attempts.ambiguous is False
    last = no_answer()
    with pytest.raises(TransportError) as caught:  # not DeliveryUnknownError
        fail(attempts, last)
    assert caught.value is last
    # A reused nonce is never "our own resend" there: it is an authentication error.
    attempts = attempts_of(billed=False)
    fail(attempts, no_answer())
    with pytest.raises(AuthenticationError):
        fail(attempts, gateway("SignatureNonceUsed"))


def test_retry_after_is_honoured_over_the_jitter() -> None:
    attempts = attempts_of()
    assert fail(attempts, gateway("ServiceUnavailable", 503, retry_after=2.5), rand=0.9) == Step(
        delay=2.5, resign=True
    )
    # Even past the backoff cap (8 s here), and zero means at once.
    assert fail(attempts, gateway("Throttling.User", retry_after=30.0)).delay == 30.0
    attempts = attempts_of()
    assert fail(attempts, gateway("Throttling.User", retry_after=0.0), rand=0.9).delay == 0.0


def test_retry_after_is_bounded_by_the_deadline() -> None:
    attempts = attempts_of(deadline=10.0)
    assert attempts.remaining(T0 + 4.0) == pytest.approx(6.0)
    assert fail(attempts, gateway("Throttling.User", retry_after=5.9), now=T0 + 4.0).delay == 5.9
    too_long = gateway("Throttling.User", retry_after=6.0)
    with pytest.raises(ThrottlingError) as caught:
        fail(attempts, too_long, now=T0 + 4.0)
    assert caught.value is too_long


def test_the_deadline_bounds_the_backoff_too() -> None:
    attempts = attempts_of(deadline=1.0)
    # rand 0.9 of a 1 s ceiling is 0.9 s: more than the 0.5 s left.
    last = gateway("ServiceUnavailable", 503)
    with pytest.raises(ServerError) as caught:
        fail(attempts, last, now=T0 + 0.5, rand=0.9)
    assert caught.value is last
    assert attempts.tries == 1


def test_a_passed_deadline_while_ambiguous_is_delivery_unknown() -> None:
    attempts = attempts_of(deadline=1.0)
    fail(attempts, no_answer(), now=T0 + 0.1, rand=0.0)
    with pytest.raises(DeliveryUnknownError) as caught:
        fail(attempts, gateway("ServiceUnavailable", 503), now=T0 + 1.5, rand=0.0)
    assert caught.value.attempts == 2


def test_remaining_without_a_deadline() -> None:
    assert attempts_of().remaining(T0 + 10**9) is None


def test_out_of_time() -> None:
    attempts = attempts_of()
    error = gateway("ServiceUnavailable", 503)
    assert attempts.out_of_time(error, nonce="n", date="d") is error
    fail(attempts, no_answer())
    unknown = attempts.out_of_time(no_answer(), nonce="n", date="d")
    assert isinstance(unknown, DeliveryUnknownError)
    assert (unknown.nonce, unknown.date) == ("n", "d")
    assert isinstance(unknown.__cause__, TransportError)


def test_request_ids_are_kept_once_each_in_order() -> None:
    attempts = attempts_of(retry=Retry(attempts=5, backoff_base=0))
    for request_id in ("A", "B", "A", None, "C"):
        with contextlib.suppress(ServerError):
            fail(attempts, gateway("ServiceUnavailable", 503, request_id=request_id))
    assert attempts.request_ids == ["A", "B", "C"]


ERROR_MAKERS: dict[str, Callable[[], AlismsError]] = {
    "not-sent": not_sent,
    "no-answer": no_answer,
    "garbled": garbled,
    "500": lambda: gateway("InternalError", 500),
    "503": lambda: gateway("ServiceUnavailable", 503),
    "503-retry-after": lambda: gateway("ServiceUnavailable", 503, retry_after=1.5),
    "throttled": lambda: gateway("Throttling.User"),
    "nonce-used": lambda: gateway("SignatureNonceUsed"),
    "expired": lambda: gateway("InvalidTimeStamp.Expired"),
    "rejected": lambda: business("MOBILE_NUMBER_ILLEGAL"),
    "validation": lambda: ValidationError("to", "bad"),
}


@settings(max_examples=400)
@given(
    names=st.lists(st.sampled_from(sorted(ERROR_MAKERS)), min_size=1, max_size=12),
    billed=st.booleans(),
    tries=st.integers(1, 8),
    deadline=st.one_of(st.none(), st.floats(0.01, 20)),
    rands=st.lists(st.floats(0, 1, exclude_max=True), min_size=12, max_size=12),
    gaps=st.lists(st.floats(0, 3), min_size=12, max_size=12),
)
def test_attempts_never_re_sign_after_a_possible_acceptance(
    names: list[str],
    billed: bool,
    tries: int,
    deadline: float | None,
    rands: list[float],
    gaps: list[float],
) -> None:
    """Any sequence of failures: re-signing stops for good at the first ambiguous one (sends),
    the call ends within its tries and deadline, and it ends in DeliveryUnknownError exactly
    when an ambiguous failure was not settled by a final answer."""
    retry = Retry(attempts=tries, backoff_base=0.5, backoff_cap=2.0)
    attempts = Attempts(retry, billed, T0, deadline)
    now = T0
    ambiguous = False
    for index, name in enumerate(names):
        error = ERROR_MAKERS[name]()
        kind = classify(error)
        was_ambiguous = ambiguous
        ambiguous = ambiguous or (billed and kind is Failure.AMBIGUOUS)
        try:
            step = attempts.after_failure(error, now=now, rand=rands[index], nonce="n", date="d")
        except AlismsError as raised:
            # Once in doubt, only a business refusal (from behind the gateway's nonce
            # check) settles that the first attempt was not accepted either.
            settled = kind is Failure.FINAL and (
                not was_ambiguous or isinstance(error, alisms.MessageRejectedError)
            )
            if ambiguous and not settled:
                assert isinstance(raised, DeliveryUnknownError)
                assert raised.last_error is error and raised.__cause__ is error
                assert (raised.nonce, raised.date) == ("n", "d")
            else:
                assert raised is error
            if kind is not Failure.FINAL:  # out of tries or out of time, nothing else
                assert attempts.tries == tries or deadline is not None
            return
        assert kind is not Failure.FINAL
        assert step.resign is (not ambiguous)
        assert step.delay >= 0
        assert attempts.tries <= tries
        left = attempts.remaining(now)
        assert left is None or step.delay < left
        now += step.delay + gaps[index]
    assert attempts.tries == len(names) + 1


# -- retry-after headers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"x-acs-retry-after": "2"}, 2.0),
        ({"X-Acs-Retry-After": "0.5"}, 0.5),
        ({"Retry-After": "3"}, 3.0),
        ({"x-acs-retry-after": "1", "Retry-After": "9"}, 1.0),
        ({"x-acs-retry-after": "soon", "Retry-After": "4"}, 4.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "-1"}, None),
        ({"Retry-After": "3601"}, None),
        ({"Retry-After": "3600"}, 3600.0),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_of(httpx.Headers(headers)) == expected


# -- the clients ---------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One request the fake handled, and its answer."""

    nonce: str | None
    date: str | None
    authorization: str | None
    body: bytes
    text: str | None
    status: int
    code: str | None
    request_id: str | None
    dropped: bool


def record(monkeypatch: pytest.MonkeyPatch, fake: FakeSMSService) -> list[Seen]:
    """Record every request ``fake`` handles (in process or behind a sandbox)."""
    seen: list[Seen] = []
    original = fake.handle

    def handle(request: FakeRequest) -> FakeResponse:
        response = original(request)
        code = request_id = None
        try:
            data = json.loads(response.body)
        except ValueError:
            data = None
        if isinstance(data, dict):
            code = data.get("Code") or data.get("ResponseCode")
            request_id = data.get("RequestId")
        seen.append(
            Seen(
                nonce=request.header("x-acs-signature-nonce"),
                date=request.header("x-acs-date"),
                authorization=request.header("authorization"),
                body=request.body,
                text=dict(parse_qsl(request.body.decode())).get("Message"),
                status=response.status,
                code=code,
                request_id=request_id,
                dropped=response.drop,
            )
        )
        return response

    monkeypatch.setattr(fake, "handle", handle)
    return seen


def make(kind: str, fake: FakeSMSService, **kwargs: Any) -> alisms.Client | alisms.AsyncClient:
    kwargs.setdefault("retry", FAST)
    kwargs = {**NO_PACING, **kwargs}
    return fake.client(**kwargs) if kind == "sync" else fake.async_client(**kwargs)


def run(kind: str, client: Any, call: Callable[[Any], Any]) -> Any:
    """Open ``client``, return ``call(client)`` (awaited for async), close the client."""
    if kind == "sync":
        with client:
            return call(client)

    async def main() -> Any:
        async with client:
            return await call(client)

    return asyncio.run(main())


def send(kind: str, client: Any, text: str = "hi", **options: Any) -> Any:
    """Send ``text`` once, through ``client.with_options(**options)`` when options are given."""
    return run(
        kind,
        client,
        lambda c: (c.with_options(**options) if options else c).send_message_to_globe(NUMBER, text),
    )


@pytest.fixture
def fake() -> FakeSMSService:
    return FakeSMSService()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the clients' waits between tries instead of waiting."""
    delays: list[float] = []

    async def asleep(delay: float) -> None:
        delays.append(delay)

    monkeypatch.setattr(
        _client, "time", SimpleNamespace(monotonic=time.monotonic, sleep=delays.append)
    )
    monkeypatch.setattr(_client, "_async_sleep", asleep)
    return delays


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("faults", [["unavailable"], ["throttle"], ["unavailable", "throttle"]])
def test_refusals_are_retried_to_success_with_a_new_signature_each_time(
    kind: str, fake: FakeSMSService, monkeypatch: pytest.MonkeyPatch, faults: list[str]
) -> None:
    seen = record(monkeypatch, fake)
    for fault in faults:
        fake.inject(fault)  # type: ignore[arg-type]
    result = send(kind, make(kind, fake))
    assert [m.text for m in fake.messages] == ["hi"]
    assert fake.messages[0].message_id == result.message_id
    assert [s.code for s in seen] == [
        *("ServiceUnavailable" if f == "unavailable" else "Throttling.User" for f in faults),
        "OK",
    ]
    nonces = [s.nonce for s in seen]
    assert len(set(nonces)) == len(nonces)  # a new nonce for every try
    signatures = [s.authorization for s in seen]
    assert len(set(signatures)) == len(signatures)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("fault", "expected"),
    [("unavailable", ServerError), ("throttle", ThrottlingError)],
)
def test_refusals_to_every_try_end_in_the_last_refusal(
    kind: str,
    fake: FakeSMSService,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
    expected: type[APIError],
) -> None:
    seen = record(monkeypatch, fake)
    fake.inject(fault, times=3)  # type: ignore[arg-type]
    with pytest.raises(expected) as caught:
        send(kind, make(kind, fake))
    assert not isinstance(caught.value, DeliveryUnknownError)
    assert caught.value.request_id == seen[-1].request_id
    assert len(seen) == 3 and fake.messages == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fault", ["drop_after_accept", "malformed"])
def test_an_ambiguous_send_is_resent_identically_and_ends_in_delivery_unknown(
    kind: str, fake: FakeSMSService, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    seen = record(monkeypatch, fake)
    fake.inject(fault)  # type: ignore[arg-type]
    with pytest.raises(DeliveryUnknownError) as caught:
        send(kind, make(kind, fake))
    first, resend = seen
    assert (resend.nonce, resend.date, resend.authorization, resend.body) == (
        first.nonce,
        first.date,
        first.authorization,
        first.body,
    )
    assert resend.code == "SignatureNonceUsed"
    assert [m.text for m in fake.messages] == ["hi"]  # accepted once, never twice
    unknown = caught.value
    assert (unknown.nonce, unknown.date, unknown.attempts) == (first.nonce, first.date, 2)
    assert resend.request_id in unknown.request_ids
    assert isinstance(unknown.last_error, AuthenticationError)
    assert unknown.last_error.code == "SignatureNonceUsed"
    assert unknown.__cause__ is unknown.last_error


@pytest.mark.parametrize("kind", KINDS)
def test_once_ambiguous_every_later_try_is_the_identical_request(
    kind: str, fake: FakeSMSService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """503, accepted-then-dropped, 503, and the reused-nonce refusal: four tries, two nonces."""
    seen = record(monkeypatch, fake)
    fake.inject("unavailable")
    fake.inject("drop_after_accept")
    fake.inject("unavailable")
    with pytest.raises(DeliveryUnknownError) as caught:
        send(kind, make(kind, fake, retry=Retry(attempts=4, backoff_base=0)))
    assert [s.code for s in seen] == [
        "ServiceUnavailable",
        None,  # dropped
        "ServiceUnavailable",
        "SignatureNonceUsed",
    ]
    assert seen[1].dropped
    assert seen[0].nonce != seen[1].nonce  # signed anew after the 503
    identical = {(s.nonce, s.date, s.authorization, s.body) for s in seen[1:]}
    assert len(identical) == 1
    assert caught.value.nonce == seen[1].nonce and caught.value.attempts == 4
    assert len(fake.messages) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_an_ambiguous_send_out_of_tries_is_delivery_unknown(
    kind: str, fake: FakeSMSService, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = record(monkeypatch, fake)
    fake.inject("drop_after_accept")
    fake.inject("drop_after_accept", times=2)  # the identical resends are dropped too
    with pytest.raises(DeliveryUnknownError) as caught:
        send(kind, make(kind, fake))
    assert len(seen) == 3 and len({s.nonce for s in seen}) == 1
    assert isinstance(caught.value.last_error, TransportError)
    assert caught.value.last_error.may_have_been_sent is True
    assert len(fake.messages) == 1


@pytest.mark.skipif(
    not hasattr(alisms.Client, "query_message"), reason="no operation that sends nothing yet"
)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fault", ["drop_after_accept", "malformed"])
def test_a_call_that_sends_nothing_is_re_signed_after_an_ambiguous_failure(
    kind: str, fake: FakeSMSService, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """QueryMessage bills nothing: a lost answer is simply asked again, with a new signature."""
    with fake.client(**KEYS) as client:
        message_id = client.send_message_to_globe(NUMBER, "hi").message_id
    seen = record(monkeypatch, fake)
    fake.inject(fault)  # type: ignore[arg-type]
    result = run(kind, make(kind, fake), lambda c: c.query_message(message_id))
    assert result.message_id == message_id
    assert len(seen) == 2 and seen[0].nonce != seen[1].nonce
    assert seen[1].code == "OK"


@pytest.mark.parametrize("kind", KINDS)
def test_nothing_sent_is_retried_with_a_new_signature(kind: str, fake: FakeSMSService) -> None:
    """A connection that was never made is retried; the message goes out once."""
    attempts: list[str] = []

    class Refusing(FakeTransport):
        def _refuse(self, request: httpx.Request) -> None:
            attempts.append(request.headers["x-acs-signature-nonce"])
            if len(attempts) < 3:
                raise httpx.ConnectError("connection refused", request=request)

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            self._refuse(request)
            return super().handle_request(request)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self._refuse(request)
            return await super().handle_async_request(request)

    client_class = alisms.Client if kind == "sync" else alisms.AsyncClient
    client = client_class(**KEYS, transport=Refusing(fake), retry=FAST)
    result = send(kind, client)
    assert len(attempts) == 3 and len(set(attempts)) == 3
    assert [m.message_id for m in fake.messages] == [result.message_id]


@pytest.mark.parametrize("kind", KINDS)
def test_a_refused_connection_is_retried_then_raised_as_not_sent(kind: str) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client_class = alisms.Client if kind == "sync" else alisms.AsyncClient
    client = client_class(
        access_key_id="id", access_key_secret="secret", endpoint=f"http://127.0.0.1:{port}"
    )
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        send(kind, client, retry=FAST)
    assert time.monotonic() - started < HANG
    assert caught.value.may_have_been_sent is False
    assert not isinstance(caught.value, DeliveryUnknownError)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fault", ["unavailable", "drop_after_accept"])
def test_retry_false_makes_one_attempt(
    kind: str, fake: FakeSMSService, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    seen = record(monkeypatch, fake)
    fake.inject(fault)  # type: ignore[arg-type]
    with pytest.raises((ServerError, DeliveryUnknownError)) as caught:
        send(kind, make(kind, fake, retry=False))
    assert len(seen) == 1
    if fault == "drop_after_accept":
        assert isinstance(caught.value, DeliveryUnknownError) and caught.value.attempts == 1
        assert len(fake.messages) == 1
    else:
        assert isinstance(caught.value, ServerError) and fake.messages == []


@pytest.mark.parametrize("kind", KINDS)
def test_with_options_retry_false_for_one_call(
    kind: str, fake: FakeSMSService, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = record(monkeypatch, fake)

    async def both_async(client: Any) -> tuple[Any, Any]:
        once = client.with_options(retry=False)
        fake.inject("unavailable")
        with pytest.raises(ServerError) as caught:
            await once.send_message_to_globe(NUMBER, "once")
        fake.inject("unavailable")
        return caught.value, await client.send_message_to_globe(NUMBER, "retried")

    def both_sync(client: Any) -> tuple[Any, Any]:
        once = client.with_options(retry=False)
        fake.inject("unavailable")
        with pytest.raises(ServerError) as caught:
            once.send_message_to_globe(NUMBER, "once")
        fake.inject("unavailable")
        return caught.value, client.send_message_to_globe(NUMBER, "retried")

    error, result = run(kind, make(kind, fake), both_sync if kind == "sync" else both_async)
    assert isinstance(error, ServerError)
    assert [s.text for s in seen] == ["once", "retried", "retried"]
    assert [m.text for m in fake.messages] == ["retried"]
    assert result.message_id == fake.messages[0].message_id


@pytest.mark.parametrize("kind", KINDS)
def test_with_options_can_allow_more_tries(
    kind: str, fake: FakeSMSService, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = record(monkeypatch, fake)
    fake.inject("throttle", times=4)
    send(kind, make(kind, fake, retry=False), retry=Retry(attempts=5, backoff_base=0))
    assert len(seen) == 5 and len(fake.messages) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_the_deadline_stops_retries(
    kind: str, fake: FakeSMSService, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = record(monkeypatch, fake)
    fake.inject("unavailable", times=1000)
    many = Retry(attempts=100, backoff_base=0.02, backoff_cap=0.02)
    started = time.monotonic()
    with pytest.raises(ServerError):
        send(kind, make(kind, fake, retry=many, deadline=0.2))
    assert time.monotonic() - started < HANG
    assert 1 <= len(seen) < 100
    # The same through with_options on a client without a deadline.
    seen.clear()
    with pytest.raises(ServerError):
        send(kind, make(kind, fake, retry=many, deadline=None), deadline=0.2)
    assert 1 <= len(seen) < 100
    assert fake.messages == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_stalled_send_ends_at_the_deadline_in_delivery_unknown(
    kind: str, server: LocalGateway, server_client_kwargs: dict[str, Any]
) -> None:
    """The read timeout (30 s here) is cut to what the deadline leaves."""
    server.queue_stall()
    client_class = alisms.Client if kind == "sync" else alisms.AsyncClient
    kwargs = {**server_client_kwargs, **NO_PACING, "retry": FAST, "timeout": 30.0, "deadline": 0.3}
    started = time.monotonic()
    with pytest.raises(DeliveryUnknownError) as caught:
        send(kind, client_class(**kwargs))
    assert time.monotonic() - started < HANG
    assert isinstance(caught.value.last_error, TransportError)
    assert len(server.requests) == 1  # no time left for a resend
    assert server.messages == []


class TimeoutRecorder(FakeTransport):
    """The fake as a transport that notes each request's read timeout."""

    def __init__(self, service: FakeSMSService) -> None:
        super().__init__(service)
        self.reads: list[float | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.reads.append(request.extensions["timeout"]["read"])
        return super().handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.reads.append(request.extensions["timeout"]["read"])
        return await super().handle_async_request(request)


@pytest.mark.parametrize("kind", KINDS)
def test_each_try_s_timeouts_are_cut_to_the_deadline(kind: str, fake: FakeSMSService) -> None:
    recorder = TimeoutRecorder(fake)
    client_class = alisms.Client if kind == "sync" else alisms.AsyncClient
    send(kind, client_class(**KEYS, transport=recorder, timeout=10.0, deadline=0.5))
    send(kind, client_class(**KEYS, transport=recorder, timeout=10.0, deadline=None))
    send(kind, client_class(**KEYS, transport=recorder, timeout=10.0), deadline=0.5)
    first, unbounded, per_call = recorder.reads
    assert first is not None and 0 < first <= 0.5
    assert unbounded == 10.0
    assert per_call is not None and 0 < per_call <= 0.5


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "options", [{"deadline": 0.5}, {"retry": False}], ids=["deadline", "retry-false"]
)
def test_with_options_keeps_each_try_within_the_deadline(
    kind: str, fake: FakeSMSService, options: dict[str, Any]
) -> None:
    recorder = TimeoutRecorder(fake)
    client_class = alisms.Client if kind == "sync" else alisms.AsyncClient
    send(kind, client_class(**KEYS, transport=recorder, deadline=0.5), **options)
    (read,) = recorder.reads
    assert read is not None and read <= 0.5


@pytest.mark.parametrize("kind", KINDS)
def test_the_deadline_bounds_a_try_through_a_given_http_client(
    kind: str, fake: FakeSMSService
) -> None:
    recorder = TimeoutRecorder(fake)

    async def via_async() -> None:
        async with (
            httpx.AsyncClient(transport=recorder, timeout=10.0) as http,
            alisms.AsyncClient(**KEYS, http_client=http, deadline=0.5) as client,
        ):
            await client.send_message_to_globe(NUMBER, "hi")

    if kind == "sync":
        with (
            httpx.Client(transport=recorder, timeout=10.0) as http,
            alisms.Client(**KEYS, http_client=http, deadline=0.5) as client,
        ):
            client.send_message_to_globe(NUMBER, "hi")
    else:
        asyncio.run(via_async())
    (read,) = recorder.reads
    assert read is not None and read <= 0.5


@pytest.mark.parametrize("deadline", [0, -1, math.nan, math.inf, True, "5"], ids=repr)
def test_bad_deadlines_are_configuration_errors(fake: FakeSMSService, deadline: Any) -> None:
    with pytest.raises(ConfigurationError):
        fake.client(deadline=deadline)
    with fake.client() as client, pytest.raises(ConfigurationError):
        client.with_options(deadline=deadline)


@pytest.mark.parametrize("retry", ["yes", 3, None, 0.5, Retry], ids=repr)
def test_bad_retry_settings_are_configuration_errors(fake: FakeSMSService, retry: Any) -> None:
    with pytest.raises(ConfigurationError):
        fake.client(retry=retry)


def test_with_options_shares_the_connections_and_leaves_the_original_alone(
    fake: FakeSMSService,
) -> None:
    with fake.client(retry=FAST, deadline=7.0) as client:
        other = client.with_options(retry=False, deadline=None, timeout=2.0)
        assert other._http is client._http
        assert client._settings.retry == FAST and client._settings.deadline == 7.0
        assert other._settings.retry == Retry(attempts=1) and other._settings.deadline is None
        assert other._settings.timeout == httpx.Timeout(2.0)
        other.close()  # closes nothing: the connections are the original's
        client.send_message_to_globe(NUMBER, "still open")
        same = client.with_options()
        assert same._settings == client._settings
    assert len(fake.messages) == 1


# -- waits: backoff and retry-after ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_backoff_waits_are_jittered_under_the_ceiling(
    kind: str, fake: FakeSMSService, sleeps: list[float]
) -> None:
    fake.inject("unavailable", times=3)
    send(kind, make(kind, fake, retry=Retry(attempts=4, backoff_base=0.1, backoff_cap=0.15)))
    assert len(sleeps) == 3
    for delay, ceiling in zip(sleeps, (0.1, 0.15, 0.15), strict=True):
        assert 0 <= delay <= ceiling
    assert len(fake.messages) == 1


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("status", "code", "header"),
    [
        (503, "ServiceUnavailable", "x-acs-retry-after"),
        (400, "Throttling.User", "x-acs-retry-after"),
        (429, "Throttling", "Retry-After"),
    ],
)
def test_the_server_s_retry_after_is_honoured(
    kind: str,
    server: LocalGateway,
    server_client_kwargs: dict[str, Any],
    sleeps: list[float],
    status: int,
    code: str,
    header: str,
) -> None:
    server.queue_response(
        status, {"Code": code, "Message": "later", "RequestId": "R-1"}, headers={header: "1.5"}
    )
    client_class = alisms.Client if kind == "sync" else alisms.AsyncClient
    kwargs = {**server_client_kwargs, **NO_PACING, "retry": Retry(backoff_base=0)}
    result = send(kind, client_class(**kwargs))
    assert sleeps == [1.5]
    assert len(server.requests) == 2
    nonces = [r.header("x-acs-signature-nonce") for r in server.requests]
    assert nonces[0] != nonces[1]
    assert [m.message_id for m in server.messages] == [result.message_id]


@pytest.mark.parametrize("kind", KINDS)
def test_a_retry_after_beyond_the_deadline_is_not_waited_for(
    kind: str, server: LocalGateway, server_client_kwargs: dict[str, Any], sleeps: list[float]
) -> None:
    server.queue_response(
        503,
        {"Code": "ServiceUnavailable", "Message": "later", "RequestId": "R-1"},
        headers={"x-acs-retry-after": "60"},
    )
    client_class = alisms.Client if kind == "sync" else alisms.AsyncClient
    kwargs = {**server_client_kwargs, **NO_PACING, "retry": Retry(backoff_base=0), "deadline": 5.0}
    with pytest.raises(ServerError) as caught:
        send(kind, client_class(**kwargs))
    assert caught.value.retry_after == 60.0
    assert sleeps == []
    assert len(server.requests) == 1 and server.messages == []


# -- a read timeout over real HTTP -------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running
        # Let a late answer of a 'delay' fault finish before the server stops.
        time.sleep(0.3)


@pytest.mark.parametrize("kind", KINDS)
def test_a_read_timeout_is_resent_identically(
    kind: str, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = record(monkeypatch, sandbox.service)
    sandbox.service.inject("delay", seconds=0.4)
    client_class = alisms.Client if kind == "sync" else alisms.AsyncClient
    client = client_class(
        **KEYS, endpoint=sandbox.endpoint, retry=FAST, timeout=httpx.Timeout(5.0, read=0.1)
    )
    with pytest.raises(DeliveryUnknownError) as caught:
        send(kind, client)
    first, resend = seen
    assert (resend.nonce, resend.date, resend.authorization) == (
        first.nonce,
        first.date,
        first.authorization,
    )
    assert resend.code == "SignatureNonceUsed"
    assert caught.value.last_error is not None
    assert caught.value.last_error.code == "SignatureNonceUsed"
    assert [m.text for m in sandbox.service.messages] == ["hi"]


# -- clock skew and someone else's nonce ---------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("offset", "direction"), [(-20, "behind"), (25, "ahead of")])
def test_clock_skew_says_how_far_off_the_local_clock_is(
    kind: str,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    offset: int,
    direction: str,
) -> None:
    """The sandbox's answers carry a real Date header; the local clock is made wrong."""
    seen = record(monkeypatch, sandbox.service)
    monkeypatch.setattr(_core, "utc_now", lambda: datetime.now(UTC) + timedelta(minutes=offset))
    client_class = alisms.Client if kind == "sync" else alisms.AsyncClient
    with pytest.raises(AuthenticationError) as caught:
        send(kind, client_class(**KEYS, endpoint=sandbox.endpoint, retry=FAST))
    error = caught.value
    assert not isinstance(error, DeliveryUnknownError)
    assert error.code == "InvalidTimeStamp.Expired"
    assert f"about {abs(offset)} minutes {direction} the service's" in str(error)
    assert "NTP" in str(error)
    assert len(seen) == 1  # not retried
    assert sandbox.service.messages == []


def test_clock_skew_without_a_date_header_still_says_what_to_do(fake: FakeSMSService) -> None:
    fake.clock = lambda: datetime.now(UTC) + timedelta(hours=2)  # FakeTransport sends no Date
    with fake.client(retry=FAST) as client, pytest.raises(AuthenticationError) as caught:
        client.send_message_to_globe(NUMBER, "hi")
    assert caught.value.code == "InvalidTimeStamp.Expired"
    assert "15 minutes" in str(caught.value) and "NTP" in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
def test_a_reused_nonce_on_a_first_attempt_is_an_authentication_error(
    kind: str, fake: FakeSMSService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not our own resend (a broken nonce source, or someone replaying): a clear refusal."""
    seen = record(monkeypatch, fake)
    monkeypatch.setattr(_core, "new_nonce", lambda: "0" * 32)

    async def twice_async(client: Any) -> None:
        await client.send_message_to_globe(NUMBER, "first")
        await client.send_message_to_globe(NUMBER, "second")

    def twice_sync(client: Any) -> None:
        client.send_message_to_globe(NUMBER, "first")
        client.send_message_to_globe(NUMBER, "second")

    with pytest.raises(AuthenticationError) as caught:
        run(kind, make(kind, fake), twice_sync if kind == "sync" else twice_async)
    error = caught.value
    assert not isinstance(error, DeliveryUnknownError)
    assert error.code == "SignatureNonceUsed"
    assert "nonce was sent twice" in str(error)
    assert [s.code for s in seen] == ["OK", "SignatureNonceUsed"]  # not retried
    assert [m.text for m in fake.messages] == ["first"]
