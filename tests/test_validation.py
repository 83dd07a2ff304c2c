"""Every input check of alisms/_validation.py, through the public client methods.

A refused argument must raise :class:`alisms.ValidationError` (also a
``ValueError``) naming the field, saying what is wrong and what is allowed,
and nothing may reach the network. Sends go through an httpx
``MockTransport`` that records what would have been sent; one test runs every
refusal through a client that builds its own httpx client, under pytest-httpx,
which fails the test on any request.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpx import HTTPXMock

import alisms
from alisms import _validation

if TYPE_CHECKING:
    from conftest import ClientRunner

SEND = "send_message_to_globe"
BATCH = "batch_send_message_to_globe"
KEYS = {"access_key_id": "testid", "access_key_secret": "testsecret"}
NUMBER = "85212345678"
NUMBER_WRONG = "'{0}' is not a phone number"
NUMBER_ALLOWED = "7 to 15 digits"


class Recorder:
    """An httpx handler that keeps every request and answers like the service."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = self.params(request)
        if request.headers["x-acs-action"] == "BatchSendMessageToGlobe":
            count = len(json.loads(params["To"]))
            ids = [str(1000 + i) for i in range(count)]
            body = {
                "ResponseCode": "OK",
                "RequestId": "R",
                "MessageIdList": json.dumps(ids),
                "FailedList": "[]",
                "SuccessCount": str(count),
            }
        else:
            body = {
                "ResponseCode": "OK",
                "RequestId": "R",
                "MessageId": "1000",
                "To": params["To"],
                "Segments": "1",
            }
        return httpx.Response(200, json=body)

    @staticmethod
    def params(request: httpx.Request) -> dict[str, str]:
        return dict(parse_qsl(request.content.decode("ascii"), keep_blank_values=True))

    @property
    def sent(self) -> dict[str, str]:
        """The parameters of the only request."""
        [request] = self.requests
        return self.params(request)


def call(runner: ClientRunner, method: str, **arguments: Any) -> tuple[Any, Recorder]:
    """Call ``method`` with valid arguments overridden by ``arguments``.

    Returns the result, or the exception raised, and the recorder.
    """
    base: dict[str, Any] = {"to": NUMBER if method == SEND else [NUMBER], "message": "hi"}
    recorder = Recorder()
    try:
        result = runner.call_many(
            KEYS,
            [(method, (), {**base, **arguments})],
            transport=httpx.MockTransport(recorder),
        )[0]
    except alisms.AlismsError as exc:
        return exc, recorder
    return result, recorder


@dataclass(frozen=True)
class Refusal:
    """One refused argument, the field named and what the message must say."""

    id: str
    methods: tuple[str, ...]
    arguments: dict[str, Any]
    field: str
    says: tuple[str, ...]
    marks: tuple[Any, ...] = ()

    def params(self) -> list[Any]:
        return [
            pytest.param(self, method, id=f"{method.split('_')[0]}-{self.id}", marks=self.marks)
            for method in self.methods
        ]


BOTH = (SEND, BATCH)


def bad_number(value: str, case: str) -> Refusal:
    return Refusal(
        f"to-{case}", (SEND,), {"to": value}, "to", (repr(value), NUMBER_ALLOWED, "dialing code")
    )


def mainland(value: str, case: str) -> Refusal:
    return Refusal(
        f"mainland-{case}",
        (SEND,),
        {"to": value},
        "to",
        (repr(value), "Chinese mainland", "86", "SendMessageWithTemplate"),
    )


def bad_sender(value: Any, case: str, *says: str) -> Refusal:
    return Refusal(
        f"from-{case}",
        BOTH,
        {"from_": value},
        "from_",
        (repr(value), *(says or ("not a sender ID", "letters and digits"))),
    )


REFUSALS: list[Refusal] = [
    # Numbers: dialing code and digits, a leading + or 00 only.
    bad_number("852 1234 5678", "spaces"),
    bad_number("+852 12345678", "plus-space"),
    bad_number("852-1234-5678", "dashes"),
    bad_number("(852)12345678", "brackets"),
    bad_number("852.1234.5678", "dots"),
    bad_number("85212345678a", "letter"),
    bad_number("phone", "word"),
    bad_number("123456", "too-short"),
    bad_number("0012345", "too-short-after-00"),
    bad_number("1234567890123456", "too-long"),
    bad_number("+1234567890123456", "too-long-after-plus"),
    bad_number("", "empty"),
    bad_number("+", "plus-only"),
    bad_number("00", "zeros-only"),
    bad_number("++85212345678", "double-plus"),
    bad_number(" 85212345678", "leading-space"),
    bad_number("85212345678 ", "trailing-space"),
    bad_number("85212345678\n", "trailing-newline"),
    bad_number("".join(chr(0xFF10 + int(d)) for d in NUMBER), "fullwidth-digits"),
    bad_number("٨٥٢١٢٣٤٥٦٧٨", "arabic-indic-digits"),
    Refusal("to-int", (SEND,), {"to": 85212345678}, "to", ("must be a string", "int")),
    Refusal("to-none", (SEND,), {"to": None}, "to", ("must be a string", "NoneType")),
    Refusal("to-bytes", (SEND,), {"to": b"85212345678"}, "to", ("must be a string", "bytes")),
    Refusal("to-list", (SEND,), {"to": [NUMBER]}, "to", ("must be a string", "list")),
    # The Chinese mainland needs SendMessageWithTemplate.
    mainland("8613800138000", "plain"),
    mainland("+8613800138000", "plus"),
    mainland("008613800138000", "00"),
    Refusal(
        "batch-to-element",
        (BATCH,),
        {"to": [NUMBER, "852-1234"]},
        "to[1]",
        ("'852-1234'", NUMBER_ALLOWED),
    ),
    Refusal(
        "batch-to-mainland",
        (BATCH,),
        {"to": ["8613800138000", NUMBER]},
        "to[0]",
        ("Chinese mainland", "SendMessageWithTemplate"),
    ),
    Refusal("batch-to-int-element", (BATCH,), {"to": [NUMBER, 5]}, "to[1]", ("must be a string",)),
    # Batch numbers: a sequence of 1 to 1,000.
    Refusal("batch-to-str", (BATCH,), {"to": NUMBER}, "to", ("single string", "list or tuple")),
    Refusal("batch-to-bytes", (BATCH,), {"to": b"85212345678"}, "to", ("list or tuple",)),
    Refusal("batch-to-set", (BATCH,), {"to": {NUMBER}}, "to", ("list or tuple",)),
    Refusal("batch-to-iter", (BATCH,), {"to": iter([NUMBER])}, "to", ("list or tuple",)),
    Refusal("batch-to-none", (BATCH,), {"to": None}, "to", ("list or tuple",)),
    Refusal("batch-to-empty", (BATCH,), {"to": []}, "to", ("1 to 1000", "not 0")),
    Refusal(
        "batch-to-1001",
        (BATCH,),
        {"to": [NUMBER] * 1001, "message": "hi"},
        "to",
        ("1 to 1000", "not 1001"),
    ),
    # Sender IDs.
    bad_sender("Alicloud3210", "12-with-letter", "12 characters", "at most 11"),
    bad_sender("1234567890123456", "16-digits", "16 digits", "at most 15"),
    bad_sender("Ali cloud", "space"),
    bad_sender("Ali-cloud", "dash"),
    bad_sender("Ali_cloud", "underscore"),
    bad_sender("Älicloud", "non-ascii-letter"),
    bad_sender("١٢٣", "non-ascii-digits"),
    bad_sender("Ali\n", "newline"),
    bad_sender("", "empty"),
    bad_sender(123, "int"),
    # Message types.
    *[
        Refusal(
            f"type-{case}",
            (SEND,),
            {"type": value},
            "type",
            (repr(value), "use one of: OTP, NOTIFY, MKT"),
        )
        for case, value in [
            ("sms", "SMS"),
            ("empty", ""),
            ("leading-space", " OTP"),
            ("trailing-newline", "OTP\n"),
            ("int", 1),
            ("list", ["OTP"]),
        ]
    ],
    *[
        Refusal(
            f"type-{case}",
            (BATCH,),
            {"type": value},
            "type",
            (repr(value), "use one of: NOTIFY, MKT"),
        )
        for case, value in [
            ("otp", "OTP"),
            ("otp-lower", "otp"),
            ("otp-enum", alisms.MessageType.OTP),
            ("sms", "SMS"),
        ]
    ],
    # Task IDs: 1 to 255 characters.
    *[
        Refusal(f"task-{case}", BOTH, {"task_id": value}, "task_id", ("1 to 255 characters",))
        for case, value in [("empty", ""), ("256", "x" * 256), ("int", 42), ("bytes", b"t")]
    ],
    # Validity period: a positive whole number of seconds.
    *[
        Refusal(
            f"validity-{case}",
            BOTH,
            {"validity_period": value},
            "validity_period",
            (repr(value), "positive whole number of seconds"),
        )
        for case, value in [
            ("zero", 0),
            ("negative", -1),
            ("true", True),
            ("false", False),
            ("float", 600.0),
            ("fraction", 1.5),
            ("str", "600"),
            ("decimal", Decimal(600)),
        ]
    ],
    # Message text: a non-empty string of real characters.
    *[
        Refusal(f"message-{case}", BOTH, {"message": value}, "message", says)
        for case, value, says in [
            ("empty", "", ("empty",)),
            ("space", " ", ("empty",)),
            ("whitespace", "\n\t \r", ("empty",)),
            ("ideographic-space", "\u3000", ("empty",)),
            ("lone-surrogate", "\ud800", ("lone surrogate",)),
            ("surrogate-inside", "ok\udfffok", ("lone surrogate",)),
        ]
    ],
    *[
        Refusal(f"message-{case}", (SEND,), {"message": value}, "message", says)
        for case, value, says in [
            ("none", None, ("must be a string", "NoneType")),
            ("int", 5, ("must be a string", "int")),
            ("bytes", b"hi", ("must be a string", "bytes")),
            ("list", ["hi"], ("must be a string", "list")),
        ]
    ],
    # Batch texts: one for all, or one per number.
    Refusal(
        "batch-message-too-few",
        (BATCH,),
        {"to": [NUMBER, NUMBER], "message": ["a"]},
        "message",
        ("1 texts for 2 numbers", "one text per number"),
    ),
    Refusal(
        "batch-message-too-many",
        (BATCH,),
        {"to": [NUMBER, NUMBER], "message": ("a", "b", "c")},
        "message",
        ("3 texts for 2 numbers", "one text per number"),
    ),
    Refusal(
        "batch-message-empty-element",
        (BATCH,),
        {"to": [NUMBER, NUMBER], "message": ["a", " "]},
        "message[1]",
        ("empty",),
    ),
    Refusal(
        "batch-message-int-element",
        (BATCH,),
        {"to": [NUMBER, NUMBER], "message": ["a", 5]},
        "message[1]",
        ("must be a string",),
    ),
    Refusal(
        "batch-message-none",
        (BATCH,),
        {"message": None},
        "message",
        ("one text for every number", "one text per number"),
    ),
    Refusal(
        "batch-message-int",
        (BATCH,),
        {"message": 5},
        "message",
        ("one text for every number", "one text per number"),
    ),
    # Channel IDs.
    *[
        Refusal(f"channel-{case}", BOTH, {"channel_id": value}, "channel_id", ("non-empty string",))
        for case, value in [("empty", ""), ("blank", "  "), ("int", 3790)]
    ],
]


def assert_refused(error: object, recorder: Recorder, refusal: Refusal) -> None:
    assert isinstance(error, alisms.ValidationError), error
    assert isinstance(error, ValueError)
    assert isinstance(error, alisms.AlismsError)
    assert error.field == refusal.field
    text = str(error)
    assert text.startswith(f"{refusal.field}: ")
    for fragment in refusal.says:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    assert recorder.requests == [], "a refused call reached the network"


@pytest.mark.parametrize(("refusal", "method"), [p for r in REFUSALS for p in r.params()])
def test_refused(client_runner: ClientRunner, refusal: Refusal, method: str) -> None:
    error, recorder = call(client_runner, method, **refusal.arguments)
    assert_refused(error, recorder, refusal)


def test_refusals_never_reach_the_network(
    client_runner: ClientRunner, httpx_mock: HTTPXMock
) -> None:
    """Every refusal again, through one client owning its httpx client, under pytest-httpx."""
    cases = [(r, m) for r in REFUSALS for m in r.methods]

    def check(outcome: list[tuple[Refusal, str, object]]) -> None:
        assert len(outcome) == len(cases)
        for refusal, _method, error in outcome:
            assert isinstance(error, alisms.ValidationError), (refusal.id, error)
            assert error.field == refusal.field

    def base(method: str) -> dict[str, Any]:
        return {"to": NUMBER if method == SEND else [NUMBER], "message": "hi"}

    if client_runner.kind == "sync":
        outcome: list[tuple[Refusal, str, object]] = []
        with alisms.Client(**KEYS) as client:
            for refusal, method in cases:
                try:
                    getattr(client, method)(**{**base(method), **refusal.arguments})
                except alisms.AlismsError as exc:
                    outcome.append((refusal, method, exc))
        check(outcome)
    else:

        async def main() -> list[tuple[Refusal, str, object]]:
            found: list[tuple[Refusal, str, object]] = []
            async with alisms.AsyncClient(**KEYS) as client:
                for refusal, method in cases:
                    try:
                        await getattr(client, method)(**{**base(method), **refusal.arguments})
                    except alisms.AlismsError as exc:
                        found.append((refusal, method, exc))
            return found

        check(asyncio.run(main()))
    assert httpx_mock.get_requests() == []


# -- what is accepted, and sent as -------------------------------------------------


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("85212345678", "85212345678"),
        ("+85212345678", "85212345678"),
        ("0085212345678", "85212345678"),
        ("85312345678", "85312345678"),  # Macau
        ("+886912345678", "886912345678"),  # Taiwan
        ("6591234567", "6591234567"),
        ("1234567", "1234567"),  # 7 digits, the fewest
        ("123456789012345", "123456789012345"),  # 15, the most
        ("00123456789012345", "123456789012345"),
    ],
)
def test_numbers_accepted(client_runner: ClientRunner, given: str, sent: str) -> None:
    result, recorder = call(client_runner, SEND, to=given)
    assert isinstance(result, alisms.SendResult)
    assert recorder.sent["To"] == sent
    result, recorder = call(client_runner, BATCH, to=[given, "+85300000000"])
    assert isinstance(result, alisms.BatchSendResult)
    assert json.loads(recorder.sent["To"]) == [sent, "85300000000"]


@pytest.mark.parametrize("number", ["+008613800138000", "+0085212345678", "0000852123456"])
def test_number_starting_with_zero_after_the_prefix_is_refused(
    client_runner: ClientRunner, number: str
) -> None:
    error, recorder = call(client_runner, SEND, to=number)
    assert isinstance(error, alisms.ValidationError)
    assert recorder.requests == []


@pytest.mark.parametrize(
    "sender", ["Alicloud321", "ABCDEFGHIJK", "A", "1", "123456789012345", "a1b2c3d4e5f"]
)
def test_senders_accepted(client_runner: ClientRunner, sender: str) -> None:
    for method in BOTH:
        result, recorder = call(client_runner, method, from_=sender)
        assert not isinstance(result, Exception), result
        assert recorder.sent["From"] == sender


@pytest.mark.parametrize(
    ("method", "given", "sent"),
    [
        (SEND, "OTP", "OTP"),
        (SEND, "otp", "OTP"),
        (SEND, "Notify", "NOTIFY"),
        (SEND, "mKt", "MKT"),
        (SEND, alisms.MessageType.OTP, "OTP"),
        (BATCH, "notify", "NOTIFY"),
        (BATCH, "MKT", "MKT"),
        (BATCH, alisms.MessageType.NOTIFY, "NOTIFY"),
        (BATCH, alisms.MessageType.MKT, "MKT"),
    ],
)
def test_types_accepted(client_runner: ClientRunner, method: str, given: Any, sent: str) -> None:
    result, recorder = call(client_runner, method, type=given)
    assert not isinstance(result, Exception), result
    assert recorder.sent["Type"] == sent


@pytest.mark.parametrize(
    ("arguments", "sent"),
    [
        ({"task_id": "t"}, {"TaskId": "t"}),
        ({"task_id": "x" * 255}, {"TaskId": "x" * 255}),
        ({"task_id": "任务 42"}, {"TaskId": "任务 42"}),
        ({"validity_period": 1}, {"ValidityPeriod": "1"}),
        ({"validity_period": 600}, {"ValidityPeriod": "600"}),
        ({"validity_period": 2**40}, {"ValidityPeriod": "1099511627776"}),
        ({"channel_id": "3790"}, {"ChannelId": "3790"}),
        ({"message": "x"}, {"Message": "x"}),
    ],
)
def test_options_accepted(
    client_runner: ClientRunner, arguments: dict[str, Any], sent: dict[str, str]
) -> None:
    result, recorder = call(client_runner, SEND, **arguments)
    assert not isinstance(result, Exception), result
    for name, value in sent.items():
        assert recorder.sent[name] == value
    if "message" not in arguments:
        result, recorder = call(client_runner, BATCH, **arguments)
        assert not isinstance(result, Exception), result
        for name, value in sent.items():
            assert recorder.sent[name] == value


@pytest.mark.parametrize("count", [1, 1000])
def test_batch_sizes_accepted(client_runner: ClientRunner, count: int) -> None:
    to = tuple(f"8529{i:07d}" for i in range(count))
    result, recorder = call(client_runner, BATCH, to=to, message=[f"t{i}" for i in range(count)])
    assert isinstance(result, alisms.BatchSendResult)
    assert json.loads(recorder.sent["To"]) == list(to)
    assert json.loads(recorder.sent["Message"]) == [f"t{i}" for i in range(count)]


def test_one_batch_text_is_repeated_for_every_number(client_runner: ClientRunner) -> None:
    _, recorder = call(client_runner, BATCH, to=[NUMBER, "85312345678"], message="same")
    assert json.loads(recorder.sent["Message"]) == ["same", "same"]


# -- known holes ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["task_id", "channel_id"])
def test_lone_surrogate_in_task_or_channel_id_is_refused(
    client_runner: ClientRunner, name: str
) -> None:
    error, recorder = call(client_runner, SEND, **{name: "id\ud800"})
    assert isinstance(error, alisms.ValidationError)
    assert recorder.requests == []


def test_absurdly_large_validity_period_is_refused(client_runner: ClientRunner) -> None:
    error, recorder = call(client_runner, SEND, validity_period=10**5000)
    assert isinstance(error, alisms.ValidationError)
    assert recorder.requests == []


# -- anything at all: a ValidationError or a send, nothing else ---------------------------

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.text(alphabet="0123456789+- ()", max_size=20),
    st.text(alphabet="ABCxyz0189", max_size=18),
    st.binary(max_size=20),
    st.lists(st.text(alphabet="0123456789+", max_size=16), max_size=4),
    st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=5)), max_size=3),
    st.tuples(st.text(max_size=5), st.text(max_size=5)),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.frozensets(st.text(max_size=3), max_size=2),
    st.sampled_from(list(alisms.MessageType)),
    st.sampled_from(["OTP", "notify", "Mkt", "otp\n", "NOTIFY "]),
    st.sampled_from([object(), Ellipsis, 1j, Decimal("600"), Decimal("NaN"), b"", bytearray(b"1")]),
)
ARGUMENTS = ["to", "message", "from_", "type", "task_id", "validity_period", "channel_id"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(method=st.sampled_from(BOTH), name=st.sampled_from(ARGUMENTS), value=ANYTHING)
def test_any_argument_is_sent_or_refused_with_validation_error(
    client_runner: ClientRunner, method: str, name: str, value: Any
) -> None:
    outcome, recorder = call(client_runner, method, **{name: value})
    if isinstance(outcome, Exception):
        assert isinstance(outcome, alisms.ValidationError), repr(outcome)
        assert outcome.field.split("[")[0] == name
        assert recorder.requests == []
    else:
        assert len(recorder.requests) == 1


# -- the character checks, against the regular expressions they replace ---------------

# Text near every boundary the checks draw: ASCII digits and letters, other scripts'
# digits and letters, spaces and controls, DEL, lone surrogates and astral characters.
CHARACTER_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("0123456789aZ !~\x7f\t\n\x00\u00b2\u0663\uff11\u00e9\u4f60\ud800\udfff"),
        st.characters(),
    ),
    max_size=300,
) | st.builds(lambda n: "861" + "1" * n, st.integers(0, 14))


@settings(max_examples=500, deadline=None)
@given(text=CHARACTER_TEXT)
def test_the_character_checks_match_the_patterns_they_replace(text: str) -> None:
    assert _validation._digits(text, 7, 15) is bool(re.fullmatch(r"[0-9]{7,15}", text))
    assert _validation._digits(text, 1, 20) is bool(re.fullmatch(r"[0-9]{1,20}", text))
    assert (text.startswith("861") and _validation._digits(text, 13, 13)) is bool(
        re.fullmatch(r"861[0-9]{10}", text)
    )
    assert (text.isascii() and text.isalnum()) is bool(re.fullmatch(r"[A-Za-z0-9]+", text))
    assert _validation._token(text) is bool(re.fullmatch(r"[!-~]{1,255}", text))
    assert _validation._lone_surrogate(text) is bool(re.search("[\ud800-\udfff]", text))
