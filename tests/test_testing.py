"""alisms.testing: the in-process fake of dysmsapi, and the ``sms_fake`` pytest fixture.

Two ways in. Through :class:`~alisms.testing.FakeTransport`, with
:class:`alisms.Client` and :class:`alisms.AsyncClient` side by side (the
``client_runner`` fixture runs each such test twice). And through
:meth:`FakeSMSService.handle` directly, with requests signed by
``tests/independent_v3.py``, which shares no code with alisms: parameters in
the query string or the form body, extra signed headers, SHA-256 or SM3. A fake
that only accepted alisms's own signatures would prove nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import independent_v3
import pytest
from conftest import ClientRunner

import alisms
from alisms.testing import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    AcceptedMessage,
    FakeRequest,
    FakeResponse,
    FakeSMSService,
    FakeTransport,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
NOW_TEXT = "2026-01-02T03:04:05Z"
HOST = "dysmsapi.ap-southeast-1.aliyuncs.com"
SHA256 = "ACS3-HMAC-SHA256"
SM3 = "ACS3-HMAC-SM3"
FORM = "application/x-www-form-urlencoded"

STS_ID = "STS.fake-id"
STS_SECRET = "sts-fake-secret-81f3"
STS_TOKEN = "CAIS+fake/sts=token-4242"

_nonce_counter = iter(range(10**9))

# One injected fault is one answer of the service. A client that retries would
# turn it into a retried success, so these tests switch retries off: they are
# about the fake's answers, not about alisms.Retry.
NO_RETRY: dict[str, Any] = {"retry": False}


def unknown_because_of(error: BaseException) -> alisms.AlismsError:
    """The failure behind a send whose outcome is unknown (even with retries off).

    A send that got no usable answer ends in :class:`alisms.DeliveryUnknownError`,
    whose ``last_error`` says what went wrong on the wire.
    """
    assert isinstance(error, alisms.DeliveryUnknownError)
    assert error.last_error is not None
    return error.last_error


BASE_SIGNED = (
    "host",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
)
"""The headers every request of :func:`independent_request` carries (content-type aside)."""


def signed_names(*, without: Iterable[str] = (), plus: Iterable[str] = ()) -> list[str]:
    """SignedHeaders for a request: :data:`BASE_SIGNED` minus ``without``, plus ``plus``."""
    return sorted((set(BASE_SIGNED) - set(without)) | set(plus))


def fixed_fake(**kwargs: Any) -> FakeSMSService:
    """A fake whose clock reads :data:`NOW` (or ``clock=``)."""
    kwargs.setdefault("clock", lambda: NOW)
    return FakeSMSService(**kwargs)


def independent_request(
    params: Iterable[tuple[str, str]] | dict[str, str],
    *,
    where: str = "query",
    action: str = "SendMessageToGlobe",
    version: str = "2018-05-01",
    key_id: str = DEFAULT_ACCESS_KEY_ID,
    secret: str = DEFAULT_ACCESS_KEY_SECRET,
    algorithm: str = SHA256,
    date: str = NOW_TEXT,
    nonce: str | None = None,
    extra_headers: Sequence[tuple[str, str]] = (),
    signed_header_names: Iterable[str] | None = None,
    hashed_payload: str | None = None,
) -> FakeRequest:
    """A request as another correct V3 client would send it, signed by independent_v3.

    ``where`` puts the parameters in the ``query`` string (empty body) or in
    a form ``body``. ``hashed_payload`` overrides the x-acs-content-sha256
    value (signed as given).
    """
    pairs = list(params.items()) if isinstance(params, dict) else list(params)
    query = pairs if where == "query" else []
    encoded = "&".join(independent_v3.encode(k) + "=" + independent_v3.encode(v) for k, v in pairs)
    body = encoded.encode("ascii") if where == "body" else b""
    payload = (
        independent_v3.payload_hash(body, algorithm) if hashed_payload is None else (hashed_payload)
    )
    headers: list[tuple[str, str]] = [
        ("host", HOST),
        ("x-acs-action", action),
        ("x-acs-version", version),
        ("x-acs-date", date),
        ("x-acs-signature-nonce", nonce or f"independent-nonce-{next(_nonce_counter)}"),
        ("x-acs-content-sha256", payload),
    ]
    if body:
        headers.append(("content-type", FORM))
    headers.extend(extra_headers)
    authorization = independent_v3.sign(
        method="POST",
        path="/",
        query=query,
        headers=headers,
        body=body,
        access_key_id=key_id,
        secret=secret,
        algorithm=algorithm,
        signed_header_names=signed_header_names,
        hashed_payload=hashed_payload,
    )
    target = "/?" + encoded if where == "query" else "/"
    return FakeRequest("POST", target, (*headers, ("authorization", authorization)), body)


def answer(response: FakeResponse) -> dict[str, Any]:
    """The JSON body of a normal answer."""
    assert not response.drop
    assert dict(response.headers)["content-type"].startswith("application/json")
    body = json.loads(response.body)
    assert isinstance(body, dict)
    return body


def assert_gateway_error(response: FakeResponse, status: int, code: str) -> dict[str, Any]:
    """The documented POP gateway error shape: RequestId, HostId, Code, Message, Recommend."""
    body = answer(response)
    assert response.status == status, body
    assert body["Code"] == code
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["RequestId"] and body["Message"] and code in body["Recommend"]
    return body


def assert_business_error(response: FakeResponse, code: str) -> dict[str, Any]:
    """The documented business error shape: HTTP 200 with a ResponseCode other than OK."""
    body = answer(response)
    assert response.status == 200, body
    assert body["ResponseCode"] == code
    assert body["ResponseDescription"] and body["RequestId"]
    return body


def transport_kwargs(fake: FakeSMSService, **kwargs: Any) -> dict[str, Any]:
    """Client constructor arguments wiring a client to ``fake`` with no network."""
    kwargs.setdefault("access_key_id", DEFAULT_ACCESS_KEY_ID)
    kwargs.setdefault("access_key_secret", DEFAULT_ACCESS_KEY_SECRET)
    return {"transport": FakeTransport(fake), "endpoint": fake.endpoint, **NO_RETRY, **kwargs}


# -- requests signed by another implementation, straight into handle() ------------------


@pytest.mark.parametrize("algorithm", [SHA256, SM3])
@pytest.mark.parametrize("where", ["query", "body"])
def test_accepts_an_independent_signature(where: str, algorithm: str) -> None:
    fake = fixed_fake()
    text = "Hi + you & me: 100% ~ *ok* / 你好"
    request = independent_request(
        {"To": "85212345678", "Message": text, "From": "Shop42", "Type": "NOTIFY"},
        where=where,
        algorithm=algorithm,
    )
    assert (request.body == b"") is (where == "query")
    response = fake.handle(request)
    body = answer(response)
    assert response.status == 200, body
    assert body["ResponseCode"] == "OK"
    assert body["To"] == "85212345678" and body["From"] == "Shop42"
    assert body["Segments"] == "1"
    assert body["NumberDetail"].keys() == {"Carrier", "Region", "Country"}
    [message] = fake.messages
    assert message.message_id == body["MessageId"]
    assert message.request_id == body["RequestId"]
    assert (message.to, message.text, message.from_, message.type) == (
        "85212345678",
        text,
        "Shop42",
        "NOTIFY",
    )
    assert message.action == "SendMessageToGlobe"
    assert message.access_key_id == DEFAULT_ACCESS_KEY_ID
    assert message.encoding == "UCS-2"
    assert message.accepted_at == NOW


def test_the_query_string_parameters_are_the_ones_recorded() -> None:
    fake = fixed_fake()
    request = independent_request(
        [("To", "6581234567"), ("Message", "a=b&c=d"), ("TaskId", "t 1"), ("ValidityPeriod", "600")]
    )
    assert request.target.startswith("/?") and "Message=a%3Db%26c%3Dd" in request.target
    assert answer(fake.handle(request))["ResponseCode"] == "OK"
    [message] = fake.messages
    assert (message.text, message.task_id, message.validity_period) == ("a=b&c=d", "t 1", 600)


@pytest.mark.parametrize("where", ["query", "body"])
def test_accepts_an_extra_signed_user_agent(where: str) -> None:
    fake = fixed_fake()
    names = signed_names(plus=["user-agent", *(["content-type"] if where == "body" else [])])
    request = independent_request(
        {"To": "85212345678", "Message": "hi"},
        where=where,
        extra_headers=[("user-agent", "other-sdk/1.0 (test)")],
        signed_header_names=names,
    )
    assert ";user-agent;" in str(request.header("authorization"))
    assert answer(fake.handle(request))["ResponseCode"] == "OK"
    assert len(fake.messages) == 1


def test_a_signed_header_changed_in_transit_is_refused() -> None:
    fake = fixed_fake()
    names = signed_names(plus=["user-agent"])
    request = independent_request(
        {"To": "85212345678", "Message": "hi"},
        extra_headers=[("user-agent", "other-sdk/1.0")],
        signed_header_names=names,
    )
    changed = tuple((k, "proxy/2.0") if k == "user-agent" else (k, v) for k, v in request.headers)
    response = fake.handle(FakeRequest(request.method, request.target, changed, request.body))
    assert_gateway_error(response, 400, "SignatureDoesNotMatch")
    assert fake.messages == []


def test_accepts_an_rsa_signature_with_a_registered_public_key() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    fake = fixed_fake(rsa_public_keys={"rsa-key": public_pem})
    params = {"To": "85212345678", "Message": "hi"}
    request = independent_request(
        params, key_id="rsa-key", secret=private_pem, algorithm="ACS3-RSA-SHA256"
    )
    assert answer(fake.handle(request))["ResponseCode"] == "OK"
    # The HMAC secret of another key does not stand in for the RSA key.
    unknown = independent_request(params, algorithm="ACS3-RSA-SHA256", secret=private_pem)
    assert_gateway_error(fake.handle(unknown), 404, "InvalidAccessKeyId.NotFound")
    assert len(fake.messages) == 1


# -- refusals of the gateway ---------------------------------------------------------

SEND = {"To": "85212345678", "Message": "hi"}


@pytest.mark.parametrize("where", ["query", "body"])
def test_wrong_secret_is_signature_does_not_match(where: str) -> None:
    fake = fixed_fake()
    response = fake.handle(independent_request(SEND, where=where, secret="not-the-secret"))
    assert_gateway_error(response, 400, "SignatureDoesNotMatch")
    assert fake.messages == []


def test_a_parameter_changed_after_signing_is_signature_does_not_match() -> None:
    fake = fixed_fake()
    request = independent_request(SEND)
    tampered = request.target.replace("85212345678", "85298765432")
    assert tampered != request.target
    response = fake.handle(FakeRequest("POST", tampered, request.headers, request.body))
    assert_gateway_error(response, 400, "SignatureDoesNotMatch")
    assert fake.messages == []


def test_unknown_access_key_is_not_found_404() -> None:
    fake = fixed_fake()
    response = fake.handle(independent_request(SEND, key_id="who-is-this", secret="x"))
    assert_gateway_error(response, 404, "InvalidAccessKeyId.NotFound")
    assert fake.messages == []


@pytest.mark.parametrize("minutes", [16, -16])
def test_a_date_16_minutes_off_is_expired(minutes: int) -> None:
    fake = fixed_fake(clock=lambda: NOW + timedelta(minutes=minutes))
    assert_gateway_error(fake.handle(independent_request(SEND)), 400, "InvalidTimeStamp.Expired")
    assert fake.messages == []


@pytest.mark.parametrize("minutes", [14, -14])
def test_a_date_14_minutes_off_is_accepted(minutes: int) -> None:
    fake = fixed_fake(clock=lambda: NOW + timedelta(minutes=minutes))
    assert answer(fake.handle(independent_request(SEND)))["ResponseCode"] == "OK"


@pytest.mark.parametrize(
    "date", ["2026-01-02 03:04:05", "Fri, 02 Jan 2026 03:04:05 GMT", "1767323045", ""]
)
def test_a_malformed_date_is_a_format_error(date: str) -> None:
    fake = fixed_fake()
    response = fake.handle(independent_request(SEND, date=date))
    assert_gateway_error(response, 400, "InvalidTimeStamp.Format")
    assert fake.messages == []


def test_a_reused_nonce_is_refused() -> None:
    fake = fixed_fake()
    first = fake.handle(independent_request(SEND, nonce="once-only"))
    assert answer(first)["ResponseCode"] == "OK"
    # A different, correctly signed request with the same nonce: a replay.
    again = independent_request({**SEND, "Message": "again"}, nonce="once-only", where="body")
    assert_gateway_error(fake.handle(again), 400, "SignatureNonceUsed")
    assert [m.text for m in fake.messages] == ["hi"]


def test_a_refused_request_does_not_use_up_its_nonce() -> None:
    fake = fixed_fake()
    bad = fake.handle(independent_request(SEND, nonce="n-1", secret="wrong"))
    assert_gateway_error(bad, 400, "SignatureDoesNotMatch")
    assert answer(fake.handle(independent_request(SEND, nonce="n-1")))["ResponseCode"] == "OK"


@pytest.mark.parametrize(
    ("extra", "signed"),
    [
        pytest.param(
            [("x-acs-extra", "1")],
            signed_names(),
            id="extra-x-acs-header-unsigned",
        ),
        pytest.param(
            [],
            signed_names(without=["x-acs-action"]),
            id="x-acs-action-unsigned",
        ),
        pytest.param(
            [],
            signed_names(without=["host"]),
            id="host-unsigned",
        ),
    ],
)
def test_a_header_sent_but_not_signed_is_incomplete(
    extra: list[tuple[str, str]], signed: list[str]
) -> None:
    fake = fixed_fake()
    request = independent_request(SEND, extra_headers=extra, signed_header_names=signed)
    assert_gateway_error(fake.handle(request), 400, "IncompleteSignature")
    assert fake.messages == []


def test_an_unsigned_content_type_with_a_body_is_incomplete() -> None:
    fake = fixed_fake()
    request = independent_request(SEND, where="body", signed_header_names=signed_names())
    assert_gateway_error(fake.handle(request), 400, "IncompleteSignature")


@pytest.mark.parametrize(
    "authorization",
    ["", "ACS3-HMAC-SHA256 garbage", "Bearer abc", "ACS3-HMAC-SHA256 Credential=x"],
)
def test_a_malformed_authorization_is_incomplete(authorization: str) -> None:
    fake = fixed_fake()
    request = independent_request(SEND)
    headers = tuple(
        (k, authorization) if k == "authorization" else (k, v) for k, v in request.headers
    )
    response = fake.handle(FakeRequest("POST", request.target, headers, b""))
    assert_gateway_error(response, 400, "IncompleteSignature")


def test_no_authorization_is_missing() -> None:
    fake = fixed_fake()
    request = independent_request(SEND)
    headers = tuple((k, v) for k, v in request.headers if k != "authorization")
    response = fake.handle(FakeRequest("POST", request.target, headers, b""))
    assert_gateway_error(response, 400, "MissingAuthorization")


def test_an_unknown_algorithm_is_an_invalid_signature_method() -> None:
    fake = fixed_fake()
    request = independent_request(SEND)
    headers = tuple(
        (k, v.replace("ACS3-HMAC-SHA256", "ACS3-HMAC-MD5")) if k == "authorization" else (k, v)
        for k, v in request.headers
    )
    response = fake.handle(FakeRequest("POST", request.target, headers, b""))
    assert_gateway_error(response, 400, "InvalidSignatureMethod")


def sts_fake() -> FakeSMSService:
    return fixed_fake(access_keys={STS_ID: STS_SECRET}, sts_tokens={STS_ID: STS_TOKEN})


def test_sts_key_without_its_token_is_missing_security_token() -> None:
    fake = sts_fake()
    request = independent_request(SEND, key_id=STS_ID, secret=STS_SECRET)
    assert_gateway_error(fake.handle(request), 400, "MissingSecurityToken")
    assert fake.messages == []


def test_sts_key_with_a_wrong_token_is_refused() -> None:
    fake = sts_fake()
    request = independent_request(
        SEND,
        key_id=STS_ID,
        secret=STS_SECRET,
        extra_headers=[("x-acs-security-token", "CAIS+another/token")],
    )
    assert_gateway_error(fake.handle(request), 400, "InvalidSecurityToken.MismatchWithAccessKey")
    assert fake.messages == []


def test_sts_key_with_its_token_is_accepted() -> None:
    fake = sts_fake()
    request = independent_request(
        SEND,
        where="body",
        key_id=STS_ID,
        secret=STS_SECRET,
        extra_headers=[("x-acs-security-token", STS_TOKEN)],
    )
    assert answer(fake.handle(request))["ResponseCode"] == "OK"
    assert fake.messages[0].access_key_id == STS_ID


@pytest.mark.parametrize("where", ["query", "body"])
def test_a_body_hash_that_does_not_match_is_refused(where: str) -> None:
    fake = fixed_fake()
    wrong = independent_v3.payload_hash(b"some other body")
    request = independent_request(SEND, where=where, hashed_payload=wrong)
    response = fake.handle(request)
    assert answer(response)["Code"] == "ContentSHA256NotMatched"
    assert response.status == 400
    assert fake.messages == []


def test_a_body_changed_after_signing_is_refused() -> None:
    fake = fixed_fake()
    request = independent_request(SEND, where="body")
    body = request.body.replace(b"hi", b"ho")
    response = fake.handle(FakeRequest("POST", "/", request.headers, body))
    assert answer(response)["Code"] == "ContentSHA256NotMatched"
    assert fake.messages == []


def test_an_unknown_action_and_a_wrong_version_are_refused() -> None:
    fake = fixed_fake()
    unknown = fake.handle(independent_request(SEND, action="SendSmsToMars"))
    assert_gateway_error(unknown, 404, "InvalidApi.NotFound")
    old = fake.handle(independent_request(SEND, version="2017-05-25"))
    assert_gateway_error(old, 400, "InvalidVersion")
    assert fake.messages == []


# -- the API's rules ---------------------------------------------------------------


@pytest.mark.parametrize("action", ["SendMessageToGlobe", "BatchSendMessageToGlobe"])
@pytest.mark.parametrize("missing", ["To", "Message"])
def test_a_missing_required_parameter_is_refused(action: str, missing: str) -> None:
    fake = fixed_fake()
    params = (
        {"To": "85212345678", "Message": "hi"}
        if action == "SendMessageToGlobe"
        else {"To": '["85212345678"]', "Message": '["hi"]'}
    )
    del params[missing]
    response = fake.handle(independent_request(params, action=action))
    assert_gateway_error(response, 400, f"Missing{missing}")
    assert fake.messages == []


@pytest.mark.parametrize(
    "number", ["+85212345678", "852 1234 5678", "852-12345678", "123456", "1" * 16]
)
def test_a_badly_formed_number_is_illegal(number: str) -> None:
    fake = fixed_fake()
    response = fake.handle(independent_request({"To": number, "Message": "hi"}))
    assert_business_error(response, "MOBILE_NUMBER_ILLEGAL")
    assert fake.messages == []


def test_a_chinese_mainland_number_is_refused() -> None:
    fake = fixed_fake()
    response = fake.handle(independent_request({"To": "8613800138000", "Message": "hi"}))
    assert_business_error(response, "NOT_SUPPORTED_COUNTRY")
    assert fake.messages == []


@pytest.mark.parametrize(
    ("sender", "ok"),
    [
        ("ABCDEFGHIJK", True),  # 11 with letters
        ("123456789012345", True),  # 15 digits
        ("A", True),
        ("ABCDEFGHIJKL", False),  # 12 with letters
        ("1234567890123456", False),  # 16 digits
        ("My Shop", False),  # space
        ("shop!", False),
        ("Café", False),  # not ASCII
        ("", False),
    ],
)
def test_sender_id_rules(sender: str, ok: bool) -> None:
    fake = fixed_fake()
    params = {"To": "85212345678", "Message": "hi", "From": sender}
    response = fake.handle(independent_request(params))
    if ok:
        assert answer(response)["From"] == sender
        assert fake.messages[0].from_ == sender
    else:
        assert_business_error(response, "INVALID_SENDERID")
        assert fake.messages == []


def test_a_batch_sender_id_is_checked_too() -> None:
    fake = fixed_fake()
    params = {"To": '["85212345678"]', "Message": '["hi"]', "From": "TooLongSender1"}
    response = fake.handle(independent_request(params, action="BatchSendMessageToGlobe"))
    assert_business_error(response, "INVALID_SENDERID")
    assert fake.messages == []


@pytest.mark.parametrize(
    ("action", "kind", "ok"),
    [
        ("SendMessageToGlobe", "OTP", True),
        ("SendMessageToGlobe", "MKT", True),
        ("SendMessageToGlobe", "PROMO", False),
        ("BatchSendMessageToGlobe", "NOTIFY", True),
        ("BatchSendMessageToGlobe", "OTP", False),
    ],
)
def test_message_type_rules(action: str, kind: str, ok: bool) -> None:
    fake = fixed_fake()
    params = (
        {"To": "85212345678", "Message": "hi", "Type": kind}
        if action == "SendMessageToGlobe"
        else {"To": '["85212345678"]', "Message": '["hi"]', "Type": kind}
    )
    response = fake.handle(independent_request(params, action=action))
    if ok:
        assert answer(response)["ResponseCode"] == "OK"
        assert fake.messages[0].type == kind
    else:
        assert_business_error(response, "INVALID_PARAMETERS")
        assert fake.messages == []


def batch_params(numbers: Sequence[str], texts: Sequence[str] | None = None) -> dict[str, str]:
    texts = texts if texts is not None else [f"hello {n}" for n in numbers]
    return {"To": json.dumps(list(numbers)), "Message": json.dumps(list(texts))}


def numbers(count: int) -> list[str]:
    return [f"65{80000000 + i}" for i in range(count)]


def test_a_batch_of_1000_is_accepted_and_1001_is_over_the_limit() -> None:
    fake = fixed_fake()
    request = independent_request(
        batch_params(numbers(1000)), action="BatchSendMessageToGlobe", where="body"
    )
    body = answer(fake.handle(request))
    assert body["ResponseCode"] == "OK" and body["SuccessCount"] == "1000"
    assert len(json.loads(body["MessageIdList"])) == 1000
    assert len(fake.messages) == 1000

    over = independent_request(
        batch_params(numbers(1001)), action="BatchSendMessageToGlobe", where="body"
    )
    assert_business_error(fake.handle(over), "MOBILE_COUNT_OVER_LIMIT")
    assert len(fake.messages) == 1000


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("85212345678", '["hi"]'),  # a plain number, not an array
        ('["85212345678"', '["hi"]'),  # truncated JSON
        ('{"to": "85212345678"}', '["hi"]'),  # an object
        ("[85212345678]", '["hi"]'),  # a number, not a string
        ('["85212345678"]', "hi"),  # the texts are not an array
        ('["85212345678"]', "[null]"),
    ],
)
def test_a_batch_parameter_that_is_not_a_json_array_of_strings(to: str, message: str) -> None:
    fake = fixed_fake()
    params = {"To": to, "Message": message}
    response = fake.handle(independent_request(params, action="BatchSendMessageToGlobe"))
    assert_business_error(response, "INVALID_JSON_PARAM")
    assert fake.messages == []


def test_a_batch_with_more_texts_than_numbers_is_refused() -> None:
    fake = fixed_fake()
    params = batch_params(["85212345678"], ["one", "two"])
    response = fake.handle(independent_request(params, action="BatchSendMessageToGlobe"))
    assert_business_error(response, "INVALID_PARAMETERS")


def test_bad_numbers_in_a_batch_are_in_the_failed_list_and_not_recorded() -> None:
    fake = fixed_fake()
    good = ["85212345678", "6581234567", "447700900123"]
    bad = ["8613800138000", "12", "+85212345679", "852-1234"]
    mixed = [good[0], bad[0], bad[1], good[1], bad[2], bad[3], good[2]]
    response = fake.handle(
        independent_request(batch_params(mixed), action="BatchSendMessageToGlobe", where="body")
    )
    body = answer(response)
    assert body["ResponseCode"] == "OK"
    assert json.loads(body["FailedList"]) == bad
    ids = json.loads(body["MessageIdList"])
    assert body["SuccessCount"] == "3" and len(ids) == 3
    assert [m.to for m in fake.messages] == good
    assert [m.message_id for m in fake.messages] == ids
    assert [m.text for m in fake.messages] == [f"hello {n}" for n in good]
    assert {m.action for m in fake.messages} == {"BatchSendMessageToGlobe"}
    assert {m.request_id for m in fake.messages} == {body["RequestId"]}


def test_a_batch_with_no_good_number_is_refused() -> None:
    fake = fixed_fake()
    params = batch_params(["8613800138000", "12"])
    response = fake.handle(independent_request(params, action="BatchSendMessageToGlobe"))
    assert_business_error(response, "MOBILE_NUMBER_ILLEGAL")
    assert fake.messages == []


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 159 + "€", "GSM-7", 2),  # the euro sign takes two septets
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 3),  # and is never split
        ("你" * 70, "UCS-2", 1),
        ("你" * 71, "UCS-2", 2),
        ("a" * 69 + "😀", "UCS-2", 2),  # an emoji takes two code units
    ],
)
def test_segments_are_recorded_and_returned(text: str, encoding: str, segments: int) -> None:
    fake = fixed_fake()
    body = answer(fake.handle(independent_request({"To": "85212345678", "Message": text})))
    assert body["Segments"] == str(segments)
    [message] = fake.messages
    assert (message.encoding, message.segments) == (encoding, segments)


def test_batch_segments_are_recorded_per_message() -> None:
    fake = fixed_fake()
    texts = ["short", "a" * 161, "你" * 71 + "😀"]
    params = batch_params(numbers(3), texts)
    response = fake.handle(independent_request(params, action="BatchSendMessageToGlobe"))
    assert answer(response)["ResponseCode"] == "OK"
    assert [(m.encoding, m.segments) for m in fake.messages] == [
        ("GSM-7", 1),
        ("GSM-7", 2),
        ("UCS-2", 2),
    ]


# -- through FakeTransport, with Client and AsyncClient ------------------------------


def test_send_and_batch_through_both_clients(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    sent, batch = client_runner.call_many(
        transport_kwargs(fake),
        [
            (
                "send_message_to_globe",
                ("+85212345678", "Your code is 1234"),
                {"from_": "alisms", "type": "OTP", "task_id": "t-1", "validity_period": 300},
            ),
            (
                "batch_send_message_to_globe",
                (["6581234567", "00447700900123"], ["Hello", "你好"]),
                {"type": "NOTIFY", "channel_id": "ch-9"},
            ),
        ],
    )
    assert isinstance(sent, alisms.SendResult)
    assert (sent.to, sent.from_, sent.segments, sent.response_code) == (
        "85212345678",
        "alisms",
        1,
        "OK",
    )
    assert isinstance(batch, alisms.BatchSendResult)
    assert batch.failed == [] and batch.success_count == 2
    first, second, third = fake.messages
    assert first.message_id == sent.message_id and first.request_id == sent.request_id
    assert (first.to, first.text, first.type, first.task_id, first.validity_period) == (
        "85212345678",
        "Your code is 1234",
        "OTP",
        "t-1",
        300,
    )
    assert [second.message_id, third.message_id] == batch.message_ids
    assert [(m.to, m.text, m.encoding) for m in (second, third)] == [
        ("6581234567", "Hello", "GSM-7"),
        ("447700900123", "你好", "UCS-2"),
    ]
    assert second.channel_id == "ch-9"


def test_the_fakes_own_client_helpers() -> None:
    fake = FakeSMSService()
    with fake.client() as client:
        client.send_message_to_globe("85212345678", "sync")

    async def send_async() -> alisms.SendResult:
        async with fake.async_client() as client:
            return await client.send_message_to_globe("85212345678", "async")

    result = asyncio.run(send_async())
    assert [m.text for m in fake.messages] == ["sync", "async"]
    assert fake.messages[1].message_id == result.message_id
    assert fake.messages[0].message_id != fake.messages[1].message_id


def test_sm3_through_both_clients(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    kwargs = transport_kwargs(fake, signature_algorithm=SM3)
    result = client_runner.call(kwargs, "send_message_to_globe", "85212345678", "sm3")
    assert fake.messages[0].message_id == result.message_id


def test_wrong_secret_through_both_clients(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    kwargs = transport_kwargs(fake, access_key_secret="wrong-secret")
    with pytest.raises(alisms.AuthenticationError) as caught:
        client_runner.call(kwargs, "send_message_to_globe", "85212345678", "hi")
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.http_status == 400
    assert caught.value.request_id
    assert fake.messages == []


def test_unknown_key_through_both_clients(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    kwargs = transport_kwargs(fake, access_key_id="nobody", access_key_secret="x")
    with pytest.raises(alisms.AuthenticationError) as caught:
        client_runner.call(kwargs, "send_message_to_globe", "85212345678", "hi")
    assert (caught.value.code, caught.value.http_status) == ("InvalidAccessKeyId.NotFound", 404)


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (STS_TOKEN, None),
        (None, "MissingSecurityToken"),
        ("CAIS+wrong", "InvalidSecurityToken.MismatchWithAccessKey"),
    ],
)
def test_sts_through_both_clients(
    client_runner: ClientRunner, token: str | None, code: str | None
) -> None:
    fake = FakeSMSService(access_keys={STS_ID: STS_SECRET}, sts_tokens={STS_ID: STS_TOKEN})
    kwargs = transport_kwargs(
        fake, access_key_id=STS_ID, access_key_secret=STS_SECRET, security_token=token
    )
    if code is None:
        client_runner.call(kwargs, "send_message_to_globe", "85212345678", "hi")
        assert len(fake.messages) == 1
        return
    with pytest.raises(alisms.AuthenticationError) as caught:
        client_runner.call(kwargs, "send_message_to_globe", "85212345678", "hi")
    assert caught.value.code == code
    assert fake.messages == []


def test_clock_skew_through_both_clients(client_runner: ClientRunner) -> None:
    fake = FakeSMSService(clock=lambda: datetime.now(UTC) + timedelta(minutes=16))
    with pytest.raises(alisms.AuthenticationError) as caught:
        client_runner.call(transport_kwargs(fake), "send_message_to_globe", "85212345678", "x")
    assert caught.value.code == "InvalidTimeStamp.Expired"


def test_business_refusals_reach_the_client_as_message_rejected(
    client_runner: ClientRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client validates numbers itself; make the fake stricter than the
    # client (as the real service is for unallocated ranges) to see its answer.
    import alisms.testing as testing_module

    monkeypatch.setattr(testing_module, "_NUMBER", re.compile(r"(?!999)[0-9]{7,15}"))
    fake = FakeSMSService()
    with pytest.raises(alisms.MessageRejectedError) as caught:
        client_runner.call(transport_kwargs(fake), "send_message_to_globe", "99912345678", "x")
    assert caught.value.code == "MOBILE_NUMBER_ILLEGAL"
    assert caught.value.http_status == 200
    batch = client_runner.call(
        transport_kwargs(fake),
        "batch_send_message_to_globe",
        ["99912345678", "85212345678"],
        "x",
    )
    assert batch.failed == ["99912345678"]
    assert [m.to for m in fake.messages] == ["85212345678"]


# -- faults ----------------------------------------------------------------------


def test_drop_after_accept_records_but_the_client_cannot_know(
    client_runner: ClientRunner,
) -> None:
    fake = FakeSMSService()
    fake.inject("drop_after_accept")
    with pytest.raises(alisms.DeliveryUnknownError) as caught:
        client_runner.call(transport_kwargs(fake), "send_message_to_globe", "85212345678", "hi")
    cause = unknown_because_of(caught.value)
    assert isinstance(cause, alisms.TransportError) and cause.may_have_been_sent is True
    [message] = fake.messages
    assert message.text == "hi"
    # The fault is used up: the next request is answered.
    client_runner.call(transport_kwargs(fake), "send_message_to_globe", "85212345678", "again")
    assert len(fake.messages) == 2


def test_drop_after_accept_in_a_batch_records_every_message(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    fake.inject("drop_after_accept")
    with pytest.raises(alisms.DeliveryUnknownError):
        client_runner.call(transport_kwargs(fake), "batch_send_message_to_globe", numbers(5), "hi")
    assert [m.to for m in fake.messages] == numbers(5)


def test_unavailable_is_a_server_error_and_nothing_is_recorded(
    client_runner: ClientRunner,
) -> None:
    fake = FakeSMSService()
    fake.inject("unavailable")
    with pytest.raises(alisms.ServerError) as caught:
        client_runner.call(transport_kwargs(fake), "send_message_to_globe", "85212345678", "hi")
    assert (caught.value.code, caught.value.http_status) == ("ServiceUnavailable", 503)
    assert fake.messages == []


def test_throttle_is_a_throttling_error_and_nothing_is_recorded(
    client_runner: ClientRunner,
) -> None:
    fake = FakeSMSService()
    fake.inject("throttle")
    with pytest.raises(alisms.ThrottlingError) as caught:
        client_runner.call(transport_kwargs(fake), "send_message_to_globe", "85212345678", "hi")
    assert (caught.value.code, caught.value.http_status) == ("Throttling.User", 400)
    assert fake.messages == []


def test_malformed_is_a_malformed_response_error(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    fake.inject("malformed")
    with pytest.raises(alisms.DeliveryUnknownError) as caught:
        client_runner.call(transport_kwargs(fake), "send_message_to_globe", "85212345678", "hi")
    cause = unknown_because_of(caught.value)
    assert isinstance(cause, alisms.MalformedResponseError)
    assert cause.http_status == 502
    assert "502 Bad Gateway" in cause.excerpt
    # The fake accepted before answering garbage: the outcome is unknown to the client.
    assert len(fake.messages) == 1


def test_delay_answers_normally_after_the_delay(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    fake.inject("delay", seconds=0.05)
    started = time.monotonic()
    result = client_runner.call(
        transport_kwargs(fake), "send_message_to_globe", "85212345678", "hi"
    )
    assert time.monotonic() - started >= 0.05
    assert fake.messages[0].message_id == result.message_id


def test_a_client_timeout_shorter_than_the_delay_is_a_transport_error(
    client_runner: ClientRunner,
) -> None:
    fake = FakeSMSService()
    fake.inject("delay", seconds=0.2)
    with pytest.raises(alisms.DeliveryUnknownError) as caught:
        client_runner.call(
            transport_kwargs(fake, timeout=0.05), "send_message_to_globe", "85212345678", "hi"
        )
    cause = unknown_because_of(caught.value)
    assert isinstance(cause, alisms.TransportError) and cause.may_have_been_sent is True


def test_faults_apply_in_order_to_the_next_requests(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    fake.inject("throttle", times=2)
    fake.inject("unavailable")
    raised: list[type[Exception]] = []
    for _ in range(3):
        with pytest.raises(alisms.APIError) as caught:
            client_runner.call(transport_kwargs(fake), "send_message_to_globe", "85212345678", "x")
        raised.append(type(caught.value))
    assert raised == [alisms.ThrottlingError, alisms.ThrottlingError, alisms.ServerError]
    client_runner.call(transport_kwargs(fake), "send_message_to_globe", "85212345678", "x")
    assert len(fake.messages) == 1


def test_a_fault_is_used_even_by_a_refused_request() -> None:
    # drop_after_accept on a request that is refused: nothing recorded, still dropped.
    fake = fixed_fake()
    fake.inject("drop_after_accept")
    response = fake.handle(independent_request(SEND, secret="wrong"))
    assert response.drop
    assert fake.messages == []
    assert answer(fake.handle(independent_request(SEND)))["ResponseCode"] == "OK"


# -- the service object -------------------------------------------------------------


def test_on_accept_sees_each_accepted_message() -> None:
    seen: list[AcceptedMessage] = []
    fake = FakeSMSService(on_accept=seen.append)
    with fake.client(**NO_RETRY) as client:
        client.batch_send_message_to_globe(["85212345678", "6581234567"], "hi")
        fake.inject("unavailable")
        with pytest.raises(alisms.ServerError):
            client.send_message_to_globe("85212345678", "refused")
        fake.inject("drop_after_accept")
        with pytest.raises(alisms.DeliveryUnknownError):
            client.send_message_to_globe("85212345678", "dropped")
    assert seen == fake.messages
    assert [m.text for m in seen] == ["hi", "hi", "dropped"]


def test_many_threads_share_one_fake() -> None:
    fake = FakeSMSService()

    def send(i: int) -> str:
        return client.send_message_to_globe("85212345678", f"message {i}").message_id

    with fake.client() as client, ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(send, range(40)))
    assert len(set(ids)) == 40
    assert sorted(m.message_id for m in fake.messages) == sorted(ids)
    assert sorted(m.text for m in fake.messages) == sorted(f"message {i}" for i in range(40))


def test_the_fake_is_a_sync_and_async_httpx_transport() -> None:
    import httpx

    transport = FakeTransport(FakeSMSService())
    assert isinstance(transport, httpx.BaseTransport)
    assert isinstance(transport, httpx.AsyncBaseTransport)


# -- the pytest fixture ----------------------------------------------------------------


def test_the_plugin_is_registered_by_its_entry_point(pytestconfig: pytest.Config) -> None:
    import alisms._pytest_plugin

    assert pytestconfig.pluginmanager.get_plugin("alisms") is alisms._pytest_plugin


def test_sms_fake_is_a_fresh_fake_service(sms_fake: FakeSMSService) -> None:
    assert isinstance(sms_fake, FakeSMSService)
    assert sms_fake.messages == []
    assert sms_fake.access_keys == {DEFAULT_ACCESS_KEY_ID: DEFAULT_ACCESS_KEY_SECRET}


# What a user's own test suite looks like: application code that takes a client,
# and a test that hands it one wired to the fake.


def send_login_code(client: alisms.Client, phone: str, make_code: Callable[[], str]) -> str:
    """Application code under test: text a one-time code and return it."""
    code = make_code()
    client.send_message_to_globe(
        phone, f"Your login code is {code}. It expires in 5 minutes.", from_="MyApp", type="OTP"
    )
    return code


def test_login_sends_a_one_time_code(sms_fake: FakeSMSService) -> None:
    with sms_fake.client() as client:
        code = send_login_code(client, "+447700900123", lambda: "482913")

    [message] = sms_fake.messages
    assert message.to == "447700900123"
    assert code in message.text
    assert message.from_ == "MyApp"
    assert message.type == "OTP"
    assert message.segments == 1


def test_login_refuses_a_mainland_number_without_sending(sms_fake: FakeSMSService) -> None:
    with sms_fake.client() as client, pytest.raises(alisms.ValidationError) as caught:
        send_login_code(client, "+8613800138000", lambda: "000000")
    assert caught.value.field == "to"
    assert sms_fake.messages == []


# -- the other four operations, straight into handle() ------------------------------------


def accepted_id(fake: FakeSMSService) -> str:
    body = answer(fake.handle(independent_request(SEND)))
    return str(body["MessageId"])


@pytest.mark.parametrize(
    ("action", "params", "missing"),
    [
        ("QueryMessage", {}, "MessageId"),
        ("SendMessageWithTemplate", {"From": "x", "TemplateCode": "SMS_1"}, "To"),
        ("SendMessageWithTemplate", {"To": "8613800138000", "TemplateCode": "SMS_1"}, "From"),
        ("SendMessageWithTemplate", {"To": "8613800138000", "From": "x"}, "TemplateCode"),
        ("SmsConversion", {"Delivered": "true"}, "MessageId"),
        ("SmsConversion", {"MessageId": "1"}, "Delivered"),
        ("ConversionData", {"ReportTime": "1767323045000"}, "ConversionRate"),
    ],
)
def test_the_other_operations_refuse_a_missing_parameter(
    action: str, params: dict[str, str], missing: str
) -> None:
    fake = fixed_fake()
    response = fake.handle(independent_request(params, action=action, where="body"))
    assert_gateway_error(response, 400, f"Missing{missing}")
    assert fake.messages == [] and fake.conversions == [] and fake.conversion_rates == []


TEMPLATE_PARAMS = {"To": "8613800138000", "From": "阿里云", "TemplateCode": "SMS_1"}


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"To": "85212345678"}, "NOT_SUPPORTED_COUNTRY"),
        ({"To": "86138001380"}, "NOT_SUPPORTED_COUNTRY"),  # too short for a mobile number
        ({"To": "+8613800138000"}, "MOBILE_NUMBER_ILLEGAL"),
        ({"From": "  "}, "SMS_SIGN_NAME_ILLEGAL"),
        ({"TemplateParam": "code=1"}, "INVALID_JSON_PARAM"),
        ({"TemplateParam": '["1"]'}, "INVALID_JSON_PARAM"),
        ({"SmsUpExtendCode": "12a"}, "INVALID_PARAMETERS"),
        ({"ValidityPeriod": "0"}, "INVALID_PARAMETERS"),
    ],
)
def test_template_rules(changes: dict[str, str], code: str) -> None:
    fake = fixed_fake()
    request = independent_request(
        {**TEMPLATE_PARAMS, **changes}, action="SendMessageWithTemplate", where="body"
    )
    assert_business_error(fake.handle(request), code)
    assert fake.messages == []


def test_a_template_send_in_the_query_string_is_recorded_and_answered() -> None:
    fake = fixed_fake()
    params = {**TEMPLATE_PARAMS, "TemplateParam": '{"code":"1234"}', "SmsUpExtendCode": "7"}
    body = answer(fake.handle(independent_request(params, action="SendMessageWithTemplate")))
    assert body["ResponseCode"] == "OK" and body["To"] == "8613800138000"
    assert body["Segments"] == "1" and body["NumberDetail"]["Country"] == "China"
    [message] = fake.messages
    assert (message.message_id, message.action) == (body["MessageId"], "SendMessageWithTemplate")
    assert (message.from_, message.template_code, message.template_param) == (
        "阿里云",
        "SMS_1",
        {"code": "1234"},
    )
    assert message.sms_up_extend_code == "7"
    assert message.text == '[SMS_1] {"code":"1234"}'


def test_query_message_answers_the_documented_shape() -> None:
    fake = fixed_fake()
    message_id = accepted_id(fake)
    body = answer(
        fake.handle(independent_request({"MessageId": message_id}, action="QueryMessage"))
    )
    assert body == {
        "ResponseCode": "OK",
        "ResponseDescription": "OK",
        "RequestId": body["RequestId"],
        "MessageId": message_id,
        "To": "85212345678",
        "Status": "1",
        "Message": "hi",
        "SendDate": "Fri, 02 Jan 2026 11:04:05 +0800",
        "ReceiveDate": "Fri, 02 Jan 2026 11:04:05 +0800",
        "ErrorCode": "DELIVERED",
        "ErrorDescription": "success",
        "NumberDetail": {"Carrier": "FakeTel", "Region": "Sandbox", "Country": "Sandbox"},
    }
    unknown = fake.handle(independent_request({"MessageId": "42"}, action="QueryMessage"))
    assert_business_error(unknown, "DATA_NOT_EXIST")


@pytest.mark.parametrize(
    ("changes", "ok"),
    [
        ({}, True),
        ({"Delivered": "FALSE"}, True),
        ({"ConversionTime": str(int(NOW.timestamp() * 1000))}, True),  # at the send: allowed
        ({"To": "85212345678"}, True),
        ({"Delivered": "yes"}, False),
        ({"ConversionTime": "soon"}, False),
        ({"ConversionTime": str(int(NOW.timestamp() * 1000) - 1000)}, False),  # before the send
        ({"ConversionTime": str(int(NOW.timestamp() * 1000) + 60_000)}, False),  # in the future
        ({"To": "6581234567"}, False),  # not the message's number
    ],
)
def test_sms_conversion_rules(changes: dict[str, str], ok: bool) -> None:
    fake = fixed_fake()
    params = {"MessageId": accepted_id(fake), "Delivered": "true", **changes}
    response = fake.handle(independent_request(params, action="SmsConversion", where="body"))
    if ok:
        assert answer(response) == {
            "ResponseCode": "OK",
            "ResponseDescription": "OK",
            "RequestId": answer(response)["RequestId"],
        }
        [conversion] = fake.conversions
        assert conversion.delivered is (params["Delivered"].lower() == "true")
    else:
        assert_business_error(response, "INVALID_PARAMETERS")
        assert fake.conversions == []


@pytest.mark.parametrize(
    ("rate", "ok"),
    [("0", True), ("1", True), ("0.53", True), ("1.0", True), ("1.01", False), ("-0.1", False),
     ("0,53", False), ("abc", False), ("NaN", False), ("1e-2", False), ("", None)],
)  # fmt: skip
def test_conversion_data_rules(rate: str, ok: bool | None) -> None:
    fake = fixed_fake()
    request = independent_request({"ConversionRate": rate}, action="ConversionData", where="body")
    response = fake.handle(request)
    if ok is None:
        assert_gateway_error(response, 400, "MissingConversionRate")
    elif ok:
        assert answer(response)["ResponseCode"] == "OK"
        assert [r.rate for r in fake.conversion_rates] == [Decimal(rate)]
    else:
        assert_business_error(response, "INVALID_PARAMETERS")
        assert fake.conversion_rates == []
