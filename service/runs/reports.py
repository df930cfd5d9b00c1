"""HTML reports of drift runs (Evidently), rendered on demand outside the run's hot path, then
cached.

A drift run's report is drawn over the run's own window (its batches, with the late labels
received by the time the run started joined in, as the run joined them) against its reference
version, for exactly the columns the run scored, each with the run's method and threshold, so
Evidently's per-column scores are the run's. Runs of other kinds have no Evidently view: their
report of record is the console's run page (``/runs/{id}``), where the API's report URL sends
them (:func:`run_report` returns None).
"""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass

from sqlalchemy import select

from dqm.monitors.drift.params import DriftParams
from dqm.monitors.errors import ConflictError, NotFoundError
from dqm.monitors.report import RunColumn, decision_differences, render_run_report
from dqm.monitors.schema import Schema
from dqm.service.context import Context
from dqm.service.dataset_schema import schema_of
from dqm.service.db.models import Batch, Dataset, MetricValue, Monitor, ReferenceVersion, Run
from dqm.service.runs.windows import window_of
from dqm.service.storage import dataset_prefix

_render_lock = threading.Lock()  # Evidently is heavy: one rendering at a time per process
CACHE_VERSION = 2  # pages cached before reports followed the run's methods are not reused


def cache_path(dataset_id: int, run_id: int) -> str:
    # Under the dataset's folder, so deleting the dataset deletes its reports.
    return f"{dataset_prefix(dataset_id)}/reports/run-{run_id}.v{CACHE_VERSION}.html"


@dataclass(frozen=True)
class _Plan:
    """What a drift run's report is drawn from, read in one short session."""

    run: Run
    monitor: Monitor
    dataset_id: int
    schema: Schema
    reference_path: str | None
    batch_ids: list[str]
    batches: list[Batch]
    columns: list[RunColumn]


def run_report(ctx: Context, run_id: int) -> str | None:
    """The drift run's Evidently report (HTML), or None when the run is of another kind.

    Each side is sampled down to ``DQM_REPORT_MAX_ROWS`` rows (uniform, seeded); the page
    states the sample and full sizes when it is, and that its scores come from the samples.
    """
    plan = _plan(ctx, run_id)
    if plan is None:
        return None
    cached = cache_path(plan.dataset_id, run_id)
    if ctx.storage.exists(cached):
        with ctx.storage.filesystem.open_input_stream(ctx.storage.path(cached)) as stream:
            return bytes(stream.read()).decode("utf-8")
    if plan.reference_path is None or len(plan.batches) < len(plan.batch_ids):
        raise ConflictError(f"the data of run {run_id} is no longer stored", [{"run_id": run_id}])
    profiled = [b.batch_key for b in plan.batches if b.path is None]
    if profiled:
        raise ConflictError(
            f"run {run_id} read batches sent as profiles: there are no rows to draw a report from",
            [{"run_id": run_id, "batch_ids": profiled}],
        )
    page = _render(ctx, plan)
    full = ctx.storage.path(cached)
    ctx.storage.filesystem.create_dir(full.rsplit("/", 1)[0], recursive=True)
    with ctx.storage.filesystem.open_output_stream(full + ".tmp") as out:
        out.write(page.encode("utf-8"))
    ctx.storage.filesystem.move(full + ".tmp", full)
    return page


def _plan(ctx: Context, run_id: int) -> _Plan | None:
    with ctx.sessions() as session:
        run = session.get(Run, run_id)
        if run is None:
            raise NotFoundError(f"run {run_id} does not exist", [{"run_id": run_id}])
        monitor = session.get_one(Monitor, run.monitor_id)
        if monitor.kind != "drift":
            return None
        if run.status != "succeeded" or not run.window:
            raise ConflictError(
                f"run {run_id} has no report: its status is {run.status!r}",
                [{"run_id": run_id, "status": run.status}],
            )
        batch_ids = [str(b) for b in run.window["batch_ids"]]
        dataset = session.get_one(Dataset, monitor.dataset_id)
        ref_path = session.scalar(
            select(ReferenceVersion.path).where(
                ReferenceVersion.dataset_id == dataset.id,
                ReferenceVersion.version == run.reference_version,
            )
        )
        batches = list(
            session.scalars(
                select(Batch)
                .where(Batch.dataset_id == dataset.id, Batch.batch_key.in_(batch_ids))
                .order_by(Batch.received_at, Batch.id)
            )
        )
        scored = session.scalars(
            select(MetricValue)
            .where(MetricValue.run_id == run_id, MetricValue.name == "drift_score")
            .order_by(MetricValue.id)
        )
        columns = [
            RunColumn(v.column, v.method, v.threshold)
            for v in scored
            if v.column and v.method and v.threshold is not None and v.status == "ok"
        ]
    schema = schema_of(dataset)
    return _Plan(run, monitor, dataset.id, schema, ref_path, batch_ids, batches, columns)


def _render(ctx: Context, plan: _Plan) -> str:
    run = plan.run
    with ctx.sessions() as session:
        window = window_of(
            ctx, session, plan.dataset_id, plan.schema, plan.batches, labels_until=run.started_at
        )
    params = DriftParams.model_validate(plan.monitor.params or {})
    notes = [_provenance(plan, window.table.num_rows)]
    notes += [html.escape(line) for line in decision_differences(params)]
    assert plan.reference_path is not None
    with _render_lock:
        return render_run_report(
            ctx.storage.read_table(plan.reference_path),
            window.table,
            plan.schema,
            plan.columns,
            drift_share=params.drift_share,
            notes=notes,
            max_rows=ctx.settings.report_max_rows,
        )


def _provenance(plan: _Plan, rows: int) -> str:
    """The first note: which run, window and reference, and where the report of record is."""
    run = plan.run
    batches = ", ".join(plan.batch_ids)
    started = run.started_at.isoformat(timespec="seconds") if run.started_at else "?"
    # Relative to /v1/runs/{id}/report, so the link works under any path prefix.
    link = f'<a href="../../../runs/{run.id}">the run\'s page</a>'
    text = (
        f"Evidently's view of run {run.id} of monitor {plan.monitor.name}: its window "
        f"(batches {batches}; {rows:,} rows; late labels received by {started} joined) against "
        f"reference version {run.reference_version}, with the run's method and threshold for "
        f"each column it scored."
    )
    return f"{html.escape(text)} The report of record, with every metric, is {link}."
