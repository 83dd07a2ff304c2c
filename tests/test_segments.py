"""count_segments: GSM-7 and UCS-2 encoding and billed segments, as carriers count them.

The rules (reference notes, section 6): a text of GSM 03.38 characters only is
GSM-7, at most 160 septets in one segment and 153 per segment when
concatenated, the extension characters ``| ^ € { } [ ] ~ \\`` counting 2 and
never split across two segments; any other character makes the whole text
UCS-2, at most 70 UTF-16 code units in one segment and 67 per segment, a
surrogate pair (an emoji) never split.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alisms._segments import SegmentInfo, count_segments

# The GSM 03.38 default alphabet (3GPP TS 23.038), row by row as the spec's table
# reads: 128 positions, less 0x1B, the escape to the extension table.
GSM_BASIC = "".join(
    [
        "@£$¥èéùìòÇ\nØø\rÅå",
        "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ",  # 0x1B (escape) left out
        " !\"#¤%&'()*+,-./",
        "0123456789:;<=>?",
        "¡ABCDEFGHIJKLMNO",
        "PQRSTUVWXYZÄÖÑÜ§",
        "¿abcdefghijklmno",
        "pqrstuvwxyzäöñüà",
    ]
)
GSM_EXTENSION = "|^€{}[]~\\"
EMOJI = "😀"  # U+1F600: one character, two UTF-16 code units
HAN = "你"  # a BMP character outside GSM-7: one UTF-16 code unit


# -- GSM-7 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (159, 1), (160, 1), (161, 2), (305, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_160_in_one_segment_then_153_per_segment(length: int, segments: int) -> None:
    info = count_segments("a" * length)
    assert info == SegmentInfo("GSM-7", length, length, segments)


def test_the_whole_gsm7_basic_set_is_one_septet_each() -> None:
    assert len(set(GSM_BASIC)) == 127
    info = count_segments(GSM_BASIC)
    assert info.encoding == "GSM-7"
    assert info.units == info.characters == len(GSM_BASIC)


@pytest.mark.parametrize("char", [*GSM_EXTENSION, "\f"])
def test_gsm7_extension_characters_count_two_septets(char: str) -> None:
    info = count_segments("a" + char)
    assert info == SegmentInfo("GSM-7", 2, 3, 1)


def test_extension_characters_move_the_single_segment_boundary() -> None:
    # 158 + 2 = 160 septets: one segment; 159 + 2 = 161: concatenated.
    assert count_segments("a" * 158 + "€").segments == 1
    assert count_segments("a" * 159 + "€") == SegmentInfo("GSM-7", 160, 161, 2)
    assert count_segments("{" * 80) == SegmentInfo("GSM-7", 80, 160, 1)
    assert count_segments("{" * 81) == SegmentInfo("GSM-7", 81, 162, 2)


def test_an_extension_character_is_never_split_across_two_segments() -> None:
    # 306 septets would fit 2 x 153, but the euro at septets 153-154 cannot be
    # split: the first segment ends after 152 septets and a third one is needed.
    text = "a" * 152 + "€" + "a" * 152
    assert count_segments(text) == SegmentInfo("GSM-7", 305, 306, 3)
    # The same septet count with the euro elsewhere packs into 2.
    assert count_segments("a" * 151 + "€" + "a" * 153).segments == 2
    # A segment of only euros holds 76 of them (152 septets), not 76.5.
    assert count_segments("€" * 152).segments == 2
    assert count_segments("€" * 153).segments == 3


# -- UCS-2 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (70, 1), (71, 2), (133, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_ucs2_70_in_one_segment_then_67_per_segment(length: int, segments: int) -> None:
    assert count_segments(HAN * length) == SegmentInfo("UCS-2", length, length, segments)


def test_one_non_gsm_character_makes_the_whole_text_ucs2() -> None:
    text = "a" * 69 + "á"  # GSM-7 has à but not á
    assert count_segments(text) == SegmentInfo("UCS-2", 70, 70, 1)
    assert count_segments("a" * 70 + "\u2019") == SegmentInfo("UCS-2", 71, 71, 2)
    # In UCS-2 a former extension character is one code unit, not two.
    assert count_segments("€" * 69 + HAN) == SegmentInfo("UCS-2", 70, 70, 1)


def test_an_emoji_is_two_units() -> None:
    assert count_segments(EMOJI) == SegmentInfo("UCS-2", 1, 2, 1)
    assert count_segments(HAN * 68 + EMOJI) == SegmentInfo("UCS-2", 69, 70, 1)
    assert count_segments(HAN * 69 + EMOJI) == SegmentInfo("UCS-2", 70, 71, 2)
    assert count_segments(EMOJI * 35) == SegmentInfo("UCS-2", 35, 70, 1)


def test_an_emoji_is_never_split_across_two_segments() -> None:
    # 134 units would fit 2 x 67, but the emoji at units 67-68 cannot be split.
    assert count_segments(HAN * 66 + EMOJI + HAN * 66) == SegmentInfo("UCS-2", 133, 134, 3)
    assert count_segments(HAN * 65 + EMOJI + HAN * 67).segments == 2
    # A segment of only emoji holds 33 of them (66 units).
    assert count_segments(EMOJI * 66).segments == 2
    assert count_segments(EMOJI * 67).segments == 3


# -- edge cases ----------------------------------------------------------------


def test_the_empty_string_is_one_empty_gsm7_segment() -> None:
    assert count_segments("") == SegmentInfo("GSM-7", 0, 0, 1)


def test_the_docstring_examples() -> None:
    assert count_segments("Hello").segments == 1
    assert count_segments("你好").encoding == "UCS-2"


# -- properties ----------------------------------------------------------------

gsm_text = st.text(alphabet=GSM_BASIC + GSM_EXTENSION, max_size=700)
any_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]),  # no lone surrogates
    max_size=400,
)


@settings(deadline=None)  # pure and fast, but a loaded machine must not fail it
@given(any_text)
def test_every_text_takes_at_least_one_segment(text: str) -> None:
    info = count_segments(text)
    assert info.segments >= 1
    assert info.characters == len(text)


@settings(deadline=None)
@given(any_text, gsm_text)
def test_appending_gsm_text_never_lowers_the_count(text: str, more: str) -> None:
    assert count_segments(text + more).segments >= count_segments(text).segments


@settings(deadline=None)
@given(gsm_text)
def test_gsm_only_text_is_gsm7_within_the_packing_bounds(text: str) -> None:
    info = count_segments(text)
    assert info.encoding == "GSM-7"
    assert info.units == len(text) + sum(c in GSM_EXTENSION for c in text)
    if info.units <= 160:
        assert info.segments == 1
    else:
        # Each segment holds 153 septets, or 152 when an extension character
        # would straddle the boundary.
        assert math.ceil(info.units / 153) <= info.segments <= math.ceil(info.units / 152)


@settings(deadline=None)
@given(any_text.filter(lambda t: any(c not in GSM_BASIC + GSM_EXTENSION + "\f" for c in t)))
def test_text_with_a_non_gsm_character_is_ucs2_within_the_packing_bounds(text: str) -> None:
    info = count_segments(text)
    assert info.encoding == "UCS-2"
    assert info.units == len(text.encode("utf-16-le")) // 2
    if info.units <= 70:
        assert info.segments == 1
    else:
        assert math.ceil(info.units / 67) <= info.segments <= math.ceil(info.units / 66)
