"""alisms/_record.py: the immutable record base of Endpoint and Step."""

from __future__ import annotations

import copy
import pickle

import pytest

from alisms._config import Endpoint
from alisms._record import Record
from alisms._retry import Step


class Pair(Record):
    __slots__ = ("left", "right")
    _fields = ("right", "left")  # the order of the repr and of equality, not of __slots__

    def __init__(self, right: int, left: object) -> None:
        object.__setattr__(self, "right", right)
        object.__setattr__(self, "left", left)


class OtherPair(Pair):
    __slots__ = ()


def test_a_record_is_a_value() -> None:
    a, b = Pair(1, "x"), Pair(1, "x")
    assert a == b and hash(a) == hash(b) and a is not b
    assert a != Pair(2, "x") and a != Pair(1, "y")
    assert repr(a) == "Pair(right=1, left='x')"
    # Same fields, another class: not equal (as with dataclasses).
    assert a != OtherPair(1, "x") and OtherPair(1, "x") != a
    assert a.__eq__(("x", 1)) is NotImplemented


def test_a_record_cannot_change() -> None:
    pair = Pair(1, "x")
    with pytest.raises(AttributeError, match="cannot assign"):
        pair.right = 2  # type: ignore[misc]
    with pytest.raises(AttributeError, match="cannot delete"):
        del pair.left
    with pytest.raises(AttributeError):
        pair.extra = 1  # type: ignore[attr-defined]
    assert pair == Pair(1, "x")


@pytest.mark.parametrize(
    "record", [Pair(1, ("a", 2)), Endpoint("https", "h:8443"), Step(0.5, True)]
)
def test_a_record_survives_pickle_and_copy(record: Record) -> None:
    for again in (pickle.loads(pickle.dumps(record)), copy.copy(record), copy.deepcopy(record)):
        assert again == record and type(again) is type(record) and repr(again) == repr(record)


def test_endpoint_and_step_show_their_fields_in_order() -> None:
    assert repr(Endpoint("https", "h")) == "Endpoint(scheme='https', host='h')"
    assert repr(Step(0.25, False)) == "Step(delay=0.25, resign=False)"
    assert Endpoint("https", "h") != Endpoint("http", "h")
    assert {Step(1.0, True), Step(1.0, True)} == {Step(1.0, True)}
