"""Typed results of the API's operations: frozen dataclasses with snake_case fields.

Every result keeps the decoded JSON body as ``raw`` and the exact bytes as
``raw_body``; both are left out of the repr and of comparisons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, TypeVar

__all__ = [
    "BatchSendResult",
    "ConversionResult",
    "DeliveryStatus",
    "MessageType",
    "NumberDetail",
    "QueryMessageResult",
    "SendResult",
]

R = TypeVar("R")

_new_object = object.__new__
_set_attribute = object.__setattr__


def build(cls: type[R], fields: dict[str, Any]) -> R:
    """Make a result from ``fields``, a dict of *every* field by name, without ``__init__``.

    A frozen dataclass's generated ``__init__`` sets each field through
    ``object.__setattr__``, which costs more than the decoding of the answer.
    The object this returns is the same as ``cls(**fields)`` (equal, same
    repr, same hash), as the tests check; it is for the parsers in
    :mod:`alisms._operations`, which always pass every field.
    """
    result: R = _new_object(cls)
    _set_attribute(result, "__dict__", fields)
    return result


class MessageType(StrEnum):
    """The ``Type`` of a message: what the carrier is told it carries."""

    OTP = "OTP"
    """A one-time password or verification code (single sends only)."""
    NOTIFY = "NOTIFY"
    """A notification, such as an order update."""
    MKT = "MKT"
    """Marketing or promotional content."""


class DeliveryStatus(Enum):
    """Where a message stands: the ``Status`` of QueryMessage and of delivery reports.

    The sources number the states differently. alisms follows the current API
    pages, for both QueryMessage and the delivery reports, which agree with
    each other: ``"1"`` delivered, ``"2"`` failed, ``"3"`` still being
    delivered (QueryMessage only) and ``"6"`` expired undelivered (reports
    only). QueryMessage's own documented example pairs ``Status`` ``"1"``
    with ``ErrorCode`` ``"DELIVERED"``, which settles it. Older pages and the
    retired message-queue receipts used 1 submitted, 2 failed, 3 delivered;
    should an account still answer that way, the raw value is always kept
    beside the member (``status_code``).

    Any other value becomes :attr:`UNKNOWN` rather than an error: a new state
    must not break the code that reads it.
    """

    DELIVERED = "1"
    """The carrier reported the message delivered to the handset."""
    FAILED = "2"
    """Delivery failed; ``error_code`` says why."""
    DELIVERING = "3"
    """Submitted, no final report yet (QueryMessage only)."""
    EXPIRED = "6"
    """The validity period ran out before delivery (delivery reports only)."""
    UNKNOWN = "unknown"
    """A ``Status`` value this version of alisms does not know; see ``status_code``."""

    @classmethod
    def from_code(cls, code: str) -> DeliveryStatus:
        """The member for a raw ``Status`` value, or :attr:`UNKNOWN`."""
        for member in cls:
            if member is not cls.UNKNOWN and member.value == code:
                return member
        return cls.UNKNOWN

    @property
    def is_final(self) -> bool:
        """Whether this state is the end of the story (delivered, failed or expired)."""
        return self in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.EXPIRED)


@dataclass(frozen=True)
class NumberDetail:
    """What the service knows of a phone number: its carrier, region and country."""

    carrier: str | None
    region: str | None
    country: str | None


@dataclass(frozen=True)
class SendResult:
    """The service's answer to an accepted SendMessageToGlobe or SendMessageWithTemplate call.

    ``segments`` is the number of billed message parts. SendMessageWithTemplate
    does not echo the sender, so its ``from_`` is ``None``.
    """

    message_id: str
    to: str
    from_: str | None
    segments: int
    number_detail: NumberDetail | None
    response_code: str
    response_description: str | None
    request_id: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    raw_body: bytes = field(repr=False, compare=False)


@dataclass(frozen=True)
class BatchSendResult:
    """The service's answer to an accepted BatchSendMessageToGlobe call.

    ``message_ids`` lists the ids of the accepted messages; ``failed`` lists
    the numbers the service did not accept. A batch with failed numbers is
    still a result, not an error: check ``failed``.
    """

    message_ids: list[str]
    failed: list[str]
    success_count: int
    response_code: str
    response_description: str | None
    request_id: str | None
    from_: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    raw_body: bytes = field(repr=False, compare=False)


@dataclass(frozen=True)
class QueryMessageResult:
    """The service's answer to a QueryMessage call: the state of one sent message.

    ``status`` is the decoded state (see :class:`DeliveryStatus` for the
    numbering) and ``status_code`` the raw ``Status`` value. ``error_code``
    and ``error_description`` are the carrier's verdict (``"DELIVERED"`` when
    all went well). ``send_date`` is when the message went to the carrier and
    ``receive_date`` when the carrier reported on it, both timezone-aware, and
    ``None`` when the service gives none (as for a message still on its way).
    ``message`` is the text that was sent.
    """

    message_id: str
    to: str | None
    status: DeliveryStatus
    status_code: str
    error_code: str | None
    error_description: str | None
    message: str | None
    send_date: datetime | None
    receive_date: datetime | None
    number_detail: NumberDetail | None
    response_code: str
    response_description: str | None
    request_id: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    raw_body: bytes = field(repr=False, compare=False)


@dataclass(frozen=True)
class ConversionResult:
    """The service's answer to an accepted SmsConversion or ConversionData call.

    The report was recorded; the answer carries nothing else.
    """

    response_code: str
    response_description: str | None
    request_id: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    raw_body: bytes = field(repr=False, compare=False)
