"""``dqm example-data`` writes the walk-through's files, with a drift a monitor must see;
``dqm demo`` prints its steps once each, in order, without log noise."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from scipy import stats

from dqm.service.cli import main


def test_example_data_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["example-data", str(tmp_path / "ex")])
    assert capsys.readouterr().out.count("wrote ") == 3
    reference = pcsv.read_csv(tmp_path / "ex" / "reference.csv")
    batch = pq.read_table(tmp_path / "ex" / "batch.parquet")
    labels = pcsv.read_csv(tmp_path / "ex" / "labels.csv")
    assert reference.num_rows == 5000 and batch.num_rows == 1000
    assert reference.column_names == ["id", "age", "income", "tenure_months", "plan", "churned"]
    assert "churned" not in batch.column_names  # labels arrive later
    assert labels.column("id").to_pylist() == batch.column("id").to_pylist()
    # a real drift: age and income moved (two-sample KS), tenure did not
    for column, moved in (("age", True), ("income", True), ("tenure_months", False)):
        ref, cur = (np.asarray(t.column(column)) for t in (reference, batch))
        assert bool(stats.ks_2samp(ref, cur).pvalue < 1e-6) is moved, column
    again = tmp_path / "again"
    main(["example-data", str(again)])
    assert (again / "batch.parquet").read_bytes() == (
        tmp_path / "ex" / "batch.parquet"
    ).read_bytes()


@pytest.mark.slow
def test_demo_output_is_numbered_once_and_quiet() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DQM_")}
    dqm = Path(sys.executable).parent / "dqm"
    done = subprocess.run([str(dqm), "demo"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    steps = [int(m.group(1)) for ln in lines if (m := re.match(r"(\d+)\. ", ln))]
    assert steps == list(range(1, 9)), lines
    assert not [ln for ln in lines if re.search(r"\b(INFO|WARNING|ERROR|Traceback)\b", ln)]
    assert sum("signature verified" in ln for ln in lines) == 2
    assert any(re.search(r"share_drifted_columns = 0\.[3-9]", ln) for ln in lines)
    assert any(ln.strip().startswith("dqm_alert_firing{") for ln in lines)
