"""Delivery receipts: parsing pushes, the documented endpoints, and the fake's and sandbox's pushes.

The documented example push parses into typed reports; every malformed shape
raises :class:`alisms.ReceiptError` saying what and where. The two receiving
endpoints in ``docs/receipts.md`` are run from the page itself: the ASGI app
with a hand-made scope, ``receive`` and ``send``, the aiohttp one served for real
on 127.0.0.1 (aiohttp comes with httpx-aiohttp in the dev extra) and posted to
with httpx.
Pushes from :class:`alisms.testing.FakeSMSService` and from the sandbox reach
a real receiver on 127.0.0.1 (``tests/receipt_receiver.py``).
"""

from __future__ import annotations

import asyncio
import copy
import json
import pickle
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from receipt_receiver import Receiver

import alisms
from alisms import DeliveryStatus, ReceiptError
from alisms._sandbox import Sandbox
from alisms.testing import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    FakeSMSService,
    ReceiptPushError,
)

WAIT = 10.0
CST = timezone(timedelta(hours=8))

# The push example of the receipts page, as the platform sends it (masked values included).
DOC_EXAMPLE = (
    '[{"To":"8521111****","SendDate":"Thu, 25 Nov 2021 10:25:00 +0800",'
    '"ReceiveDate":"Thu, 25 Nov 2021 10:25:33 +0800","Status":"1","ErrorCode":"success",'
    '"ErrorDescription":"success","TaskId":"67890","SmsSize":"2","MessageId":"123450000****"}]'
)

GOOD: dict[str, Any] = {
    "To": "6581234567",
    "Status": "2",
    "MessageId": "1008030300000001",
    "SmsSize": "1",
    "TaskId": "campaign-7",
    "SendDate": "Fri, 02 Jan 2026 11:04:05 +0800",
    "ReceiveDate": "Fri, 02 Jan 2026 11:04:09 +0800",
    "ErrorCode": "UNDELIV",
    "ErrorDescription": "undeliverable",
}


def push(*reports: dict[str, Any]) -> bytes:
    return json.dumps(list(reports)).encode()


def with_(**changes: Any) -> dict[str, Any]:
    """GOOD with some fields changed; a value of ... removes the field."""
    report = dict(GOOD)
    for name, value in changes.items():
        if value is ...:
            del report[name]
        else:
            report[name] = value
    return report


# -- parsing ---------------------------------------------------------------------------------


def test_the_documented_example() -> None:
    (report,) = alisms.parse_delivery_reports(DOC_EXAMPLE.encode())
    assert isinstance(report, alisms.DeliveryReport)
    assert report.message_id == "123450000****"
    assert report.to == "8521111****"
    assert report.status is DeliveryStatus.DELIVERED
    assert report.status_code == "1"
    assert report.segments == 2 and type(report.segments) is int
    assert report.task_id == "67890"
    assert report.send_date == datetime(2021, 11, 25, 10, 25, 0, tzinfo=CST)
    assert report.receive_date == datetime(2021, 11, 25, 10, 25, 33, tzinfo=CST)
    assert report.receive_date.utcoffset() == timedelta(hours=8)
    assert report.receive_date - report.send_date == timedelta(seconds=33)
    assert (report.error_code, report.error_description) == ("success", "success")
    assert report.raw == json.loads(DOC_EXAMPLE)[0]


def test_text_bytes_and_a_byte_order_mark_read_alike() -> None:
    as_text = alisms.parse_delivery_reports(DOC_EXAMPLE)
    as_bytes = alisms.parse_delivery_reports(DOC_EXAMPLE.encode())
    with_bom = alisms.parse_delivery_reports(b"\xef\xbb\xbf" + DOC_EXAMPLE.encode())
    assert as_text == as_bytes == with_bom
    assert len(as_text) == 1


def test_several_reports_keep_their_order_and_an_empty_push_is_no_report() -> None:
    reports = alisms.parse_delivery_reports(
        push(with_(MessageId="a1", Status="1"), with_(MessageId="a2"), with_(MessageId="a3"))
    )
    assert [r.message_id for r in reports] == ["a1", "a2", "a3"]
    assert [r.status for r in reports] == [
        DeliveryStatus.DELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.FAILED,
    ]
    assert alisms.parse_delivery_reports(b"[]") == []
    assert alisms.parse_delivery_reports(b" [ ] \n") == []


@pytest.mark.parametrize(
    ("status", "member"),
    [
        ("1", DeliveryStatus.DELIVERED),
        ("2", DeliveryStatus.FAILED),
        ("6", DeliveryStatus.EXPIRED),
        ("3", DeliveryStatus.DELIVERING),
        (2, DeliveryStatus.FAILED),  # a JSON number, read as its digits
        ("9", DeliveryStatus.UNKNOWN),
        ("01", DeliveryStatus.UNKNOWN),
        ("DELIVERED", DeliveryStatus.UNKNOWN),
        ("unknown", DeliveryStatus.UNKNOWN),
    ],
)
def test_status_is_decoded_and_an_unknown_one_is_kept_raw(status: Any, member: Any) -> None:
    (report,) = alisms.parse_delivery_reports(push(with_(Status=status)))
    assert report.status is member
    assert report.status_code == str(status)
    assert report.raw["Status"] == status


def test_the_optional_fields_may_be_missing_or_empty() -> None:
    bare = {k: GOOD[k] for k in ("MessageId", "To", "Status", "SmsSize")}
    (report,) = alisms.parse_delivery_reports(push(bare))
    assert (report.task_id, report.send_date, report.receive_date) == (None, None, None)
    assert (report.error_code, report.error_description) == (None, None)
    (empty,) = alisms.parse_delivery_reports(push(with_(TaskId="", ReceiveDate="", SendDate=" ")))
    assert (empty.task_id, empty.send_date, empty.receive_date) == (None, None, None)
    (null,) = alisms.parse_delivery_reports(push(with_(TaskId=None, ErrorCode=None)))
    assert (null.task_id, null.error_code) == (None, None)


def test_segments_as_a_json_number_and_unknown_fields_are_kept_in_raw() -> None:
    (report,) = alisms.parse_delivery_reports(push(with_(SmsSize=3, Extra={"x": 1})))
    assert report.segments == 3
    assert report.raw["Extra"] == {"x": 1}


def test_dates_keep_their_offset() -> None:
    (report,) = alisms.parse_delivery_reports(
        push(
            with_(
                SendDate="Fri, 02 Jan 2026 03:04:05 GMT",
                ReceiveDate="Fri, 02 Jan 2026 05:04:09 +0200",
            )
        )
    )
    assert report.send_date == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert report.send_date.utcoffset() == timedelta(0)
    assert report.receive_date is not None
    assert report.receive_date.utcoffset() == timedelta(hours=2)
    assert report.receive_date - report.send_date == timedelta(seconds=4)


# Each malformed push: the body, the index and field to blame, and what the text says.
MALFORMED: list[tuple[str, bytes, int | None, str | None, str]] = [
    ("empty", b"", None, None, "the body is empty"),
    ("blank", b" \n", None, None, "the body is empty"),
    ("not-json", b"delivered!", None, None, "the body is not JSON (line 1, column 1)"),
    ("truncated", DOC_EXAMPLE.encode()[:-5], None, None, "the body is not JSON"),
    ("not-utf8", b'[{"To":"\xff"}]', None, None, "the body is not UTF-8 text"),
    ("nested", b"[" * 100_000, None, None, "nested too deeply"),
    ("object", json.dumps(GOOD).encode(), None, None, "a JSON object, not an array"),
    ("string", b'"[]"', None, None, "a JSON string, not an array"),
    ("null", b"null", None, None, "a JSON null, not an array"),
    ("item-number", b"[1]", 0, None, "the report is a JSON number, not an object"),
    ("item-null", push(GOOD)[:-1] + b", null]", 1, None, "a JSON null, not an object"),
    ("item-array", push(GOOD)[:-1] + b", []]", 1, None, "a JSON array, not an object"),
    ("item-string", b'["MessageId"]', 0, None, "a JSON string, not an object"),
    *[
        (f"missing-{name}", push(GOOD, with_(**{name: ...})), 1, name, f"{name} is missing")
        for name in ("MessageId", "To", "Status", "SmsSize")
    ],
    ("null-MessageId", push(with_(MessageId=None)), 0, "MessageId", "MessageId is a JSON null"),
    ("empty-MessageId", push(with_(MessageId="")), 0, "MessageId", "MessageId is empty"),
    ("empty-Status", push(with_(Status="")), 0, "Status", "Status is empty"),
    ("number-MessageId", push(with_(MessageId=1008030300000001)), 0, "MessageId", "a JSON number"),
    ("array-To", push(with_(To=["6581234567"])), 0, "To", "To is a JSON array, not a string"),
    ("boolean-Status", push(with_(Status=True)), 0, "Status", "Status is a JSON boolean"),
    ("object-Status", push(with_(Status={"code": 1})), 0, "Status", "Status is a JSON object"),
    ("float-Status", push(with_(Status=1.0)), 0, "Status", "Status is a JSON number"),
    ("word-SmsSize", push(with_(SmsSize="two")), 0, "SmsSize", "SmsSize is not a whole number"),
    ("negative-SmsSize", push(with_(SmsSize=-1)), 0, "SmsSize", "SmsSize is a JSON number"),
    ("fraction-SmsSize", push(with_(SmsSize=1.5)), 0, "SmsSize", "SmsSize is a JSON number"),
    ("huge-SmsSize", push(with_(SmsSize="9" * 40)), 0, "SmsSize", "not a whole number"),
    ("number-TaskId", push(with_(TaskId=67890)), 0, "TaskId", "TaskId is a JSON number"),
    ("number-ErrorCode", push(with_(ErrorCode=0)), 0, "ErrorCode", "ErrorCode is a JSON number"),
    (
        "object-ErrorDescription",
        push(with_(ErrorDescription={})),
        0,
        "ErrorDescription",
        "JSON object",
    ),
    (
        "number-SendDate",
        push(with_(SendDate=1637807100)),
        0,
        "SendDate",
        "SendDate is a JSON number",
    ),
    (
        "word-SendDate",
        push(with_(SendDate="yesterday")),
        0,
        "SendDate",
        "SendDate 'yesterday' is not a date",
    ),
    (
        "iso-ReceiveDate",
        push(with_(ReceiveDate="2021-11-25T10:25:33+08:00")),
        0,
        "ReceiveDate",
        "is not a date with its offset",
    ),
    (
        "no-offset-ReceiveDate",
        push(with_(ReceiveDate="Thu, 25 Nov 2021 10:25:33")),
        0,
        "ReceiveDate",
        "with its offset, like 'Thu, 25 Nov 2021",
    ),
    (
        "day-32-SendDate",
        push(with_(SendDate="Thu, 32 Nov 2021 10:25:33 +0800")),
        0,
        "SendDate",
        "is not a date",
    ),
    (
        "bad-offset-SendDate",
        push(with_(SendDate="Thu, 25 Nov 2021 10:25:33 +9999")),
        0,
        "SendDate",
        "is not a date",
    ),
]


@pytest.mark.parametrize(
    ("body", "index", "field", "says"),
    [pytest.param(*case[1:], id=case[0]) for case in MALFORMED],
)
def test_a_malformed_push_says_what_and_where(
    body: bytes, index: int | None, field: str | None, says: str
) -> None:
    with pytest.raises(ReceiptError) as caught:
        alisms.parse_delivery_reports(body)
    error = caught.value
    assert isinstance(error, ValueError) and isinstance(error, alisms.AlismsError)
    assert (error.index, error.field) == (index, field)
    text = str(error)
    assert says in text
    if index is None:
        assert not text.startswith("report [")
    else:
        assert text.startswith(f"report [{index}]: ")
    # The text never repeats a phone number from the push.
    assert "6581234567" not in text and "8521111" not in text
    assert (error.code, error.http_status, error.request_id) == (None, None, None)
    assert f"index={index!r}" in repr(error)


def test_a_good_report_before_a_bad_one_is_not_returned() -> None:
    # All or nothing: the whole push is refused, so it is pushed again whole.
    with pytest.raises(ReceiptError) as caught:
        alisms.parse_delivery_reports(push(GOOD, GOOD, with_(SmsSize="x")))
    assert caught.value.index == 2


def test_a_body_that_is_neither_bytes_nor_text_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="bytes or str"):
        alisms.parse_delivery_reports(json.loads(DOC_EXAMPLE))  # type: ignore[arg-type]


def test_a_receipt_error_survives_pickle_and_copy() -> None:
    error = ReceiptError("To is missing, not a string", index=3, field="To")
    for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert type(clone) is ReceiptError
        assert (clone.index, clone.field, str(clone)) == (3, "To", str(error))
    assert str(error) == "report [3]: To is missing, not a string"


def test_the_reply_is_what_the_platform_expects() -> None:
    assert isinstance(alisms.RECEIPT_REPLY, bytes)
    reply = json.loads(alisms.RECEIPT_REPLY)
    assert set(reply) == {"code", "msg"}
    assert reply["code"] == 0 and type(reply["code"]) is int
    assert isinstance(reply["msg"], str) and reply["msg"]


def test_delivery_status_members() -> None:
    assert {m.name: m.value for m in DeliveryStatus} == {
        "DELIVERED": "1",
        "FAILED": "2",
        "DELIVERING": "3",
        "EXPIRED": "6",
        "UNKNOWN": "unknown",
    }
    assert [m for m in DeliveryStatus if m.is_final] == [
        DeliveryStatus.DELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.EXPIRED,
    ]
    assert DeliveryStatus.from_code("6") is DeliveryStatus.EXPIRED
    assert DeliveryStatus.from_code("") is DeliveryStatus.UNKNOWN


# -- the documented endpoints ------------------------------------------------------------------

RECEIPTS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "receipts.md"


def example(name: str) -> str:
    """The Python block of docs/receipts.md whose first line names ``name``."""
    blocks = re.findall(r"```python\n(.*?)```", RECEIPTS_PAGE.read_text("utf-8"), re.DOTALL)
    (source,) = [b for b in blocks if b.startswith(f"# {name}:")]
    return str(source)


class ASGIExchange:
    """One HTTP exchange with an ASGI app: the request in chunks, the response collected."""

    def __init__(self, chunks: list[bytes], *, disconnect: bool = False) -> None:
        self.incoming: list[dict[str, Any]] = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)
        ]
        if disconnect:
            self.incoming[-1:] = [{"type": "http.disconnect"}]
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        return self.incoming.pop(0)

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        start, *_ = self.sent
        assert start["type"] == "http.response.start"
        assert (b"content-type", b"application/json") in start["headers"]
        return int(start["status"])

    @property
    def body(self) -> bytes:
        assert [m["type"] for m in self.sent] == ["http.response.start", "http.response.body"]
        return bytes(self.sent[1]["body"])


def asgi_call(
    app: Any,
    path: str,
    chunks: list[bytes],
    *,
    method: str = "POST",
    disconnect: bool = False,
) -> ASGIExchange:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
    }
    exchange = ASGIExchange(chunks, disconnect=disconnect)
    asyncio.run(app(scope, exchange.receive, exchange.send))
    return exchange


@pytest.fixture
def asgi_example(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "receipts_asgi"}
    exec(compile(example("receipts_asgi.py"), "receipts_asgi.py", "exec"), namespace)
    return namespace


def test_the_asgi_example_takes_a_push_and_answers_the_reply(
    asgi_example: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    app, path = asgi_example["app"], asgi_example["PATH"]
    body = DOC_EXAMPLE.encode()
    first = asgi_call(app, path, [body[:40], body[40:]])  # a body in two chunks
    assert (first.status, first.body) == (200, alisms.RECEIPT_REPLY)
    assert list(asgi_example["received"]) == ["123450000****"]
    assert capsys.readouterr().out == "123450000**** 8521111**** DELIVERED success\n"

    # The same push again: answered the same, recorded and acted on once.
    again = asgi_call(app, path, [body])
    assert (again.status, again.body) == (200, alisms.RECEIPT_REPLY)
    assert len(asgi_example["received"]) == 1
    assert capsys.readouterr().out == ""

    # A push holding one new report and a copy of it.
    twice = push(with_(MessageId="m-2"), with_(MessageId="m-2", Status="1"))
    assert asgi_call(app, path, [twice]).status == 200
    assert asgi_example["received"]["m-2"].status is DeliveryStatus.FAILED
    assert capsys.readouterr().out == "m-2 6581234567 FAILED UNDELIV\n"


def test_the_asgi_example_refuses_a_malformed_push(asgi_example: dict[str, Any]) -> None:
    app, path = asgi_example["app"], asgi_example["PATH"]
    refused = asgi_call(app, path, [push(GOOD, with_(To=...))])
    assert refused.status == 400
    reply = json.loads(refused.body)
    assert reply == {"code": 400, "msg": "report [1]: To is missing, not a string"}
    assert asgi_example["received"] == {}


def test_the_asgi_example_answers_only_posts_to_its_path(asgi_example: dict[str, Any]) -> None:
    app, path = asgi_example["app"], asgi_example["PATH"]
    assert asgi_call(app, "/sms/receipts", [DOC_EXAMPLE.encode()]).status == 404
    assert asgi_call(app, path, [b""], method="GET").status == 404
    assert asgi_example["received"] == {}


def test_the_asgi_example_limits_the_body_and_handles_a_disconnect(
    asgi_example: dict[str, Any],
) -> None:
    app, path = asgi_example["app"], asgi_example["PATH"]
    chunk = b" " * (256 * 1024)
    too_large = asgi_call(app, path, [chunk] * 5)
    assert too_large.status == 413
    gone = asgi_call(app, path, [DOC_EXAMPLE.encode()[:10], b""], disconnect=True)
    assert gone.sent == []
    assert asgi_example["received"] == {}


def test_the_asgi_example_speaks_the_lifespan_protocol(asgi_example: dict[str, Any]) -> None:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asgi_example["app"]({"type": "lifespan"}, receive, send))
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


@dataclass
class Exchange:
    """One POST to the running aiohttp example: the answer as the platform would see it."""

    status: int
    content_type: str
    body: bytes


def serve_aiohttp_example(
    requests: list[tuple[str, str, bytes]],
) -> tuple[dict[str, Any], list[Exchange]]:
    """Run the page's aiohttp app on 127.0.0.1 (a free port) and send it ``requests`` in turn.

    Each request is (method, path, body); an empty path means the example's PATH.
    Returns the example's namespace (its ``received``) and the exchanges, in order.
    """
    namespace: dict[str, Any] = {"__name__": "receipts_aiohttp"}  # not "__main__": no run_app
    exec(compile(example("receipts_aiohttp.py"), "receipts_aiohttp.py", "exec"), namespace)
    app: web.Application = namespace["app"]

    async def run() -> list[Exchange]:
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)  # port 0: the system picks a free one
            await site.start()
            host, port = runner.addresses[0][:2]
            exchanges = []
            async with httpx.AsyncClient(
                base_url=f"http://{host}:{port}", trust_env=False, timeout=WAIT
            ) as http:
                for method, path, body in requests:
                    answer = await http.request(method, path or namespace["PATH"], content=body)
                    exchanges.append(
                        Exchange(answer.status_code, answer.headers["content-type"], answer.content)
                    )
            return exchanges
        finally:
            await runner.cleanup()

    return namespace, asyncio.run(run())


def test_the_aiohttp_example_takes_a_push_and_answers_the_reply(
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = DOC_EXAMPLE.encode()
    twice = push(with_(MessageId="m-2"), with_(MessageId="m-2", Status="1"))
    namespace, (first, again, both) = serve_aiohttp_example(
        [("POST", "", body), ("POST", "", body), ("POST", "", twice)]
    )
    for taken in (first, again, both):
        assert (taken.status, taken.body) == (200, alisms.RECEIPT_REPLY)
        assert taken.content_type.startswith("application/json")
        assert json.loads(taken.body) == {"code": 0, "msg": "received"}
    # The repeated push is answered the same but recorded and acted on once; of two
    # copies within one push, the first wins.
    received = namespace["received"]
    assert list(received) == ["123450000****", "m-2"]
    assert received["123450000****"] == alisms.parse_delivery_reports(body)[0]
    assert received["m-2"].status is DeliveryStatus.FAILED
    assert capsys.readouterr().out == (
        "123450000**** 8521111**** DELIVERED success\nm-2 6581234567 FAILED UNDELIV\n"
    )


def test_the_aiohttp_example_refuses_a_malformed_push(capsys: pytest.CaptureFixture[str]) -> None:
    namespace, (missing, not_json) = serve_aiohttp_example(
        [("POST", "", push(GOOD, with_(To=...))), ("POST", "", b"<html>")]
    )
    for refused in (missing, not_json):
        assert refused.status == 400
        assert refused.content_type.startswith("application/json")
    assert json.loads(missing.body) == {
        "code": 400,
        "msg": "report [1]: To is missing, not a string",
    }
    assert json.loads(not_json.body) == {
        "code": 400,
        "msg": "the body is not JSON (line 1, column 1)",
    }
    # All or nothing: the good report before the bad one is not recorded either.
    assert namespace["received"] == {}
    assert capsys.readouterr().out == ""


def test_the_aiohttp_example_limits_the_body_and_answers_only_posts_to_its_path() -> None:
    namespace, (too_large, elsewhere, get) = serve_aiohttp_example(
        [
            ("POST", "", b" " * (1024 * 1024 + 1)),  # over client_max_size
            ("POST", "/sms/receipts", DOC_EXAMPLE.encode()),
            ("GET", "", b""),
        ]
    )
    assert too_large.status == 413
    assert elsewhere.status == 404
    assert get.status == 405
    assert namespace["received"] == {}


# -- pushes from the fake --------------------------------------------------------------------


def sent_messages(fake: FakeSMSService, *tasks: str | None) -> list[str]:
    with fake.client(retry=False) as client:
        return [
            client.send_message_to_globe("6581234567", f"hello {i}", task_id=task).message_id
            for i, task in enumerate(tasks)
        ]


def test_the_fake_pushes_each_report_once_and_again_on_request() -> None:
    accepted = datetime.now(UTC).replace(microsecond=0)
    fake = FakeSMSService(clock=lambda: accepted)
    first, second = sent_messages(fake, "t-1", None)
    with Receiver() as receiver:
        pushed = fake.push_receipts(receiver.url)
        assert [r["MessageId"] for r in pushed] == [first, second]
        assert len(receiver.bodies) == 1
        assert json.loads(receiver.bodies[0]) == pushed
        assert receiver.content_types == ["application/json;charset=utf-8"]
        one, two = receiver.reports
        assert (one.message_id, one.to, one.status, one.segments) == (
            first,
            "6581234567",
            DeliveryStatus.DELIVERED,
            1,
        )
        assert (one.task_id, two.task_id) == ("t-1", None)
        assert one.send_date == accepted and one.send_date.utcoffset() == timedelta(hours=8)
        assert one.receive_date == accepted
        assert one.error_code == "success"

        # Nothing new: no request at all.
        assert fake.push_receipts(receiver.url) == []
        assert len(receiver.bodies) == 1
        # A duplicate, as the platform may send one.
        fake.push_receipts(receiver.url, message_ids=[first])
        assert [r.message_id for r in receiver.reports] == [first, second, first]
        (third,) = sent_messages(fake, None)
        assert [r["MessageId"] for r in fake.push_receipts(receiver.url)] == [third]


def test_the_fake_reports_what_a_test_says_became_of_a_message() -> None:
    fake = FakeSMSService()
    failed, expired, odd, pending = sent_messages(fake, None, None, None, None)
    carrier_time = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=7)
    fake.set_status(failed, DeliveryStatus.FAILED, error_code="MK:0001", at=carrier_time)
    fake.set_status(expired, DeliveryStatus.EXPIRED)
    fake.set_status(odd, "9", error_code="NEW", error_description="a state of tomorrow")
    fake.set_status(pending, DeliveryStatus.DELIVERING)
    assert fake.status_of(odd) is DeliveryStatus.UNKNOWN
    with Receiver() as receiver:
        fake.push_receipts(receiver.url)
        reports = {r.message_id: r for r in receiver.reports}
    assert set(reports) == {failed, expired, odd}  # no report while still delivering
    assert (reports[failed].status, reports[failed].error_code) == (
        DeliveryStatus.FAILED,
        "MK:0001",
    )
    assert reports[failed].receive_date == carrier_time
    assert reports[expired].status is DeliveryStatus.EXPIRED
    assert (reports[odd].status, reports[odd].status_code) == (DeliveryStatus.UNKNOWN, "9")
    assert reports[odd].error_description == "a state of tomorrow"
    # Once delivered, the pending message has its report.
    fake.set_status(pending, DeliveryStatus.DELIVERED)
    assert [r["MessageId"] for r in fake.delivery_reports()] == [pending]


def test_set_status_refuses_what_it_cannot_mean() -> None:
    fake = FakeSMSService()
    (message_id,) = sent_messages(fake, None)
    with pytest.raises(KeyError):
        fake.set_status("no-such-message", DeliveryStatus.FAILED)
    with pytest.raises(ValueError, match="raw Status value"):
        fake.set_status(message_id, DeliveryStatus.UNKNOWN)
    with pytest.raises(ValueError):
        fake.set_status(message_id, "")
    with pytest.raises(KeyError):
        fake.delivery_reports(["no-such-message"])
    with pytest.raises(TypeError, match="list of ids"):
        fake.delivery_reports(message_id)


@pytest.mark.parametrize("url", ["http://", "http://[::1", "gopher://127.0.0.1/"])
def test_a_push_to_an_unusable_url_raises_a_push_error(url: str) -> None:
    fake = FakeSMSService()
    sent_messages(fake, None)
    with pytest.raises(ReceiptPushError) as caught:
        fake.push_receipts(url)
    assert caught.value.status is None
    assert len(fake.delivery_reports()) == 1  # still unpushed


@pytest.mark.parametrize(
    ("status", "reply", "says"),
    [
        (500, alisms.RECEIPT_REPLY, "HTTP 500"),
        (200, b"OK", "numeric 'code'"),
        (200, b'{"code":"0"}', "numeric 'code'"),
        (200, b'{"code":true}', "numeric 'code'"),
        (200, b'[{"code":0}]', "numeric 'code'"),
    ],
    ids=["http-500", "not-json", "code-string", "code-boolean", "array"],
)
def test_a_push_not_taken_raises_and_stays_unpushed(status: int, reply: bytes, says: str) -> None:
    fake = FakeSMSService()
    (message_id,) = sent_messages(fake, None)
    with Receiver(status=status, reply=reply) as refusing:
        with pytest.raises(ReceiptPushError) as caught:
            fake.push_receipts(refusing.url)
        assert len(refusing.bodies) == 1
    assert says in str(caught.value)
    assert caught.value.status == status
    assert caught.value.excerpt == reply.decode()
    # The platform would push it again: so does the next push.
    with Receiver() as receiver:
        fake.push_receipts(receiver.url)
        assert [r.message_id for r in receiver.reports] == [message_id]


def test_any_numeric_code_is_taken_as_the_platform_takes_it() -> None:
    fake = FakeSMSService()
    sent_messages(fake, None)
    with Receiver(reply=b'{"code":1,"msg":"thanks"}') as receiver:
        assert len(fake.push_receipts(receiver.url)) == 1
        assert fake.push_receipts(receiver.url) == []


def test_a_push_to_a_closed_port_raises_with_no_status() -> None:
    fake = FakeSMSService()
    sent_messages(fake, None)
    with Receiver() as receiver:
        url = receiver.url
    with pytest.raises(ReceiptPushError) as caught:
        fake.push_receipts(url, timeout=2.0)
    assert caught.value.status is None
    assert "got no answer" in str(caught.value)


# -- pushes from the sandbox ---------------------------------------------------------------


def test_the_sandboxs_pushes_reach_a_local_receiver() -> None:
    pushes: list[tuple[list[str], Exception | None]] = []
    with (
        Receiver() as receiver,
        Sandbox(
            receipt_url=receiver.url,
            receipt_delay=0.05,
            on_receipt=lambda *pushed: pushes.append(pushed),
        ) as sandbox,
        alisms.Client(
            endpoint=sandbox.endpoint,
            access_key_id=DEFAULT_ACCESS_KEY_ID,
            access_key_secret=DEFAULT_ACCESS_KEY_SECRET,
        ) as client,
    ):
        one = client.send_message_to_globe("+85212345678", "first", task_id="order-1")
        batch = client.batch_send_message_to_globe(["6581234567", "447700900123"], "second")
        reports = receiver.wait_for_reports(3)
        # The application's own handling of them, end to end: ask and compare.
        states = {r.message_id: client.query_message(r.message_id) for r in reports}
    assert sorted(r.message_id for r in reports) == sorted([one.message_id, *batch.message_ids])
    by_id = {r.message_id: r for r in reports}
    assert (by_id[one.message_id].to, by_id[one.message_id].task_id) == ("85212345678", "order-1")
    for report in reports:
        assert report.status is DeliveryStatus.DELIVERED
        assert states[report.message_id].status is report.status
        assert states[report.message_id].send_date == report.send_date
    assert sorted(i for ids, _ in pushes for i in ids) == sorted(by_id)
    assert all(error is None for _, error in pushes)


def test_the_sandbox_reports_a_push_that_was_not_taken() -> None:
    pushes: list[tuple[list[str], Exception | None]] = []
    done = threading.Event()

    def told(ids: list[str], error: Exception | None) -> None:
        pushes.append((ids, error))
        done.set()

    with (
        Receiver(status=503, reply=b"busy") as receiver,
        Sandbox(receipt_url=receiver.url, receipt_delay=0, on_receipt=told) as sandbox,
    ):
        with sandbox.service.client() as client:
            client.send_message_to_globe("85212345678", "hi")
        assert done.wait(WAIT)
    [(ids, error)] = pushes
    assert ids == [sandbox.service.messages[0].message_id]
    assert isinstance(error, ReceiptPushError) and error.status == 503


def test_the_sandbox_stops_cleanly_with_pushes_still_due() -> None:
    with Receiver() as receiver:
        sandbox = Sandbox(receipt_url=receiver.url, receipt_delay=30.0).start()
        with sandbox.service.client() as client:
            client.send_message_to_globe("85212345678", "never reported")
        started = time.monotonic()
        sandbox.stop()
        assert time.monotonic() - started < 3.0
        assert receiver.bodies == []
    assert not [t for t in threading.enumerate() if t.name == "alisms-sandbox-receipts"]
