"""The benchmark harness writes results that bench.table renders into README's markers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import bench.harness as harness
import bench.table as table

README = """# x

```bash
make serve
```

## Performance

<!-- bench:start -->
<!-- bench:end -->

## Development
"""


def test_timing_counts_the_cpu_of_a_child_process() -> None:
    reported: list[float] = []

    def child() -> None:
        code = "import time; sum(range(3 * 10**7)); print(time.process_time())"
        done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        reported.append(float(done.stdout))

    timing = harness.time_calls(child, repeats=1)
    # The child's own CPU is in the bench's (the kernel counts a waited child in clock ticks).
    assert timing.cpu >= reported[0] - 3 / os.sysconf("SC_CLK_TCK") > 0.05
    burn = harness.time_calls(lambda: sum(range(10**7)), repeats=3)
    assert burn.repeats == 3 and burn.cpu > 0 and burn.threads >= 1


def test_rows_render_between_the_markers_and_other_benches_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness, "RESULTS", tmp_path / "results")
    readme = tmp_path / "README.md"
    readme.write_text(README)
    fast = harness.Timing(0.5, 0.9, [0.5], [0.9], threads=2, processes=1)
    slow = harness.Timing(2.0, 2.0, [2.0], [2.0])
    first = harness.Bench("alpha", peers=["numpy"])
    assert first.add("run", fast, target=1.2)["ok"] is True
    first.add("vs peer", fast, peer=("Peer", slow), target=3.0, target_of="ratio")
    first.add("rate", value=2e6, unit="rows/s", target=1e6, at_least=True)
    first.save()
    monkeypatch.setattr(
        sys, "argv", ["table", "--results", str(tmp_path / "results"), "--readme", str(readme)]
    )
    table.main()
    text = readme.read_text()
    assert text.startswith("# x\n\n```bash\nmake serve")
    assert "| `alpha` | run | 500.0 ms | 900.0 ms | 2 / 1 |  |  | ≤ 1.2 s | ✅ |" in text
    assert "Peer: 2.00 s, 2.00 s CPU | 4.0×, 2.2× | ≥ 3× | ✅ |" in text
    assert "| `alpha` | rate = 2,000,000 rows/s |" in text and "≥ 1,000,000 rows/s | ✅" in text
    assert "- `alpha`: " in text and "numpy " in text
    # A second bench run alone keeps alpha's rows; alpha's results may be gone by then.
    (tmp_path / "results" / "alpha.json").unlink()
    second = harness.Bench("beta")
    second.add("slow", slow, target=1.0)
    second.save()
    table.main()
    again = readme.read_text()
    assert "| `alpha` | run |" in again and "- `alpha`: " in again
    assert "| `beta` | slow | 2.00 s | 2.00 s | 1 / 1 |  |  | ≤ 1 s | ❌ |" in again
    assert (
        again.index("`alpha` | run") < again.index("`beta` | slow") < again.index("## Development")
    )
    saved = json.loads((tmp_path / "results" / "beta.json").read_text())
    assert (
        saved["cores"] >= 1 and saved["load_before"]["uptime"] and saved["rows"][0]["ok"] is False
    )
    assert time.strptime(saved["started"][:19], "%Y-%m-%dT%H:%M:%S")
