"""The monitor protocol, its typed results, and the shared work of every monitor kind.

A monitor measures; it never decides or sends anything (``dqm.alerts.rules`` decides).

>>> r = MonitorResult(metrics=(Metric(name="share_drifted_columns", value=0.25),))
>>> r.value("share_drifted_columns")
0.25
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

import pyarrow as pa
from pydantic import BaseModel, ValidationError

from dqm.monitors.errors import InvalidInputError
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import Schema


@dataclass(frozen=True)
class Metric:
    """One measured value: dataset-level when ``column`` is None, else per column.

    ``status`` is ``"ok"`` or ``"skipped: <reason>"`` (then ``value`` is None).
    """

    name: str
    value: float | None
    column: str | None = None
    method: str | None = None
    threshold: float | None = None
    drifted: bool | None = None
    status: str = "ok"
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """A row worth a person's attention: its id, a score (higher = more suspicious), why."""

    row_id: str
    score: float
    reason: str
    column: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MonitorResult:
    """What one monitor run measured."""

    metrics: tuple[Metric, ...]
    findings: tuple[Finding, ...] = ()

    def metric(self, name: str, column: str | None = None) -> Metric:
        for m in self.metrics:
            if m.name == name and m.column == column:
                return m
        raise KeyError((name, column))

    def value(self, name: str, column: str | None = None) -> float | None:
        return self.metric(name, column).value


class Monitor(Protocol):
    """A kind of monitor: a pure computation over a reference and a current window."""

    kind: ClassVar[str]
    Params: ClassVar[type[BaseModel]]

    def run(
        self,
        reference: ReferenceProfile | pa.Table,
        current: pa.Table,
        schema: Schema,
        params: BaseModel,
    ) -> MonitorResult:
        """Measure ``current`` against ``reference``.

        Parameters
        ----------
        reference
            The reference data, or its profile (computed once per reference version).
        current
            The window to check: the rows of the batches the monitor's window selects.
        schema
            Types and roles of the columns of both.
        params
            The kind's ``Params`` (another model is re-validated from its fields).
        """
        ...


P = TypeVar("P", bound=BaseModel)


class BaseMonitor(Generic[P]):
    """The shared work of every monitor kind; a subclass writes only ``measure``.

    ``run`` validates the params against the kind's ``Params`` model (a params object of
    another model is re-validated from its fields), builds the reference profile from a raw
    table, and refuses an empty window — and an empty reference unless ``needs_reference``
    is False — with ``InvalidInputError``.
    """

    kind: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    needs_reference: ClassVar[bool] = True

    def run(
        self,
        reference: ReferenceProfile | pa.Table,
        current: pa.Table,
        schema: Schema,
        params: BaseModel,
    ) -> MonitorResult:
        profile = as_profile(reference, schema)
        if current.num_rows == 0 or (self.needs_reference and profile.num_rows == 0):
            raise InvalidInputError(
                f"{self.kind} needs a non-empty reference and current window",
                [{"reference_rows": profile.num_rows, "current_rows": current.num_rows}],
            )
        return self.measure(profile, current, schema, self._params(params))

    def _params(self, params: BaseModel) -> P:
        if not isinstance(params, self.Params):
            params = validate_params(self.kind, self.Params, params.model_dump())
        return cast(P, params)

    def measure(
        self, profile: ReferenceProfile, current: pa.Table, schema: Schema, params: P
    ) -> MonitorResult:
        """The monitor's own computation, on validated inputs."""
        raise NotImplementedError


def validate_params(
    kind: str, model: type[BaseModel], params: Mapping[str, Any] | None
) -> BaseModel:
    """Validate ``params`` against a kind's ``Params`` model (extra keys are errors)."""
    try:
        return model.model_validate(dict(params or {}))
    except ValidationError as exc:
        raise InvalidInputError(
            f"invalid params for monitor kind {kind!r}",
            [
                {"field": ".".join(str(p) for p in ("params", *e["loc"])), "message": e["msg"]}
                for e in exc.errors()
            ],
        ) from None


def as_profile(reference: ReferenceProfile | pa.Table, schema: Schema) -> ReferenceProfile:
    """Accept a raw reference table where a profile is expected."""
    if isinstance(reference, ReferenceProfile):
        return reference
    return ReferenceProfile(reference, schema)
