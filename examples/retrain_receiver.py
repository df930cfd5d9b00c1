"""A retraining job's webhook receiver for dqm: verify, dedupe, act.

Run it next to your training pipeline::

    DQM_WEBHOOK_SECRET=whsec_... python examples/retrain_receiver.py --port 9000 \\
        --on-retrain "python train.py --dataset {dataset} --batches {batch_ids}"

It checks the Standard Webhooks signature (any of the space-separated ``v1,`` signatures, so
secret rotation needs no coordination), refuses timestamps more than 5 minutes away, records
each ``webhook-id`` in a SQLite file so a retried delivery is acknowledged but acted on only
once, and answers 2xx only after the event is safely recorded. It depends on the standard
library alone, so it can be copied into any job.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import shlex
import sqlite3
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 300


def verify(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """True when one ``v1`` signature matches and the timestamp is fresh."""
    msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (msg_id and stamp.isascii() and stamp.isdigit() and signatures):
        return False
    if abs(now - int(stamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{stamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(expected, sig)
        for version, _, sig in (s.partition(",") for s in signatures.split())
    )


class Inbox:
    """Seen webhook-ids, durable across restarts of the receiver."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, type TEXT, body TEXT)"
        )
        self.lock = threading.Lock()

    def first_time(self, msg_id: str, event: dict[str, Any]) -> bool:
        with self.lock, self.db:
            cur = self.db.execute(
                "INSERT OR IGNORE INTO seen VALUES (?, ?, ?)",
                (msg_id, event.get("type"), json.dumps(event)),
            )
            return cur.rowcount == 1


def handle(event: dict[str, Any], command: str | None) -> None:
    data = event.get("data", {})
    if event.get("type") == "retrain.requested":
        print(f"retrain requested for {data.get('dataset')}: {data.get('breaches')}", flush=True)
        if command:
            batch_ids = ",".join(data.get("window", {}).get("batch_ids", []))
            args = shlex.split(command.format(dataset=data.get("dataset"), batch_ids=batch_ids))
            subprocess.Popen(args)  # noqa: S603 (the operator's own command)
    else:
        print(f"{event.get('type')}: {json.dumps(data)[:200]}", flush=True)


def serve(port: int, secret: str, inbox: Inbox, command: str | None) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if not verify(secret, headers, body, time.time()):
                self.send_response(401)
            else:
                event = json.loads(body)
                if inbox.first_time(headers["webhook-id"], event):
                    handle(event, command)
                self.send_response(204)  # a duplicate is acknowledged too: stop the retries
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--inbox", default="dqm-inbox.sqlite")
    parser.add_argument("--on-retrain", help="command to start; {dataset} {batch_ids} filled in")
    args = parser.parse_args()
    secret = os.environ["DQM_WEBHOOK_SECRET"]
    server = serve(args.port, secret, Inbox(args.inbox), args.on_retrain)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
