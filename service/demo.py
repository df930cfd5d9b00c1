"""``dqm demo``: the 2-minute tour on a throwaway SQLite database and data folder.

It starts a real dqm server and a local webhook receiver on loopback, creates a dataset from
generated data, pushes a clean and a drifted batch, runs the drift monitor on each, and prints
the runs, the metrics, the alert and the verified webhooks.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn

from dqm.alerts.signing import WebhookVerificationError, verify
from dqm.service.example_data import SCHEMA, rows
from dqm.service.settings import Settings


class _Inbox:
    def __init__(self) -> None:
        self.secret = ""
        self.events: list[tuple[str, dict[str, Any], bool]] = []
        self.lock = threading.Lock()


def _start_receiver(inbox: _Inbox) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                verify(inbox.secret, headers, body, now=int(time.time()))
                ok = True
            except WebhookVerificationError:
                ok = False
            with inbox.lock:
                inbox.events.append((headers.get("webhook-id", ""), json.loads(body), ok))
            self.send_response(204 if ok else 401)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/dqm-events"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _say(text: str) -> None:
    print(text, flush=True)


def _show_run(run: dict[str, Any]) -> None:
    share = next(m for m in run["metrics"] if m["name"] == "share_drifted_columns")
    _say(
        f"  run {run['id']}: {run['status']}, window {run['window']['batch_ids']}, "
        f"share_drifted_columns = {share['value']:.2f}"
    )
    for m in run["metrics"]:
        if m["name"] == "drift_score":
            flag = "DRIFT" if m["drifted"] else "ok"
            _say(
                f"    {m['column']:<14} {m['method']:<14} score {m['value']:.4f} "
                f"(threshold {m['threshold']}) {flag}"
            )


def _monitor() -> dict[str, Any]:
    rule = {"metric": "share_drifted_columns", "op": ">=", "value": 0.3, "severity": "critical"}
    return {
        "name": "churn-drift",
        "dataset": "churn",
        "kind": "drift",
        "schedule": {"every": "1h"},
        "window": {"last_batches": 1},
        "rules": [rule],
        "actions": [{"on": "firing", "hook": "trainer", "event": "retrain.requested"}],
    }


def _scraped(client: httpx.Client, deadline: float) -> list[str]:
    """The monitor's lines of /metrics once they show the latest run (the scrape is cached
    for DQM_METRICS_REFRESH_SECONDS)."""
    wanted = ("dqm_monitor_metric", "dqm_alert_firing")
    while True:
        lines = [ln for ln in client.get("/metrics").text.splitlines() if ln.startswith(wanted)]
        if any(ln.startswith("dqm_alert_firing") for ln in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.25)


def _tour(client: httpx.Client, inbox: _Inbox, hook_url: str) -> None:
    _say("1. dataset 'churn' with a reference of 5,000 generated customers")
    client.post("/v1/datasets", json={"name": "churn", "schema": SCHEMA}).raise_for_status()
    client.put("/v1/datasets/churn/reference", json=rows(5000, 1, 0, "ref")).raise_for_status()
    _say(f"2. webhook 'trainer' pointing at a local receiver ({hook_url})")
    events = ["alert.firing", "alert.resolved", "retrain.requested"]
    hook = client.post("/v1/hooks", json={"name": "trainer", "url": hook_url, "events": events})
    hook.raise_for_status()
    inbox.secret = hook.json()["secret"]
    client.post("/v1/monitors", json=_monitor()).raise_for_status()
    _say(
        "3. monitor 'churn-drift': drift on the last batch, alert when "
        "share_drifted_columns >= 0.3, then ask 'trainer' to retrain"
    )
    steps = ((4, "monday", 0.0, "clean"), (5, "tuesday", 1.0, "drifted"))
    for step, key, shift, label in steps:
        client.post(
            f"/v1/datasets/churn/batches?batch_id={key}",
            json=rows(1000, 7 if shift == 0 else 8, shift, key),
        ).raise_for_status()
        _say(f"{step}. pushed the {label} batch '{key}' and ran the monitor:")
        _show_run(client.post("/v1/monitors/churn-drift/run?wait=true").json())
    for alert in client.get("/v1/alerts?state=firing").json()["items"]:
        _say(f"6. alert FIRING: {alert['rule']} ({alert['severity']}), value {alert['value']:.2f}")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(inbox.events) < 2:
        time.sleep(0.1)
    _say(f"7. webhooks received: {len(inbox.events)}")
    for webhook_id, event, ok in inbox.events:
        _say(f"    {event['type']:<18} {webhook_id}  signature {'verified' if ok else 'INVALID'}")
    lines = _scraped(client, time.monotonic() + 15)
    _say("8. /metrics (the monitor's series):\n    " + "\n    ".join(lines))


def run_demo(keep: bool = False) -> None:
    # the tour's own lines, not the migrations' and the worker's start-up logs
    for name in ("alembic", "dqm.service.runs.worker", "dqm.service.settings"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # imported here, after the levels are set (alembic logs when it loads its plugins)
    from dqm.service.app import create_app
    from dqm.service.db.migrate import upgrade_url

    folder = tempfile.mkdtemp(prefix="dqm-demo-")
    port = _free_port()
    settings = Settings(
        database_url=f"sqlite:///{folder}/dqm.db",
        data_dir=f"{folder}/data",
        port=port,
        webhook_allowlist="127.0.0.1/32",
        relay_poll_seconds=0.2,
        metrics_refresh_seconds=0.5,
    )
    upgrade_url(settings.database_url)
    inbox = _Inbox()
    receiver, hook_url = _start_receiver(inbox)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    _say(f"dqm demo: server on http://127.0.0.1:{port} (SQLite + files in {folder})")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            _tour(client, inbox, hook_url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        receiver.shutdown()
        if keep:
            _say(f"data kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
