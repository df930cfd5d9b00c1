"""Reading ``dqm apply`` files: YAML with ``datasets``, ``hooks`` and ``monitors`` lists whose
entries are the API's request bodies, checked locally with the server's own models.

Every problem is reported at once, as ``file:line: path: message``; nothing is sent to the
server while any remains. See docs/apply.md for the format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dqm.monitors.errors import DqmError
from dqm.monitors.kinds import parse_params
from dqm.monitors.schema import Schema
from dqm.service.alerting.actions import EventType
from dqm.service.db.models import Dataset
from dqm.service.names import NAME_PATTERN
from dqm.service.runs.definition import MonitorSpec
from dqm.service.runs.metric_checks import check_rules

SECTIONS = ("datasets", "hooks", "monitors")
Path_ = tuple[str | int, ...]


class DatasetDecl(BaseModel):
    """A dataset: ``POST /v1/datasets``'s body."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(pattern=NAME_PATTERN)
    schema_: Schema | None = Field(default=None, alias="schema")


class HookDecl(BaseModel):
    """A hook: ``POST /v1/hooks``'s body with ``secret_env`` (the environment variable holding
    its ``whsec_`` secret) instead of the secret."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME_PATTERN)
    url: str = Field(max_length=2000)
    events: list[EventType] = Field(min_length=1)
    secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Entry:
    """One declared resource: its normalised body and where it was written."""

    name: str
    body: dict[str, Any]
    tree: _Tree = field(repr=False)
    path: Path_

    @property
    def where(self) -> str:
        """``file:line: monitors[0]``."""
        return self.tree.at(self.path)

    def at(self, *sub: str | int) -> str:
        """``file:line: monitors[0].actions[1].hook`` (the line of the deepest part known)."""
        return self.tree.at((*self.path, *sub))


@dataclass
class Declared:
    """Everything the files declare, by section and name."""

    datasets: dict[str, Entry] = field(default_factory=dict)
    hooks: dict[str, Entry] = field(default_factory=dict)
    monitors: dict[str, Entry] = field(default_factory=dict)
    # (section, name) -> "file:line" of its first entry, valid or not (for duplicates)
    seen: dict[tuple[str, str], str] = field(default_factory=dict)


class ApplyFileError(Exception):
    """The files are not valid; ``problems`` lists each as ``file:line: path: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def files_of(paths: Iterable[Path]) -> list[Path]:
    """The files named, with every ``*.yaml``/``*.yml`` of a folder (sorted, not recursive)."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(f for f in p.iterdir() if f.suffix in (".yaml", ".yml"))
        elif p.exists():
            found.append(p)
        else:
            raise ApplyFileError([f"{p}: no such file or folder"])
    if not found:
        raise ApplyFileError([f"no *.yaml or *.yml file in {', '.join(map(str, paths))}"])
    return found


def _key(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """A mapping key; YAML 1.1's ``on``/``off``/``yes``/``no`` keys stay strings (``on:`` is
    an action's field, not ``True``)."""
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:bool":
        return str(node.value)
    return loader.construct_object(node)


class _Tree:
    """A YAML document as plain data, with the line of every mapping key and list item."""

    def __init__(self, text: str, name: str) -> None:
        self.name = name
        self.lines: dict[Path_, int] = {}
        self.duplicates: list[str] = []
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            self.data: Any = self._build(loader, node, ()) if node is not None else None
        finally:
            loader.dispose()

    def _build(self, loader: yaml.SafeLoader, node: yaml.Node, path: Path_) -> Any:
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = _key(loader, key_node)
                here = (*path, key)
                first = self.lines.get(here)
                self.lines[here] = key_node.start_mark.line + 1
                if key in out:
                    self.duplicates.append(
                        f"{self.at(here)}: duplicate key (first on line {first})"
                    )
                out[key] = self._build(loader, value_node, here)
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                self.lines[(*path, i)] = item.start_mark.line + 1
                items.append(self._build(loader, item, (*path, i)))
            return items
        return loader.construct_object(node)

    def at(self, path: Path_) -> str:
        """``file:line: a.b[0].c`` for the deepest part of ``path`` that has a line."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                return f"{self.name}:{self.lines[path[:n]]}: {dotted(path)}"
        return f"{self.name}: {dotted(path)}"


def dotted(path: Iterable[str | int]) -> str:
    """``("monitors", 0, "rules", 1)`` → ``monitors[0].rules[1]``."""
    text = ""
    for p in path:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
    return text


def _validation(tree: _Tree, path: Path_, exc: ValidationError) -> list[str]:
    return [f"{tree.at((*path, *e['loc']))}: {e['msg']}" for e in exc.errors()]


def _dqm_error(tree: _Tree, path: Path_, exc: DqmError) -> list[str]:
    found = [d for d in exc.details if isinstance(d.get("field"), str)]
    if not found:
        return [f"{tree.at(path)}: {exc.message}"]
    return [
        f"{tree.at((*path, *split_field(d['field'])))}: {exc.message}"
        + (f": {d['message']}" if d.get("message") else "")
        for d in found
    ]


def split_field(dotted_field: str) -> Path_:
    """``rules[0].metric`` → ``("rules", 0, "metric")``."""
    parts: list[str | int] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", dotted_field):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return tuple(parts)


def monitor_body(spec: MonitorSpec) -> dict[str, Any]:
    """A monitor as the server stores it (params with their defaults, derived rule names)."""
    return {
        "name": spec.name,
        "dataset": spec.dataset,
        "kind": spec.kind,
        "params": parse_params(spec.kind, spec.params).model_dump(mode="json"),
        "schedule": spec.schedule.model_dump(exclude_none=True),
        "window": spec.window.model_dump(exclude_none=True),
        "rules": [r.model_dump(by_alias=True, exclude_none=True) for r in spec.rules],
        "actions": [a.model_dump(by_alias=True, exclude_none=True) for a in spec.actions],
        "enabled": spec.enabled,
    }


def schema_body(schema: Schema | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A schema in one canonical JSON form."""
    if schema is None:
        return None
    return Schema.model_validate(schema).model_dump(mode="json", by_alias=True, exclude_none=True)


def _entry(section: str, item: Any, tree: _Tree, path: Path_, schemas: dict[str, Any]) -> Entry:
    if section == "datasets":
        d = DatasetDecl.model_validate(item)
        return Entry(d.name, {"name": d.name, "schema": schema_body(d.schema_)}, tree, path)
    if section == "hooks":
        h = HookDecl.model_validate(item)
        body = {**h.model_dump(exclude_none=True), "events": sorted(set(h.events))}
        return Entry(h.name, body, tree, path)
    spec = MonitorSpec.model_validate(item)
    body = monitor_body(spec)
    if spec.dataset in schemas:
        dataset = Dataset(schema_json=schemas[spec.dataset])
        check_rules(dataset, spec.kind, parse_params(spec.kind, spec.params), spec.rules)
    return Entry(spec.name, body, tree, path)


def _sections(tree: _Tree) -> tuple[dict[str, list[Any]], list[str]]:
    if tree.data is None:
        return {}, []
    if not isinstance(tree.data, dict):
        return {}, [f"{tree.name}:1: the file is a mapping with lists {', '.join(SECTIONS)}"]
    problems = [f"{tree.at((k,))}: unknown section (known: {', '.join(SECTIONS)})"
                for k in tree.data if k not in SECTIONS]  # fmt: skip
    found: dict[str, list[Any]] = {}
    for k in SECTIONS:
        items = tree.data.get(k)
        if items is not None and not isinstance(items, list):
            problems.append(f"{tree.at((k,))}: a list of {k}")
        else:
            found[k] = items or []
    return found, problems


def _add(section: str, item: Any, tree: _Tree, path: Path_, out: Declared) -> list[str]:
    if not isinstance(item, dict):
        return [f"{tree.at(path)}: a mapping (one {section[:-1]})"]
    schemas = {n: e.body["schema"] for n, e in out.datasets.items() if e.body["schema"]}
    name = item.get("name")
    if isinstance(name, str):
        first = out.seen.setdefault((section, name), tree.at(path).split(": ")[0])
        if first != tree.at(path).split(": ")[0]:
            return [f"{tree.at(path)}: duplicate {section[:-1]} {name!r} (first: {first})"]
    try:
        entry = _entry(section, item, tree, path, schemas)
    except ValidationError as exc:
        return _validation(tree, path, exc)
    except DqmError as exc:
        return _dqm_error(tree, path, exc)
    getattr(out, section)[entry.name] = entry
    return []


def load(paths: Iterable[Path]) -> Declared:
    """Read and check the files (datasets first, so rules are checked against their schemas);
    raise :class:`ApplyFileError` listing every problem."""
    out, problems, trees = Declared(), [], []
    for f in files_of(paths):
        try:
            tree = _Tree(f.read_text(encoding="utf-8"), str(f))
        except yaml.YAMLError as exc:
            problems.append(f"{f}: not valid YAML: {exc}")
            continue
        found, bad = _sections(tree)
        problems += tree.duplicates + bad
        trees.append((tree, found))
    for section in SECTIONS:
        for tree, found in trees:
            for i, item in enumerate(found.get(section, [])):
                problems += _add(section, item, tree, (section, i), out)
    if problems:
        raise ApplyFileError(problems)
    return out
