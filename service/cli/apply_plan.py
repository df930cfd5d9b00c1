"""What ``dqm apply`` would change: the declared resources against the server's, as creates,
updates (with field-level differences) and, when pruning, deletes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from dqm.alerts.signing import fingerprint, secret_key
from dqm.monitors.errors import DqmError
from dqm.monitors.kinds import parse_params
from dqm.service.cli.apply_file import (
    ApplyFileError,
    Declared,
    Entry,
    monitor_body,
    schema_body,
    split_field,
)
from dqm.service.db.models import Dataset as DatasetRow
from dqm.service.runs.definition import MonitorSpec
from dqm.service.runs.metric_checks import check_rules

if TYPE_CHECKING:
    from dqm_client import Client, Monitor

Action = Literal["create", "update", "delete"]
# Applied in this order: what monitors need first, deletes last (monitors before their hooks).
ORDER = [("create", "datasets"), ("update", "datasets"), ("create", "hooks"), ("update", "hooks"),
         ("create", "monitors"), ("update", "monitors"), ("delete", "monitors"),
         ("delete", "hooks"), ("delete", "datasets")]  # fmt: skip


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Change:
    """One call: ``body`` is the POST body (create) or the PATCH body (update)."""

    action: Action
    section: str
    name: str
    body: dict[str, Any] = field(default_factory=dict)
    fields: list[FieldChange] = field(default_factory=list)
    note: str = ""


@dataclass
class Current:
    """The server's resources as comparable bodies, by name."""

    datasets: dict[str, dict[str, Any]]
    hooks: dict[str, dict[str, Any]]
    monitors: dict[str, dict[str, Any]]


@dataclass
class Plan:
    changes: list[Change]
    kept: list[str]  # on the server, not in the files, not pruned


def _server_monitor(m: Monitor) -> dict[str, Any]:
    raw = {k: getattr(m, k) for k in ("name", "dataset", "kind", "params", "schedule", "window")}
    raw.update(rules=m.rules, actions=m.actions, enabled=m.enabled)
    try:
        return monitor_body(MonitorSpec.model_validate(raw))
    except (ValidationError, DqmError):
        return raw


def current(client: Client) -> Current:
    """Read every dataset, hook and monitor of the server."""
    return Current(
        datasets={d.name: {"name": d.name, "schema": d.schema} for d in client.datasets()},
        hooks={
            h.name: {"url": h.url, "events": sorted(h.events), "fp": h.secret_fingerprint}
            for h in client.hooks()
        },
        monitors={m.name: _server_monitor(m) for m in client.monitors()},
    )


def secrets(declared: Declared, environ: Mapping[str, str]) -> dict[str, str]:
    """Each hook's secret from its ``secret_env`` variable; every missing or malformed one is
    reported (by name, never by value) before anything is sent."""
    found, problems = {}, []
    for name, entry in declared.hooks.items():
        var = entry.body.get("secret_env")
        if var is None:
            continue
        value = environ.get(var)
        if not value:
            problems.append(f"{entry.at('secret_env')}: environment variable {var} is not set")
            continue
        try:
            if not value.startswith("whsec_"):
                raise ValueError("it does not start with 'whsec_'")
            secret_key(value)
        except (ValueError, DqmError) as exc:
            problems.append(f"{entry.at('secret_env')}: {var} is not a webhook secret: {exc}")
            continue
        found[name] = value
    if problems:
        raise ApplyFileError(problems)
    return found


def diff(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """The leaves that differ, as dotted paths (``rules[0].value``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for k in [*old, *(k for k in new if k not in old)]:
            out += diff(old.get(k), new.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new, strict=True))
                for c in diff(a, b, f"{path}[{i}]")]  # fmt: skip
    return [] if old == new else [FieldChange(path, old, new)]


def _dataset(entry: Entry, server: dict[str, Any] | None) -> Change | None:
    want = entry.body["schema"]
    if server is None:
        body = {k: v for k, v in entry.body.items() if v is not None}
        return Change("create", "datasets", entry.name, body)
    if want is None:
        return None
    have = schema_body(server["schema"]) or {"columns": []}
    old = {c["name"]: c for c in have["columns"]}
    patch = [c for c in want["columns"] if old.get(c["name"]) != c]
    if not patch:
        return None
    fields = [FieldChange(f"schema.columns.{c['name']}", old.get(c["name"]), c) for c in patch]
    return Change("update", "datasets", entry.name, {"columns": patch}, fields)


def _hook(entry: Entry, server: dict[str, Any] | None, secret: str | None) -> Change | None:
    body = {k: entry.body[k] for k in ("url", "events")}
    if server is None:
        generated = "secret generated by the server (not shown; secret_env chooses it)"
        note = f"secret from ${entry.body['secret_env']}" if secret else generated
        create = {"name": entry.name, **body, **({"secret": secret} if secret else {})}
        return Change("create", "hooks", entry.name, create, note=note)
    fields = diff({k: server[k] for k in body}, body)
    patch: dict[str, Any] = {k: v for k, v in body.items() if server[k] != v}
    if secret is not None and fingerprint(secret) != server["fp"]:
        fields.append(FieldChange("secret_fingerprint", server["fp"], fingerprint(secret)))
        patch["secret"] = secret
    return Change("update", "hooks", entry.name, patch, fields) if patch else None


MUTABLE = ("params", "schedule", "window", "rules", "actions", "enabled")


def _monitor(entry: Entry, server: dict[str, Any] | None, problems: list[str]) -> Change | None:
    if server is None:
        return Change("create", "monitors", entry.name, entry.body)
    for fixed in ("dataset", "kind"):
        if server[fixed] != entry.body[fixed]:
            problems.append(
                f"{entry.at(fixed)}: is {server[fixed]!r} on the server and cannot change; "
                "give the monitor a new name (and --prune the old one)"
            )
            return None
    fields = [c for k in MUTABLE for c in diff(server.get(k), entry.body[k], k)]
    patch = {k: entry.body[k] for k in MUTABLE if server.get(k) != entry.body[k]}
    return Change("update", "monitors", entry.name, patch, fields) if patch else None


def _check_references(
    declared: Declared, cur: Current, prune: bool, prune_datasets: bool, problems: list[str]
) -> None:
    datasets = set(declared.datasets) | (set() if prune_datasets else set(cur.datasets))
    hooks = set(declared.hooks) | (set() if prune else set(cur.hooks))
    for entry in declared.monitors.values():
        dataset = entry.body["dataset"]
        if dataset not in datasets:
            problems.append(f"{entry.at('dataset')}: no dataset {dataset!r} in the files "
                            "or on the server")  # fmt: skip
        elif dataset not in declared.datasets and cur.datasets[dataset]["schema"]:
            _check_rules(entry, cur.datasets[dataset]["schema"], problems)
        for i, action in enumerate(entry.body["actions"]):
            if action["hook"] not in hooks:
                problems.append(f"{entry.at('actions', i, 'hook')}: no hook {action['hook']!r} "
                                "in the files or on the server")  # fmt: skip


def _check_rules(entry: Entry, schema: dict[str, Any], problems: list[str]) -> None:
    spec = MonitorSpec.model_validate(entry.body)
    try:
        params = parse_params(spec.kind, spec.params)
        check_rules(DatasetRow(schema_json=schema), spec.kind, params, spec.rules)
    except DqmError as exc:
        where = next((d["field"] for d in exc.details if isinstance(d.get("field"), str)), "")
        problems.append(f"{entry.at(*split_field(where))}: {exc.message}")


def plan(
    declared: Declared,
    cur: Current,
    secret_values: Mapping[str, str],
    prune: bool = False,
    prune_datasets: bool = False,
) -> Plan:
    """The changes that make the server match the files, in :data:`ORDER`; raises
    :class:`ApplyFileError` for what the server's state makes invalid."""
    problems: list[str] = []
    _check_references(declared, cur, prune, prune_datasets, problems)
    found: list[Change | None] = [
        *(_dataset(e, cur.datasets.get(n)) for n, e in declared.datasets.items()),
        *(_hook(e, cur.hooks.get(n), secret_values.get(n)) for n, e in declared.hooks.items()),
        *(_monitor(e, cur.monitors.get(n), problems) for n, e in declared.monitors.items()),
    ]
    if problems:
        raise ApplyFileError(problems)
    kept: list[str] = []
    for section, pruned in (("monitors", prune), ("hooks", prune), ("datasets", prune_datasets)):
        extra = sorted(set(getattr(cur, section)) - set(getattr(declared, section)))
        if pruned:
            found += [Change("delete", section, name) for name in extra]
        else:
            kept += [f"{section}/{name}" for name in extra]
    changes = [c for c in found if c is not None]
    changes.sort(key=lambda c: ORDER.index((c.action, c.section)))
    return Plan(changes, kept)
