"""A dataset's page, ``/datasets/{name}``: schema and roles, references, batches, labels."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from dqm.monitors.schema import Schema
from dqm.service.console.web import ReaderDep, ctx_of, page_router, render
from dqm.service.ingest.datasets import get_dataset
from dqm.service.ingest.summary import (
    label_count,
    label_coverage,
    recent_batches,
    references,
)
from dqm.service.runs.summary import monitors_of_dataset

router = page_router()
BATCHES = 50
# Label coverage reads each batch's id and target columns: the newest few batches only.
COVERAGE_BATCHES = 10


@router.get("/datasets/{name}")
def dataset_page(request: Request, name: str, viewer: ReaderDep) -> HTMLResponse:
    ctx = ctx_of(request)
    with ctx.sessions() as session:
        dataset = get_dataset(session, name)
        schema = Schema.model_validate(dataset.schema_json) if dataset.schema_json else None
        refs = references(session, dataset.id)
        batches = recent_batches(session, dataset.id, BATCHES)
        coverage = (
            label_coverage(session, ctx.storage, dataset.id, schema, batches[:COVERAGE_BATCHES])
            if schema
            else {}
        )
        labels = label_count(session, dataset.id)
        monitors = monitors_of_dataset(session, dataset.id)
    covered = list(coverage.values())
    total_rows = sum(c.rows for c in covered)
    return render(
        request,
        viewer,
        "dataset.html",
        title=f"Dataset {dataset.name}",
        nav="overview",
        breadcrumbs=[("Overview", ()), (dataset.name, None)],
        dataset=dataset,
        schema=schema,
        references=refs,
        batches=batches,
        batch_limit=BATCHES,
        coverage_batches=COVERAGE_BATCHES,
        coverage=coverage,
        coverage_share=(sum(c.labeled for c in covered) / total_rows) if total_rows else None,
        labels=labels,
        monitors=monitors,
    )
