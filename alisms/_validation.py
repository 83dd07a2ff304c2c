"""Checks on user input, run before anything is signed or sent.

Each check returns the value as it will be sent, or raises
:class:`alisms.ValidationError` saying what is wrong and what is allowed.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, TypeGuard

from alisms._errors import ValidationError
from alisms._results import MessageType

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = [
    "MAX_BATCH",
    "any_number",
    "batch_messages",
    "batch_numbers",
    "channel_id",
    "conversion_rate",
    "delivered",
    "epoch_millis",
    "mainland_number",
    "message_id",
    "message_text",
    "message_type",
    "phone_number",
    "sender_id",
    "signature_name",
    "sms_up_extend_code",
    "task_id",
    "template_code",
    "template_param",
    "validity_period",
]

MAX_BATCH: Final = 1000
"""The most numbers one BatchSendMessageToGlobe call takes."""

_MIN_MILLIS: Final = 10**12
_MAX_MILLIS: Final = 253_402_300_799_999
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# The character checks below are str methods, not regular expressions: the same
# tests, without compiling patterns when the package is imported.


def _digits(text: str, least: int, most: int) -> bool:
    """Whether ``text`` is ``least`` to ``most`` ASCII digits (``[0-9]{least,most}``)."""
    # isdigit() alone also takes other scripts' digits; isascii() keeps only 0-9.
    return least <= len(text) <= most and text.isascii() and text.isdigit()


def _token(text: str) -> bool:
    """Whether ``text`` is 1 to 255 printable ASCII characters, no space (``[!-~]{1,255}``)."""
    return 1 <= len(text) <= 255 and text.isascii() and text.isprintable() and " " not in text


def _lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a surrogate code point (U+D800 to U+DFFF), which UTF-8 refuses."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _dialable(value: object, field: str) -> str:
    """Normalise a number: digits only, dialing code first; a leading ``+`` or ``00`` removed."""
    if not isinstance(value, str):
        raise ValidationError(field, f"a phone number must be a string, not {type(value).__name__}")
    number = value
    if number.startswith("+"):
        number = number[1:]
    elif number.startswith("00"):
        number = number[2:]
    if not _digits(number, 7, 15):
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
    return number


def phone_number(value: object, field: str = "to") -> str:
    """Return ``value`` as dialing code and number, digits only.

    A leading ``+`` or ``00`` is removed. Spaces, dashes, brackets and
    anything else are refused rather than guessed at; so are Chinese mainland
    numbers (dialing code 86), which this API cannot reach.
    """
    number = _dialable(value, field)
    if number.startswith("86"):
        raise ValidationError(
            field,
            f"{value!r} is a Chinese mainland number (dialing code 86), which "
            "SendMessageToGlobe and BatchSendMessageToGlobe cannot reach; use "
            "SendMessageWithTemplate for mainland numbers",
        )
    return number


def mainland_number(value: object, field: str = "to") -> str:
    """Return a Chinese mainland mobile number, ``86`` and 11 digits: the Globe rule's mirror.

    Normalised as :func:`phone_number` normalises; SendMessageWithTemplate
    reaches only mainland numbers, whose mobile numbers are 11 digits
    beginning with 1.
    """
    number = _dialable(value, field)
    if not number.startswith("86"):
        raise ValidationError(
            field,
            f"{value!r} is not a Chinese mainland number: SendMessageWithTemplate reaches only "
            "numbers with dialing code 86 (for example '8613800138000'); use "
            "SendMessageToGlobe for numbers elsewhere",
        )
    if not (number.startswith("861") and _digits(number, 13, 13)):
        raise ValidationError(
            field,
            f"{value!r} is not a Chinese mainland mobile number: give 86 then the 11-digit "
            "number, which begins with 1 (for example '8613800138000')",
        )
    return number


def any_number(value: object, field: str = "to") -> str | None:
    """Return a number of any country, normalised as :func:`phone_number` does, or ``None``."""
    if value is None:
        return None
    return _dialable(value, field)


def sender_id(value: object) -> str | None:
    """Return the sender ID, or ``None`` when none is given.

    Letters and digits only: at most 11 characters when there is a letter,
    at most 15 digits when there is none.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not (value.isascii() and value.isalnum()):
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
    if isinstance(value, str):
        upper = value.upper()
        for kind in allowed:
            name: str = kind.value
            if upper == name:
                return name
    names = ", ".join(t.value for t in allowed)
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
    if _lone_surrogate(value):
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


# -- the other operations ------------------------------------------------------------


def message_id(value: object, field: str = "message_id") -> str:
    """Return a message ID as sent: a string such as a send result's ``message_id``."""
    if not isinstance(value, str) or not _token(value):
        raise ValidationError(
            field,
            f"{_shown(value)} is not a message ID: give the string a send returned "
            "(result.message_id), 1 to 255 printable ASCII characters without spaces",
        )
    return value


def signature_name(value: object) -> str:
    """Return SendMessageWithTemplate's ``From``: the approved signature name, not blank."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            "from_",
            f"{_shown(value)} is not a signature name: give the signature approved in the "
            "SMS console, exactly as approved",
        )
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValidationError("from_", "the signature name contains a control character")
    return _text_only(value, "from_")


def template_code(value: object) -> str:
    """Return a template code (such as ``SMS_123456789``): printable ASCII, no spaces."""
    if not isinstance(value, str) or not _token(value):
        raise ValidationError(
            "template_code",
            f"{_shown(value)} is not a template code: give the code of an approved template "
            "as the console shows it, for example 'SMS_123456789'",
        )
    return value


def template_param(value: object) -> str | None:
    """Return the template's variables as a JSON object text, or ``None`` when there are none.

    A mapping of variable names to text (or numbers) is JSON-encoded compactly,
    in its own order, with non-ASCII text as is; a string must already be a
    JSON object and is sent as given. An empty mapping sends nothing.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):
            decoded = None
        if not isinstance(decoded, dict):
            raise ValidationError(
                "template_param",
                'a string must be a JSON object such as \'{"code": "1234"}\'; '
                "or give a mapping of variable names to values",
            )
        return _text_only(value, "template_param")
    if not isinstance(value, Mapping):
        raise ValidationError(
            "template_param",
            f"give a mapping of variable names to values, not {type(value).__name__}",
        )
    if not value:
        return None
    for name, item in value.items():
        if not isinstance(name, str) or not name:
            raise ValidationError(
                "template_param", f"variable name {_shown(name)} is not a non-empty string"
            )
        _text_only(name, "template_param")
        if isinstance(item, str):
            _text_only(item, f"template_param[{name!r}]")
        elif isinstance(item, bool) or not isinstance(item, int | float):
            raise ValidationError(
                f"template_param[{name!r}]",
                f"a template variable is text or a number, not {type(item).__name__}",
            )
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValidationError(f"template_param[{name!r}]", f"{item!r} is not a number")
    return json.dumps(dict(value), ensure_ascii=False, separators=(",", ":"))


def sms_up_extend_code(value: object) -> str | None:
    """Return the reply (MO) extension code, or ``None``: 1 to 20 digits."""
    if value is None:
        return None
    if not isinstance(value, str) or not _digits(value, 1, 20):
        raise ValidationError(
            "sms_up_extend_code", f"{_shown(value)} is not a string of 1 to 20 digits"
        )
    return value


def delivered(value: object) -> str:
    """Return SmsConversion's ``Delivered`` as sent: ``"true"`` or ``"false"`` from a bool."""
    if not isinstance(value, bool):
        raise ValidationError(
            "delivered",
            f"give True (the recipient used the message) or False, not {_shown(value)}",
        )
    return "true" if value else "false"


def epoch_millis(value: object, field: str) -> str | None:
    """Return a moment as Unix epoch milliseconds, or ``None``.

    Takes a timezone-aware :class:`~datetime.datetime` or whole milliseconds
    since the epoch. A naive datetime is refused (its zone would be a guess),
    and so is a count before September 2001, which is seconds given as
    milliseconds far more often than a real date.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(
                field,
                "the datetime has no time zone: give an aware one, "
                "such as datetime.now(timezone.utc)",
            )
        millis = (value - _EPOCH) // timedelta(milliseconds=1)
    elif isinstance(value, int) and not isinstance(value, bool):
        millis = value
    else:
        raise ValidationError(
            field,
            f"give a timezone-aware datetime or Unix epoch milliseconds, not {_shown(value)}",
        )
    if not _MIN_MILLIS <= millis <= _MAX_MILLIS:
        shown = str(millis) if abs(millis) < 10**20 else "the number"
        raise ValidationError(
            field,
            f"{shown} is not a time in Unix epoch milliseconds from 2001 to 9999 "
            "(seconds given where milliseconds are needed?)",
        )
    return str(millis)


def _is_decimal(value: object) -> TypeGuard[Decimal]:
    """Whether ``value`` is a :class:`~decimal.Decimal`, without importing :mod:`decimal`.

    A Decimal exists only once :mod:`decimal` has been imported, so until then
    nothing is one (and this package does not pay for that import).
    """
    decimal = sys.modules.get("decimal")
    return decimal is not None and isinstance(value, decimal.Decimal)


def conversion_rate(value: object) -> str:
    """Return ConversionData's rate as sent: a number from 0 to 1, written out in full."""
    from decimal import Decimal  # imported by this rare operation, not with the package

    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValidationError(
            "conversion_rate", f"give a number from 0 to 1 (such as 0.53), not {_shown(value)}"
        )
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        number = Decimal(repr(value)) if math.isfinite(value) else Decimal("NaN")
    else:
        number = Decimal(value) if abs(value) < 10**20 else Decimal(2)
    if not number.is_finite() or not 0 <= number <= 1:
        raise ValidationError(
            "conversion_rate", f"{_shown(value)} is not a rate from 0 to 1 (such as 0.53)"
        )
    return format(number, "f")


def _shown(value: object) -> str:
    """A short description of a refused value for an error message."""
    if (isinstance(value, str | int | float) or _is_decimal(value)) and not isinstance(value, bool):
        if isinstance(value, int) and abs(value) >= 10**20:
            return "the number"
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return "None" if value is None else f"a {type(value).__name__}"
