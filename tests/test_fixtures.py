"""Replay the recorded request/response pairs in ``tests/fixtures`` through both clients.

Each fixture file (format: ``tests/fixtures/README.md``) is run through
:class:`alisms.Client` and :class:`alisms.AsyncClient` with pytest-httpx in
place of the network, a frozen clock and nonce, and the fake AccessKey
``testid``/``testsecret``. The test checks the exact outgoing request (every
header, the body bytes, and the ``Authorization`` value recomputed by the
independent signer in ``tests/independent_v3.py``) and then the parsed result
field by field, or the exact exception and its attributes.
"""

from __future__ import annotations

import asyncio
import json
import re
import traceback
from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import independent_v3
import pytest
from pytest_httpx import HTTPXMock

import alisms
import alisms._core
import alisms.signing
from alisms._retry import Failure, classify

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"

# The frozen inputs every fixture was recorded with. Obvious fakes: the secret
# is never written to a fixture file, and no key looks like a real one.
DATE = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
NONCE = "0123456789abcdef0123456789abcdef"
ACCESS_KEY_ID = "testid"
SECRET = "testsecret"

USER_AGENT_PATTERN = r"^alisms/\S+ python/\S+ httpx/\S+$"
"""What ``user-agent`` must look like; the versions in it vary by machine."""

HTTPX_OWN_HEADERS = ("accept-encoding", "connection")
"""Headers httpx adds by itself; their values come from httpx at test time."""

METHODS = {
    "send": "send_message_to_globe",
    "batch": "batch_send_message_to_globe",
    "query": "query_message",
    "template": "send_message_with_template",
    "conversion": "sms_conversion",
    "conversion_data": "conversion_data",
}
RESULT_TYPES: dict[str, type[Any]] = {
    "send": alisms.SendResult,
    "batch": alisms.BatchSendResult,
    "query": alisms.QueryMessageResult,
    "template": alisms.SendResult,
    "conversion": alisms.ConversionResult,
    "conversion_data": alisms.ConversionResult,
}
BILLED = {"send", "batch", "template"}
"""The methods that send messages: only their ambiguous failures end in DeliveryUnknownError."""


# -- loading and replaying ------------------------------------------------------


def fixture_names() -> list[str]:
    """Every fixture file's name, without ``.json``, sorted."""
    return sorted(p.stem for p in FIXTURES_DIR.glob("*.json"))


def load_case(name: str) -> dict[str, Any]:
    """Read one fixture file."""
    case: dict[str, Any] = json.loads((FIXTURES_DIR / f"{name}.json").read_text("utf-8"))
    return case


def dump_case(case: dict[str, Any]) -> str:
    """The text of a fixture file, as ``record.py`` writes it."""
    return json.dumps(case, indent=2, ensure_ascii=False) + "\n"


def client_kwargs(case: dict[str, Any]) -> dict[str, Any]:
    """The client constructor's arguments for ``case``: the test key and the case's settings.

    Retries are off: these tests are about one exchange (tests/test_retry.py covers retries).
    """
    return {
        "access_key_id": ACCESS_KEY_ID,
        "access_key_secret": SECRET,
        "retry": False,
        **case.get("client", {}),
    }


def unwrap_unknown(err: alisms.AlismsError, method: str = "send") -> alisms.AlismsError:
    """A send whose outcome is ambiguous ends in DeliveryUnknownError: return its last error.

    The other operations send nothing, so they raise their error as it is.
    """
    if method not in BILLED:
        assert not isinstance(err, alisms.DeliveryUnknownError)
        return err
    if not isinstance(err, alisms.DeliveryUnknownError):
        assert classify(err) is not Failure.AMBIGUOUS
        return err
    assert err.last_error is not None
    assert err.__cause__ is err.last_error
    assert classify(err.last_error) is Failure.AMBIGUOUS
    assert err.attempts == 1
    for shown in (str(err), repr(err), "".join(traceback.format_exception(err))):
        assert SECRET not in shown
    return err.last_error


def algorithm_of(case: dict[str, Any]) -> str:
    """The signature algorithm the case's client uses."""
    algorithm: str = case.get("client", {}).get("signature_algorithm", "ACS3-HMAC-SHA256")
    return algorithm


def call_sync(case: dict[str, Any], **extra: Any) -> Any:
    """Make the case's call through :class:`alisms.Client`."""
    call = case["call"]
    with alisms.Client(**client_kwargs(case), **extra) as client:
        return getattr(client, METHODS[call["method"]])(**call["kwargs"])


def call_async(case: dict[str, Any]) -> Any:
    """Make the case's call through :class:`alisms.AsyncClient`, in a fresh event loop."""
    call = case["call"]

    async def run() -> Any:
        async with alisms.AsyncClient(**client_kwargs(case)) as client:
            return await getattr(client, METHODS[call["method"]])(**call["kwargs"])

    return asyncio.run(run())


CALLERS: dict[str, Callable[[dict[str, Any]], Any]] = {"sync": call_sync, "async": call_async}


def _case_params() -> list[Any]:
    params = []
    for name in fixture_names():
        for mode in CALLERS:
            params.append(pytest.param(name, mode, id=f"{name}-{mode}"))
    return params


@pytest.fixture
def signed_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[list[alisms.signing.SignedRequest]]:
    """Freeze the clock and nonce, and collect every request alisms signs."""
    collected: list[alisms.signing.SignedRequest] = []
    real_sign_request = alisms.signing.sign_request

    def spy(**kwargs: Any) -> alisms.signing.SignedRequest:
        signed = real_sign_request(**kwargs)
        collected.append(signed)
        return signed

    monkeypatch.setattr(alisms._core, "utc_now", lambda: DATE)
    monkeypatch.setattr(alisms._core, "new_nonce", lambda: NONCE)
    monkeypatch.setattr(alisms.signing, "sign_request", spy)
    yield collected


def add_response(httpx_mock: HTTPXMock, response: dict[str, Any]) -> None:
    httpx_mock.add_response(
        status_code=response["status"],
        headers=response["headers"],
        content=response["body"].encode("utf-8"),
    )


# -- checks ---------------------------------------------------------------------


def httpx_own_headers() -> dict[str, str]:
    with httpx.Client() as plain:
        return {name: plain.headers[name] for name in HTTPX_OWN_HEADERS}


def check_request(
    case: dict[str, Any],
    request: httpx.Request,
    signed: list[alisms.signing.SignedRequest],
) -> None:
    expected = case["request"]
    assert request.method == expected["method"]
    assert str(request.url) == expected["url"]
    assert request.content == expected["body"].encode("ascii")

    # The body is the documented parameters, form-encoded with %20 for spaces.
    assert "+" not in expected["body"]
    form = parse_qsl(expected["body"], keep_blank_values=True, strict_parsing=True)
    assert dict(form) == expected["form"]
    assert len(form) == len(expected["form"])

    # Every header, exactly once: the fixture's, the user agent, Authorization
    # and the two httpx adds by itself.
    sent = request.headers.multi_items()
    sent_names = [name for name, _ in sent]
    assert len(sent_names) == len(set(sent_names)), sent_names
    headers = dict(sent)
    assert re.fullmatch(expected["user_agent_pattern"], headers["user-agent"])
    assert headers["user-agent"] == alisms._core.USER_AGENT
    unsigned_view = {k: v for k, v in headers.items() if k != "authorization"}
    assert unsigned_view == {
        **expected["headers"],
        "user-agent": alisms._core.USER_AGENT,
        **httpx_own_headers(),
    }

    # Authorization, recomputed by the independent signer over what was sent.
    algorithm = algorithm_of(case)
    query = request.url.params.multi_items()
    stages = independent_v3.compute(
        method=request.method,
        path=request.url.path,
        query=query,
        headers=unsigned_view,
        body=request.content,
        access_key_id=ACCESS_KEY_ID,
        secret=SECRET,
        algorithm=algorithm,
    )
    authorization = independent_v3.sign(
        method=request.method,
        path=request.url.path,
        query=query,
        headers=unsigned_view,
        body=request.content,
        access_key_id=ACCESS_KEY_ID,
        secret=SECRET,
        algorithm=algorithm,
    )
    assert authorization == stages.authorization
    assert headers["authorization"] == authorization
    assert stages.signed_headers == ";".join(expected["signed_headers"])
    assert stages.string_to_sign == expected["string_to_sign"]
    verdict = independent_v3.verify(
        method=request.method,
        path=request.url.path,
        query=query,
        headers=headers,
        body=request.content,
        secret_for={ACCESS_KEY_ID: SECRET}.get,
    )
    assert verdict.ok, verdict.reason
    assert verdict.string_to_sign == expected["string_to_sign"]

    # alisms's own account of what it signed agrees.
    (signature,) = signed
    assert signature.signed_headers == ";".join(expected["signed_headers"])
    assert signature.string_to_sign == expected["string_to_sign"]
    assert signature.authorization == headers["authorization"]


def check_result(case: dict[str, Any], result: Any) -> None:
    expected = case["expect"]["result"]
    body = case["response"]["body"]
    assert type(result) is RESULT_TYPES[case["call"]["method"]]
    assert {f.name for f in fields(result)} == set(expected) | {"raw", "raw_body"}
    for name, value in expected.items():
        actual = getattr(result, name)
        if name == "number_detail" and value is not None:
            assert actual == alisms.NumberDetail(**value)
        elif name == "status":
            # The enum member by name; the raw value beside it is the body's own.
            assert actual is alisms.DeliveryStatus[value], name
            assert result.status_code == str(json.loads(body)["Status"])
        elif name.endswith("_date") and value is not None:
            # Written in the fixture as ISO 8601 with the offset the service gave.
            assert isinstance(actual, datetime), name
            assert actual.utcoffset() is not None, name
            assert actual.isoformat() == value, name
        else:
            assert actual == value, name
            assert type(actual) is type(value), name
    assert result.raw == json.loads(body)
    assert result.raw_body == body.encode("utf-8")


def check_error(case: dict[str, Any], err: alisms.AlismsError) -> None:
    expected = case["expect"]["error"]
    body = case["response"]["body"]
    text, representation = str(err), repr(err)
    assert type(err) is getattr(alisms, expected["class"])
    assert err.code == expected["code"]
    assert err.request_id == expected["request_id"]
    assert err.http_status == expected["http_status"] == case["response"]["status"]
    if isinstance(err, alisms.APIError):
        assert err.message == expected["message"]
        assert err.host_id == expected["host_id"]
        assert err.recommend == expected["recommend"]
        assert text.startswith(f"{err.code}: {err.message}")
        assert f"request id {err.request_id}" in text
    else:
        assert isinstance(err, alisms.MalformedResponseError)
        assert err.excerpt == expected["excerpt"]
        assert len(err.excerpt) <= 200
        assert body.startswith(err.excerpt)
        assert repr(err.excerpt) in text
    for part in expected["str_contains"]:
        assert part in text
    assert f"HTTP {err.http_status}" in text
    assert err.hint
    assert text.endswith(err.hint)
    assert representation.startswith(f"{expected['class']}(code={err.code!r}, ")
    for shown in (text, representation, "".join(traceback.format_exception(err))):
        assert SECRET not in shown


# -- the tests ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "mode"), _case_params())
def test_fixture(
    name: str,
    mode: str,
    httpx_mock: HTTPXMock,
    signed_requests: list[alisms.signing.SignedRequest],
) -> None:
    case = load_case(name)
    add_response(httpx_mock, case["response"])
    if "result" in case["expect"]:
        result = CALLERS[mode](case)
    else:
        with pytest.raises(alisms.AlismsError) as caught:
            CALLERS[mode](case)
    (request,) = httpx_mock.get_requests()
    check_request(case, request, signed_requests)
    if "result" in case["expect"]:
        check_result(case, result)
    else:
        check_error(case, unwrap_unknown(caught.value, case["call"]["method"]))


REQUIRED_KEYS = {"description", "call", "request", "response", "expect"}


@pytest.mark.parametrize("name", fixture_names())
def test_fixture_file_is_well_formed_and_holds_no_secret(name: str) -> None:
    path = FIXTURES_DIR / f"{name}.json"
    text = path.read_text("utf-8")
    case = load_case(name)
    assert REQUIRED_KEYS <= set(case) <= REQUIRED_KEYS | {"client"}
    assert text == dump_case(case), "not in record.py's layout: run it with --update"
    assert case["call"]["method"] in METHODS
    assert set(case["expect"]) in ({"result"}, {"error"})
    request_headers = {name.lower() for name in case["request"]["headers"]}
    assert not request_headers & {"authorization", "user-agent", *HTTPX_OWN_HEADERS}
    for forbidden in (SECRET, "Signature=", "LTAI", "ACS3-HMAC-SHA256 Credential"):
        assert forbidden not in text
    assert "access_key_secret" not in case.get("client", {})


def test_the_documented_cases_are_all_there() -> None:
    names = set(fixture_names())
    classes = {
        load_case(n)["expect"].get("error", {}).get("class")
        for n in names
        if "error" in load_case(n)["expect"]
    }
    assert len(names) >= 30
    assert classes >= {
        "AuthenticationError",
        "PermissionDeniedError",
        "ThrottlingError",
        "ServerError",
        "InvalidRequestError",
        "MessageRejectedError",
        "MalformedResponseError",
    }
    modes = {load_case(n)["call"]["method"] for n in names if "result" in load_case(n)["expect"]}
    assert modes == set(METHODS)
    # Every operation also has at least one refusal or malformed answer.
    refused = {load_case(n)["call"]["method"] for n in names if "error" in load_case(n)["expect"]}
    assert refused == set(METHODS)


# -- secrets echoed by the server never reach an error's text --------------------

ECHOES: dict[str, tuple[str, int, Callable[[str], str]]] = {
    "gateway_message_host_and_recommend": (
        "send",
        400,
        lambda s: json.dumps(
            {
                "RequestId": "A1B2C3D4-0000-4000-8000-000000000001",
                "HostId": f"host-{s}",
                "Code": "InvalidParameter",
                "Message": f"The specified parameter value {s} is not valid.",
                "Recommend": f"https://error-center.aliyun.com/status/search?Keyword={s}",
            }
        ),
    ),
    "gateway_request_id": (
        "send",
        500,
        lambda s: json.dumps({"RequestId": s, "Code": "InternalError", "Message": "x"}),
    ),
    "business_description": (
        "send",
        200,
        lambda s: json.dumps(
            {
                "ResponseCode": "INVALID_SENDERID",
                "ResponseDescription": f"sender {s} is not approved",
                "RequestId": "A1B2C3D4-0000-4000-8000-000000000002",
            }
        ),
    ),
    "xml_error": (
        "send",
        400,
        lambda s: f"<Error><Code>Throttling.User</Code><Message>{s}</Message></Error>",
    ),
    "malformed_excerpt": ("send", 502, lambda s: f"<html><body>proxy said {s}</body></html>"),
    "malformed_field_value": (
        "batch",
        200,
        lambda s: json.dumps({"ResponseCode": "OK", "MessageIdList": f"ids: {s}"}),
    ),
}


@pytest.mark.parametrize("where", list(ECHOES))
@pytest.mark.parametrize("mode", list(CALLERS))
def test_secret_echoed_by_the_server_is_scrubbed(
    where: str,
    mode: str,
    httpx_mock: HTTPXMock,
    signed_requests: list[alisms.signing.SignedRequest],
) -> None:
    method, status, body = ECHOES[where]
    httpx_mock.add_response(status_code=status, content=body(SECRET).encode("utf-8"))
    kwargs: dict[str, Any] = (
        {"to": "85212345678", "message": "hi"}
        if method == "send"
        else {"to": ["85212345678"], "message": "hi"}
    )
    case = {"call": {"method": method, "kwargs": kwargs}}
    with pytest.raises(alisms.AlismsError) as caught:
        CALLERS[mode](case)
    for text in (str(caught.value), "".join(traceback.format_exception(caught.value))):
        assert SECRET not in text
    err = unwrap_unknown(caught.value, method)
    assert isinstance(err, alisms.APIError | alisms.MalformedResponseError)
    shown = [
        str(err),
        repr(err),
        "".join(traceback.format_exception(err)),
        *(v for v in vars(err).values() if isinstance(v, str)),
    ]
    for text in shown:
        assert SECRET not in text
    assert "<redacted>" in str(err)
