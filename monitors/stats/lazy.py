"""``lazy``: ``functools.cached_property`` without Python 3.11's lock.

Until Python 3.12, ``cached_property`` computes under one lock per property shared by every
instance, so the drift monitor's column threads wait for each other whenever two columns
build the same kind of summary (a window's positions, a reference's prefix sums). ``lazy``
computes without a lock; two threads asking at once may both compute, and the value stored
last is kept (the values are equal: they are pure functions of immutable inputs).

>>> class Box:
...     calls = 0
...     @lazy
...     def value(self) -> int:
...         Box.calls += 1
...         return 42
>>> b = Box(); (b.value, b.value, Box.calls)
(42, 42, 1)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class lazy(Generic[T]):  # noqa: N801  (named like the decorator it replaces)
    """A non-data descriptor that stores the computed value in the instance's ``__dict__``
    (which then shadows it), also on frozen dataclasses."""

    def __init__(self, fn: Callable[[Any], T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> lazy[T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> T | lazy[T]:
        if obj is None:
            return self
        value = self.fn(obj)
        obj.__dict__[self.name] = value
        return value
