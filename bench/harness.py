"""The benchmarks' shared harness: timings (wall and CPU), machine facts, JSON results.

The whole API::

    from bench.harness import Bench

    bench = Bench("coverage", peers=["scikit-learn"])   # one per script; peers: distributions
    t = bench.time(lambda: run(), repeats=5)            # Timing: median wall and CPU seconds
    bench.add("coverage run, 1M rows", t, target=1.2)   # a row: printed, kept for the JSON
    bench.add("ingest", value=4.1e6, unit="rows/s", target=1e6, at_least=True)
    bench.add("drift 100k x 25", t, peer=("Evidently", peer_t), target=150, target_of="ratio")
    bench.save()                                        # bench/results/coverage.json

CPU time is this process's (all its threads) plus its children's: the ones already waited for
(``os.times``) and the live ones, e.g. a ``dqm serve`` started by the bench and its worker
processes (read from ``/proc``, clock-tick resolution). ``Timing.threads`` and
``Timing.processes`` are the most OS threads of this process and the most processes of its tree
seen at the end of a repeat; ``cpu / wall`` is the parallelism actually used. A row may state
``threads=`` or ``processes=`` explicitly (a worker pool's size). Each results file holds the
machine (cores, load average and ``uptime`` before and after), versions (Python, numpy, pyarrow,
dqm's commit, the peers) and the rows; ``python -m bench.table`` renders them into README.md.
``DQM_BENCH_RESULTS`` overrides the results folder.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(os.environ.get("DQM_BENCH_RESULTS", Path(__file__).parent / "results"))
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Timing:
    """Median wall and CPU seconds of ``repeats`` calls, every sample, threads and processes."""

    wall: float
    cpu: float
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    threads: int = 1
    processes: int = 1

    @property
    def repeats(self) -> int:
        return len(self.walls)


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its waited children) from /proc, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / _TICK


def _children(pid: int) -> list[int] | None:
    """Direct children of ``pid`` from /proc/<pid>/task/*/children; None if unsupported."""
    tasks = Path(f"/proc/{pid}/task")
    try:
        files = [t / "children" for t in tasks.iterdir()]
        return [int(c) for f in files if f.exists() for c in f.read_text().split()]
    except OSError:
        return None if not tasks.exists() or not (tasks / str(pid) / "children").exists() else []


def descendants(pid: int | None = None) -> list[int]:
    """Live descendants of ``pid`` (default: this process), from /proc: the children lists
    of its threads (a fraction of a millisecond), else a scan of every process's parent."""
    root = pid or os.getpid()
    found: list[int] = []
    frontier = [root]
    while frontier:
        nxt: list[int] = []
        for p in frontier:
            children = _children(p)
            if children is None:
                return _scanned_descendants(root)
            nxt.extend(children)
        found.extend(nxt)
        frontier = nxt
    return found


def _scanned_descendants(root: int) -> list[int]:
    parent_of = dict[int, int]()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None:
            parent_of[int(entry.name)] = stat[0]
    found: list[int] = []
    frontier = {root}
    while frontier:
        frontier = {p for p, parent in parent_of.items() if parent in frontier}
        found.extend(frontier)
    return found


def cpu_seconds() -> float:
    """CPU seconds of this process, its waited children and its live descendants."""
    times = os.times()
    live = sum(s[1] for p in descendants() if (s := _proc_stat(p)) is not None)
    return time.process_time() + times.children_user + times.children_system + live


def os_threads() -> int:
    """OS threads of this process (Python, Arrow's and BLAS's pools alike)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return threading.active_count()


def time_calls(fn: Callable[[], Any], repeats: int = 3, warmup: int = 0) -> Timing:
    """Call ``fn`` ``warmup`` times untimed, then ``repeats`` times; medians of wall and CPU."""
    for _ in range(warmup):
        fn()
    walls, cpus, threads, processes = [], [], 1, 1
    for _ in range(repeats):
        cpu = cpu_seconds()
        wall = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(cpu_seconds() - cpu)
        threads, processes = max(threads, os_threads()), max(processes, 1 + len(descendants()))
    return Timing(
        statistics.median(walls), statistics.median(cpus), walls, cpus, threads, processes
    )


def _load() -> dict[str, Any]:
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    return {"loadavg": list(os.getloadavg()), "uptime": uptime.strip()}


def _versions(peers: Iterable[str]) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("numpy", "pyarrow", "scipy", *peers):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    git = ["git", "-C", str(Path(__file__).parent), "describe", "--always", "--dirty"]
    found["dqm"] = subprocess.run(git, capture_output=True, text=True, check=False).stdout.strip()
    return found


def _command() -> str:
    """How this bench was started: ``python -m bench.x ARGS`` when run as a module."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    head = ["-m", spec.name] if spec is not None else sys.argv[:1]
    return " ".join(["python", *head, *sys.argv[1:]])


def _blas_threads() -> int | None:
    try:
        from threadpoolctl import threadpool_info  # type: ignore[import-untyped]
    except ImportError:
        return None
    return max((int(p.get("num_threads", 1)) for p in threadpool_info()), default=None)


class Bench:
    """One benchmark script's results: rows added as measured, saved as one JSON file."""

    def __init__(self, name: str, peers: Sequence[str] = (), description: str = "") -> None:
        self.name, self.description, self.peers = name, description, list(peers)
        self.rows: list[dict[str, Any]] = []
        self.started = datetime.now(UTC)
        self.load_before = _load()
        print(f"[{name}] {os.cpu_count()} cores, {self.load_before['uptime']}", flush=True)

    @staticmethod
    def time(fn: Callable[[], Any], repeats: int = 3, warmup: int = 0) -> Timing:
        """``time_calls``: the median wall and CPU seconds of ``repeats`` calls."""
        return time_calls(fn, repeats, warmup)

    def add(
        self,
        name: str,
        timing: Timing | None = None,
        *,
        value: float | None = None,
        unit: str = "s",
        peer: tuple[str, Timing] | None = None,
        target: float | None = None,
        target_of: str | None = None,
        at_least: bool | None = None,
        threads: int | None = None,
        processes: int | None = None,
        note: str = "",
    ) -> dict[str, Any]:
        """Record (and print) a row: a timing, a value in ``unit``, or both; with a peer, the
        ratios peer/dqm of wall and CPU time. ``target_of`` is ``wall``, ``cpu``, ``value``,
        ``ratio`` (wall) or ``ratio_cpu`` (default: ``wall``, or ``value`` for a row without a
        timing); at most the target, or at least for ratios and
        ``at_least=True``. ``ok`` is None without a target."""
        row: dict[str, Any] = {"name": name, "unit": unit, "value": value, "note": note}
        if timing is not None:
            row |= {"wall_s": timing.wall, "cpu_s": timing.cpu, "repeats": timing.repeats}
            row |= {"walls": timing.walls, "cpus": timing.cpus}
            row |= {"threads": timing.threads, "processes": timing.processes}
        row |= {k: v for k, v in (("threads", threads), ("processes", processes)) if v}
        if peer is not None and timing is not None:
            row["peer"] = {"name": peer[0], "wall_s": peer[1].wall, "cpu_s": peer[1].cpu}
            row["ratio"] = peer[1].wall / timing.wall if timing.wall else None
            row["ratio_cpu"] = peer[1].cpu / timing.cpu if timing.cpu else None
        if target is not None:
            target_of = target_of or ("wall" if timing is not None else "value")
            measured = row.get({"wall": "wall_s", "cpu": "cpu_s"}.get(target_of, target_of))
            above = target_of.startswith("ratio") if at_least is None else at_least
            row |= {"target": target, "target_of": target_of, "at_least": above}
            if measured is not None:
                row["ok"] = measured >= target if above else measured <= target
        self.rows.append(row)
        print(f"[{self.name}] {format_row(row)}", flush=True)
        return row

    def save(self) -> Path:
        """Write ``<results>/<name>.json`` (machine, load, versions, rows); return its path."""
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}.json"
        document = {
            "bench": self.name,
            "description": self.description,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": _command(),
            "cores": os.cpu_count(),
            "affinity": len(os.sched_getaffinity(0)),
            "blas_threads": _blas_threads(),
            "load_before": self.load_before,
            "load_after": _load(),
            "versions": _versions(self.peers),
            "rows": self.rows,
        }
        path.write_text(json.dumps(document, indent=1) + "\n")
        print(f"[{self.name}] results: {path}", flush=True)
        return path


def format_row(row: dict[str, Any]) -> str:
    """One line: wall/CPU (median of n), value, peer and ratios, threads, target and verdict."""
    parts = [row["name"] + ":"]
    if "wall_s" in row:
        parts.append(f"wall {seconds(row['wall_s'])}, CPU {seconds(row['cpu_s'])}")
        parts.append(f"(median of {row['repeats']}, {row.get('threads', 1)} threads,")
        parts.append(f"{row.get('processes', 1)} processes)")
    if row.get("value") is not None:
        value = row["value"]
        parts.append(f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}")
        parts.extend([row["unit"]] if row["unit"] else [])
    if "peer" in row:
        peer = row["peer"]
        parts.append(f"{peer['name']} wall {seconds(peer['wall_s'])} CPU {seconds(peer['cpu_s'])}")
        parts.append(f"ratio {row['ratio']:.1f}x wall, {row['ratio_cpu']:.1f}x CPU")
    if "target" in row:
        sign = ">=" if row["at_least"] else "<="
        verdict = {True: "PASS", False: "FAIL", None: "?"}[row.get("ok")]
        parts.append(f"target {row['target_of']} {sign} {row['target']:g}: {verdict}")
    if row.get("note"):
        parts.append(f"({row['note']})")
    return " ".join(parts)


def seconds(s: float) -> str:
    """Seconds with a sensible unit: 12.3 ms, 1.23 s."""
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"
