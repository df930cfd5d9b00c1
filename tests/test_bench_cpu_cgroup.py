"""bench.cpu_cgroup's wrapper enters the group with the command's own pid before running it,
and reads a process's group from /proc; checked on stand-in group folders (no cgroup needed)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bench import cpu_cgroup
from bench.cpu_cgroup import CpuGroup


def test_the_command_runs_with_the_pid_written_into_every_group(tmp_path: Path) -> None:
    cpu, cpuacct = tmp_path / "cpu", tmp_path / "cpuacct"
    for folder in (cpu, cpuacct):
        folder.mkdir()
        (folder / "cgroup.procs").write_text("")
    group = CpuGroup(1, cpu, cpuacct, 0.5)
    done = subprocess.run(
        group.command(["sh", "-c", "echo $$"]), capture_output=True, text=True, check=True
    )
    pid = done.stdout.strip()  # the shell that ran the command: exec kept the wrapper's pid
    assert (cpu / "cgroup.procs").read_text().strip() == pid
    assert (cpuacct / "cgroup.procs").read_text().strip() == pid


def test_the_command_does_not_run_when_the_group_cannot_be_entered(tmp_path: Path) -> None:
    group = CpuGroup(1, tmp_path / "missing", None, 0.5)
    marker = tmp_path / "ran"
    done = subprocess.run(group.command(["touch", str(marker)]), capture_output=True)
    assert done.returncode == 111 and not marker.exists()


HYBRID = "9:name=systemd:/\n2:cpuacct:/\n1:cpu,cpuacct:/bench-1\n0::/user.slice\n"
UNIFIED = "0::/bench-2\n"


def test_the_group_of_a_process_is_read_from_proc_cgroup() -> None:
    assert cpu_cgroup.cpu_cgroup_of(HYBRID, 1) == "/bench-1"
    assert cpu_cgroup.cpu_cgroup_of(HYBRID, 2) == "/user.slice"
    assert cpu_cgroup.cpu_cgroup_of(UNIFIED, 2) == "/bench-2"
    assert cpu_cgroup.cpu_cgroup_of(UNIFIED, 1) is None


def test_a_live_process_outside_the_group_is_reported_and_an_exited_one_is_not() -> None:
    me = Path("/proc/self/cgroup").read_text()
    version = 1 if cpu_cgroup.cpu_cgroup_of(me, 1) is not None else 2
    current = cpu_cgroup.cpu_cgroup_of(me, version)
    assert current is not None
    root = cpu_cgroup.V1_CPU if version == 1 else cpu_cgroup.V2_ROOT
    here = CpuGroup(version, root / current.lstrip("/"), None, 0.5)
    elsewhere = CpuGroup(version, root / "dqm-bench-no-such-group", None, 0.5)
    exited = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    gone = int(exited.stdout)
    assert here.escaped([os.getpid()]) == []
    assert elsewhere.escaped([os.getpid(), gone]) == [os.getpid()]
