"""Dataset schema: columns with a type and a role.

>>> s = Schema(columns=[ColumnSpec(name="age", type="numerical")])
>>> s.column("age").role
'feature'
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dqm.monitors.errors import InvalidInputError, NotFoundError

ColumnType = Literal["numerical", "categorical", "text", "embedding", "datetime"]
ColumnRole = Literal["feature", "prediction", "prediction_probability", "target", "id", "timestamp"]


class ColumnSpec(BaseModel):
    """One column of a dataset: its name, data type and role in the model."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    type: ColumnType
    role: ColumnRole = "feature"
    # For role ``prediction_probability``: the class this probability column stands for.
    class_: str | None = Field(default=None, alias="class")

    @field_validator("name")
    @classmethod
    def _printable_name(cls, name: str) -> str:
        """Control characters and lone surrogates cannot be stored (PostgreSQL refuses NUL,
        UTF-8 refuses surrogates) nor shown safely: a name with one is refused."""
        if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
            raise ValueError("a column name may not contain control characters or surrogates")
        return name


class Schema(BaseModel):
    """The columns of a dataset, unique by name, in upload order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[ColumnSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Schema:
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate column names: {dupes}")
        for role in ("id", "timestamp", "target", "prediction"):
            holders = [c.name for c in self.columns if c.role == role]
            if len(holders) > 1:
                raise ValueError(f"at most one column may have role {role!r}, got {holders}")
        return self

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise NotFoundError(f"column {name!r} is not in the schema", [{"column": name}])

    def with_role(self, *roles: ColumnRole) -> list[ColumnSpec]:
        return [c for c in self.columns if c.role in roles]

    def role_column(self, role: ColumnRole) -> ColumnSpec | None:
        found = self.with_role(role)
        return found[0] if found else None

    def require(self, names: list[str]) -> None:
        missing = [n for n in names if n not in self.names]
        if missing:
            raise InvalidInputError(
                f"columns not in the schema: {missing}", [{"column": n} for n in missing]
            )
