"""Keyset pagination shared by every list endpoint: an opaque cursor and the query it filters.

A page is ``limit`` rows in a fixed total order (its keys, the last one unique). The cursor
is the base64url of ``{"s": scope, "k": [the last row's keys]}``; the next page is the rows
strictly after that key in that order, so rows inserted or deleted meanwhile never shift a
page (no offset). A cursor from another list, or one that is not ours, is a 422.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_

from dqm.monitors.errors import InvalidInputError

T = TypeVar("T")
Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")
KeyKind = type[int] | type[str] | type[float] | type[datetime]


@dataclass(frozen=True)
class PageRequest:
    """What the client asked: at most ``limit`` items after ``cursor`` (None: the first page)."""

    limit: int
    cursor: str | None = None


@dataclass(frozen=True)
class Paged(Generic[T]):
    """One page and the cursor of the next one (None: this is the last page)."""

    items: list[T]
    next_cursor: str | None


def encode(scope: str, key: Sequence[Any]) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    raw = json.dumps({"s": scope, "k": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _bad(cursor: str, why: str) -> InvalidInputError:
    return InvalidInputError(
        f"cursor is not valid here ({why}); pass the next_cursor of this list's previous page",
        [{"field": "cursor", "value": cursor[:200]}],
    )


def _value(raw: Any, kind: KeyKind) -> Any:
    if kind is datetime and isinstance(raw, str):
        value = datetime.fromisoformat(raw)
        return value if value.tzinfo is not None else None
    if kind is float and isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    ok = isinstance(raw, kind) and not isinstance(raw, bool)
    return raw if ok else None


def decode(cursor: str, scope: str, kinds: Sequence[KeyKind]) -> tuple[Any, ...]:
    """The key a cursor holds, checked against the list's scope and key types."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise _bad(cursor, "not a cursor") from None
    if not isinstance(data, dict) or data.get("s") != scope:
        raise _bad(cursor, f"not a cursor of the {scope} list")
    raw = data.get("k")
    if not isinstance(raw, list) or len(raw) != len(kinds):
        raise _bad(cursor, "wrong key")
    try:
        key = tuple(_value(r, k) for r, k in zip(raw, kinds, strict=True))
    except ValueError:
        raise _bad(cursor, "wrong key") from None
    if any(v is None for v in key):
        raise _bad(cursor, "wrong key")
    return key


@dataclass(frozen=True)
class Key:
    """One ordering column: the column, its Python type and its direction."""

    column: Any
    kind: KeyKind
    descending: bool = False


class Keyset:
    """The total order of one list (``scope`` names it inside its cursors)."""

    def __init__(self, scope: str, *keys: Key) -> None:
        self.scope = scope
        self.keys = keys

    def _after(self, key: tuple[Any, ...]) -> ColumnElement[bool]:
        terms = []
        for i, k in enumerate(self.keys):
            same = [self.keys[j].column == key[j] for j in range(i)]
            beyond = k.column < key[i] if k.descending else k.column > key[i]
            terms.append(and_(*same, beyond))
        return or_(*terms)

    def query(self, query: Q, page: PageRequest) -> Q:
        """``query`` ordered, after the cursor, one row more than the page (to see a next)."""
        if page.cursor is not None:
            key = decode(page.cursor, self.scope, [k.kind for k in self.keys])
            query = query.where(self._after(key))
        order = [k.column.desc() if k.descending else k.column.asc() for k in self.keys]
        return query.order_by(*order).limit(page.limit + 1)

    def cut(
        self, rows: Sequence[T], page: PageRequest, key: Callable[[T], Sequence[Any]]
    ) -> Paged[T]:
        """The page of ``rows`` (read by :meth:`query`) and the cursor after its last row."""
        items = list(rows[: page.limit])
        more = len(rows) > page.limit
        return Paged(items, encode(self.scope, key(items[-1])) if more and items else None)
