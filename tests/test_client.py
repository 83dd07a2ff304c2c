"""End to end: Client and AsyncClient through the real HTTP stack against the local gateway.

Every send here crosses a real socket to ``tests/local_server.py``, which checks
the V3 signature with ``tests/independent_v3.py`` and records what a phone would
have received; the tests compare that with what was sent.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import json
import math
import socket
import time
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import httpx
import independent_v3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local_server import LocalGateway, segments_of

import alisms
from alisms import _core, _transport

if TYPE_CHECKING:
    from conftest import ClientRunner, TestKeys

FIXED_TEXTS = [
    "Your code is 1234",
    "emoji 🎉🔐👍🏽 and a flag 🇭🇰",
    "  spaces  around  and   inside  ",
    "* ~ + & = % /",
    "a+b=c&d=e%20f%2B?x#y;z",
    "100% sure: 50%OFF %%",
    "line one\nline two\r\nline three\rend",
    "tab\there",
    "مرحبا بك، رمزك هو 1234",  # Arabic, right to left
    "שלום! הקוד שלך 5678",  # Hebrew, right to left
    "\u202eRTL override\u202c and \u200fmarks\u200e",
    "您的验证码是 1234，请勿泄露。",  # noqa: RUF001 - full-width comma on purpose
    "Ünïcödé çàfé ñ ß Ω",
    "quotes \" ' ` and <b>tags</b> & ampersands",
    "null \x00 byte and \x7f delete",
    "x" * 1600,
]

# Arbitrary unicode, no lone surrogates (not text), not blank (refused before sending).
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1).filter(
    lambda s: s.strip() != ""
)

SERVER_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def numbers(count: int) -> list[str]:
    """``count`` distinct Hong Kong numbers."""
    return [f"8526{i:07d}" for i in range(count)]


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make(kind: str, **kwargs: Any) -> alisms.Client | alisms.AsyncClient:
    """Build a client of ``kind``; close it with :func:`close`."""
    return alisms.Client(**kwargs) if kind == "sync" else alisms.AsyncClient(**kwargs)


def close(client: alisms.Client | alisms.AsyncClient) -> None:
    if isinstance(client, alisms.AsyncClient):
        asyncio.run(client.aclose())
    else:
        client.close()


def endpoint_of(kind: str, **kwargs: Any) -> str:
    """The endpoint a client of ``kind`` built with ``kwargs`` sends to."""
    if kind == "sync":
        with (
            httpx.Client(verify=False) as http,
            alisms.Client(
                access_key_id="id", access_key_secret="s", http_client=http, **kwargs
            ) as c,
        ):
            return c.endpoint

    async def build() -> str:
        async with (
            httpx.AsyncClient(verify=False) as http,
            alisms.AsyncClient(
                access_key_id="id", access_key_secret="s", http_client=http, **kwargs
            ) as c,
        ):
            return c.endpoint

    return asyncio.run(build())


def assert_accepted(server: LocalGateway) -> None:
    """Every request the server saw was verified and answered 200."""
    assert server.requests, "the server saw no request"
    for request in server.requests:
        assert request.verification is not None
        assert request.verification.ok, request.verification.reason
        assert request.status == 200, request.error_code


# -- sending: the text arrives unchanged ----------------------------------------


def test_send_delivers_fixed_texts_unchanged(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict
) -> None:
    calls = [("send_message_to_globe", ("+85212345678", text), {}) for text in FIXED_TEXTS]
    results = client_runner.call_many(server_client_kwargs, calls)
    assert_accepted(server)
    messages = server.messages
    assert [m.text for m in messages] == FIXED_TEXTS
    for text, message, result in zip(FIXED_TEXTS, messages, results, strict=True):
        assert message.to == "85212345678"
        assert message.action == "SendMessageToGlobe"
        assert isinstance(result, alisms.SendResult)
        assert result.message_id == message.message_id
        assert result.to == "85212345678"
        assert result.response_code == "OK"
        assert result.segments == segments_of(text)
        assert result.request_id


@SERVER_SETTINGS
@given(text=ANY_TEXT)
def test_send_any_text_unchanged(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict, text: str
) -> None:
    server.clear()
    [result] = client_runner.call_many(
        server_client_kwargs, [("send_message_to_globe", ("85290001234", text), {})], fast_http=True
    )
    assert_accepted(server)
    [message] = server.messages
    assert message.text == text
    assert result.message_id == message.message_id


@settings(SERVER_SETTINGS, max_examples=5)
@given(text=ANY_TEXT)
def test_batch_of_1000_numbers_any_text(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict, text: str
) -> None:
    server.clear()
    to = numbers(1000)
    [result] = client_runner.call_many(
        server_client_kwargs, [("batch_send_message_to_globe", (to, text), {})], fast_http=True
    )
    assert_accepted(server)
    messages = server.messages
    assert [m.to for m in messages] == to
    assert all(m.text == text for m in messages)
    assert all(m.action == "BatchSendMessageToGlobe" for m in messages)
    assert isinstance(result, alisms.BatchSendResult)
    assert result.message_ids == [m.message_id for m in messages]
    assert len(set(result.message_ids)) == 1000
    assert result.success_count == 1000
    assert result.failed == []


def test_batch_with_one_text_per_number(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict
) -> None:
    to = numbers(1000)
    texts = [f"{i}: {FIXED_TEXTS[i % len(FIXED_TEXTS)][:80]}" for i in range(1000)]
    result = client_runner.call(server_client_kwargs, "batch_send_message_to_globe", to, texts)
    assert_accepted(server)
    received = {m.to: m.text for m in server.messages}
    assert received == dict(zip(to, texts, strict=True))
    assert result.success_count == 1000


def test_batch_delivers_fixed_texts_unchanged(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict
) -> None:
    to = ["+85212345678", "0085312345678", "886912345678"]
    calls = [("batch_send_message_to_globe", (to, text), {}) for text in FIXED_TEXTS]
    client_runner.call_many(server_client_kwargs, calls)
    assert_accepted(server)
    expected = [
        (number, text)
        for text in FIXED_TEXTS
        for number in ("85212345678", "85312345678", "886912345678")
    ]
    assert [(m.to, m.text) for m in server.messages] == expected


def test_batch_reports_the_numbers_the_service_refused(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict
) -> None:
    to = numbers(5)
    server.failing_numbers = {to[1], to[3]}
    result = client_runner.call(server_client_kwargs, "batch_send_message_to_globe", to, "hi")
    assert result.failed == [to[1], to[3]]
    assert result.success_count == 3
    assert result.message_ids == [m.message_id for m in server.messages]
    assert [m.to for m in server.messages] == [to[0], to[2], to[4]]


def test_optional_parameters_arrive(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict
) -> None:
    options = {
        "from_": "Alicloud321",
        "task_id": "task-ü-42",
        "validity_period": 600,
        "channel_id": "3790",
    }
    single = client_runner.call(
        server_client_kwargs, "send_message_to_globe", "85212345678", "one", type="otp", **options
    )
    batch = client_runner.call(
        server_client_kwargs,
        "batch_send_message_to_globe",
        ("85212345678",),
        ["two"],
        type=alisms.MessageType.MKT,
        **options,
    )
    assert_accepted(server)
    first, second = server.messages
    for message, kind in ((first, "OTP"), (second, "MKT")):
        assert message.sender == "Alicloud321"
        assert message.type == kind
        assert message.task_id == "task-ü-42"
        assert message.validity_period == "600"
        assert message.channel_id == "3790"
    assert single.from_ == batch.from_ == "Alicloud321"


def test_absent_options_are_not_sent(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict
) -> None:
    client_runner.call(server_client_kwargs, "send_message_to_globe", "85212345678", "hi")
    [request] = server.requests
    assert sorted(name for name, _ in parse_qsl(request.body.decode())) == ["Message", "To"]
    [message] = server.messages
    assert message.sender is None
    assert message.type is None
    assert message.task_id is None
    assert message.validity_period is None
    assert message.channel_id is None


def test_request_shape(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict
) -> None:
    client_runner.call(server_client_kwargs, "send_message_to_globe", "85212345678", "hi")
    [request] = server.requests
    assert request.method == "POST"
    assert request.target == "/"
    assert request.header("host") == server.endpoint
    assert request.header("x-acs-action") == "SendMessageToGlobe"
    assert request.header("x-acs-version") == "2018-05-01"
    assert request.header("content-type") == "application/x-www-form-urlencoded"
    assert request.header("x-acs-content-sha256") == independent_v3.payload_hash(request.body)
    assert request.header("authorization").startswith("ACS3-HMAC-SHA256 Credential=testid,")
    signed = request.signed_headers
    for name in ("host", "content-type", "x-acs-action", "x-acs-date", "x-acs-signature-nonce"):
        assert name in signed
    assert "x-acs-security-token" not in signed
    assert request.header("x-acs-security-token") is None


def test_every_request_has_a_fresh_nonce(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict
) -> None:
    calls = [("send_message_to_globe", ("85212345678", f"n{i}"), {}) for i in range(20)]
    results = client_runner.call_many(server_client_kwargs, calls)
    assert_accepted(server)
    nonces = {r.header("x-acs-signature-nonce") for r in server.requests}
    assert len(nonces) == 20
    assert len({r.message_id for r in results}) == 20


# -- what the gateway refuses -----------------------------------------------------


def test_reused_nonce_is_refused(
    client_runner: ClientRunner,
    server: LocalGateway,
    server_client_kwargs: dict,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_core, "new_nonce", lambda: "0123456789abcdef0123456789abcdef")
    calls = [("send_message_to_globe", ("85212345678", "hi"), {})] * 2
    with pytest.raises(alisms.AuthenticationError) as caught:
        client_runner.call_many(server_client_kwargs, calls)
    assert caught.value.code == "SignatureNonceUsed"
    assert caught.value.http_status == 400
    assert len(server.messages) == 1


def test_wrong_secret_is_refused(
    client_runner: ClientRunner, server: LocalGateway, keys: TestKeys
) -> None:
    kwargs = {"access_key_id": keys.access_key_id, "access_key_secret": "wrong-secret"}
    with pytest.raises(alisms.AuthenticationError) as caught:
        client_runner.call(
            {**kwargs, "endpoint": server.url}, "send_message_to_globe", "85212345678", "hi"
        )
    error = caught.value
    assert error.code == "SignatureDoesNotMatch"
    assert error.http_status == 400
    assert error.request_id
    assert "wrong-secret" not in str(error) + repr(error)
    assert server.messages == []
    [request] = server.requests
    assert request.verification is not None
    assert request.verification.reason == "signature mismatch"


def test_unknown_access_key_is_refused(client_runner: ClientRunner, server: LocalGateway) -> None:
    kwargs = {"access_key_id": "nobody", "access_key_secret": "x", "endpoint": server.url}
    with pytest.raises(alisms.AuthenticationError) as caught:
        client_runner.call(kwargs, "send_message_to_globe", "85212345678", "hi")
    assert caught.value.code == "InvalidAccessKeyId.NotFound"
    assert caught.value.http_status == 404


def test_clock_skew_is_refused(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict
) -> None:
    real_clock = server.clock
    server.clock = lambda: real_clock() + timedelta(minutes=16)
    with pytest.raises(alisms.AuthenticationError) as caught:
        client_runner.call(server_client_kwargs, "send_message_to_globe", "85212345678", "hi")
    assert caught.value.code == "InvalidTimeStamp.Expired"
    assert "NTP" in str(caught.value)


def test_business_refusal_and_secrets_scrubbed_from_server_text(
    client_runner: ClientRunner, server: LocalGateway, keys: TestKeys
) -> None:
    server.queue_response(
        200,
        {
            "ResponseCode": "INVALID_SENDERID",
            "ResponseDescription": f"sender refused for {keys.sts_access_key_secret} "
            f"with {keys.sts_security_token}",
            "RequestId": "REQ-1",
        },
    )
    kwargs = {
        "access_key_id": keys.sts_access_key_id,
        "access_key_secret": keys.sts_access_key_secret,
        "security_token": keys.sts_security_token,
        "endpoint": server.url,
    }
    with pytest.raises(alisms.MessageRejectedError) as caught:
        client_runner.call(kwargs, "send_message_to_globe", "85212345678", "hi", from_="Nope")
    error = caught.value
    assert error.code == "INVALID_SENDERID"
    assert error.request_id == "REQ-1"
    for shown in (str(error), repr(error), error.message):
        assert keys.sts_access_key_secret not in shown
        assert keys.sts_security_token not in shown
    assert "<redacted>" in str(error)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        # A garbled answer to a send leaves its outcome unknown.
        (502, "<html><body>Bad Gateway</body></html>", alisms.MalformedResponseError),
        (200, "", alisms.MalformedResponseError),
        (
            503,
            {"Code": "ServiceUnavailable", "Message": "try later", "RequestId": "REQ-2"},
            alisms.ServerError,
        ),
    ],
    ids=["html-502", "empty-200", "gateway-503"],
)
def test_canned_answers_become_alisms_errors(
    client_runner: ClientRunner,
    server: LocalGateway,
    server_client_kwargs: dict,
    status: int,
    body: Any,
    error: type[alisms.AlismsError],
) -> None:
    server.queue_response(status, body)
    with pytest.raises(alisms.AlismsError) as caught:
        client_runner.call(server_client_kwargs, "send_message_to_globe", "85212345678", "hi")
    raised = caught.value
    if error is alisms.MalformedResponseError:
        assert isinstance(raised, alisms.DeliveryUnknownError)
        raised = raised.last_error
    assert type(raised) is error
    assert raised.http_status == status
    assert server.messages == []
    # The queue held one answer: the next request is handled normally.
    client_runner.call(server_client_kwargs, "send_message_to_globe", "85212345678", "again")
    assert [m.text for m in server.messages] == ["again"]


# -- STS, SM3, RSA ----------------------------------------------------------------


def test_sts_token_is_signed_and_sent(
    client_runner: ClientRunner, server: LocalGateway, keys: TestKeys
) -> None:
    kwargs = {
        "access_key_id": keys.sts_access_key_id,
        "access_key_secret": keys.sts_access_key_secret,
        "security_token": keys.sts_security_token,
        "endpoint": server.url,
    }
    client_runner.call(kwargs, "send_message_to_globe", "85212345678", "sts")
    client_runner.call(kwargs, "batch_send_message_to_globe", ["85212345678"], "sts")
    assert_accepted(server)
    for request in server.requests:
        assert request.header("x-acs-security-token") == keys.sts_security_token
        assert "x-acs-security-token" in request.signed_headers
    assert [m.access_key_id for m in server.messages] == [keys.sts_access_key_id] * 2


@pytest.mark.parametrize("token", [None, "CAIS+some/other=token"])
def test_sts_missing_or_wrong_token_is_refused(
    client_runner: ClientRunner, server: LocalGateway, keys: TestKeys, token: str | None
) -> None:
    kwargs = {
        "access_key_id": keys.sts_access_key_id,
        "access_key_secret": keys.sts_access_key_secret,
        "security_token": token,
        "endpoint": server.url,
    }
    with pytest.raises(alisms.AuthenticationError) as caught:
        client_runner.call(kwargs, "send_message_to_globe", "85212345678", "sts")
    assert caught.value.code.startswith(("MissingSecurityToken", "InvalidSecurityToken"))
    assert server.messages == []


def test_sm3_signature(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict
) -> None:
    kwargs = {**server_client_kwargs, "signature_algorithm": "ACS3-HMAC-SM3"}
    client_runner.call(kwargs, "send_message_to_globe", "85212345678", "sm3 ✓")
    client_runner.call(kwargs, "batch_send_message_to_globe", numbers(3), "sm3 ✓")
    assert_accepted(server)
    for request in server.requests:
        assert request.header("authorization").startswith("ACS3-HMAC-SM3 ")
        expected = independent_v3.payload_hash(request.body, "ACS3-HMAC-SM3")
        assert request.header("x-acs-content-sha256") == expected
    assert {m.algorithm for m in server.messages} == {"ACS3-HMAC-SM3"}
    assert [m.text for m in server.messages] == ["sm3 ✓"] * 4


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """Two throwaway RSA keys: the registered one and a stranger."""
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


def private_pem(key: rsa.RSAPrivateKey, form: serialization.PrivateFormat) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, form, serialization.NoEncryption()
    ).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.mark.parametrize(
    "form",
    [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL],
    ids=["pkcs8", "pkcs1"],
)
def test_rsa_signature(
    client_runner: ClientRunner,
    server: LocalGateway,
    rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
    form: serialization.PrivateFormat,
) -> None:
    key, _ = rsa_keys
    server.add_rsa_key("rsa-key-1", public_pem(key))
    pem = private_pem(key, form)
    kwargs = {
        "access_key_id": "rsa-key-1",
        "access_key_secret": pem,
        "signature_algorithm": "ACS3-RSA-SHA256",
        "endpoint": server.url,
    }
    client_runner.call(kwargs, "send_message_to_globe", "85212345678", "rsa ✓")
    client_runner.call(kwargs, "batch_send_message_to_globe", numbers(2), ["a", "b"])
    assert_accepted(server)
    assert {m.algorithm for m in server.messages} == {"ACS3-RSA-SHA256"}
    assert [m.text for m in server.messages] == ["rsa ✓", "a", "b"]
    client = make(client_runner.kind, **kwargs)
    try:
        assert "PRIVATE KEY" not in repr(client)
        assert pem not in repr(client)
    finally:
        close(client)


def test_rsa_signature_with_another_key_is_refused(
    client_runner: ClientRunner,
    server: LocalGateway,
    rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
) -> None:
    registered, stranger = rsa_keys
    server.add_rsa_key("rsa-key-1", public_pem(registered))
    kwargs = {
        "access_key_id": "rsa-key-1",
        "access_key_secret": private_pem(stranger, serialization.PrivateFormat.PKCS8),
        "signature_algorithm": "ACS3-RSA-SHA256",
        "endpoint": server.url,
    }
    with pytest.raises(alisms.AuthenticationError) as caught:
        client_runner.call(kwargs, "send_message_to_globe", "85212345678", "rsa")
    assert caught.value.code == "SignatureDoesNotMatch"
    assert server.messages == []


def test_rsa_with_a_secret_that_is_not_a_key_raises_alisms_error(
    client_runner: ClientRunner, server: LocalGateway
) -> None:
    kwargs = {
        "access_key_id": "rsa-key-1",
        "access_key_secret": "not a PEM key",
        "signature_algorithm": "ACS3-RSA-SHA256",
        "endpoint": server.url,
    }
    with pytest.raises(alisms.CredentialsError):
        client_runner.call(kwargs, "send_message_to_globe", "85212345678", "rsa")
    assert server.requests == []


def test_unknown_signature_algorithm_is_refused(client_runner: ClientRunner) -> None:
    with pytest.raises(alisms.ConfigurationError, match="ACS3-HMAC-SHA256, ACS3-HMAC-SM3"):
        make(
            client_runner.kind, access_key_id="a", access_key_secret="b", signature_algorithm="HMAC"
        )


# -- life cycle: context managers, close, http_client= ------------------------------


def test_client_context_manager_and_close(server: LocalGateway, server_client_kwargs: dict) -> None:
    client = alisms.Client(**server_client_kwargs)
    with client as entered:
        assert entered is client
        entered.send_message_to_globe("85212345678", "hi")
        assert server.open_connections() == 1
    assert server.wait_until_idle()

    client = alisms.Client(**server_client_kwargs)
    client.send_message_to_globe("85212345678", "hi")
    client.close()
    assert server.wait_until_idle()
    client.close()  # closing twice is harmless

    with pytest.raises(KeyError), alisms.Client(**server_client_kwargs) as client:
        client.send_message_to_globe("85212345678", "hi")
        raise KeyError("boom")
    assert server.wait_until_idle()
    assert len(server.messages) == 3


def test_async_client_context_manager_and_aclose(
    server: LocalGateway, server_client_kwargs: dict
) -> None:
    async def main() -> None:
        client = alisms.AsyncClient(**server_client_kwargs)
        async with client as entered:
            assert entered is client
            await entered.send_message_to_globe("85212345678", "hi")
            assert server.open_connections() == 1
        assert server.wait_until_idle()

        client = alisms.AsyncClient(**server_client_kwargs)
        await client.send_message_to_globe("85212345678", "hi")
        await client.aclose()
        assert server.wait_until_idle()
        await client.aclose()

        with pytest.raises(KeyError):
            async with alisms.AsyncClient(**server_client_kwargs) as client:
                await client.send_message_to_globe("85212345678", "hi")
                raise KeyError("boom")
        assert server.wait_until_idle()

    asyncio.run(main())
    assert len(server.messages) == 3


def test_client_uses_the_given_http_client_and_leaves_it_open(
    server: LocalGateway, server_client_kwargs: dict
) -> None:
    seen: list[httpx.Request] = []
    with httpx.Client(event_hooks={"request": [seen.append]}) as http:
        with alisms.Client(**server_client_kwargs, http_client=http) as client:
            client.send_message_to_globe("85212345678", "first")
        assert not http.is_closed
        with alisms.Client(**server_client_kwargs, http_client=http) as client:
            client.send_message_to_globe("85212345678", "second")
        assert not http.is_closed
        assert server.open_connections() == 1  # the connection is still pooled in `http`
    assert server.wait_until_idle()
    assert len(seen) == 2
    assert [m.text for m in server.messages] == ["first", "second"]


def test_async_client_uses_the_given_http_client_and_leaves_it_open(
    server: LocalGateway, server_client_kwargs: dict
) -> None:
    seen: list[httpx.Request] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request)

    async def main() -> None:
        async with httpx.AsyncClient(event_hooks={"request": [hook]}) as http:
            async with alisms.AsyncClient(**server_client_kwargs, http_client=http) as client:
                await client.send_message_to_globe("85212345678", "first")
            assert not http.is_closed
            client = alisms.AsyncClient(**server_client_kwargs, http_client=http)
            await client.send_message_to_globe("85212345678", "second")
            await client.aclose()
            assert not http.is_closed

    asyncio.run(main())
    assert len(seen) == 2
    assert [m.text for m in server.messages] == ["first", "second"]


def test_http_client_of_the_wrong_kind_is_refused() -> None:
    kwargs = {"access_key_id": "a", "access_key_secret": "b"}
    async_http = httpx.AsyncClient()
    sync_http = httpx.Client()
    try:
        with pytest.raises(alisms.ConfigurationError, match=r"httpx\.Client"):
            alisms.Client(**kwargs, http_client=async_http)
        with pytest.raises(alisms.ConfigurationError, match=r"httpx\.AsyncClient"):
            alisms.AsyncClient(**kwargs, http_client=sync_http)
        with pytest.raises(alisms.ConfigurationError):
            alisms.Client(**kwargs, http_client="http://127.0.0.1")
    finally:
        sync_http.close()
        asyncio.run(async_http.aclose())


needs_aiohttp = pytest.mark.skipif(
    importlib.util.find_spec("aiohttp") is None,
    reason="aiohttp is not installed (it comes with the dev extra)",
)


@needs_aiohttp
def test_the_aiohttp_session_alisms_owns_lives_from_first_call_to_aclose(
    server: LocalGateway, server_client_kwargs: dict
) -> None:
    client = alisms.AsyncClient(**server_client_kwargs, transport="aiohttp")  # outside a loop
    sender = client._http
    assert isinstance(sender, _transport.AiohttpSender)
    assert sender.session is None  # made on first use, inside the loop

    async def main() -> None:
        async with client as entered:
            assert entered is client
            await client.send_message_to_globe("85212345678", "first")
            session = sender.session
            assert session is not None and not session.closed
            view = client.with_options(retry=False)
            await view.send_message_to_globe("85212345678", "through a view")
            await view.aclose()  # a view closes nothing
            assert sender.session is session and not session.closed
            await client.send_message_to_globe("85212345678", "same session")
            assert sender.session is session
            assert server.open_connections() == 1
        assert session.closed
        assert server.wait_until_idle()
        await client.aclose()  # closing twice is harmless

        with pytest.raises(KeyError):
            async with alisms.AsyncClient(**server_client_kwargs, transport="aiohttp") as other:
                await other.send_message_to_globe("85212345678", "then a bug")
                raise KeyError("boom")
        assert server.wait_until_idle()

        unused = alisms.AsyncClient(**server_client_kwargs, transport="aiohttp")
        await unused.aclose()  # never used: no session to close, and none is made later
        with pytest.raises(alisms.TransportError, match="closed"):
            await unused.send_message_to_globe("85212345678", "too late")
        assert unused._http.session is None  # type: ignore[union-attr]

    asyncio.run(main())
    assert [m.text for m in server.messages] == [
        "first",
        "through a view",
        "same session",
        "then a bug",
    ]


@needs_aiohttp
def test_async_client_sends_through_a_given_aiohttp_session_and_leaves_it_open(
    server: LocalGateway, server_client_kwargs: dict
) -> None:
    import aiohttp

    started: list[str] = []

    async def on_request_start(session: Any, context: Any, params: Any) -> None:
        started.append(params.method)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)

    async def main() -> None:
        # The session's own timeout is not used: alisms's timeout= (here 0.3 s) is.
        timeout = aiohttp.ClientTimeout(total=60, sock_read=60)
        async with aiohttp.ClientSession(trace_configs=[trace], timeout=timeout) as session:
            kwargs = {**server_client_kwargs, "http_client": session, "timeout": 0.3}
            async with alisms.AsyncClient(**kwargs) as client:
                await client.send_message_to_globe("85212345678", "first")
            assert not session.closed
            client = alisms.AsyncClient(**kwargs)
            server.queue_stall()
            with pytest.raises(alisms.DeliveryUnknownError):
                await client.send_message_to_globe("85212345678", "stalled")
            await client.send_message_to_globe("85212345678", "second")
            await client.aclose()
            assert not session.closed

    started_at = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started_at < 10
    assert started == ["POST"] * 3
    assert [m.text for m in server.messages] == ["first", "second"]


@needs_aiohttp
def test_aiohttp_is_refused_where_it_cannot_work() -> None:
    import aiohttp

    kwargs = {"access_key_id": "a", "access_key_secret": "b"}

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(alisms.ConfigurationError, match="AsyncClient") as caught:
                alisms.Client(**kwargs, http_client=session)  # type: ignore[arg-type]
            assert "asynchronous" in str(caught.value)
            with pytest.raises(alisms.ConfigurationError, match="not both"):
                alisms.AsyncClient(**kwargs, http_client=session, transport="aiohttp")

    asyncio.run(main())
    with pytest.raises(alisms.ConfigurationError, match="AsyncClient"):
        alisms.Client(**kwargs, transport="aiohttp")  # type: ignore[arg-type]
    with pytest.raises(alisms.ConfigurationError, match='"aiohttp"'):
        alisms.AsyncClient(**kwargs, transport="aiohttp2")  # type: ignore[arg-type]


# -- endpoints ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        "http://127.0.0.1:{port}",
        "http://127.0.0.1:{port}/",
        "HTTP://127.0.0.1:{port}",
        "  http://127.0.0.1:{port}  ",
        "http://localhost:{port}",
        "http://LocalHost:{port}",
    ],
)
def test_loopback_endpoint_forms_reach_the_server(
    client_runner: ClientRunner, server: LocalGateway, keys: TestKeys, form: str
) -> None:
    endpoint = form.format(port=server.port)
    kwargs = {
        "access_key_id": keys.access_key_id,
        "access_key_secret": keys.access_key_secret,
        "endpoint": endpoint,
    }
    client_runner.call(kwargs, "send_message_to_globe", "85212345678", "hi")
    assert_accepted(server)
    [request] = server.requests
    host = endpoint.strip().split("://")[1].rstrip("/").lower()
    assert request.header("host") == host
    assert endpoint_of(client_runner.kind, endpoint=endpoint) == f"http://{host}/"


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("127.0.0.1:8080", "https://127.0.0.1:8080/"),
        ("dysmsapi.eu-central-1.aliyuncs.com", "https://dysmsapi.eu-central-1.aliyuncs.com/"),
        ("DYSMSAPI.aliyuncs.com", "https://dysmsapi.aliyuncs.com/"),
        ("https://dysmsapi.aliyuncs.com", "https://dysmsapi.aliyuncs.com/"),
        ("https://dysmsapi.aliyuncs.com/", "https://dysmsapi.aliyuncs.com/"),
        ("https://dysmsapi.aliyuncs.com:443", "https://dysmsapi.aliyuncs.com/"),
        ("https://sms.example.com:8443", "https://sms.example.com:8443/"),
        ("http://[::1]:9000", "http://[::1]:9000/"),
    ],
)
def test_endpoint_forms(client_runner: ClientRunner, endpoint: str, expected: str) -> None:
    assert endpoint_of(client_runner.kind, endpoint=endpoint) == expected


@pytest.mark.parametrize(
    ("endpoint", "fragment"),
    [
        ("http://127.0.0.1:8080/api", "no path"),
        ("https://dysmsapi.aliyuncs.com/?Action=x", "no path"),
        ("https://user@dysmsapi.aliyuncs.com", "no path"),
        ("ftp://dysmsapi.aliyuncs.com", "http(s)"),
        ("", "host name or URL"),
        ("http://example.com", "allow_insecure_http"),
        ("http://10.0.0.1:8080", "allow_insecure_http"),
        ("https://dysmsapi.aliyuncs.com:99999", "not a valid URL"),
    ],
)
def test_bad_endpoints_are_refused(
    client_runner: ClientRunner, endpoint: str, fragment: str
) -> None:
    with pytest.raises(alisms.ConfigurationError) as caught:
        make(client_runner.kind, access_key_id="a", access_key_secret="b", endpoint=endpoint)
    assert fragment in str(caught.value)


def test_plain_http_elsewhere_needs_allow_insecure_http(client_runner: ClientRunner) -> None:
    got = endpoint_of(
        client_runner.kind, endpoint="http://sms.internal:8080", allow_insecure_http=True
    )
    assert got == "http://sms.internal:8080/"


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("ap-southeast-1", "https://dysmsapi.ap-southeast-1.aliyuncs.com/"),
        ("ap-southeast-5", "https://dysmsapi.ap-southeast-5.aliyuncs.com/"),
        ("eu-central-1", "https://dysmsapi.eu-central-1.aliyuncs.com/"),
        ("us-east-1", "https://dysmsapi.us-east-1.aliyuncs.com/"),
        ("cn-hongkong", "https://dysmsapi.aliyuncs.com/"),
        ("cn-hangzhou", "https://dysmsapi.aliyuncs.com/"),
    ],
)
def test_region_map(client_runner: ClientRunner, region: str, expected: str) -> None:
    assert endpoint_of(client_runner.kind, region=region) == expected


def test_region_problems_are_refused(client_runner: ClientRunner) -> None:
    with pytest.raises(alisms.ConfigurationError, match="not both"):
        make(
            client_runner.kind,
            access_key_id="a",
            access_key_secret="b",
            region="eu-central-1",
            endpoint="dysmsapi.eu-central-1.aliyuncs.com",
        )
    with pytest.raises(alisms.ConfigurationError) as caught:
        make(client_runner.kind, access_key_id="a", access_key_secret="b", region="mars-north-1")
    assert "mars-north-1" in str(caught.value)
    assert "ap-southeast-1" in str(caught.value)


def test_default_endpoint_is_singapore(client_runner: ClientRunner) -> None:
    assert endpoint_of(client_runner.kind) == "https://dysmsapi.ap-southeast-1.aliyuncs.com/"


def test_alisms_endpoint_environment_variable(
    client_runner: ClientRunner,
    server: LocalGateway,
    keys: TestKeys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALISMS_ENDPOINT", server.url)
    kwargs = {"access_key_id": keys.access_key_id, "access_key_secret": keys.access_key_secret}
    client_runner.call(kwargs, "send_message_to_globe", "85212345678", "via env")
    assert_accepted(server)
    assert [m.text for m in server.messages] == ["via env"]
    # endpoint= and region= both win over the variable.
    assert endpoint_of(client_runner.kind, endpoint="sms.example.com") == "https://sms.example.com/"
    assert endpoint_of(client_runner.kind, region="eu-central-1") == (
        "https://dysmsapi.eu-central-1.aliyuncs.com/"
    )
    monkeypatch.setenv("ALISMS_ENDPOINT", "http://example.com")
    with pytest.raises(alisms.ConfigurationError, match="allow_insecure_http"):
        endpoint_of(client_runner.kind)


# -- timeouts --------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [3, 2.5, httpx.Timeout(3.0), httpx.Timeout(5.0, connect=1.0)])
def test_timeouts_accepted(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict, timeout: Any
) -> None:
    client_runner.call(
        {**server_client_kwargs, "timeout": timeout}, "send_message_to_globe", "85212345678", "t"
    )
    assert_accepted(server)


@pytest.mark.parametrize("timeout", [0, -1, -0.5, math.nan, True, "5", [5]])
def test_bad_timeouts_refused(client_runner: ClientRunner, timeout: Any) -> None:
    with pytest.raises(alisms.ConfigurationError, match="positive number"):
        make(client_runner.kind, access_key_id="a", access_key_secret="b", timeout=timeout)


def test_infinite_timeout_is_refused_or_works_sync(
    server: LocalGateway, server_client_kwargs: dict
) -> None:
    try:
        client = alisms.Client(**server_client_kwargs, timeout=math.inf)
    except alisms.ConfigurationError:
        return
    failure = None
    # The bug leaks the socket httpcore created; keep its ResourceWarning out of other tests.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        with client:
            try:
                client.send_message_to_globe("85212345678", "t")
            except OverflowError as exc:
                failure = repr(exc)
        gc.collect()
    assert failure is None, failure
    assert_accepted(server)


def test_infinite_timeout_is_refused_or_works_async(
    server: LocalGateway, server_client_kwargs: dict
) -> None:
    try:
        client = alisms.AsyncClient(**server_client_kwargs, timeout=math.inf)
    except alisms.ConfigurationError:
        return

    async def main() -> None:
        async with client:
            await client.send_message_to_globe("85212345678", "t")

    asyncio.run(main())
    assert_accepted(server)


def test_stalled_server_raises_transport_error_that_may_have_been_sent(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict
) -> None:
    server.queue_stall()
    started = time.monotonic()
    with pytest.raises(alisms.DeliveryUnknownError) as caught:
        client_runner.call(
            {**server_client_kwargs, "timeout": 0.3}, "send_message_to_globe", "85212345678", "t"
        )
    assert time.monotonic() - started < 5
    last = caught.value.last_error
    assert isinstance(last, alisms.TransportError)
    assert last.may_have_been_sent is True
    assert "check before sending it again" in str(last)
    assert "Do not resend blindly" in str(caught.value)
    assert len(server.requests) == 1  # it was indeed sent


def test_refused_connection_raises_transport_error_not_sent(
    client_runner: ClientRunner, keys: TestKeys
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    kwargs = {
        "access_key_id": keys.access_key_id,
        "access_key_secret": keys.access_key_secret,
        "endpoint": url,
    }
    with pytest.raises(alisms.TransportError) as caught:
        client_runner.call(kwargs, "send_message_to_globe", "85212345678", "t")
    assert caught.value.may_have_been_sent is False
    assert url in str(caught.value)
    assert "Nothing was sent" in str(caught.value)


@pytest.mark.parametrize("ours", [True, False], ids=["alisms-timeout", "http-client-timeout"])
def test_timeout_with_a_given_http_client(
    server: LocalGateway, server_client_kwargs: dict, ours: bool
) -> None:
    """``timeout=`` applies to a given http_client; without it, the http_client's own does."""
    server.queue_stall()
    started = time.monotonic()
    with httpx.Client(timeout=30 if ours else 0.3) as http:
        extra = {"timeout": 0.3} if ours else {}
        with (
            alisms.Client(**server_client_kwargs, http_client=http, **extra) as client,
            pytest.raises(alisms.DeliveryUnknownError) as caught,
        ):
            client.send_message_to_globe("85212345678", "t")
    assert time.monotonic() - started < 5
    assert isinstance(caught.value.last_error, alisms.TransportError)
    assert caught.value.last_error.may_have_been_sent is True


def test_async_timeout_with_a_given_http_client(
    server: LocalGateway, server_client_kwargs: dict
) -> None:
    server.queue_stall()
    server.queue_stall()

    async def main() -> None:
        for http_timeout, ours in ((30.0, {"timeout": 0.3}), (0.3, {})):
            async with (
                httpx.AsyncClient(timeout=http_timeout) as http,
                alisms.AsyncClient(**server_client_kwargs, http_client=http, **ours) as c,
            ):
                with pytest.raises(alisms.DeliveryUnknownError) as caught:
                    await c.send_message_to_globe("85212345678", "t")
                assert isinstance(caught.value.last_error, alisms.TransportError)
                assert caught.value.last_error.may_have_been_sent is True

    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < 5


# -- credentials -----------------------------------------------------------------


class RotatingCredentials:
    """A provider handing out two AccessKeys in turn, counting how it is asked."""

    def __init__(self, pairs: list[alisms.Credentials]) -> None:
        self.pairs = pairs
        self.sync_calls = 0
        self.async_calls = 0

    def _next(self) -> alisms.Credentials:
        return self.pairs[(self.sync_calls + self.async_calls) % len(self.pairs)]

    def get_credentials(self) -> alisms.Credentials:
        credentials = self._next()
        self.sync_calls += 1
        return credentials

    async def get_credentials_async(self) -> alisms.Credentials:
        credentials = self._next()
        self.async_calls += 1
        return credentials


def test_credentials_provider_is_asked_before_each_request(
    client_runner: ClientRunner, server: LocalGateway, keys: TestKeys
) -> None:
    server.add_access_key("second-id", "second-secret")
    provider = RotatingCredentials(
        [
            alisms.Credentials(keys.access_key_id, keys.access_key_secret),
            alisms.Credentials("second-id", "second-secret"),
        ]
    )
    assert isinstance(provider, alisms.CredentialsProvider)
    calls = [("send_message_to_globe", ("85212345678", f"m{i}"), {}) for i in range(4)]
    client_runner.call_many({"credentials": provider, "endpoint": server.url}, calls)
    assert_accepted(server)
    assert [m.access_key_id for m in server.messages] == [keys.access_key_id, "second-id"] * 2
    if client_runner.kind == "sync":
        assert (provider.sync_calls, provider.async_calls) == (4, 0)
    else:
        assert (provider.sync_calls, provider.async_calls) == (0, 4)


def test_static_credentials_provider(
    client_runner: ClientRunner, server: LocalGateway, keys: TestKeys
) -> None:
    provider = alisms.StaticCredentials(
        keys.sts_access_key_id, keys.sts_access_key_secret, keys.sts_security_token
    )
    client_runner.call(
        {"credentials": provider, "endpoint": server.url},
        "send_message_to_globe",
        "85212345678",
        "s",
    )
    assert_accepted(server)
    assert server.requests[0].header("x-acs-security-token") == keys.sts_security_token


def test_credentials_from_the_environment(
    client_runner: ClientRunner,
    server: LocalGateway,
    keys: TestKeys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", keys.access_key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", keys.access_key_secret)
    monkeypatch.setenv("ALISMS_ENDPOINT", server.url)
    client_runner.call({}, "send_message_to_globe", "85212345678", "env")

    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", keys.sts_access_key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", keys.sts_access_key_secret)
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", keys.sts_security_token)
    client_runner.call({}, "send_message_to_globe", "85212345678", "env sts")
    assert_accepted(server)
    assert [m.access_key_id for m in server.messages] == [
        keys.access_key_id,
        keys.sts_access_key_id,
    ]
    assert server.requests[1].header("x-acs-security-token") == keys.sts_security_token


def test_explicit_keys_win_over_the_environment(
    client_runner: ClientRunner,
    server: LocalGateway,
    server_client_kwargs: dict,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret")
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "env-token")
    client_runner.call(server_client_kwargs, "send_message_to_globe", "85212345678", "explicit")
    assert_accepted(server)
    assert server.requests[0].header("x-acs-security-token") is None


@pytest.mark.parametrize(
    "present",
    [{}, {"ALIBABA_CLOUD_ACCESS_KEY_ID": "id"}, {"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret"}],
    ids=["none", "id-only", "secret-only"],
)
def test_missing_credentials(
    client_runner: ClientRunner, monkeypatch: pytest.MonkeyPatch, present: dict[str, str]
) -> None:
    for name, value in present.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(alisms.CredentialsError) as caught:
        make(client_runner.kind)
    text = str(caught.value)
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in text
    assert "ALIBABA_CLOUD_ACCESS_KEY_SECRET" in text
    assert isinstance(caught.value, alisms.ConfigurationError)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"access_key_id": "id"}, "both"),
        ({"access_key_secret": "secret"}, "both"),
        ({"access_key_id": "id", "access_key_secret": ""}, "both"),
        ({"security_token": "token"}, "security_token"),
        (
            {"credentials": alisms.StaticCredentials("a", "b"), "access_key_id": "id"},
            "not both",
        ),
        ({"credentials": alisms.Credentials("a", "b")}, "get_credentials"),
        ({"credentials": "id:secret"}, "get_credentials"),
    ],
)
def test_conflicting_or_partial_credentials(
    client_runner: ClientRunner, kwargs: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(alisms.CredentialsError, match=fragment):
        make(client_runner.kind, **kwargs)


@pytest.mark.parametrize("which", ["access_key_id", "security_token"])
def test_non_ascii_credentials_raise_alisms_error(
    client_runner: ClientRunner, server: LocalGateway, which: str
) -> None:
    kwargs = {"access_key_id": "id", "access_key_secret": "secret", "endpoint": server.url}
    kwargs[which] = "ключ"
    with pytest.raises(alisms.CredentialsError):
        client_runner.call(kwargs, "send_message_to_globe", "85212345678", "x")
    assert server.requests == []


SEND_OK = {
    "ResponseCode": "OK",
    "MessageId": "1",
    "To": "85212345678",
    "Segments": "1",
    "RequestId": "R",
}


def test_non_ascii_endpoint_host_is_refused_or_encoded(client_runner: ClientRunner) -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=SEND_OK)

    kwargs = {
        "access_key_id": "id",
        "access_key_secret": "secret",
        "endpoint": "https://bücher.example",
    }
    try:
        client_runner.call_many(
            kwargs,
            [("send_message_to_globe", ("85212345678", "x"), {})],
            transport=httpx.MockTransport(answer),
        )
    except alisms.ConfigurationError:
        assert sent == []
        return
    [request] = sent
    assert request.headers["host"].isascii()


# -- repr never shows secrets ---------------------------------------------------------


def test_repr_of_clients_never_shows_secret_or_token(
    client_runner: ClientRunner, keys: TestKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit = make(
        client_runner.kind,
        access_key_id=keys.sts_access_key_id,
        access_key_secret=keys.sts_access_key_secret,
        security_token=keys.sts_security_token,
    )
    provided = make(
        client_runner.kind,
        credentials=alisms.StaticCredentials(keys.access_key_id, keys.access_key_secret),
        region="eu-central-1",
    )
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", keys.sts_access_key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", keys.sts_access_key_secret)
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", keys.sts_security_token)
    from_env = make(client_runner.kind)
    try:
        for client in (explicit, provided, from_env):
            for text in (repr(client), str(client)):
                assert keys.sts_access_key_secret not in text
                assert keys.sts_security_token not in text
                assert keys.access_key_secret not in text
                assert type(client).__name__ in text
                assert client.endpoint in text
        assert keys.sts_access_key_id in repr(explicit)
        assert keys.access_key_id in repr(provided)
        assert "<redacted>" in repr(explicit)
    finally:
        for client in (explicit, provided, from_env):
            close(client)


# -- other event loops -------------------------------------------------------------


def test_async_client_under_trio(server: LocalGateway, server_client_kwargs: dict) -> None:
    import anyio

    async def main() -> alisms.SendResult:
        async with alisms.AsyncClient(**server_client_kwargs) as client:
            return await client.send_message_to_globe("85212345678", "trio")

    result = anyio.run(main, backend="trio")
    assert result.message_id == server.messages[0].message_id


def test_result_raw_body_is_the_servers_json(
    client_runner: ClientRunner, server: LocalGateway, server_client_kwargs: dict
) -> None:
    result = client_runner.call(
        server_client_kwargs, "batch_send_message_to_globe", numbers(2), "raw"
    )
    data = json.loads(result.raw_body)
    assert data == dict(result.raw)
    assert json.loads(data["MessageIdList"]) == result.message_ids
