"""QueryMessage, SendMessageWithTemplate, SmsConversion and ConversionData, end to end.

Every call runs through :class:`alisms.Client` and :class:`alisms.AsyncClient`
(the ``client_runner`` fixture): against :class:`alisms.testing.FakeSMSService`
in process, and against the sandbox over a real loopback socket. Refused
arguments must raise :class:`alisms.ValidationError` before anything is sent,
which an httpx ``MockTransport`` that records every request checks. The
recorded exchanges of tests/fixtures cover the wire format and the error
shapes; this file covers the behaviour.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from conftest import ClientRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import alisms
from alisms import DeliveryStatus
from alisms._sandbox import Sandbox
from alisms.testing import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    FakeSMSService,
    FakeTransport,
)

MAINLAND = "8613800138000"
CST = timezone(timedelta(hours=8))


def via_fake(fake: FakeSMSService, **kwargs: Any) -> dict[str, Any]:
    """Client arguments wiring a client to ``fake`` in process, retries off."""
    return {
        "access_key_id": DEFAULT_ACCESS_KEY_ID,
        "access_key_secret": DEFAULT_ACCESS_KEY_SECRET,
        "endpoint": fake.endpoint,
        "transport": FakeTransport(fake),
        "retry": False,
        **kwargs,
    }


# -- QueryMessage -----------------------------------------------------------------------------


def test_query_a_sent_message(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    sent, state = client_runner.call_many(
        via_fake(fake),
        [
            ("send_message_to_globe", ("+6581234567", "Your parcel is on its way"), {}),
            ("query_message", (), {"message_id": "1008030300000001"}),
        ],
    )
    assert sent.message_id == "1008030300000001"
    assert isinstance(state, alisms.QueryMessageResult)
    assert (state.message_id, state.to, state.message) == (
        sent.message_id,
        "6581234567",
        "Your parcel is on its way",
    )
    assert (state.status, state.status_code) == (DeliveryStatus.DELIVERED, "1")
    assert (state.error_code, state.error_description) == ("DELIVERED", "success")
    [accepted] = fake.messages
    assert state.send_date is not None and state.receive_date is not None
    assert state.send_date.utcoffset() == timedelta(hours=8)  # the service writes +0800
    assert state.send_date == accepted.accepted_at.replace(microsecond=0)
    assert state.number_detail is not None
    assert state.response_code == "OK" and state.request_id


@pytest.mark.parametrize(
    ("status", "code", "member", "error_code"),
    [
        (DeliveryStatus.FAILED, "2", DeliveryStatus.FAILED, "UNDELIV"),
        (DeliveryStatus.EXPIRED, "6", DeliveryStatus.EXPIRED, "EXPIRED"),
        ("9", "9", DeliveryStatus.UNKNOWN, None),
    ],
)
def test_query_reports_the_status_a_test_set(
    client_runner: ClientRunner, status: Any, code: str, member: DeliveryStatus, error_code: Any
) -> None:
    fake = FakeSMSService()
    (sent,) = client_runner.call_many(
        via_fake(fake), [("send_message_to_globe", ("85212345678", "hi"), {})]
    )
    when = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    fake.set_status(sent.message_id, status, at=when)
    state = client_runner.call(via_fake(fake), "query_message", sent.message_id)
    assert (state.status, state.status_code, state.error_code) == (member, code, error_code)
    assert state.receive_date == when
    assert state.receive_date.tzinfo is not None


def test_query_a_message_still_being_delivered(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    (sent,) = client_runner.call_many(
        via_fake(fake), [("send_message_to_globe", ("85212345678", "hi"), {})]
    )
    fake.set_status(sent.message_id, DeliveryStatus.DELIVERING)
    state = client_runner.call(via_fake(fake), "query_message", sent.message_id)
    assert state.status is DeliveryStatus.DELIVERING and not state.status.is_final
    assert (state.receive_date, state.error_code) == (None, None)
    assert state.send_date is not None


def test_query_an_unknown_message_is_data_not_exist(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    with pytest.raises(alisms.ServerError) as caught:
        client_runner.call(via_fake(fake), "query_message", "1008030399999999")
    assert (caught.value.code, caught.value.http_status) == ("DATA_NOT_EXIST", 200)


def test_a_query_is_retried_after_an_ambiguous_failure(client_runner: ClientRunner) -> None:
    # A query sends nothing: a dropped answer is simply asked again, signed anew.
    fake = FakeSMSService()
    (sent,) = client_runner.call_many(
        via_fake(fake), [("send_message_to_globe", ("85212345678", "hi"), {})]
    )
    fake.inject("drop_after_accept")
    retrying = via_fake(fake, retry=alisms.Retry(attempts=2, backoff_base=0))
    state = client_runner.call(retrying, "query_message", sent.message_id)
    assert state.status is DeliveryStatus.DELIVERED


# -- SendMessageWithTemplate -----------------------------------------------------------------


def test_a_template_send_is_recorded(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    result = client_runner.call(
        via_fake(fake),
        "send_message_with_template",
        "+8613800138000",
        "阿里云短信",
        "SMS_123456789",
        {"code": "482913", "minutes": 5},
        sms_up_extend_code="42",
        validity_period=300,
        channel_id="3790",
    )
    assert isinstance(result, alisms.SendResult)
    assert (result.to, result.from_, result.segments) == (MAINLAND, None, 1)
    [message] = fake.messages
    assert message.message_id == result.message_id
    assert message.action == "SendMessageWithTemplate"
    assert (message.to, message.from_) == (MAINLAND, "阿里云短信")
    assert (message.template_code, message.template_param) == (
        "SMS_123456789",
        {"code": "482913", "minutes": 5},
    )
    assert (message.sms_up_extend_code, message.validity_period, message.channel_id) == (
        "42",
        300,
        "3790",
    )
    assert message.text == '[SMS_123456789] {"code":"482913","minutes":5}'
    assert (message.type, message.task_id) == (None, None)
    # It is a message like any other: it can be queried.
    state = client_runner.call(via_fake(fake), "query_message", result.message_id)
    assert (state.to, state.status) == (MAINLAND, DeliveryStatus.DELIVERED)


def test_a_known_template_is_filled_in_and_counted() -> None:
    fake = FakeSMSService(templates={"SMS_1": "验证码${code}有效期${minutes}分钟"})
    with fake.client(retry=False) as client:
        client.send_message_with_template(
            MAINLAND, "阿里云", "SMS_1", {"code": "1234", "minutes": 5}
        )
        client.send_message_with_template(MAINLAND, "阿里云", "SMS_1", '{"code":"9","minutes":"1"}')
        with pytest.raises(alisms.MessageRejectedError) as unknown:
            client.send_message_with_template(MAINLAND, "阿里云", "SMS_2", {"code": "1"})
        with pytest.raises(alisms.MessageRejectedError) as missing:
            client.send_message_with_template(MAINLAND, "阿里云", "SMS_1", {"code": "1"})
    assert [m.text for m in fake.messages] == [
        "验证码1234有效期5分钟",
        "验证码9有效期1分钟",
    ]
    assert [(m.encoding, m.segments) for m in fake.messages] == [("UCS-2", 1)] * 2
    assert unknown.value.code == "SMS_CONTENT_CODE_ILLEGAL"
    assert missing.value.code == "CONTENT_MISSING_PARAMETERS"
    assert "minutes" in missing.value.message


def test_a_template_send_is_never_resent_blindly(client_runner: ClientRunner) -> None:
    # Billed like any send: after a dropped answer the identical request is
    # resent, the fake refuses its nonce, and the outcome is unknown.
    fake = FakeSMSService()
    fake.inject("drop_after_accept")
    with pytest.raises(alisms.DeliveryUnknownError) as caught:
        client_runner.call(
            via_fake(fake, retry=alisms.Retry(attempts=3, backoff_base=0)),
            "send_message_with_template",
            MAINLAND,
            "阿里云",
            "SMS_1",
        )
    assert caught.value.attempts == 2
    assert isinstance(caught.value.last_error, alisms.AuthenticationError)
    assert caught.value.last_error.code == "SignatureNonceUsed"
    assert len(fake.messages) == 1


def test_the_globe_and_template_rules_mirror_each_other(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    with pytest.raises(alisms.ValidationError) as globe:
        client_runner.call(via_fake(fake), "send_message_to_globe", MAINLAND, "hi")
    assert "SendMessageWithTemplate" in str(globe.value)
    with pytest.raises(alisms.ValidationError) as template:
        client_runner.call(
            via_fake(fake), "send_message_with_template", "85212345678", "阿里云", "SMS_1"
        )
    assert template.value.field == "to"
    assert "SendMessageToGlobe" in str(template.value)
    assert fake.messages == []


# -- SmsConversion and ConversionData -----------------------------------------------------------


def test_conversions_are_recorded(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    (sent,) = client_runner.call_many(
        via_fake(fake), [("send_message_to_globe", ("85212345678", "Your code is 1234"), {})]
    )
    used = datetime.now(UTC).replace(microsecond=0)
    results = client_runner.call_many(
        via_fake(fake),
        [
            ("sms_conversion", (sent.message_id, True), {"conversion_time": used}),
            (
                "sms_conversion",
                (sent.message_id, False),
                {"conversion_time": int(used.timestamp() * 1000), "to": "+85212345678"},
            ),
            ("sms_conversion", (sent.message_id, True), {}),
            ("conversion_data", (0.53,), {"report_time": used.astimezone(CST)}),
            ("conversion_data", (Decimal("1"),), {}),
        ],
    )
    assert all(isinstance(r, alisms.ConversionResult) for r in results)
    assert all(r.response_code == "OK" and r.request_id for r in results)
    first, second, third = fake.conversions
    assert (first.message_id, first.delivered, first.conversion_time, first.to) == (
        sent.message_id,
        True,
        used,
        None,
    )
    assert (second.delivered, second.conversion_time, second.to) == (False, used, "85212345678")
    assert third.conversion_time is None
    rate, whole = fake.conversion_rates
    assert (rate.rate, rate.report_time) == (Decimal("0.53"), used)
    assert (whole.rate, whole.report_time) == (Decimal("1"), None)


def test_the_fake_refuses_conversions_it_cannot_match(client_runner: ClientRunner) -> None:
    fake = FakeSMSService()
    (sent,) = client_runner.call_many(
        via_fake(fake), [("send_message_to_globe", ("85212345678", "hi"), {})]
    )
    with pytest.raises(alisms.ServerError) as unknown:
        client_runner.call(via_fake(fake), "sms_conversion", "1008030399999999", True)
    assert unknown.value.code == "DATA_NOT_EXIST"
    with pytest.raises(alisms.MessageRejectedError) as other_number:
        client_runner.call(via_fake(fake), "sms_conversion", sent.message_id, True, to="6581234567")
    assert other_number.value.code == "INVALID_PARAMETERS"
    before_the_send = fake.messages[0].accepted_at - timedelta(hours=1)
    with pytest.raises(alisms.MessageRejectedError) as too_early:
        client_runner.call(
            via_fake(fake), "sms_conversion", sent.message_id, True, conversion_time=before_the_send
        )
    assert "ConversionTime" in too_early.value.message
    assert fake.conversions == []


# -- all six over real HTTP ---------------------------------------------------------------------


def test_all_six_operations_through_the_sandbox(client_runner: ClientRunner) -> None:
    with Sandbox() as sandbox:
        kwargs = {
            "endpoint": sandbox.endpoint,
            "access_key_id": DEFAULT_ACCESS_KEY_ID,
            "access_key_secret": DEFAULT_ACCESS_KEY_SECRET,
            "retry": False,
        }
        first = "1008030300000001"
        results = client_runner.call_many(
            kwargs,
            [
                ("send_message_to_globe", ("85212345678", "one"), {}),
                ("batch_send_message_to_globe", (["6581234567", "447700900123"], "two"), {}),
                ("send_message_with_template", (MAINLAND, "阿里云", "SMS_1", {"code": "7"}), {}),
                ("query_message", (first,), {}),
                ("sms_conversion", (first, True), {"to": "85212345678"}),
                ("conversion_data", (0.25,), {"report_time": datetime.now(UTC)}),
            ],
        )
    sent, batch, template, state, conversion, rate = results
    assert sent.message_id == first
    assert len(batch.message_ids) == 2
    assert template.to == MAINLAND
    assert (state.message_id, state.status, state.message) == (
        first,
        DeliveryStatus.DELIVERED,
        "one",
    )
    assert conversion.response_code == rate.response_code == "OK"
    service = sandbox.service
    assert [m.action for m in service.messages] == [
        "SendMessageToGlobe",
        "BatchSendMessageToGlobe",
        "BatchSendMessageToGlobe",
        "SendMessageWithTemplate",
    ]
    assert [c.message_id for c in service.conversions] == [first]
    assert [r.rate for r in service.conversion_rates] == [Decimal("0.25")]


# -- what is sent, and what is refused before sending ----------------------------------------


class Recorder:
    """An httpx handler that keeps every request and answers OK for any operation."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        action = request.headers["x-acs-action"]
        body: dict[str, Any] = {"ResponseCode": "OK", "RequestId": "R"}
        if action == "SendMessageWithTemplate":
            body |= {"MessageId": "1", "To": self.form(request)["To"], "Segments": "1"}
        elif action == "QueryMessage":
            body |= {"MessageId": self.form(request)["MessageId"], "Status": "1"}
        return httpx.Response(200, json=body)

    @staticmethod
    def form(request: httpx.Request) -> dict[str, str]:
        return dict(parse_qsl(request.content.decode("ascii"), keep_blank_values=True))


KEYS = {"access_key_id": "testid", "access_key_secret": "testsecret", "retry": False}


def call(client_runner: ClientRunner, method: str, *args: Any, **kwargs: Any) -> Any:
    """Make one call through a recording transport: (result or exception, recorder)."""
    recorder = Recorder()
    try:
        outcome = client_runner.call_many(
            KEYS, [(method, args, kwargs)], transport=httpx.MockTransport(recorder)
        )[0]
    except alisms.AlismsError as error:
        outcome = error
    return outcome, recorder


TEMPLATE = ("send_message_with_template", (MAINLAND, "阿里云", "SMS_1"))
CONVERSION = ("sms_conversion", ("1", True))


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "form"),
    [
        ("query_message", ("1008030300****",), {}, {"MessageId": "1008030300****"}),
        (
            *TEMPLATE,
            {"template_param": {"名字": "张三", "n": 5, "f": 0.5}},
            {"TemplateParam": '{"名字":"张三","n":5,"f":0.5}'},
        ),
        (*TEMPLATE, {"template_param": '{ "code" : "1" }'}, {"TemplateParam": '{ "code" : "1" }'}),
        (*TEMPLATE, {"template_param": {}}, {}),
        ("send_message_with_template", ("008613800138000", "x", "SMS_1"), {}, {"To": MAINLAND}),
        ("sms_conversion", ("1", False), {}, {"MessageId": "1", "Delivered": "false"}),
        (
            "sms_conversion",
            ("1", True),
            {"conversion_time": datetime(2026, 1, 2, 11, 4, 5, 678000, tzinfo=CST)},
            {"Delivered": "true", "ConversionTime": "1767323045678"},
        ),
        ("sms_conversion", ("1", True), {"to": "008613800138000"}, {"To": MAINLAND}),
        ("conversion_data", (0,), {}, {"ConversionRate": "0"}),
        ("conversion_data", (1e-05,), {}, {"ConversionRate": "0.00001"}),
        ("conversion_data", (Decimal("0.530"),), {}, {"ConversionRate": "0.530"}),
        (
            "conversion_data",
            (0.5,),
            {"report_time": 1767323045000},
            {"ConversionRate": "0.5", "ReportTime": "1767323045000"},
        ),
    ],
)
def test_what_is_sent(
    client_runner: ClientRunner,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    form: dict[str, str],
) -> None:
    outcome, recorder = call(client_runner, method, *args, **kwargs)
    assert not isinstance(outcome, Exception), outcome
    (request,) = recorder.requests
    sent = Recorder.form(request)
    assert sent.items() >= form.items()
    if method == "send_message_with_template" and "TemplateParam" not in form:
        assert "TemplateParam" not in sent
    # Everything in the form body, nothing in the URL.
    assert request.url.query == b""
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"


NAIVE = datetime(2026, 1, 2, 3, 4, 5)

# method, arguments, the field refused, and what the message says
REFUSALS: list[tuple[str, tuple[Any, ...], dict[str, Any], str, str]] = [
    ("query_message", ("",), {}, "message_id", "is not a message ID"),
    ("query_message", ("1008 0303",), {}, "message_id", "without spaces"),
    ("query_message", (1008030300000001,), {}, "message_id", "result.message_id"),
    ("query_message", (None,), {}, "message_id", "None is not a message ID"),
    ("send_message_with_template", ("85212345678", "x", "S"), {}, "to", "not a Chinese mainland"),
    ("send_message_with_template", ("13800138000", "x", "S"), {}, "to", "'8613800138000'"),
    ("send_message_with_template", ("86138001380", "x", "S"), {}, "to", "11-digit"),
    ("send_message_with_template", ("8603800138000", "x", "S"), {}, "to", "begins with 1"),
    ("send_message_with_template", ("+86 138 0013 8000", "x", "S"), {}, "to", "no spaces"),
    ("send_message_with_template", (MAINLAND, " ", "S"), {}, "from_", "signature name"),
    ("send_message_with_template", (MAINLAND, None, "S"), {}, "from_", "signature name"),
    ("send_message_with_template", (MAINLAND, "a\nb", "S"), {}, "from_", "control character"),
    ("send_message_with_template", (MAINLAND, "\udc80", "S"), {}, "from_", "lone surrogate"),
    ("send_message_with_template", (MAINLAND, "x", ""), {}, "template_code", "template code"),
    ("send_message_with_template", (MAINLAND, "x", "SMS 1"), {}, "template_code", "SMS_123"),
    ("send_message_with_template", (MAINLAND, "x", None), {}, "template_code", "template code"),
    (*TEMPLATE, {"template_param": "code=1"}, "template_param", "JSON object"),
    (*TEMPLATE, {"template_param": "[1]"}, "template_param", "JSON object"),
    (*TEMPLATE, {"template_param": [("code", "1")]}, "template_param", "not list"),
    (*TEMPLATE, {"template_param": {"": "1"}}, "template_param", "variable name"),
    (*TEMPLATE, {"template_param": {1: "1"}}, "template_param", "variable name 1"),
    (*TEMPLATE, {"template_param": {"a": None}}, "template_param['a']", "not NoneType"),
    (*TEMPLATE, {"template_param": {"a": True}}, "template_param['a']", "not bool"),
    (*TEMPLATE, {"template_param": {"a": {"b": 1}}}, "template_param['a']", "not dict"),
    (*TEMPLATE, {"template_param": {"a": float("nan")}}, "template_param['a']", "not a number"),
    (*TEMPLATE, {"template_param": {"a": "\ud800"}}, "template_param['a']", "lone surrogate"),
    (*TEMPLATE, {"sms_up_extend_code": "12a"}, "sms_up_extend_code", "1 to 20 digits"),
    (*TEMPLATE, {"sms_up_extend_code": 12}, "sms_up_extend_code", "1 to 20 digits"),
    (*TEMPLATE, {"validity_period": 0}, "validity_period", "positive"),
    (*TEMPLATE, {"channel_id": ""}, "channel_id", "non-empty"),
    ("sms_conversion", ("1", "yes"), {}, "delivered", "True"),
    ("sms_conversion", ("1", 1), {}, "delivered", "not 1"),
    ("sms_conversion", ("1", None), {}, "delivered", "not None"),
    ("sms_conversion", ("", True), {}, "message_id", "message ID"),
    (*CONVERSION, {"conversion_time": NAIVE}, "conversion_time", "time zone"),
    (*CONVERSION, {"conversion_time": 1767323045}, "conversion_time", "seconds"),
    (*CONVERSION, {"conversion_time": -1}, "conversion_time", "milliseconds"),
    (*CONVERSION, {"conversion_time": 10**30}, "conversion_time", "the number"),
    (*CONVERSION, {"conversion_time": "1767323045000"}, "conversion_time", "not '17673"),
    (*CONVERSION, {"conversion_time": 1.7e12}, "conversion_time", "not 1700000000000.0"),
    (*CONVERSION, {"conversion_time": True}, "conversion_time", "bool"),
    ("sms_conversion", ("1", True), {"to": "852-1234"}, "to", "not a phone number"),
    ("conversion_data", (1.5,), {}, "conversion_rate", "from 0 to 1"),
    ("conversion_data", (-0.1,), {}, "conversion_rate", "from 0 to 1"),
    ("conversion_data", (float("nan"),), {}, "conversion_rate", "from 0 to 1"),
    ("conversion_data", (float("inf"),), {}, "conversion_rate", "from 0 to 1"),
    ("conversion_data", (Decimal("NaN"),), {}, "conversion_rate", "from 0 to 1"),
    ("conversion_data", (2,), {}, "conversion_rate", "from 0 to 1"),
    ("conversion_data", (10**400,), {}, "conversion_rate", "the number"),
    ("conversion_data", ("0.5",), {}, "conversion_rate", "such as 0.53"),
    ("conversion_data", (True,), {}, "conversion_rate", "such as 0.53"),
    ("conversion_data", (0.5,), {"report_time": NAIVE}, "report_time", "time zone"),
    ("conversion_data", (0.5,), {"report_time": "now"}, "report_time", "datetime"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "field", "says"),
    REFUSALS,
    ids=[f"{m}-{f}-{i}" for i, (m, _, _, f, _) in enumerate(REFUSALS)],
)
def test_refused_before_sending(
    client_runner: ClientRunner,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    field: str,
    says: str,
) -> None:
    outcome, recorder = call(client_runner, method, *args, **kwargs)
    assert isinstance(outcome, alisms.ValidationError), outcome
    assert isinstance(outcome, ValueError)
    assert outcome.field == field
    assert str(outcome).startswith(f"{field}: ")
    assert says in str(outcome), str(outcome)
    assert recorder.requests == [], "a refused call reached the network"


ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.text(alphabet="0123456789+ ", max_size=16),
    st.binary(max_size=10),
    st.datetimes(timezones=st.none() | st.just(UTC)),
    st.dictionaries(st.text(max_size=3), st.one_of(st.text(max_size=3), st.integers()), max_size=2),
    st.lists(st.text(max_size=3), max_size=2),
    st.sampled_from([object(), 1j, b"", "{}", '{"a": [1]}', "SMS_1"]),
)
# Every argument of the four methods, with values that are otherwise valid.
BASE: dict[str, tuple[str, dict[str, Any]]] = {
    "query_message": ("query_message", {"message_id": "1"}),
    "template": (
        "send_message_with_template",
        {"to": MAINLAND, "from_": "x", "template_code": "SMS_1"},
    ),
    "sms_conversion": ("sms_conversion", {"message_id": "1", "delivered": True}),
    "conversion_data": ("conversion_data", {"conversion_rate": 0.5}),
}
ARGUMENTS = [
    ("query_message", "message_id"),
    *[
        ("template", name)
        for name in (
            "to",
            "from_",
            "template_code",
            "template_param",
            "sms_up_extend_code",
            "validity_period",
            "channel_id",
        )
    ],
    *[("sms_conversion", n) for n in ("message_id", "delivered", "conversion_time", "to")],
    ("conversion_data", "conversion_rate"),
    ("conversion_data", "report_time"),
]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(argument=st.sampled_from(ARGUMENTS), value=ANYTHING)
def test_any_argument_is_sent_or_refused_with_validation_error(
    client_runner: ClientRunner, argument: tuple[str, str], value: Any
) -> None:
    which, name = argument
    method, base = BASE[which]
    outcome, recorder = call(client_runner, method, **{**base, name: value})
    if isinstance(outcome, Exception):
        assert isinstance(outcome, alisms.ValidationError), repr(outcome)
        assert outcome.field.split("[")[0] == name
        assert recorder.requests == []
    else:
        assert len(recorder.requests) == 1
        # Whatever was sent is text the form body can carry.
        sent = Recorder.form(recorder.requests[0])
        assert all(isinstance(v, str) for v in sent.values())
        json.dumps(sent)


# --- the fast decoding of a send's answer equals the checked one ----------------------

_ANY_VALUE = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.sampled_from(["1", "007", " 2 ", "\u0661", "9" * 18, "9" * 19, "", "-1"]),
    st.integers(min_value=-2, max_value=10**20),
    st.booleans(),
    st.floats(allow_nan=False),
    st.lists(st.text(max_size=3), max_size=2),
)
_DETAIL = st.one_of(
    _ANY_VALUE,
    st.fixed_dictionaries({}, optional={k: _ANY_VALUE for k in ("Carrier", "Region", "Country")}),
)
_SEND_ANSWER = st.fixed_dictionaries(
    {},
    optional={
        **{
            k: _ANY_VALUE
            for k in (
                "MessageId",
                "To",
                "From",
                "Segments",
                "ResponseCode",
                "ResponseDescription",
                "RequestId",
            )
        },
        "NumberDetail": _DETAIL,
    },
)
_GOOD_SEND_ANSWER = st.fixed_dictionaries(
    {
        "MessageId": st.text(max_size=5),
        "To": st.text(max_size=5),
        "Segments": st.from_regex(r"[0-9]{1,18}", fullmatch=True),
        "ResponseCode": st.just("OK"),
    },
    optional={
        "From": st.one_of(st.none(), st.text(max_size=5)),
        "ResponseDescription": st.one_of(st.none(), st.text(max_size=5)),
        "RequestId": st.one_of(st.none(), st.text(max_size=5)),
        "NumberDetail": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {}, optional={k: st.text(max_size=3) for k in ("Carrier", "Region", "Country")}
            ),
        ),
    },
)


def _decoded(parse: Any, data: dict[str, Any]) -> tuple[str, Any]:
    from alisms._operations import BadField

    try:
        result = parse(data, b"{}")
    except BadField as exc:
        return "error", str(exc)
    return "result", (result, repr(result), hash(result), result.raw, result.raw_body)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_SEND_ANSWER, _GOOD_SEND_ANSWER))
def test_the_fast_send_decoder_gives_what_the_checked_one_gives(data: dict[str, Any]) -> None:
    from alisms._operations import _parse_send, _parse_send_checked

    assert _decoded(_parse_send, data) == _decoded(_parse_send_checked, data)


def test_results_built_without_init_are_the_results_init_makes() -> None:
    from dataclasses import FrozenInstanceError, replace

    from alisms._results import NumberDetail, SendResult, build

    fields: dict[str, Any] = {
        "message_id": "1",
        "to": "85212345678",
        "from_": None,
        "segments": 2,
        "number_detail": NumberDetail("CMI", "HongKong", "China"),
        "response_code": "OK",
        "response_description": None,
        "request_id": "r",
        "raw": {"MessageId": "1"},
        "raw_body": b"{}",
    }
    built = build(SendResult, dict(fields))
    made = SendResult(**fields)
    assert built == made and repr(built) == repr(made) and hash(built) == hash(made)
    assert replace(built, segments=3) == replace(made, segments=3)
    with pytest.raises(FrozenInstanceError):
        built.segments = 5  # type: ignore[misc]
