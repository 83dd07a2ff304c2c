"""Checks on user input, run before anything is signed or sent.

Each check returns the value as it will be sent, or raises
:class:`alisms.ValidationError` saying what is wrong and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Final

from alisms._errors import ValidationError
from alisms._results import MessageType

__all__ = [
    "MAX_BATCH",
    "batch_messages",
    "batch_numbers",
    "channel_id",
    "message_text",
    "message_type",
    "phone_number",
    "sender_id",
    "task_id",
    "validity_period",
]

MAX_BATCH: Final = 1000
"""The most numbers one BatchSendMessageToGlobe call takes."""

_DIGITS: Final = re.compile(r"[0-9]{7,15}")
_SENDER: Final = re.compile(r"[A-Za-z0-9]+")


def phone_number(value: object, field: str = "to") -> str:
    """Return ``value`` as dialing code and number, digits only.

    A leading ``+`` or ``00`` is removed. Spaces, dashes, brackets and
    anything else are refused rather than guessed at; so are Chinese mainland
    numbers (dialing code 86), which this API cannot reach.
    """
    if not isinstance(value, str):
        raise ValidationError(field, f"a phone number must be a string, not {type(value).__name__}")
    number = value
    if number.startswith("+"):
        number = number[1:]
    elif number.startswith("00"):
        number = number[2:]
    if not _DIGITS.fullmatch(number):
        raise ValidationError(
            field,
            f"{value!r} is not a phone number in international format: give the dialing "
            "code then the number, 7 to 15 digits, optionally after '+' or '00', with no "
            "spaces or punctuation (for example '85212345678')",
        )
    if number.startswith("0"):
        raise ValidationError(
            field,
            f"{value!r} does not start with a dialing code (no dialing code starts with 0); "
            "give the dialing code then the number, for example '85212345678'",
        )
    if number.startswith("86"):
        raise ValidationError(
            field,
            f"{value!r} is a Chinese mainland number (dialing code 86), which "
            "SendMessageToGlobe and BatchSendMessageToGlobe cannot reach; use "
            "SendMessageWithTemplate for mainland numbers",
        )
    return number


def sender_id(value: object) -> str | None:
    """Return the sender ID, or ``None`` when none is given.

    Letters and digits only: at most 11 characters when there is a letter,
    at most 15 digits when there is none.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not _SENDER.fullmatch(value):
        raise ValidationError(
            "from_", f"{value!r} is not a sender ID: use ASCII letters and digits only"
        )
    if value.isdigit():
        if len(value) > 15:
            raise ValidationError(
                "from_", f"{value!r} is {len(value)} digits; a numeric sender ID has at most 15"
            )
    elif len(value) > 11:
        raise ValidationError(
            "from_",
            f"{value!r} is {len(value)} characters; an alphanumeric sender ID has at most 11",
        )
    return value


def message_type(value: object, allowed: Collection[MessageType]) -> str | None:
    """Return the message type's name, or ``None`` when none is given.

    Accepts a :class:`MessageType` or its name in any case.
    """
    if value is None:
        return None
    names = ", ".join(t.value for t in allowed)
    if isinstance(value, str):
        upper = value.upper()
        for kind in allowed:
            if upper == kind.value:
                return kind.value
    raise ValidationError("type", f"{value!r} is not a message type here; use one of: {names}")


def task_id(value: object) -> str | None:
    """Return the task ID, or ``None``: a string of 1 to 255 characters."""
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise ValidationError("task_id", f"{value!r} is not a string of 1 to 255 characters")
    return _text_only(value, "task_id")


def validity_period(value: object) -> str | None:
    """Return the validity period in seconds as sent, or ``None``: a positive integer."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            "validity_period", f"{value!r} is not a positive whole number of seconds"
        )
    if not 0 < value < 2**63:
        # A huge int cannot even be written out: name it only when it is small.
        shown = str(value) if -(2**63) < value < 2**63 else "the number"
        raise ValidationError(
            "validity_period",
            f"{shown} is not a positive whole number of seconds (1 to 2**63 - 1)",
        )
    return str(value)


def channel_id(value: object) -> str | None:
    """Return the channel ID, or ``None``: a non-empty string."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("channel_id", f"{value!r} is not a non-empty string")
    return _text_only(value, "channel_id")


def message_text(value: object, field: str = "message") -> str:
    """Return the message text: a non-empty string, sent exactly as given."""
    if not isinstance(value, str):
        raise ValidationError(field, f"the text must be a string, not {type(value).__name__}")
    if not value.strip():
        raise ValidationError(field, "the text is empty")
    return _text_only(value, field)


def _text_only(value: str, field: str) -> str:
    """Refuse lone surrogates: they cannot be encoded as UTF-8, so they are not text."""
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ValidationError(field, "the text contains a lone surrogate, which is not text")
    return value


def batch_numbers(value: object) -> list[str]:
    """Return the batch's numbers: a sequence (not a string) of 1 to 1,000 valid numbers."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ValidationError(
            "to", "give the batch's numbers as a list or tuple of strings, not a single string"
        )
    if not 1 <= len(value) <= MAX_BATCH:
        raise ValidationError("to", f"a batch takes 1 to {MAX_BATCH} numbers, not {len(value)}")
    return [phone_number(n, f"to[{i}]") for i, n in enumerate(value)]


def batch_messages(value: object, count: int) -> list[str]:
    """Return one text per number: ``value`` repeated, or a sequence of ``count`` texts."""
    if isinstance(value, str):
        text = message_text(value)
        return [text] * count
    if not isinstance(value, Sequence):
        raise ValidationError(
            "message", "give one text for every number, or a list with one text per number"
        )
    texts = list(value)
    if len(texts) != count:
        raise ValidationError(
            "message", f"{len(texts)} texts for {count} numbers: give one text per number"
        )
    return [message_text(t, f"message[{i}]") for i, t in enumerate(texts)]
