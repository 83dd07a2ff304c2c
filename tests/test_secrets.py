"""Secrets never show, and nothing but an AlismsError ever escapes.

Part one sends through both clients (and AsyncClient's direct aiohttp path),
over real HTTP to the sandbox, with DEBUG logging on for everything (alisms,
httpx, httpcore, aiohttp), once per family of outcome: success, refusal
before sending, every refusal of the service, a malformed answer, a
connection never made, an answer lost. Then it looks for
the AccessKey secrets, the STS tokens and every Authorization header value
sent in all of it: each log record, the result's and the client's repr, and
every exception of the chain (``__cause__``, ``__context__``, ``last_error``),
as ``str``, ``repr`` and ``traceback.format_exception`` render them. Some
answers echo the STS token, as gateways do: it must come back scrubbed.

Part two is property tests over every public entry point that takes user
input or parses an answer: the clients' constructors, methods and
``with_options``, the credentials classes, :mod:`alisms.signing` (a pure
module whose documented error is ``ValueError``), and the parsing of any
status, headers and body the service might send.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import importlib.util
import inspect
import json
import logging
import re
import socket
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any
from unittest import mock

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import alisms
from alisms import _client, _core, signing
from alisms._sandbox import Sandbox
from alisms.testing import FakeRequest, FakeResponse, FakeSMSService, FakeTransport

KEY_ID = "STS.leaktest-id"
SECRET = "Leak-Test-Secret-q8Zr2vW5"
TOKEN = "LeakTestSTS/tok+en=9f3Kx_77-end"
OTHER_ID = "STS.leaktest-other-id"
OTHER_SECRET = "Other-Leak-Secret-Mm4Jt9"
OTHER_TOKEN = "OtherLeakSTS/tok+en=Hh2-end"
SECRETS = (SECRET, TOKEN, OTHER_SECRET, OTHER_TOKEN)
NUMBER = "85212345678"
FAST = alisms.Retry(attempts=3, backoff_base=0)
KINDS = ["sync", "async"]
WITH_AIOHTTP = [
    *KINDS,
    pytest.param(
        "aiohttp",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("aiohttp") is None, reason="aiohttp is not installed"
        ),
    ),
]
"""``aiohttp``: AsyncClient(transport="aiohttp"), the direct aiohttp path."""
NO_PACING: dict[str, Any] = (
    {"rate_limits": None} if "rate_limits" in inspect.signature(alisms.Client).parameters else {}
)
"""Client-side rate limiting, where the clients have it, is not what this file tests."""


def test_the_fake_secrets_are_distinct() -> None:
    values = (KEY_ID, OTHER_ID, *SECRETS)
    for one in values:
        assert not one.startswith("LTAI")
        assert sum(one in other for other in values) == 1  # no value inside another


# -- the gateway: the sandbox, with canned answers and a record of what it was sent ---------


@dataclass
class Gateway:
    """The sandbox's fake, answering from ``canned`` first; notes each Authorization sent."""

    sandbox: Sandbox
    canned: deque[FakeResponse] = field(default_factory=deque)
    authorizations: list[str] = field(default_factory=list)
    late: bool = False
    """Whether a 'delay' fault's late answer may still be under way."""
    shown: list[str] = field(default_factory=list)
    """The clients' renderings, to search too."""

    def __post_init__(self) -> None:
        self.original = self.sandbox.service.handle
        self.sandbox.service.handle = self.handle  # type: ignore[method-assign]

    def handle(self, request: FakeRequest) -> FakeResponse:
        authorization = request.header("authorization")
        if authorization:
            self.authorizations.append(authorization)
        if self.canned:
            return self.canned.popleft()
        return self.original(request)

    def needles(self) -> list[str]:
        """Everything that must never show: the secrets, each Authorization and signature."""
        signatures = [a.rpartition("Signature=")[2] for a in self.authorizations]
        return [*SECRETS, *self.authorizations, *signatures]


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    service = FakeSMSService(
        access_keys={KEY_ID: SECRET, OTHER_ID: OTHER_SECRET},
        sts_tokens={KEY_ID: TOKEN, OTHER_ID: OTHER_TOKEN},
    )
    with Sandbox(service) as sandbox:
        gateway = Gateway(sandbox)
        yield gateway
        if gateway.late:
            time.sleep(0.35)  # let the late answer finish before the server stops


def json_answer(status: int, body: dict[str, Any]) -> FakeResponse:
    return FakeResponse(status, json.dumps(body).encode())


def gateway_error(status: int, code: str, message: str, **extra: Any) -> FakeResponse:
    return json_answer(
        status,
        {
            "RequestId": "3A1B2C3D-0000-4000-8000-000000000001",
            "HostId": "dysmsapi.ap-southeast-1.aliyuncs.com",
            "Code": code,
            "Message": message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}",
            **extra,
        },
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the families -----------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """One way a call can end, and how to get there."""

    name: str
    expect: type[Any]
    client: dict[str, Any] = field(default_factory=dict)
    canned: tuple[FakeResponse, ...] = ()
    faults: tuple[tuple[str, int], ...] = ()
    method: str = "send_message_to_globe"
    args: tuple[Any, ...] = (NUMBER, "Your code is 1234")
    kwargs: dict[str, Any] = field(default_factory=dict)
    skew: bool = False
    closed: bool = False


ECHO = f"The specified SecurityToken {TOKEN} is not valid (secret {SECRET})"
FAMILIES = [
    Family("success", alisms.SendResult),
    Family(
        "batch-success",
        alisms.BatchSendResult,
        method="batch_send_message_to_globe",
        args=(["6581234567", "447700900123"], ["one", "two"]),
    ),
    Family("validation", alisms.ValidationError, args=("12", "hi")),
    Family("validation-sender", alisms.ValidationError, kwargs={"from_": "not a sender id!"}),
    Family("bad-signature", alisms.AuthenticationError, client={"access_key_secret": OTHER_SECRET}),
    Family("unknown-key", alisms.AuthenticationError, client={"access_key_id": "STS.unknown"}),
    Family("token-mismatch", alisms.AuthenticationError, client={"security_token": OTHER_TOKEN}),
    Family("token-missing", alisms.AuthenticationError, client={"security_token": None}),
    Family(
        "token-echoed",
        alisms.AuthenticationError,
        canned=(
            gateway_error(
                400,
                "InvalidSecurityToken.Expired",
                ECHO,
                Recommend=f"https://api.aliyun.com/troubleshoot?token={TOKEN}",
                HostId=f"host-{TOKEN}",
            ),
        ),
    ),
    Family(
        "permission",
        alisms.PermissionDeniedError,
        canned=(
            gateway_error(
                403,
                "Forbidden.RAM",
                f"User not authorized to operate on the specified resource. {ECHO}",
                AccessDeniedDetail={
                    "AuthAction": "dysms:SendMessageToGlobe",
                    "NoPermissionType": "ImplicitDeny",
                },
            ),
        ),
    ),
    Family("throttled", alisms.ThrottlingError, faults=(("throttle", 3),)),
    Family(
        "throttled-echo",
        alisms.ThrottlingError,
        canned=(
            json_answer(200, {"ResponseCode": "QPS_LIMIT_CONTROL", "ResponseDescription": ECHO}),
        )
        * 3,
    ),
    Family("server-error", alisms.ServerError, faults=(("unavailable", 3),)),
    Family(
        "business",
        alisms.MessageRejectedError,
        canned=(
            json_answer(
                200,
                {
                    "ResponseCode": "INVALID_SENDERID",
                    "ResponseDescription": ECHO,
                    "RequestId": TOKEN,
                },
            ),
        ),
    ),
    Family("malformed", alisms.DeliveryUnknownError, faults=(("malformed", 1),)),
    Family(
        "malformed-echo",
        alisms.DeliveryUnknownError,
        client={"retry": False},
        canned=(
            FakeResponse(
                502,
                f"<html><body>Bad gateway for {TOKEN} / {SECRET}</body></html>".encode(),
                headers=(("content-type", "text/html"),),
            ),
        ),
    ),
    Family(
        "server-500-echo",
        alisms.DeliveryUnknownError,
        client={"retry": False},
        canned=(gateway_error(500, "InternalError", ECHO),),
    ),
    Family("dropped", alisms.DeliveryUnknownError, faults=(("drop_after_accept", 1),)),
    Family(
        "read-timeout",
        alisms.DeliveryUnknownError,
        client={"timeout": httpx.Timeout(5.0, read=0.1)},
        faults=(("delay", 1),),
    ),
    Family("not-sent", alisms.TransportError, client={"endpoint": "closed-port"}),
    Family("closed-client", alisms.TransportError, closed=True),
    Family("clock-skew", alisms.AuthenticationError, skew=True),
    Family(
        "unusable-rsa-key",
        alisms.CredentialsError,
        client={
            "signature_algorithm": "ACS3-RSA-SHA256",
            "access_key_secret": (
                f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----"
            ),
        },
    ),
    Family(
        "unusable-token", alisms.CredentialsError, client={"security_token": f"{TOKEN} {TOKEN}"}
    ),
]


def perform(kind: str, gateway: Gateway, family: Family) -> Any:
    """Make the family's call; return the result, or the AlismsError it raised."""
    for fault, times in family.faults:
        gateway.sandbox.service.inject(fault, times=times, seconds=0.3)  # type: ignore[arg-type]
        gateway.late = gateway.late or fault == "delay"
    gateway.canned.extend(family.canned)
    kwargs: dict[str, Any] = {
        "access_key_id": KEY_ID,
        "access_key_secret": SECRET,
        "security_token": TOKEN,
        "endpoint": gateway.sandbox.endpoint,
        "retry": FAST,
        **NO_PACING,
        **family.client,
    }
    if kwargs["endpoint"] == "closed-port":
        kwargs["endpoint"] = f"http://127.0.0.1:{closed_port()}"
    if kind == "aiohttp":
        kwargs["transport"] = "aiohttp"
    client_class = alisms.Client if kind == "sync" else alisms.AsyncClient
    try:
        client = client_class(**kwargs)
    except alisms.AlismsError as error:
        return error
    gateway.shown += [repr(client), str(client), repr(client.with_options(retry=False))]

    def call(c: Any) -> Any:
        return getattr(c, family.method)(*family.args, **family.kwargs)

    try:
        if kind == "sync":
            with client:
                if family.closed:
                    client.close()
                result = call(client)
        else:

            async def main() -> Any:
                async with client:
                    if family.closed:
                        await client.aclose()  # type: ignore[union-attr]
                    return await call(client)

            result = asyncio.run(main())
    except alisms.AlismsError as error:
        return error
    return result


def renderings(outcome: Any) -> list[str]:
    """Every way ``outcome`` can be shown: str, repr, tracebacks of the whole exception chain."""
    if not isinstance(outcome, BaseException):
        return [repr(outcome), str(outcome)]
    shown = ["".join(traceback.format_exception(outcome))]
    pending: list[BaseException | None] = [outcome]
    seen: set[int] = set()
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        shown += [str(error), repr(error), repr(error.args), *getattr(error, "__notes__", ())]
        shown.append("".join(traceback.format_exception(error, chain=False)))
        for name in ("message", "hint", "excerpt", "recommend", "host_id", "request_id"):
            shown.append(repr(getattr(error, name, None)))
        shown.append(repr(getattr(error, "request_ids", None)))
        pending += [error.__cause__, error.__context__, getattr(error, "last_error", None)]
    return shown


def logged(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [f"{formatter.format(record)} {record.msg!r} {record.args!r}" for record in records]


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # everything: alisms, httpx, httpcore
    caplog.set_level(logging.DEBUG, logger="alisms")
    return caplog


@pytest.mark.parametrize("kind", WITH_AIOHTTP)
@pytest.mark.parametrize("family", FAMILIES, ids=[f.name for f in FAMILIES])
def test_no_secret_shows_in_logs_errors_or_reprs(
    kind: str,
    family: Family,
    gateway: Gateway,
    debug_logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if family.skew:
        monkeypatch.setattr(_core, "utc_now", lambda: datetime.now(UTC) - timedelta(hours=1))
    outcome = perform(kind, gateway, family)
    assert isinstance(outcome, family.expect), repr(outcome)
    if family.name.endswith("echo") or family.name == "token-echoed":
        assert "<redacted>" in " ".join(renderings(outcome))  # the echo was there, scrubbed
    haystack = "\n".join([*logged(debug_logs.records), *renderings(outcome), *gateway.shown])
    signed = family.expect not in (alisms.ValidationError, alisms.CredentialsError)
    if signed and not family.closed:
        assert "string to sign" in haystack  # the DEBUG log was captured
    for needle in gateway.needles():
        assert needle not in haystack, f"{needle!r} shows"


@pytest.mark.parametrize("kind", KINDS)
def test_debug_logs_show_the_action_canonical_request_and_string_to_sign(
    kind: str, gateway: Gateway, debug_logs: pytest.LogCaptureFixture
) -> None:
    result = perform(kind, gateway, FAMILIES[0])
    assert isinstance(result, alisms.SendResult)
    pattern = re.compile(
        r"signed SendMessageToGlobe: canonical request:\n(?P<canonical>.*)\n"
        r"string to sign:\n(?P<to_sign>ACS3-HMAC-SHA256\n(?P<hash>[0-9a-f]{64}))$",
        re.DOTALL,
    )
    matches = [
        m for r in debug_logs.records if r.name == "alisms" and (m := pattern.match(r.getMessage()))
    ]
    assert len(matches) == 1
    canonical = matches[0]["canonical"]
    assert canonical.startswith("POST\n/\n\n")
    assert "x-acs-action:SendMessageToGlobe\n" in canonical
    assert "x-acs-security-token:<redacted>\n" in canonical
    # The logged stages are the real ones: with the token put back, they give the
    # signature the gateway received.
    real = canonical.replace("<redacted>", TOKEN)
    assert hashlib.sha256(real.encode()).hexdigest() == matches[0]["hash"]
    (sent,) = gateway.authorizations
    expected = hmac.new(SECRET.encode(), matches[0]["to_sign"].encode(), hashlib.sha256)
    assert sent.endswith(f"Signature={expected.hexdigest()}")
    assert any("SendMessageToGlobe accepted" in r.getMessage() for r in debug_logs.records)


def test_retries_are_logged_without_secrets(
    gateway: Gateway, debug_logs: pytest.LogCaptureFixture
) -> None:
    gateway.sandbox.service.inject("unavailable")
    gateway.sandbox.service.inject("drop_after_accept")
    outcome = perform("sync", gateway, Family("retried", alisms.DeliveryUnknownError))
    assert isinstance(outcome, alisms.DeliveryUnknownError)
    messages = [r.getMessage() for r in debug_logs.records if r.name == "alisms"]
    assert any(
        "attempt 1 failed (ServerError: ServiceUnavailable); signing anew" in m for m in messages
    )
    assert any("resending the identical request" in m for m in messages)
    haystack = "\n".join(logged(debug_logs.records))
    for needle in gateway.needles():
        assert needle not in haystack


def test_credentials_never_show_their_secrets() -> None:
    credentials = alisms.Credentials(KEY_ID, SECRET, TOKEN)
    for shown in (
        repr(credentials),
        str(credentials),
        repr(alisms.StaticCredentials(KEY_ID, SECRET, TOKEN)),
    ):
        assert KEY_ID in shown and SECRET not in shown and TOKEN not in shown
    environ = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN,
    }
    shown = repr(alisms.EnvironmentCredentials(environ))
    assert SECRET not in shown and TOKEN not in shown
    signed = signing.sign_request(
        access_key_id=KEY_ID,
        access_key_secret=SECRET,
        security_token=TOKEN,
        method="POST",
        host="example.com",
        date="2024-05-01T00:00:00Z",
        nonce="n",
    )
    for shown in (repr(signed), str(signed), repr(signed.redacted_headers())):
        assert SECRET not in shown and TOKEN not in shown
        assert signed.authorization not in shown and signed.signature not in shown


# -- property tests: nothing but AlismsError escapes ----------------------------------------

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.binary(max_size=10),
    st.builds(object),
)
"""A value of any hashable kind, for arguments given the wrong type."""
TEXT = st.text(max_size=40)
PHONE = st.from_regex(r"(\+|00)?[0-9]{5,17}", fullmatch=True)
FAKE_KEYS = {"access_key_id": "alisms-test-id", "access_key_secret": "alisms-test-secret"}
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def close(client: alisms.Client | alisms.AsyncClient) -> None:
    if isinstance(client, alisms.Client):
        client.close()
    else:
        asyncio.run(client.aclose())


@PROPERTY
@given(
    kind=st.sampled_from(KINDS),
    options=st.fixed_dictionaries(
        {},
        optional={
            "access_key_id": st.one_of(TEXT, ANYTHING, st.just("alisms-test-id")),
            "access_key_secret": st.one_of(TEXT, ANYTHING),
            "security_token": st.one_of(TEXT, ANYTHING),
            "endpoint": st.one_of(
                TEXT,
                ANYTHING,
                st.sampled_from(
                    [
                        "http://127.0.0.1:8080",
                        "http://[::1]:8080",
                        "https://dysmsapi.aliyuncs.com",
                        "http://example.com",
                        "ftp://example.com",
                        "http://user@127.0.0.1",
                        "http://127.0.0.1:99999",
                        "http://127.0.0.1/path",
                        "https://[::1",
                        "xn--bcher-kva.example",
                    ]
                ),
            ),
            "region": st.one_of(
                TEXT, ANYTHING, st.sampled_from(["ap-southeast-1", "cn-hongkong", "mars-1"])
            ),
            "signature_algorithm": st.one_of(TEXT, ANYTHING, st.sampled_from(signing.ALGORITHMS)),
            "timeout": st.one_of(
                ANYTHING,
                st.builds(httpx.Timeout, st.floats(0.001, 100)),
            ),
            "allow_insecure_http": ANYTHING,
            "retry": st.one_of(
                ANYTHING,
                st.builds(alisms.Retry, st.integers(1, 100), st.floats(0, 10), st.floats(0, 10)),
            ),
            "deadline": ANYTHING,
        },
    ),
)
def test_client_constructors_raise_only_alisms_errors(kind: str, options: dict[str, Any]) -> None:
    client_class = alisms.Client if kind == "sync" else alisms.AsyncClient
    transport = FakeTransport(FakeSMSService())
    try:
        client = client_class(**options, transport=transport)
    except alisms.AlismsError:
        return
    close(client)


@PROPERTY
@given(
    to=st.one_of(PHONE, TEXT, ANYTHING),
    message=st.one_of(st.text(max_size=200), ANYTHING),
    options=st.fixed_dictionaries(
        {},
        optional={
            "from_": st.one_of(st.from_regex(r"[A-Za-z0-9]{1,16}", fullmatch=True), ANYTHING),
            "type": st.one_of(st.sampled_from(["OTP", "notify", "MKT", "SPAM"]), ANYTHING),
            "task_id": st.one_of(TEXT, st.text(min_size=250, max_size=260), ANYTHING),
            "validity_period": st.one_of(st.integers(-10, 10**12), ANYTHING),
            "channel_id": st.one_of(TEXT, ANYTHING),
        },
    ),
)
def test_send_message_to_globe_raises_only_alisms_errors(
    to: Any, message: Any, options: dict[str, Any]
) -> None:
    fake = FakeSMSService()
    with fake.client(retry=False, **NO_PACING) as client:
        try:
            result = client.send_message_to_globe(to, message, **options)
        except alisms.AlismsError:
            assert fake.messages == []
            return
    assert [m.message_id for m in fake.messages] == [result.message_id]


@PROPERTY
@given(
    to=st.one_of(st.lists(st.one_of(PHONE, TEXT, ANYTHING), max_size=4), TEXT, ANYTHING),
    message=st.one_of(st.lists(st.one_of(TEXT, ANYTHING), max_size=4), TEXT, ANYTHING),
    options=st.fixed_dictionaries(
        {},
        optional={
            "from_": st.one_of(st.from_regex(r"[A-Za-z0-9]{1,16}", fullmatch=True), ANYTHING),
            "type": st.one_of(st.sampled_from(["OTP", "NOTIFY", "mkt"]), ANYTHING),
            "validity_period": st.one_of(st.integers(-10, 10**12), ANYTHING),
        },
    ),
)
def test_batch_send_raises_only_alisms_errors(
    to: Any, message: Any, options: dict[str, Any]
) -> None:
    fake = FakeSMSService()
    with fake.client(retry=False, **NO_PACING) as client:
        try:
            result = client.batch_send_message_to_globe(to, message, **options)
        except alisms.AlismsError:
            return
    assert result.message_ids == [m.message_id for m in fake.messages]


@PROPERTY
@given(
    options=st.fixed_dictionaries(
        {},
        optional={
            "retry": st.one_of(ANYTHING, st.builds(alisms.Retry)),
            "timeout": st.one_of(ANYTHING, st.builds(httpx.Timeout, st.floats(0.001, 10))),
            "deadline": ANYTHING,
        },
    )
)
def test_with_options_raises_only_alisms_errors(options: dict[str, Any]) -> None:
    with FakeSMSService().client() as client, contextlib.suppress(alisms.AlismsError):
        client.with_options(**options)


def test_the_async_methods_raise_only_alisms_errors_too() -> None:
    """The async twins share validation; a sample of bad inputs, awaited."""
    fake = FakeSMSService()
    bad: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("send_message_to_globe", (None, "hi"), {}),
        ("send_message_to_globe", (NUMBER, "\ud800"), {}),
        ("send_message_to_globe", (NUMBER, "hi"), {"validity_period": "soon"}),
        ("batch_send_message_to_globe", ("not a list", "hi"), {}),
        ("batch_send_message_to_globe", ([NUMBER], ["a", "b"]), {}),
        ("batch_send_message_to_globe", ([], "hi"), {}),
    ]

    async def main() -> None:
        async with fake.async_client(retry=False) as client:
            for name, args, kwargs in bad:
                with pytest.raises(alisms.ValidationError):
                    await getattr(client, name)(*args, **kwargs)

    asyncio.run(main())


@PROPERTY
@given(
    key_id=st.one_of(TEXT, ANYTHING),
    secret=st.one_of(TEXT, ANYTHING),
    token=st.one_of(TEXT, ANYTHING),
)
def test_credentials_raise_only_alisms_errors_and_never_echo_secrets(
    key_id: Any, secret: Any, token: Any
) -> None:
    def shown_by(build: Any, secret: Any, token: Any) -> str:
        try:
            built = build(key_id, secret, token)
        except alisms.AlismsError as error:
            return f"{error} {error!r}"
        return repr(built)

    for build in (alisms.Credentials, alisms.StaticCredentials):
        shown = shown_by(build, secret, token)
        for value in (secret, token):
            if not isinstance(value, str) or len(value) < 6 or value in repr(key_id):
                continue
            if value in shown:
                # Hypothesis draws strings from alisms's own source too, so a value
                # can be a piece of alisms's own words ("Creden"): then it is still
                # shown when the input is changed (its letters' case swapped).
                swapped = [v.swapcase() if v is value else v for v in (secret, token)]
                assert value != value.swapcase(), f"{value!r} is echoed"
                assert value in shown_by(build, *swapped), f"{value!r} is echoed"


@PROPERTY
@given(
    environ=st.dictionaries(
        st.sampled_from(
            [
                "ALIBABA_CLOUD_ACCESS_KEY_ID",
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                "ALIBABA_CLOUD_SECURITY_TOKEN",
                "OTHER",
            ]
        ),
        st.text(max_size=20),
    )
)
def test_environment_credentials_raise_only_alisms_errors(environ: dict[str, str]) -> None:
    with contextlib.suppress(alisms.AlismsError):
        alisms.EnvironmentCredentials(environ)


# -- alisms.signing: pure functions whose documented error is ValueError --------------------

ALGORITHM = st.one_of(st.sampled_from(signing.ALGORITHMS), TEXT)
PAIRS = st.lists(st.tuples(TEXT, TEXT), max_size=5)
DATES = st.datetimes(
    min_value=datetime(2, 1, 1),
    max_value=datetime(9998, 12, 31),
    timezones=st.one_of(st.none(), st.timezones(), st.just(UTC)),
)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(),
    pairs=PAIRS,
    data=st.binary(max_size=100),
    algorithm=ALGORITHM,
    date=DATES,
    parts=st.lists(TEXT, min_size=6, max_size=6),
)
def test_signing_functions_raise_only_value_error(
    text: str,
    pairs: list[tuple[str, str]],
    data: bytes,
    algorithm: Any,
    date: datetime,
    parts: list[str],
) -> None:
    calls: list[Callable[[], object]] = [
        lambda: signing.check_algorithm(text),
        lambda: signing.percent_encode(text),
        lambda: signing.canonical_uri(text),
        lambda: signing.canonical_query_string(pairs),
        lambda: signing.canonical_query_string(dict(pairs)),
        lambda: signing.canonical_headers(pairs),
        lambda: signing.hash_hex(data, algorithm),
        lambda: signing.canonical_request(*parts),
        lambda: signing.string_to_sign(algorithm, text),
        lambda: signing.signature(algorithm, text, parts[0]),
        lambda: signing.authorization(algorithm, parts[0], parts[1], parts[2]),
        lambda: signing.format_date(date),
    ]
    for call in calls:
        with contextlib.suppress(ValueError):
            call()


@settings(max_examples=200, deadline=None)
@given(
    key_id=TEXT,
    secret=TEXT,
    token=st.one_of(st.none(), TEXT),
    method=TEXT,
    host=TEXT,
    date=st.one_of(DATES, TEXT),
    nonce=TEXT,
    path=TEXT,
    query=PAIRS,
    headers=st.lists(
        st.tuples(
            st.one_of(TEXT, st.sampled_from(["x-acs-action", "Host", "authorization"])), TEXT
        ),
        max_size=4,
    ),
    body=st.binary(max_size=50),
    content_type=st.one_of(st.none(), TEXT),
    algorithm=ALGORITHM,
)
def test_sign_request_raises_only_value_error(
    key_id: str,
    secret: str,
    token: str | None,
    method: str,
    host: str,
    date: datetime | str,
    nonce: str,
    path: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    body: bytes,
    content_type: str | None,
    algorithm: Any,
) -> None:
    try:
        signed = signing.sign_request(
            access_key_id=key_id,
            access_key_secret=secret,
            security_token=token,
            method=method,
            host=host,
            date=date,
            nonce=nonce,
            path=path,
            query=query,
            headers=headers,
            body=body,
            content_type=content_type,
            algorithm=algorithm,
        )
    except ValueError:
        return
    # The repr shows the canonical request with the token redacted (a token too short or
    # also given elsewhere could show up by coincidence, so only distinctive ones count).
    others = (key_id, method, host, str(date), nonce, path, repr(query), repr(headers))
    if token and len(token.strip()) >= 8 and not any(token.strip() in o for o in others):
        assert token.strip() not in repr(signed)
    assert signed.authorization not in repr(signed)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-2))),
    ],
    ids=["year-1", "year-9999"],
)
def test_format_date_out_of_range_raises_value_error(moment: datetime) -> None:
    with pytest.raises(ValueError):
        signing.format_date(moment)


def pkcs8_pem(oid_der: bytes, key: bytes) -> str:
    """A PKCS#8 PEM for an algorithm ``oid_der`` (DER of the OID) with a raw key."""
    algorithm = b"\x30" + bytes([len(oid_der)]) + oid_der
    octets = b"\x04" + bytes([len(key)]) + key
    body = b"\x02\x01\x00" + algorithm + octets
    der = b"\x30" + bytes([len(body)]) + body
    return (
        "-----BEGIN PRIVATE KEY-----\n"
        + base64.b64encode(der).decode()
        + "\n-----END PRIVATE KEY-----\n"
    )


# SHA-1's OID where a key algorithm belongs, and an X448 key of the wrong length.
ODD_KEYS = {
    "unknown-key-type": pkcs8_pem(bytes.fromhex("06052b0e03021a"), b"\x04\x20" + b"\x00" * 32),
    "bad-x448-key": pkcs8_pem(bytes.fromhex("06032b656f"), b"\x04\x20" + b"\x00" * 32),
}


@pytest.mark.parametrize("pem", ODD_KEYS.values(), ids=ODD_KEYS.keys())
def test_rsa_signing_with_an_odd_pem_raises_value_error(pem: str) -> None:
    with pytest.raises(ValueError):
        signing.signature("ACS3-RSA-SHA256", pem, "to sign")


@pytest.mark.parametrize("kind", KINDS)
def test_a_client_with_an_odd_rsa_key_raises_credentials_error(kind: str) -> None:
    fake = FakeSMSService()
    options = {
        "access_key_secret": ODD_KEYS["unknown-key-type"],
        "signature_algorithm": "ACS3-RSA-SHA256",
        "retry": False,
    }

    async def main() -> None:
        async with fake.async_client(**options) as client:
            await client.send_message_to_globe(NUMBER, "hi")

    with pytest.raises(alisms.CredentialsError):
        if kind == "sync":
            with fake.client(**options) as client:
                client.send_message_to_globe(NUMBER, "hi")
        else:
            asyncio.run(main())


@pytest.mark.parametrize("kind", KINDS)
def test_an_unhashable_region_is_a_configuration_error(kind: str) -> None:
    client_class = alisms.Client if kind == "sync" else alisms.AsyncClient
    with pytest.raises(alisms.ConfigurationError):
        client_class(access_key_id="id", access_key_secret="secret", region=["ap-southeast-1"])


@pytest.mark.parametrize("kind", KINDS)
def test_a_transport_that_is_not_one_gives_an_alisms_error(kind: str) -> None:
    client_class = alisms.Client if kind == "sync" else alisms.AsyncClient
    with pytest.raises(alisms.AlismsError):
        client = client_class(
            access_key_id="id", access_key_secret="secret", transport=object(), retry=False
        )
        send = client.send_message_to_globe(NUMBER, "hi")
        if inspect.iscoroutine(send):
            asyncio.run(send)


# -- parsing any answer --------------------------------------------------------------------

JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from([TOKEN, ECHO, "OK", "", "1", "-1", "[]", '["1","2"]', "[1]", "nope"]),
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = [
    "Code",
    "Message",
    "RequestId",
    "HostId",
    "Recommend",
    "ResponseCode",
    "ResponseDescription",
    "MessageId",
    "To",
    "From",
    "Segments",
    "NumberDetail",
    "MessageIdList",
    "FailedList",
    "SuccessCount",
    "AccessDeniedDetail",
]
MESSAGE_FIELDS = ["Message", "ResponseDescription", "Recommend", "HostId", "RequestId"]
CODES = st.sampled_from(
    [
        "OK",
        "ServiceUnavailable",
        "Throttling.User",
        "InternalError",
        "SignatureNonceUsed",
        "InvalidTimeStamp.Expired",
        "Forbidden.RAM",
        "MOBILE_NUMBER_ILLEGAL",
        "isv.SYSTEM_ERROR",
    ]
)
JSON_BODY = st.dictionaries(
    st.sampled_from(FIELDS),
    st.one_of(JSON_VALUE, CODES),
    max_size=10,
).map(lambda d: json.dumps(d).encode())
ECHOING_BODY = st.builds(
    lambda code, field_, status_ok: json.dumps(
        {
            ("ResponseCode" if status_ok else "Code"): code,
            field_: ECHO,
            "RequestId": "R-1",
        }
    ).encode(),
    CODES.filter(lambda c: c != "OK"),
    st.sampled_from(MESSAGE_FIELDS),
    st.booleans(),
)
XML_BODY = st.builds(
    lambda code, message: (
        f"<?xml version='1.0'?><Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>R</RequestId></Error>"
    ).encode(),
    st.one_of(CODES, st.from_regex(r"[A-Za-z.]{0,10}", fullmatch=True)),
    st.sampled_from([ECHO, "x", "", "&amp;", "<b>bold</b>"]),
)
BODIES = st.one_of(
    JSON_BODY,
    ECHOING_BODY,
    XML_BODY,
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b'"OK"',
            b"{" * 5000,
            b"[" * 100_000,
            b'{"Segments": ' + b"9" * 5000 + b"}",
            b'{"ResponseCode": "OK", "MessageId": "1", "To": "1", "Segments": "1e5"}',
            b'{"ResponseCode": "OK", "MessageIdList": "[' + b"[" * 10_000 + b']"}',
            b"<Error><Code>X</Code></Error>",
            b"<!DOCTYPE x [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;&a;'>]>"
            b"<Error><Code>&b;</Code></Error>",
            b"<Error><Code>X</Code><Code>Y</Code></Error>",
            b"<?xml version='1.0' encoding='nope'?><Error><Code>X</Code></Error>",
        ]
    ),
)
HEADERS = st.dictionaries(
    st.sampled_from(
        ["retry-after", "x-acs-retry-after", "date", "x-acs-request-id", "content-type"]
    ),
    st.one_of(
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
        st.sampled_from(["0", "1.5", "3600", "nan", "-1", "Mon, 01 Jan 0001 00:00:00 GMT"]),
        st.sampled_from(["Tue, 01 Jan 2999 00:00:00 +2359", "Sun, 22 Nov 2026 04:00:00 GMT"]),
    ),
    max_size=4,
)
ANSWERS = st.tuples(st.integers(100, 599), HEADERS, BODIES)


def answering(answers: list[tuple[int, dict[str, str], bytes]]) -> httpx.MockTransport:
    """A transport giving ``answers`` in turn (the last one again when they run out)."""
    pending = deque(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        status, headers, body = pending.popleft() if len(pending) > 1 else pending[0]
        return httpx.Response(status, headers=headers, content=body)

    return httpx.MockTransport(handler)


def check_answer_outcome(outcome: Any) -> None:
    if isinstance(outcome, BaseException):
        assert isinstance(outcome, alisms.AlismsError), repr(outcome)
        shown = "\n".join(renderings(outcome))
    else:
        assert isinstance(outcome, alisms.SendResult | alisms.BatchSendResult)
        shown = repr(outcome)
    assert SECRET not in shown and TOKEN not in shown


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=st.lists(ANSWERS, min_size=1, max_size=3), batch=st.booleans())
@example(answers=[(400, {}, json.dumps({"Code": "X", "Message": ECHO}).encode())], batch=False)
def test_any_answer_ends_in_a_result_or_an_alisms_error(
    answers: list[tuple[int, dict[str, str], bytes]], batch: bool
) -> None:
    """With retries: up to three answers in turn, waits not waited for; secrets scrubbed."""
    client = alisms.Client(
        access_key_id=KEY_ID,
        access_key_secret=SECRET,
        security_token=TOKEN,
        transport=answering(answers),
        retry=FAST,
        deadline=60,
        **NO_PACING,
    )
    no_waits = SimpleNamespace(monotonic=time.monotonic, sleep=lambda seconds: None)
    with mock.patch.object(_client, "time", no_waits), client:
        try:
            if batch:
                outcome: Any = client.batch_send_message_to_globe([NUMBER], "hi")
            else:
                outcome = client.send_message_to_globe(NUMBER, "hi")
        except Exception as error:
            outcome = error
    check_answer_outcome(outcome)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=ANSWERS)
def test_any_answer_through_the_async_client(answer: tuple[int, dict[str, str], bytes]) -> None:
    async def main() -> Any:
        async with alisms.AsyncClient(
            access_key_id=KEY_ID,
            access_key_secret=SECRET,
            security_token=TOKEN,
            transport=answering([answer]),
            retry=False,
            **NO_PACING,
        ) as client:
            try:
                return await client.send_message_to_globe(NUMBER, "hi")
            except Exception as error:
                return error

    check_answer_outcome(asyncio.run(main()))


def test_an_echoed_token_is_scrubbed_from_every_field_of_the_error() -> None:
    body = json.dumps(
        {
            "Code": "InvalidSecurityToken.Expired",
            "Message": ECHO,
            "Recommend": ECHO,
            "HostId": ECHO,
            "RequestId": ECHO,
        }
    ).encode()
    with (
        alisms.Client(
            access_key_id=KEY_ID,
            access_key_secret=SECRET,
            security_token=TOKEN,
            transport=answering([(400, {}, body)]),
            retry=False,
        ) as client,
        pytest.raises(alisms.AuthenticationError) as caught,
    ):
        client.send_message_to_globe(NUMBER, "hi")
    error = caught.value
    for value in (error.message, error.recommend, error.host_id, error.request_id):
        assert value is not None and "<redacted>" in value
        assert TOKEN not in value and SECRET not in value
