"""Small immutable records as plain slotted classes.

A frozen dataclass costs a few hundred microseconds to create at import (it
compiles its methods); the internal records here need only what
:class:`Record` gives every subclass: fields set once, equality and a hash
over the fields, a repr naming them, and pickling.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["Record"]


class Record:
    """Base of an immutable record whose fields, in order, are ``_fields``.

    A subclass lists its fields in ``__slots__`` and ``_fields`` and sets them
    in ``__init__`` with ``object.__setattr__``; after that, assigning or
    deleting any attribute raises ``AttributeError``. Two records are equal
    when they are of the same class with equal fields.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._values())
