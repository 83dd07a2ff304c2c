"""How many billed SMS segments a text takes: GSM-7 or UCS-2, as carriers count them.

A text made only of GSM 03.38 characters is sent as GSM-7: up to 160 septets
in one segment, 153 per segment when concatenated; the extension characters
``^ { } \\ [ ~ ] | €`` (and form feed) take two septets and are never split
across segments. Any other character switches the whole text to UCS-2: up to
70 UTF-16 code units in one segment, 67 per segment when concatenated, a
surrogate pair (an emoji) never split. Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["SegmentInfo", "count_segments"]

_GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION: Final = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SegmentInfo:
    """How a text is encoded and billed.

    ``units`` counts septets for GSM-7 and UTF-16 code units for UCS-2.
    """

    encoding: Literal["GSM-7", "UCS-2"]
    characters: int
    units: int
    segments: int


def _pack(costs: list[int], single: int, multi: int) -> int:
    """Count segments, never splitting one character's units across two."""
    total = sum(costs)
    if total <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments, used = segments + 1, 0
        used += cost
    return segments


def count_segments(text: str) -> SegmentInfo:
    """Return the encoding, character count, units and billed segments of ``text``.

    >>> count_segments("Hello").segments
    1
    >>> count_segments("你好").encoding
    'UCS-2'
    """
    if all(c in _GSM7_BASIC or c in _GSM7_EXTENSION for c in text):
        costs = [2 if c in _GSM7_EXTENSION else 1 for c in text]
        return SegmentInfo("GSM-7", len(text), sum(costs), _pack(costs, 160, 153))
    costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return SegmentInfo("UCS-2", len(text), sum(costs), _pack(costs, 70, 67))
