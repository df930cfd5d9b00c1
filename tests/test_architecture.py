"""The layering and packaging rules, read from the source (AST) rather than from imported modules.

Layers: ``dqm.service → dqm.alerts → dqm.monitors``; inside the service only ``service/api``
knows HTTP; every import spells ``dqm.…``; the installed distribution holds only ``dqm`` and
``dqm_client``, the light client, which imports nothing of dqm.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"service": "dqm.service", "monitors": "dqm.monitors", "alerts": "dqm.alerts"}
# The light client: its own distribution (client/pyproject.toml), shipped inside dqm as well.
CLIENT_FOLDER, CLIENT = "client/dqm_client", "dqm_client"
# What the client may import besides the standard library: httpx, and pandas and pyarrow (the
# optional extras), which it imports only when given a DataFrame or an Arrow table.
CLIENT_ALLOWED = {"dqm_client", "httpx", "pandas", "pyarrow"}
# Its optional subpackages, each behind an extra of dqm-client, and what they may import more.
CLIENT_EXTRAS = {
    "dqm_client.profiles": {"numpy", "datasketches", "pyarrow"},
    "dqm_client.spark": {"numpy", "datasketches", "pyarrow", "pyspark"},
}
# Folders holding Python files that are not packages (no __init__.py) but ship all the same.
NAMESPACE_PACKAGES = {"dqm.service.db.migrations", "dqm.service.db.migrations.versions"}
# The module whose one job is assembling the HTTP application from the routers: it must import
# dqm.service.api, and nothing else in the service may.
COMPOSITION_ROOT = "dqm.service.app"
CHECKED_ELSEWHERE = ("tests", "bench", "examples")


@dataclass(frozen=True)
class Import:
    """One import statement's target, as a dotted name, and where it is written."""

    source: str  # importing module, e.g. dqm.service.runs.runner
    target: str  # imported module or package (or, for `from X import name`, X.name)
    path: Path
    line: int

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def module_name(path: Path) -> str:
    """``service/runs/runner.py`` → ``dqm.service.runs.runner``; ``__init__.py`` is its package."""
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[:2] == CLIENT_FOLDER.split("/"):
        parts = parts[1:]
    elif parts[0] in FOLDERS:
        parts[0] = FOLDERS[parts[0]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path


def imports_of(path: Path, source: str | None = None) -> Iterator[Import]:
    """Every import in the file, wherever it is written (module level, functions, TYPE_CHECKING).

    ``from X import a`` yields ``X.a`` (a submodule or a name inside X; ``resolve`` decides);
    relative imports are made absolute.
    """
    source = source or module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(source, alias.name, path, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(source, is_package, node.module, node.level)
            for alias in node.names:
                target = base if alias.name == "*" else f"{base}.{alias.name}"
                yield Import(source, target, path, node.lineno)


def _absolute(source: str, is_package: bool, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    package = source.split(".") if is_package else source.split(".")[:-1]
    anchor = package[: len(package) - (level - 1)]
    return ".".join([*anchor, *([module] if module else [])])


def resolve(target: str, modules: set[str]) -> str | None:
    """The dqm module an import loads: the longest known module prefix of ``target``."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def source_modules() -> dict[str, Path]:
    return {module_name(p): p for p in python_files(*FOLDERS, CLIENT_FOLDER)}


def import_graph() -> dict[str, dict[str, Import]]:
    """Module → {imported module: first import of it}. A module's parent packages, which Python
    loads implicitly, are not edges; only what an import statement names is."""
    modules = source_modules()
    graph: dict[str, dict[str, Import]] = {name: {} for name in modules}
    for name, path in modules.items():
        for imp in imports_of(path):
            target = resolve(imp.target, set(modules))
            if target is not None and target != name:
                graph[name].setdefault(target, imp)
    return graph


def strongly_connected(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Tarjan's algorithm: the strongly connected components of ``graph``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_imports_are_found_in_functions_and_under_type_checking(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from .params import DriftParams\n"
        "def late() -> None:\n"
        "    import dqm.alerts.rules as rules\n"
        "    from ..stats import ks\n"
    )
    found = sorted(i.target for i in imports_of(probe, "dqm.monitors.drift.probe"))
    assert found == [
        "dqm.alerts.rules",
        "dqm.monitors.drift.params.DriftParams",
        "dqm.monitors.stats.ks",
        "typing.TYPE_CHECKING",
    ]
    modules = set(source_modules())
    assert resolve("dqm.monitors.drift.params.DriftParams", modules) == "dqm.monitors.drift.params"
    assert "dqm.service.demo" in import_graph()["dqm.service.cli.server"]  # inside a command


def test_tarjan_finds_a_cycle_and_ignores_a_chain() -> None:
    imp = Import("x", "y", ROOT, 1)
    chain = {"a": {"b": imp}, "b": {"c": imp}, "c": {}}
    assert sorted(map(len, strongly_connected(chain))) == [1, 1, 1]
    cycle = {"a": {"b": imp}, "b": {"c": imp}, "c": {"a": imp}, "d": {"a": imp}}
    assert sorted(strongly_connected(cycle), key=len)[-1] == ["a", "b", "c"]


def test_no_import_cycles_among_dqm_modules() -> None:
    graph = import_graph()
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    described = [
        "\n".join(
            f"  {a} → {b} ({graph[a][b].where()})" for a in cycle for b in graph[a] if b in cycle
        )
        for cycle in cycles
    ]
    assert not cycles, "import cycles:\n" + "\n\n".join(described)


def _violations(folders: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    modules = set(source_modules())
    found = []
    for path in python_files(*folders):
        for imp in imports_of(path):
            target = resolve(imp.target, modules) or imp.target
            if any(target == f or target.startswith(f + ".") for f in forbidden):
                found.append(f"{imp.where()}: {imp.source} imports {target}")
    return found


def test_only_service_api_imports_the_http_layer() -> None:
    outside_api = [
        p
        for p in python_files("service")
        if "api" not in p.relative_to(ROOT / "service").parts[:1]
        and module_name(p) != COMPOSITION_ROOT
    ]
    modules = set(source_modules())
    found = [
        f"{imp.where()}: {imp.source} imports {resolve(imp.target, modules)}"
        for path in outside_api
        for imp in imports_of(path)
        if (resolve(imp.target, modules) or "").startswith("dqm.service.api")
    ]
    assert not found, "HTTP layer imported outside service/api:\n" + "\n".join(found)


def test_monitors_and_alerts_never_import_the_service() -> None:
    found = _violations(("monitors", "alerts"), ("dqm.service",))
    found += _violations(("monitors",), ("dqm.alerts",))
    assert not found, "layering broken (service → alerts → monitors):\n" + "\n".join(found)


def _client_allows(source: str, target: str) -> bool:
    """Whether the client module ``source`` may import ``target``."""
    top = target.split(".")[0]
    if top in sys.stdlib_module_names:
        return True
    extra = next((e for e in CLIENT_EXTRAS if source == e or source.startswith(e + ".")), None)
    if extra is None:  # the core never reaches into an extra, whose imports it cannot assume
        return top in CLIENT_ALLOWED and not any(
            target == e or target.startswith(e + ".") for e in CLIENT_EXTRAS
        )
    return top in CLIENT_ALLOWED or top in CLIENT_EXTRAS[extra]


def test_the_client_imports_only_httpx_and_its_optional_extras() -> None:
    found = [
        f"{imp.where()}: {imp.source} imports {imp.target}"
        for path in python_files(CLIENT_FOLDER)
        for imp in imports_of(path)
        if not _client_allows(imp.source, imp.target)
    ]
    assert not found, "dqm_client must stay light (no dqm.*, numpy, ...):\n" + "\n".join(found)


def test_the_client_imports_without_the_server_stack(tmp_path: Path) -> None:
    """With dqm, numpy, pandas, pyarrow, FastAPI and pydantic made unimportable, the client
    still imports, builds a client and encodes records."""
    blocked = ["dqm", "numpy", "pandas", "pyarrow", "fastapi", "pydantic", "sqlalchemy"]
    check = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "import dqm_client, dqm_client.encoding as e\n"
        "dqm_client.Client('http://127.0.0.1:9').close()\n"
        "assert e.encode([{'a': 1}])[1] == 'application/json'\n"
    )
    done = _run_outside(tmp_path, sys.executable, "-c", check)
    assert done.returncode == 0, done.stderr


def test_the_client_distribution_holds_only_dqm_client(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    shutil.copytree(
        ROOT / "client", tmp_path / "client", ignore=shutil.ignore_patterns("__pycache__")
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["-w", str(wheels), str(tmp_path / "client")],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = wheels.glob("dqm_client-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = [
            line.split(":", 1)[1].strip()
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    assert {n.split("/")[0] for n in names} == {"dqm_client", metadata.split("/")[0]}
    assert "dqm_client/py.typed" in names
    assert "dqm_client/profiles/codec.py" in names  # the extras' modules ship, unimported
    assert [r for r in requires if "extra ==" not in r] == ["httpx>=0.27"]


def test_nothing_imports_the_folders_by_their_bare_names() -> None:
    found = [
        f"{imp.where()}: import {imp.target}"
        for path in python_files(*FOLDERS, *CHECKED_ELSEWHERE)
        for imp in imports_of(path)
        if imp.target.split(".")[0] in FOLDERS
    ]
    assert not found, "import these as dqm.…:\n" + "\n".join(found)


def package_folders() -> set[str]:
    """Every folder with an ``__init__.py``, as its installed package name."""
    folders = (*FOLDERS, CLIENT_FOLDER)
    return {module_name(p) for p in python_files(*folders) if p.name == "__init__.py"}


def test_pyproject_packages_name_exactly_the_package_folders() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    listed = setuptools["packages"]
    assert len(listed) == len(set(listed)), "a package is listed twice"
    expected = package_folders() | NAMESPACE_PACKAGES
    assert set(listed) == expected, (
        f"missing: {sorted(expected - set(listed))}, extra: {sorted(set(listed) - expected)}"
    )
    assert setuptools["package-dir"] == {v: k for k, v in FOLDERS.items()} | {CLIENT: CLIENT_FOLDER}


def _project_copy(destination: Path) -> Path:
    """The files a build reads, copied so that the build's own folders stay out of the tree
    other processes are working in."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in (*FOLDERS, CLIENT_FOLDER):
        shutil.copytree(ROOT / folder, destination / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, destination / name)
    return destination


def test_the_wheel_holds_only_dqm_and_its_client(tmp_path: Path) -> None:
    project = _project_copy(tmp_path / "project")
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["-w", str(wheels), "."],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = wheels.glob("dqm-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    tops = {name.split("/")[0] for name in names}
    dist_info = f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"
    assert tops == {"dqm", CLIENT, dist_info}
    assert not any(name.startswith("dqm/__init__") for name in names)  # a namespace package
    for package in package_folders() | NAMESPACE_PACKAGES:
        folder = package.replace(".", "/")
        assert any(n.startswith(folder + "/") and n.endswith(".py") for n in names), package
    for data in (
        "dqm/service/py.typed",
        "dqm/service/db/migrations/script.py.mako",
        "dqm_client/py.typed",
    ):
        assert data in names


def _run_outside(tmp_path: Path, *command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` from a folder outside the repository, so that only what is installed
    (not the working directory) can be imported."""
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | env
    return subprocess.run(command, cwd=tmp_path, env=environ, capture_output=True, text=True)


def test_installed_names_are_dqm_only(tmp_path: Path) -> None:
    python = sys.executable
    bare = _run_outside(tmp_path, python, "-c", "import service")
    assert bare.returncode != 0 and "ModuleNotFoundError" in bare.stderr, bare.stderr
    check = (
        "import importlib.util as u\n"
        "assert u.find_spec('monitors') is None and u.find_spec('alerts') is None\n"
        "import dqm.service.app\n"
    )
    app = _run_outside(tmp_path, python, "-c", check)
    assert app.returncode == 0, app.stderr
    script = Path(python).parent / "dqm"
    helped = _run_outside(tmp_path, str(script), "--help")
    assert helped.returncode == 0, helped.stderr
    assert "serve" in helped.stdout and "migrate" in helped.stdout


def test_migrations_run_from_outside_the_repository(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dqm.db'}"
    script = Path(sys.executable).parent / "dqm"
    migrated = _run_outside(tmp_path, str(script), "migrate", DQM_DATABASE_URL=url)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
