"""``Logger``: rows from the request path of a service, sent in the background.

``log()`` appends to a bounded in-memory queue and returns: it never blocks on the network
and never raises. A background thread sends the rows as batches with deterministic ids
(``{logger_id}-{seq}``), retrying each batch until the server accepts it, so a batch whose
answer was lost is stored once. When the queue is full, new rows are dropped and counted in
``dropped``. ``flush()`` and ``close()`` (also run at interpreter exit) send what is left.
"""

from __future__ import annotations

import atexit
import collections
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from dqm_client import encoding, ops
from dqm_client.client import Client
from dqm_client.errors import ApiError, ConnectionFailed
from dqm_client.transport import NO_RETRY, Retry

log = logging.getLogger("dqm_client.logger")
# Statuses after which the same batch may succeed later; any other error drops the batch.
TRANSIENT = frozenset({408, 425, 429, 500, 502, 503, 504})


class Logger:
    """Log rows of ``dataset`` through ``client``; a batch leaves every ``flush_rows`` rows or
    ``flush_seconds`` seconds. At most ``max_queue`` rows wait in memory."""

    def __init__(
        self,
        client: Client,
        dataset: str,
        *,
        flush_rows: int = 1000,
        flush_seconds: float = 1.0,
        max_queue: int = 100_000,
        logger_id: str | None = None,
        max_backoff: float = 5.0,
        exit_timeout: float = 10.0,
    ) -> None:
        if flush_rows < 1 or flush_seconds <= 0 or max_queue < 1:
            raise ValueError("flush_rows, flush_seconds and max_queue must be positive")
        self.client = client
        self.dataset = dataset
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.max_queue = max_queue
        self.logger_id = logger_id or f"log-{uuid.uuid4().hex[:16]}"
        self.max_backoff = max_backoff
        self.exit_timeout = exit_timeout  # how long the exit hook waits for the rest to go
        self.dropped = 0  # rows refused because the queue was full
        self.failed = 0  # rows of batches the server refused for good (4xx)
        self.sent_rows = 0
        self.sent_batches = 0
        self.retries = 0  # sends that failed and were tried again (an outage, a 503, ...)
        self._seq = 0
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._drop_lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=f"dqm-{self.logger_id}", daemon=True)
        self._thread.start()
        atexit.register(self._at_exit)

    @property
    def pending(self) -> int:
        """Rows waiting to be sent (not counting a batch being sent)."""
        return len(self._queue)

    def log(self, rows: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> None:
        """Queue one row (a mapping) or a list of them; never blocks on the network, never
        raises (what is not a mapping is dropped and counted).

        Rows are copied (shallowly): changing a dict after logging it does not change the row.
        """
        try:
            if isinstance(rows, Mapping):
                batch, bad = [dict(rows)], 0
            elif isinstance(rows, list | tuple):
                batch = [dict(r) for r in rows if isinstance(r, Mapping)]
                bad = len(rows) - len(batch)
            else:
                batch, bad = [], 1
            queue = self._queue
            room = 0 if self._closing else self.max_queue - len(queue)
            if room < len(batch):
                bad += len(batch) - max(room, 0)
                batch = batch[: max(room, 0)]
            if bad:
                self._drop(bad)
            if len(batch) == 1:
                queue.append(batch[0])
            elif batch:
                queue.extend(batch)
            if len(queue) >= self.flush_rows and not self._wake.is_set():
                self._wake.set()
        except Exception:  # never the caller's problem
            self._drop(1)

    def _drop(self, count: int) -> None:
        with self._drop_lock:
            self.dropped += count

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Send every queued row now; True once all were sent (or refused), False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            self._wake.set()
            while self._queue or self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._wake.set()
                self._idle.wait(timeout=0.05 if left is None else min(left, 0.05))
        return True

    def close(self, timeout: float | None = 30.0) -> bool:
        """Flush, stop taking rows, stop the thread. True when nothing was left unsent."""
        atexit.unregister(self._at_exit)
        done = self.flush(timeout)
        self._closing = True
        self._wake.set()
        self._thread.join(timeout=1.0)
        return done

    def _at_exit(self) -> None:
        if not self.close(self.exit_timeout):
            log.warning("dqm logger: %d rows left unsent at exit", self.pending)

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the background thread
    def _run(self) -> None:
        while not self._closing:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            while self._queue and not self._closing:
                with self._idle:
                    self._busy = True
                self._send_next()
            with self._idle:
                self._busy = False
                self._idle.notify_all()

    def _take(self) -> list[dict[str, Any]]:
        queue, rows = self._queue, []
        for _ in range(min(self.flush_rows, len(queue))):
            rows.append(queue.popleft())
        return rows

    def _send_next(self) -> None:
        rows = self._take()
        if not rows:
            return
        self._seq += 1
        batch_id = f"{self.logger_id}-{self._seq}"
        try:
            body = encoding.records_json(rows)
        except (TypeError, ValueError) as exc:
            log.error("dqm logger: batch %s cannot be encoded, dropped: %s", batch_id, exc)
            self.failed += len(rows)
            return
        self._deliver(batch_id, body, len(rows))

    def _deliver(self, batch_id: str, body: bytes, count: int) -> None:
        """Send one batch until the server accepts it (or refuses it for good)."""
        op = ops.push_batch(self.dataset, body, encoding.JSON, batch_id)
        backoff = Retry(backoff=0.1, max_backoff=self.max_backoff)
        attempt = 0
        while True:
            try:
                self.client.request(op.call, retry=NO_RETRY)
            except ApiError as exc:
                if exc.status not in TRANSIENT:
                    log.error(
                        "dqm logger: batch %s refused, %d rows dropped: %s", batch_id, count, exc
                    )
                    self.failed += count
                    return
                delay = backoff.delay(attempt, exc.retry_after)
            except ConnectionFailed:
                delay = backoff.delay(attempt, None)
            except Exception:  # a bug must not kill the thread and silently stop the logging
                log.exception("dqm logger: batch %s failed, retrying", batch_id)
                delay = backoff.delay(attempt, None)
            else:
                self.sent_rows += count
                self.sent_batches += 1
                return
            attempt = min(attempt + 1, 16)
            self.retries += 1
            if self._closing:
                self.failed += count
                return
            time.sleep(delay)
