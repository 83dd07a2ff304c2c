"""Delivery receipts: the status reports the platform pushes to your HTTP endpoint. No I/O.

With "HTTP batch push" of status reports switched on in the SMS console, the
platform POSTs a JSON array of reports to your URL, several per push, and
expects an HTTP 200 answer whose JSON body has a numeric ``code``
(:data:`RECEIPT_REPLY`); otherwise it pushes the same reports again later.
So a report can arrive more than once: de-duplicate by ``message_id``.
``docs/receipts.md`` has complete receiving endpoints.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from alisms._errors import ReceiptError
from alisms._operations import parse_date
from alisms._results import DeliveryStatus

__all__ = ["RECEIPT_REPLY", "DeliveryReport", "parse_delivery_reports"]

RECEIPT_REPLY: Final = b'{"code":0,"msg":"received"}'
"""The body to answer a push with (HTTP 200, ``application/json``): the reports were taken.

The platform checks only that ``code`` is a number; any other answer makes it
push the same reports again.
"""

_MAX_DIGITS: Final = 18
_DATE_EXAMPLE: Final = "'Thu, 25 Nov 2021 10:27:00 +0800'"


@dataclass(frozen=True)
class DeliveryReport:
    """One delivery report (status report) from a push.

    ``status`` is the decoded state (see :class:`alisms.DeliveryStatus` for the
    numbering; an unknown value is ``UNKNOWN``) and ``status_code`` the raw
    ``Status``. ``segments`` is the number of billed parts (``SmsSize``).
    ``task_id`` is the ``task_id`` given when sending, if one was.
    ``send_date`` (handed to the carrier) and ``receive_date`` (the carrier's
    report) are timezone-aware, or ``None`` when the report has none.
    ``error_code`` and ``error_description`` are the carrier's verdict. ``raw``
    is the report exactly as decoded from the JSON.
    """

    message_id: str
    to: str
    status: DeliveryStatus
    status_code: str
    segments: int
    task_id: str | None
    send_date: datetime | None
    receive_date: datetime | None
    error_code: str | None
    error_description: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)


def parse_delivery_reports(body: bytes | str) -> list[DeliveryReport]:
    """Read a status-report push (the request body) into :class:`DeliveryReport` objects.

    ``body`` is the raw request body, bytes (UTF-8) or text: a JSON array of
    reports, possibly empty. All or nothing: raises :class:`alisms.ReceiptError`,
    saying what is wrong and at which index, when the body is not JSON, not an
    array, or any report lacks ``MessageId``, ``To``, ``Status`` or
    ``SmsSize``, has a field of the wrong type, or a date that is not a date
    with its offset. An unknown ``Status`` is not an error (it becomes
    ``DeliveryStatus.UNKNOWN``).

    The same report may be pushed more than once: de-duplicate by
    ``message_id`` before acting on it, and answer with :data:`RECEIPT_REPLY`.
    """
    if isinstance(body, bytes | bytearray | memoryview):
        try:
            text = bytes(body).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ReceiptError(f"the body is not UTF-8 text (bad byte at {exc.start})") from None
    elif isinstance(body, str):
        text = body
    else:
        raise TypeError(f"give the request body as bytes or str, not {type(body).__name__}")
    if not text.strip():
        raise ReceiptError("the body is empty; a push is a JSON array of reports")
    try:
        decoded = json.loads(text)
    except RecursionError:
        raise ReceiptError("the body is not JSON: it is nested too deeply") from None
    except ValueError as exc:
        where = (
            f" (line {exc.lineno}, column {exc.colno})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise ReceiptError(f"the body is not JSON{where}") from None
    if not isinstance(decoded, list):
        raise ReceiptError(f"the body is a JSON {_json_type(decoded)}, not an array of reports")
    return [_report(item, index) for index, item in enumerate(decoded)]


def _report(item: object, index: int) -> DeliveryReport:
    if not isinstance(item, dict):
        raise ReceiptError(f"the report is a JSON {_json_type(item)}, not an object", index=index)
    status_code = _code(item, "Status", index)
    return DeliveryReport(
        message_id=_str(item, "MessageId", index),
        to=_str(item, "To", index),
        status=DeliveryStatus.from_code(status_code),
        status_code=status_code,
        segments=_count(item, "SmsSize", index),
        task_id=_opt_str(item, "TaskId", index) or None,
        send_date=_date(item, "SendDate", index),
        receive_date=_date(item, "ReceiveDate", index),
        error_code=_opt_str(item, "ErrorCode", index),
        error_description=_opt_str(item, "ErrorDescription", index),
        raw=item,
    )


def _fail(item: Mapping[str, Any], key: str, index: int, wanted: str) -> ReceiptError:
    value = item.get(key)
    what = "missing" if key not in item else f"a JSON {_json_type(value)}"
    return ReceiptError(f"{key} is {what}, not {wanted}", index=index, field=key)


def _str(item: Mapping[str, Any], key: str, index: int) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        if isinstance(value, str):
            raise ReceiptError(f"{key} is empty", index=index, field=key)
        raise _fail(item, key, index, "a string")
    return value


def _opt_str(item: Mapping[str, Any], key: str, index: int) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(item, key, index, "a string")
    return value


def _code(item: Mapping[str, Any], key: str, index: int) -> str:
    value = item.get(key)
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        raise ReceiptError(f"{key} is empty", index=index, field=key)
    raise _fail(item, key, index, "a string")


def _count(item: Mapping[str, Any], key: str, index: int) -> int:
    value = item.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        digits = value.strip()
        if digits.isascii() and digits.isdigit() and len(digits) <= _MAX_DIGITS:
            return int(digits)
        raise ReceiptError(
            f"{key} is not a whole number of segments (a string of digits)",
            index=index,
            field=key,
        )
    raise _fail(item, key, index, "a whole number of segments")


def _date(item: Mapping[str, Any], key: str, index: int) -> datetime | None:
    text = _opt_str(item, key, index)
    if text is None or not text.strip():
        return None
    try:
        return parse_date(text)
    except ValueError:
        shown = repr(text) if len(text) <= 40 else repr(text[:37] + "...")
        raise ReceiptError(
            f"{key} {shown} is not a date with its offset, like {_DATE_EXAMPLE}",
            index=index,
            field=key,
        ) from None


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
