"""The example receiver verifies signatures made by dqm and acts once per webhook-id."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from dqm.alerts.events import body_bytes, envelope
from dqm.alerts.signing import generate_secret, headers
from dqm.service.clock import utcnow
from examples import retrain_receiver


def test_receiver_verifies_dedupes_and_refuses_forgeries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = generate_secret(), generate_secret()
    inbox = retrain_receiver.Inbox(str(tmp_path / "inbox.sqlite"))
    server = retrain_receiver.serve(0, new, inbox, command=None)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    body = body_bytes(envelope("retrain.requested", utcnow(), {"dataset": "churn", "breaches": []}))
    signed = headers([new, old], "msg_1", int(time.time()), body)  # during a rotation
    try:
        assert httpx.post(url, content=body, headers=signed).status_code == 204
        assert httpx.post(url, content=body, headers=signed).status_code == 204  # a retry
        forged = headers([generate_secret()], "msg_2", int(time.time()), body)
        assert httpx.post(url, content=body, headers=forged).status_code == 401
        stale = headers([new], "msg_3", int(time.time()) - 600, body)
        assert httpx.post(url, content=body, headers=stale).status_code == 401
        tampered = body.replace(b"churn", b"chorn")
        assert httpx.post(url, content=tampered, headers=signed).status_code == 401
    finally:
        server.shutdown()
    rows = inbox.db.execute("SELECT id, type, body FROM seen").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("msg_1", "retrain.requested")]
    assert json.loads(rows[0][2])["data"]["dataset"] == "churn"
    assert capsys.readouterr().out.count("retrain requested for churn") == 1
