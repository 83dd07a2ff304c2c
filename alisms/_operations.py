"""The API's operations: validated parameters in, typed results out. No I/O.

Each public function here checks its arguments and returns an
:class:`Operation`: the action's name, the parameters exactly as they will be
sent, and the function that turns the decoded answer into a result.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Generic, TypeVar

from alisms import _validation as check
from alisms._results import (
    BatchSendResult,
    ConversionResult,
    DeliveryStatus,
    MessageType,
    NumberDetail,
    QueryMessageResult,
    SendResult,
    build,
)

__all__ = [
    "API_VERSION",
    "BadField",
    "Operation",
    "batch_send_message_to_globe",
    "conversion_data",
    "parse_date",
    "query_message",
    "send_message_to_globe",
    "send_message_with_template",
    "sms_conversion",
]

API_VERSION: Final = "2018-05-01"
"""The dysmsapi version every operation here belongs to."""

T = TypeVar("T")

_SEND_TYPES: Final = (MessageType.OTP, MessageType.NOTIFY, MessageType.MKT)
_BATCH_TYPES: Final = (MessageType.NOTIFY, MessageType.MKT)


class BadField(Exception):
    """A field of an answer is missing or has the wrong type (becomes MalformedResponseError)."""


class Operation(Generic[T]):
    """One call of the API, ready to sign: action, parameters and result parser.

    ``billed`` marks operations that send messages: they are never re-signed
    after an ambiguous failure (see :mod:`alisms._retry`). A plain slotted
    class, not a dataclass: one is made per call, and nothing compares them.
    """

    __slots__ = ("action", "billed", "params", "parse")

    def __init__(
        self,
        action: str,
        params: Mapping[str, str],
        parse: Callable[[Mapping[str, Any], bytes], T],
        billed: bool = False,
    ) -> None:
        self.action: Final = action
        self.params: Final = params
        self.parse: Final = parse
        self.billed: Final = billed

    def __repr__(self) -> str:
        return f"Operation(action={self.action!r}, billed={self.billed!r})"


def _optional(
    params: dict[str, str | None],
) -> dict[str, str]:
    return {k: v for k, v in params.items() if v is not None}


def send_message_to_globe(
    to: object,
    message: object,
    *,
    from_: object = None,
    type: object = None,
    task_id: object = None,
    validity_period: object = None,
    channel_id: object = None,
) -> Operation[SendResult]:
    """Validate a single send and return its operation."""
    params = _optional(
        {
            "To": check.phone_number(to),
            "Message": check.message_text(message),
            "From": check.sender_id(from_),
            "Type": check.message_type(type, _SEND_TYPES),
            "TaskId": check.task_id(task_id),
            "ValidityPeriod": check.validity_period(validity_period),
            "ChannelId": check.channel_id(channel_id),
        }
    )
    return Operation("SendMessageToGlobe", params, _parse_send, billed=True)


def batch_send_message_to_globe(
    to: Sequence[str],
    message: str | Sequence[str],
    *,
    from_: object = None,
    type: object = None,
    task_id: object = None,
    validity_period: object = None,
    channel_id: object = None,
) -> Operation[BatchSendResult]:
    """Validate a batch send and return its operation.

    ``To`` and ``Message`` go as JSON array strings, one text per number.
    """
    numbers = check.batch_numbers(to)
    texts = check.batch_messages(message, len(numbers))
    params = _optional(
        {
            "To": _json_array(numbers),
            "Message": _json_array(texts),
            "From": check.sender_id(from_),
            "Type": check.message_type(type, _BATCH_TYPES),
            "TaskId": check.task_id(task_id),
            "ValidityPeriod": check.validity_period(validity_period),
            "ChannelId": check.channel_id(channel_id),
        }
    )
    return Operation("BatchSendMessageToGlobe", params, _parse_batch, billed=True)


def query_message(message_id: object) -> Operation[QueryMessageResult]:
    """Validate a status query and return its operation (safe to retry: it sends nothing)."""
    params = {"MessageId": check.message_id(message_id)}
    return Operation("QueryMessage", params, _parse_query)


def send_message_with_template(
    to: object,
    from_: object,
    template_code: object,
    template_param: object = None,
    *,
    sms_up_extend_code: object = None,
    validity_period: object = None,
    channel_id: object = None,
) -> Operation[SendResult]:
    """Validate a template send to a Chinese mainland number and return its operation.

    ``TemplateParam`` goes as one JSON object string, not flattened.
    """
    params = _optional(
        {
            "To": check.mainland_number(to),
            "From": check.signature_name(from_),
            "TemplateCode": check.template_code(template_code),
            "TemplateParam": check.template_param(template_param),
            "SmsUpExtendCode": check.sms_up_extend_code(sms_up_extend_code),
            "ValidityPeriod": check.validity_period(validity_period),
            "ChannelId": check.channel_id(channel_id),
        }
    )
    return Operation("SendMessageWithTemplate", params, _parse_send, billed=True)


def sms_conversion(
    message_id: object,
    delivered: object,
    *,
    conversion_time: object = None,
    to: object = None,
) -> Operation[ConversionResult]:
    """Validate a per-message conversion report and return its operation.

    ``ConversionTime`` goes as Unix epoch milliseconds.
    """
    params = _optional(
        {
            "MessageId": check.message_id(message_id),
            "Delivered": check.delivered(delivered),
            "ConversionTime": check.epoch_millis(conversion_time, "conversion_time"),
            "To": check.any_number(to),
        }
    )
    return Operation("SmsConversion", params, _parse_conversion)


def conversion_data(
    conversion_rate: object, *, report_time: object = None
) -> Operation[ConversionResult]:
    """Validate an aggregate conversion-rate report and return its operation."""
    params = _optional(
        {
            "ConversionRate": check.conversion_rate(conversion_rate),
            "ReportTime": check.epoch_millis(report_time, "report_time"),
        }
    )
    return Operation("ConversionData", params, _parse_conversion)


def _json_array(items: list[str]) -> str:
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


# -- decoding answers ---------------------------------------------------------


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise BadField(f"{key} is {_describe(value)}, not a string")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadField(f"{key} is {_describe(value)}, not a string")
    return value


_MAX_DIGITS: Final = 18


def _int(data: Mapping[str, Any], key: str, default: int | None = None) -> int:
    """Decode a count: a non-negative whole number, as a JSON number or a string of digits."""
    value = data.get(key)
    if value is None and default is not None:
        return default
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        digits = value.strip()
        if digits.isascii() and digits.isdigit() and len(digits) <= _MAX_DIGITS:
            return int(digits)
    raise BadField(
        f"{key} is {_describe(value)}, not a whole number of at most {_MAX_DIGITS} digits"
    )


def _str_list(data: Mapping[str, Any], key: str) -> list[str]:
    """Decode a JSON-array-in-a-string field; missing or empty means no items."""
    value = data.get(key)
    if value is None or value == "":
        return []
    decoded: object = value
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):
            raise BadField(f"{key} is not a JSON array") from None
    if not isinstance(decoded, list) or not all(
        isinstance(i, str) or (isinstance(i, int) and not isinstance(i, bool)) for i in decoded
    ):
        raise BadField(f"{key} is not a list of strings")
    return [str(i) for i in decoded]


def parse_date(text: str) -> datetime:
    """Read the API's dates, such as ``Mon, 24 Dec 2018 16:58:22 +0800``, as an aware datetime.

    Raises :class:`ValueError` for text that is not such a date or has no
    time zone (the wall-clock time alone would be hours off).
    """
    from email.utils import parsedate_to_datetime  # the email package costs ms at import

    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise ValueError("is not a date like 'Mon, 24 Dec 2018 16:58:22 +0800'") from None
    if moment.tzinfo is None:
        raise ValueError("has no time zone offset (like +0800)")
    return moment


def _date(data: Mapping[str, Any], key: str) -> datetime | None:
    """Decode an optional date field: missing or empty means none."""
    text = _opt_str(data, key)
    if text is None or not text.strip():
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        raise BadField(f"{key} {_excerpt(text)} {exc}") from None


def _excerpt(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def _code(data: Mapping[str, Any], key: str) -> str:
    """Decode a status code: a string, or a JSON whole number (kept as its digits)."""
    value = data.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise BadField(f"{key} is {_describe(value)}, not a string")


def _describe(value: object) -> str:
    return "missing" if value is None else f"a {type(value).__name__}"


def _number_detail(data: Mapping[str, Any]) -> NumberDetail | None:
    detail = data.get("NumberDetail")
    if detail is None:
        return None
    if not isinstance(detail, Mapping):
        raise BadField(f"NumberDetail is {_describe(detail)}, not an object")
    return build(
        NumberDetail,
        {
            "carrier": _opt_str(detail, "Carrier"),
            "region": _opt_str(detail, "Region"),
            "country": _opt_str(detail, "Country"),
        },
    )


def _parse_send(data: Mapping[str, Any], body: bytes) -> SendResult:
    """Decode a send's answer: the common, well-formed shape directly, anything else checked.

    The fast branch accepts only what the checked one would accept and builds
    the same result; every other answer (a missing field, a wrong type, a
    count with spaces) goes through :func:`_parse_send_checked`, which decodes
    it or raises the :class:`BadField` that names the fault.
    """
    get = data.get
    message_id, to, code = get("MessageId"), get("To"), get("ResponseCode")
    from_, description, request_id = get("From"), get("ResponseDescription"), get("RequestId")
    segments, detail = get("Segments"), get("NumberDetail")
    if (
        type(message_id) is str
        and type(to) is str
        and type(code) is str
        and (from_ is None or type(from_) is str)
        and (description is None or type(description) is str)
        and (request_id is None or type(request_id) is str)
        and type(segments) is str
        and segments.isascii()
        and segments.isdigit()
        and len(segments) <= _MAX_DIGITS
        and (detail is None or type(detail) is dict)
    ):
        # A malformed NumberDetail raises the BadField the checked decoder would.
        number_detail = None if detail is None else _number_detail(data)
        return build(
            SendResult,
            {
                "message_id": message_id,
                "to": to,
                "from_": from_,
                "segments": int(segments),
                "number_detail": number_detail,
                "response_code": code,
                "response_description": description,
                "request_id": request_id,
                "raw": data,
                "raw_body": body,
            },
        )
    return _parse_send_checked(data, body)


def _parse_send_checked(data: Mapping[str, Any], body: bytes) -> SendResult:
    return SendResult(
        message_id=_str(data, "MessageId"),
        to=_str(data, "To"),
        from_=_opt_str(data, "From"),
        segments=_int(data, "Segments"),
        number_detail=_number_detail(data),
        response_code=_str(data, "ResponseCode"),
        response_description=_opt_str(data, "ResponseDescription"),
        request_id=_opt_str(data, "RequestId"),
        raw=data,
        raw_body=body,
    )


def _parse_batch(data: Mapping[str, Any], body: bytes) -> BatchSendResult:
    message_ids = _str_list(data, "MessageIdList")
    return BatchSendResult(
        message_ids=message_ids,
        failed=_str_list(data, "FailedList"),
        success_count=_int(data, "SuccessCount", default=len(message_ids)),
        response_code=_str(data, "ResponseCode"),
        response_description=_opt_str(data, "ResponseDescription"),
        request_id=_opt_str(data, "RequestId"),
        from_=_opt_str(data, "From"),
        raw=data,
        raw_body=body,
    )


def _parse_query(data: Mapping[str, Any], body: bytes) -> QueryMessageResult:
    status_code = _code(data, "Status")
    return QueryMessageResult(
        message_id=_str(data, "MessageId"),
        to=_opt_str(data, "To"),
        status=DeliveryStatus.from_code(status_code),
        status_code=status_code,
        error_code=_opt_str(data, "ErrorCode"),
        error_description=_opt_str(data, "ErrorDescription"),
        message=_opt_str(data, "Message"),
        send_date=_date(data, "SendDate"),
        receive_date=_date(data, "ReceiveDate"),
        number_detail=_number_detail(data),
        response_code=_str(data, "ResponseCode"),
        response_description=_opt_str(data, "ResponseDescription"),
        request_id=_opt_str(data, "RequestId"),
        raw=data,
        raw_body=body,
    )


def _parse_conversion(data: Mapping[str, Any], body: bytes) -> ConversionResult:
    return ConversionResult(
        response_code=_str(data, "ResponseCode"),
        response_description=_opt_str(data, "ResponseDescription"),
        request_id=_opt_str(data, "RequestId"),
        raw=data,
        raw_body=body,
    )
