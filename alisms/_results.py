"""Typed results of the API's operations: frozen dataclasses with snake_case fields.

Every result keeps the decoded JSON body as ``raw`` and the exact bytes as
``raw_body``; both are left out of the repr and of comparisons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["BatchSendResult", "MessageType", "NumberDetail", "SendResult"]


class MessageType(StrEnum):
    """The ``Type`` of a message: what the carrier is told it carries."""

    OTP = "OTP"
    """A one-time password or verification code (single sends only)."""
    NOTIFY = "NOTIFY"
    """A notification, such as an order update."""
    MKT = "MKT"
    """Marketing or promotional content."""


@dataclass(frozen=True)
class NumberDetail:
    """What the service knows of a phone number: its carrier, region and country."""

    carrier: str | None
    region: str | None
    country: str | None


@dataclass(frozen=True)
class SendResult:
    """The service's answer to an accepted SendMessageToGlobe call.

    ``segments`` is the number of billed message parts.
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
