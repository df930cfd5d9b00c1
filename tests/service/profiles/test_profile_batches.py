"""Batches sent as profiles, and the profiles of row batches, against a real server."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa

from dqm.service.settings import Settings
from dqm_client.profiles import BatchProfile, codec, profile_arrow, profiled_types
from dqm_client.profiles.numeric import NumericProfile
from tests.service.data import SCHEMA, frame, records
from tests.support.server import running_server

PROFILE = {"content-type": "application/vnd.dqm.profile"}


def _profile(n: int, seed: int, shift: float = 0.0) -> bytes:
    return codec.encode(profile_arrow(pa.table(frame(n, seed, shift)), profiled_types(SCHEMA)))


def _dataset(client: httpx.Client) -> None:
    assert client.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
    ref = client.put("/v1/datasets/d/reference", json=records(frame(300, 1)))
    assert ref.status_code == 201, ref.text


def _files(root: Path, folder: str) -> list[Path]:
    return sorted(p for p in root.glob(f"datasets/*/{folder}/*") if not p.name.startswith("."))


def test_a_profile_batch_is_stored_idempotently_and_listed(settings: Settings) -> None:
    body = _profile(500, 2)
    with running_server(settings) as client:
        _dataset(client)
        first = client.post("/v1/datasets/d/profiles?batch_id=p1", content=body, headers=PROFILE)
        assert first.status_code == 201, first.text
        out = first.json()
        assert (out["batch_id"], out["rows"], out["bytes"], out["kind"]) == (
            "p1",
            500,
            len(body),
            "profile",
        )
        # the same bytes as octet-stream, by Idempotency-Key: a replay with the first answer
        again = client.post(
            "/v1/datasets/d/profiles",
            content=body,
            headers={"content-type": "application/octet-stream", "idempotency-key": "p1"},
        )
        assert again.status_code == 200 and again.json() == out
        other = client.post(
            "/v1/datasets/d/profiles?batch_id=p1", content=_profile(500, 3), headers=PROFILE
        )
        assert other.status_code == 409, other.text
        assert other.json()["error"]["code"] == "conflict"
        rows = client.post("/v1/datasets/d/batches?batch_id=r1", json=records(frame(50, 4)))
        assert rows.status_code == 201 and rows.json()["kind"] == "rows"
        listed = client.get("/v1/datasets/d/batches").json()["items"]
        assert [(b["batch_id"], b["kind"]) for b in listed] == [("r1", "rows"), ("p1", "profile")]
        view = client.get("/v1/datasets/d/batches/p1/profile")
        assert view.status_code == 200, view.text
        assert view.json() == codec.json_view(codec.decode(body))
        raw = client.get("/v1/datasets/d/batches/p1/profile?format=binary")
        assert raw.headers["content-type"] == "application/vnd.dqm.profile"
        assert raw.content == body
        missing = client.get("/v1/datasets/d/batches/nope/profile")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    root = Path(settings.data_dir)
    assert len(_files(root, "profiles")) == 2  # the profile batch and the row batch's profile
    assert len(_files(root, "batches")) == 1


def test_a_row_batch_gets_its_profile_at_ingest(settings: Settings) -> None:
    rows = frame(400, 5)
    with running_server(settings) as client:
        _dataset(client)
        assert client.post("/v1/datasets/d/batches?batch_id=b", json=records(rows)).is_success
        view = client.get("/v1/datasets/d/batches/b/profile").json()
    # the oracle: plain numpy / Python counts of the same rows
    age = np.asarray(rows["age"])
    assert view["rows"] == 400
    columns = view["columns"]
    assert set(columns) == {"age", "income", "city", "label"}  # every column but the id
    assert columns["age"]["count"] == 400
    assert abs(columns["age"]["mean"] - float(age.mean())) < 1e-9
    assert (columns["age"]["min"], columns["age"]["max"]) == (age.min(), age.max())
    counts = {c: rows["city"].count(c) for c in set(rows["city"])}
    assert columns["city"]["top"] == counts and columns["city"]["exact"]


def test_bad_profiles_are_refused_and_change_nothing(settings: Settings) -> None:
    wrong_column = BatchProfile(rows=3, columns={"height": NumericProfile.of(np.ones(3))})
    wrong_type = profile_arrow(pa.table({"city": [1.0, 2.0]}), {"city": "numerical"})
    limited = settings.model_copy(update={"max_body_bytes": 30_000})
    with running_server(limited) as client:
        _dataset(client)
        cases = {
            "wrong column": codec.encode(wrong_column),
            "wrong type": codec.encode(wrong_type),
            "garbage": b"\x00not a profile at all",
        }
        for case, body in cases.items():
            got = client.post("/v1/datasets/d/profiles?batch_id=x", content=body, headers=PROFILE)
            assert got.status_code == 422, (case, got.text)
            assert got.json()["error"]["code"] == "invalid_input", case
        assert client.post(
            "/v1/datasets/d/profiles", content=codec.encode(wrong_column), headers=PROFILE
        ).json()["error"]["details"] == [{"column": "height"}]
        assert client.post(
            "/v1/datasets/d/profiles", content=codec.encode(wrong_type), headers=PROFILE
        ).json()["error"]["details"] == [{"column": "city", "expected": "categorical"}]
        text = client.post(
            "/v1/datasets/d/profiles", content=b"a,b", headers={"content-type": "text/csv"}
        )
        assert text.status_code == 415, text.text
        big = client.post("/v1/datasets/d/profiles", content=_profile(50_000, 6), headers=PROFILE)
        assert big.status_code == 413, big.text
        assert client.get("/v1/datasets/d/batches").json()["items"] == []
    assert _files(Path(settings.data_dir), "profiles") == []
