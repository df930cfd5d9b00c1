"""A dataset's schema as stored on its row, for every layer that reads the dataset's data."""

from __future__ import annotations

from dqm.monitors.errors import ConflictError
from dqm.monitors.schema import Schema
from dqm.service.db.models import Dataset


def schema_of(dataset: Dataset) -> Schema:
    """The dataset's schema; a dataset without one (no reference uploaded yet) is a conflict."""
    if dataset.schema_json is None:
        raise ConflictError(
            f"dataset {dataset.name!r} has no schema yet: upload a reference first",
            [{"dataset": dataset.name}],
        )
    return Schema.model_validate(dataset.schema_json)
