"""A CPU budget for a process tree, as a node of its own would give: a cgroup with a CPU quota
(and a high weight, so that other processes of a loaded machine cannot take it away).

cgroup v1 (the ``cpu`` controller at /sys/fs/cgroup/cpu: ``cpu.cfs_quota_us`` over
``cpu.cfs_period_us``, plus a group of the same name under ``cpuacct`` when it is mounted
apart, for the group's own CPU count) or cgroup v2 (/sys/fs/cgroup with ``cpu`` in
``cgroup.controllers``: ``cpu.max``). A process enters its group before its first instruction:
``CpuGroup.command`` wraps the command in a shell that writes its own pid into the group and
then ``exec``s it (same pid), so every child forked afterwards inherits the group and none
escapes; a failed write stops the shell before the ``exec``.

    with cpu_group("dqm-bench-1", 0.5) as group:   # CgroupUnavailable when not writable
        proc = subprocess.Popen(group.command(["dqm", "serve"]))
        ...
        group.escaped(tree_pids)    # pids of the tree that are not in the group (from /proc)
        group.usage()               # CPU seconds of the group, exited processes included
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

V1_CPU = Path("/sys/fs/cgroup/cpu")
V1_CPUACCT = Path("/sys/fs/cgroup/cpuacct")
V2_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000
# The quota caps a group; a high weight makes it a guarantee on a shared machine too, as a
# node's own cores would be: a group with the default weight competes like ONE process with
# every other runnable process, so under load it would get less than its quota.
V1_SHARES = 16 * 1024  # default 1024
V2_WEIGHT = 10_000  # the maximum; default 100
# Enter every group named after "--", then exec the rest: the shell's pid is the command's.
_ENTER = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 111; shift; done; shift; exec "$@"'


class CgroupUnavailable(RuntimeError):
    """No writable cgroup CPU controller here (the reason is the message)."""


@dataclass(frozen=True)
class CpuGroup:
    version: int  # 1 or 2
    cpu: Path  # the group of the cpu controller (v1) or the unified group (v2)
    cpuacct: Path | None  # v1 only, when cpuacct is mounted apart from cpu
    cpus: float

    @property
    def name(self) -> str:
        return self.cpu.name

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` started inside the group from its first instruction."""
        groups = [str(g / "cgroup.procs") for g in (self.cpu, self.cpuacct) if g is not None]
        return ["/bin/sh", "-c", _ENTER, "sh", *groups, "--", *argv]

    def pids(self) -> list[int]:
        """The processes in the group now."""
        return [int(p) for p in (self.cpu / "cgroup.procs").read_text().split()]

    def escaped(self, pids: Sequence[int]) -> list[int]:
        """Those of ``pids`` (still alive) whose cpu cgroup is not this group, from /proc."""
        root = V1_CPU if self.version == 1 else V2_ROOT
        mine = "/" + "/".join(self.cpu.relative_to(root).parts)
        out = []
        for pid in pids:
            try:
                text = Path(f"/proc/{pid}/cgroup").read_text()
            except OSError:
                continue  # exited meanwhile
            if cpu_cgroup_of(text, self.version) != mine:
                out.append(pid)
        return out

    def usage(self) -> float | None:
        """CPU seconds used by the group's processes since it was made (None if not counted)."""
        if self.version == 2:
            return _stat(self.cpu / "cpu.stat").get("usage_usec", 0) / 1e6
        if self.cpuacct is not None:
            return int((self.cpuacct / "cpuacct.usage").read_text()) / 1e9
        return None

    def throttled(self) -> tuple[int, float]:
        """(periods in which the quota stopped the group, seconds it was held back)."""
        stat = _stat(self.cpu / "cpu.stat")
        if self.version == 2:
            return stat.get("nr_throttled", 0), stat.get("throttled_usec", 0) / 1e6
        return stat.get("nr_throttled", 0), stat.get("throttled_time", 0) / 1e9


def cpu_cgroup_of(proc_cgroup: str, version: int) -> str | None:
    """The cgroup path of the cpu controller (v1) or of the unified hierarchy (v2) in the text
    of /proc/<pid>/cgroup (lines ``id:controllers:path``)."""
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        if (version == 1 and "cpu" in controllers.split(",")) or (version == 2 and not controllers):
            return path
    return None


def _stat(path: Path) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in path.read_text().splitlines())}


def _make_v1(name: str, cpus: float) -> CpuGroup:
    cpu = V1_CPU / name
    cpu.mkdir()
    group = CpuGroup(1, cpu, None, cpus)
    try:
        (cpu / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (cpu / "cpu.cfs_quota_us").write_text(str(round(cpus * PERIOD_US)))
        (cpu / "cpu.shares").write_text(str(V1_SHARES))
        if (V1_CPUACCT / "cpuacct.usage").exists() and not (V1_CPU / "cpuacct.usage").exists():
            (V1_CPUACCT / name).mkdir()
            group = CpuGroup(1, cpu, V1_CPUACCT / name, cpus)
    except OSError:
        _remove(group)
        raise
    return group


def _make_v2(name: str, cpus: float) -> CpuGroup:
    control = V2_ROOT / "cgroup.subtree_control"
    if "cpu" not in control.read_text().split():
        control.write_text("+cpu")
    cpu = V2_ROOT / name
    cpu.mkdir()
    group = CpuGroup(2, cpu, None, cpus)
    try:
        (cpu / "cpu.max").write_text(f"{round(cpus * PERIOD_US)} {PERIOD_US}")
        (cpu / "cpu.weight").write_text(str(V2_WEIGHT))
    except OSError:
        _remove(group)
        raise
    return group


def make(name: str, cpus: float) -> CpuGroup:
    """A new group limited to ``cpus`` cores; CgroupUnavailable (with the reason) if none."""
    if cpus <= 0:
        raise ValueError(f"a CPU budget must be positive, not {cpus}")
    try:
        if (V1_CPU / "cpu.cfs_quota_us").exists():
            return _make_v1(name, cpus)
        controllers = V2_ROOT / "cgroup.controllers"
        if controllers.exists() and "cpu" in controllers.read_text().split():
            return _make_v2(name, cpus)
    except OSError as exc:
        raise CgroupUnavailable(f"cgroup CPU controller not writable: {exc}") from exc
    raise CgroupUnavailable("no cgroup CPU controller (neither v1 cpu nor v2 cpu.max)")


def _remove(group: CpuGroup, timeout: float = 30.0) -> None:
    """Wait for the group's processes to exit (SIGKILL the ones left after ``timeout``: only
    processes this bench started can be in it), then remove its directories."""
    deadline = time.monotonic() + timeout
    killed = False
    while pids := group.pids():
        if time.monotonic() > deadline:
            if killed:
                raise RuntimeError(f"cgroup {group.cpu}: processes {pids} did not exit")
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            killed, deadline = True, time.monotonic() + 10
        time.sleep(0.1)
    for path in (group.cpuacct, group.cpu):
        if path is not None and path.exists():
            path.rmdir()


@contextmanager
def cpu_group(name: str, cpus: float) -> Iterator[CpuGroup]:
    """``make``'s group, removed at the end (also on error) once its processes are gone."""
    group = make(name, cpus)
    try:
        yield group
    finally:
        _remove(group)
