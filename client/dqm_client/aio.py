"""``AsyncClient``: the dqm API from asyncio code, method for method like ``Client``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from dqm_client import encoding, ops
from dqm_client.client import base_options, encode_profile
from dqm_client.encoding import TableFormat
from dqm_client.models import (
    Alert,
    Batch,
    Dataset,
    Delivery,
    Hook,
    LabelsResult,
    Monitor,
    Reference,
    RelabelItem,
    RetrainRequest,
    Run,
    Series,
)
from dqm_client.transport import Call, Retry, send_async

T = TypeVar("T")


class AsyncClient:
    """``Client`` for asyncio: the same methods, awaited; list methods are async iterators."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retry: Retry | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        page_size: int = ops.PAGE_SIZE,
    ) -> None:
        self.url, merged = base_options(url, api_key, headers)
        self.retry = retry or Retry()
        self.page_size = page_size
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers=merged,
            timeout=timeout,
            transport=transport,
            follow_redirects=True,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # plumbing
    async def request(self, call: Call, retry: Retry | None = None) -> httpx.Response:
        """Send one call with the retry policy; an ``ApiError`` for an error answer."""
        return await send_async(self._http, call, retry or self.retry)

    def _page(self, limit: int | None) -> int:
        return min(limit, self.page_size) if limit else self.page_size

    async def _do(self, op: ops.Op[T]) -> T:
        return op.read(await self.request(op.call))

    async def _iter(self, listing: ops.Listing[T], limit: int | None = None) -> AsyncIterator[T]:
        call: Call | None = listing.call
        count = 0
        while call is not None:
            items, call = listing.page(await self.request(call))
            for item in items:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield item

    # health
    async def ready(self) -> dict[str, Any]:
        """``/readyz``: the database and the data folder (503, raised, when not ready)."""
        data: dict[str, Any] = (await self.request(Call("GET", "/readyz"))).json()
        return data

    # datasets and data
    async def create_dataset(self, name: str, schema: Mapping[str, Any] | None = None) -> Dataset:
        return await self._do(ops.create_dataset(name, schema))

    async def dataset(self, name: str) -> Dataset:
        return await self._do(ops.get_dataset(name))

    def datasets(self, *, limit: int | None = None) -> AsyncIterator[Dataset]:
        return self._iter(ops.datasets(self._page(limit)), limit)

    async def update_dataset(self, name: str, changes: Mapping[str, Any]) -> Dataset:
        """``PATCH /v1/datasets/{name}`` with ``changes`` (roles, added columns, ...)."""
        return await self._do(ops.update_dataset(name, changes))

    async def delete_dataset(self, name: str) -> None:
        await self._do(ops.delete_dataset(name))

    async def put_reference(
        self,
        dataset: str,
        data: Any,
        *,
        content_type: str | None = None,
        format: TableFormat = "arrow",
        progress: Callable[[int], None] | None = None,
    ) -> Reference:
        """A new reference version from records, a DataFrame, an Arrow table or bytes;
        ``progress`` is called with the size of each slice of the body as it is sent."""
        body, kind = encoding.encode(data, content_type, format)
        return await self._do(ops.put_reference(dataset, body, kind, progress))

    def references(self, dataset: str, *, limit: int | None = None) -> AsyncIterator[Reference]:
        return self._iter(ops.references(dataset, self._page(limit)), limit)

    async def push_batch(
        self,
        dataset: str,
        data: Any,
        batch_id: str | None = None,
        *,
        content_type: str | None = None,
        format: TableFormat = "arrow",
        progress: Callable[[int], None] | None = None,
    ) -> Batch:
        """Send a production batch: records (list of dicts), a pandas DataFrame, a pyarrow
        Table (sent as an Arrow stream, or Parquet with ``format="parquet"``) or bytes with
        their ``content_type``. Without ``batch_id`` one is generated; retries reuse it, so the
        batch is stored once. ``Batch.created`` is False when the server already had it."""
        body, kind = encoding.encode(data, content_type, format)
        return await self._do(
            ops.push_batch(dataset, body, kind, batch_id or ops.new_batch_id(), progress)
        )

    async def push_profile(self, dataset: str, profile: Any, batch_id: str | None = None) -> Batch:
        """``Client.push_profile``: a batch sent as a ``BatchProfile`` (or its bytes)."""
        body = profile if isinstance(profile, bytes) else encode_profile(profile)
        return await self._do(ops.push_profile(dataset, body, batch_id or ops.new_batch_id()))

    def batches(self, dataset: str, *, limit: int | None = None) -> AsyncIterator[Batch]:
        return self._iter(ops.batches(dataset, self._page(limit)), limit)

    async def push_labels(
        self, dataset: str, labels: Any, *, content_type: str | None = None
    ) -> LabelsResult:
        """Late labels: records ``{id column: ..., target column: ...}``, a DataFrame, an
        Arrow table, or CSV/Parquet/Arrow bytes with their ``content_type`` (the server takes
        at most 100,000 per request)."""
        return await self._do(ops.push_labels(dataset, *encoding.labels_body(labels, content_type)))

    # monitors and runs
    async def create_monitor(self, spec: Mapping[str, Any]) -> Monitor:
        """A monitor from its definition (name, dataset, kind, schedule, window, rules, ...)."""
        return await self._do(ops.create_monitor(spec))

    async def monitor(self, name: str) -> Monitor:
        return await self._do(ops.get_monitor(name))

    def monitors(self, *, limit: int | None = None) -> AsyncIterator[Monitor]:
        return self._iter(ops.monitors(self._page(limit)), limit)

    async def update_monitor(self, name: str, changes: Mapping[str, Any]) -> Monitor:
        return await self._do(ops.update_monitor(name, changes))

    async def delete_monitor(self, name: str) -> None:
        await self._do(ops.delete_monitor(name))

    async def run_now(self, monitor: str) -> int:
        """Queue a run of ``monitor`` now; its id."""
        return await self._do(ops.run_now(monitor))

    async def run(self, run_id: int) -> Run:
        return await self._do(ops.get_run(run_id))

    async def wait_for_run(self, run_id: int, *, timeout: float = 600.0, poll: float = 0.2) -> Run:
        """The run once finished (succeeded, failed, skipped); else ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        while True:
            run = await self.run(run_id)
            if run.finished:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {run.status} after {timeout:.0f}s")
            await asyncio.sleep(poll)

    async def run_and_wait(self, monitor: str, *, timeout: float = 600.0) -> Run:
        """Run ``monitor`` now and return the finished run."""
        return await self.wait_for_run(await self.run_now(monitor), timeout=timeout)

    def runs(self, monitor: str, *, limit: int | None = None) -> AsyncIterator[Run]:
        return self._iter(ops.runs(monitor, self._page(limit)), limit)

    async def run_report(self, run_id: int) -> str:
        """The run's HTML report."""
        return await self._do(ops.run_report(run_id))

    async def series(
        self, monitor: str, metric: str, column: str | None = None, *, limit: int | None = None
    ) -> Series:
        return await self._do(ops.series(monitor, metric, column, limit))

    # alerts, hooks, retrain requests
    def alerts(
        self, *, state: str | None = None, monitor: str | None = None, limit: int | None = None
    ) -> AsyncIterator[Alert]:
        return self._iter(ops.alerts(self._page(limit), state, monitor), limit)

    async def create_hook(
        self, name: str, url: str, events: list[str], secret: str | None = None
    ) -> Hook:
        """A webhook endpoint signing with ``secret``; generated (and shown once) without."""
        return await self._do(ops.create_hook(name, url, events, secret))

    async def update_hook(self, name: str, changes: Mapping[str, Any]) -> Hook:
        """Replace the given fields: ``url``, ``events``, ``secret``."""
        return await self._do(ops.update_hook(name, changes))

    async def hook(self, name: str) -> Hook:
        return await self._do(ops.get_hook(name))

    def hooks(self, *, limit: int | None = None) -> AsyncIterator[Hook]:
        return self._iter(ops.hooks(self._page(limit)), limit)

    async def delete_hook(self, name: str) -> None:
        await self._do(ops.delete_hook(name))

    async def rotate_hook_secret(self, name: str) -> Hook:
        return await self._do(ops.hook_action(name, "rotate-secret"))

    async def enable_hook(self, name: str) -> Hook:
        return await self._do(ops.hook_action(name, "enable"))

    def deliveries(self, hook: str, *, limit: int | None = None) -> AsyncIterator[Delivery]:
        return self._iter(ops.deliveries(hook, self._page(limit)), limit)

    async def redeliver(self, delivery_id: int) -> Delivery:
        return await self._do(ops.redeliver(delivery_id))

    def retrain_requests(
        self, *, dataset: str | None = None, status: str | None = None, limit: int | None = None
    ) -> AsyncIterator[RetrainRequest]:
        return self._iter(ops.retrain_requests(self._page(limit), dataset, status), limit)

    async def acknowledge_retrain_request(self, request_id: str) -> RetrainRequest:
        return await self._do(ops.acknowledge(request_id))

    # relabel queue
    def relabel_queue(
        self, dataset: str, *, limit: int | None = None, slice_column: str | None = None
    ) -> AsyncIterator[RelabelItem]:
        """Rows proposed for relabeling, best first."""
        return self._iter(ops.relabel_queue(dataset, self._page(limit), slice_column), limit)

    async def export_relabel_queue(
        self,
        dataset: str,
        *,
        format: str = "csv",
        limit: int = 1000,
        slice_column: str | None = None,
    ) -> bytes:
        """The top ``limit`` rows of the queue with their data, as CSV or Parquet bytes."""
        return await self._do(ops.relabel_export(dataset, format, limit, slice_column))
