"""Regenerate README.md's performance table from the benches' JSON results.

``python -m bench.table [--results DIR] [--readme README.md] [--check]``: renders every
``<results>/*.json`` (written by ``bench.harness.Bench.save``) between the markers
``<!-- bench:start -->`` and ``<!-- bench:end -->``. A bench without a results file keeps its
rows and its conditions line from the README as they were, so running one bench and
regenerating changes only that bench's rows. ``--check`` prints the table and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.harness import RESULTS, seconds

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
HEADER = (
    "| bench | measurement | wall | CPU | threads / processes | peer | ratio (wall, CPU) "
    "| target | |\n|---|---|--:|--:|--:|---|--:|---|---|"
)


def cells(bench: str, row: dict[str, Any]) -> str:
    """A table row for one result row."""
    timed = "wall_s" in row
    peer = row.get("peer")
    target = ""
    if "target" in row:
        sign = "≥" if row["at_least"] else "≤"
        unit = {"wall": " s", "cpu": " s CPU", "value": f" {row['unit']}"}.get(row["target_of"])
        target = f"{sign} {number(row['target'])}{unit or '×'}"
    value = (
        f" = {number(row['value'])} {row['unit']}".rstrip() if row.get("value") is not None else ""
    )
    fields = [
        f"`{bench}`",
        row["name"] + value + (f" ({row['note']})" if row.get("note") else ""),
        seconds(row["wall_s"]) if timed else "",
        seconds(row["cpu_s"]) if timed else "",
        f"{row['threads']} / {row['processes']}" if timed else "",
        f"{peer['name']}: {seconds(peer['wall_s'])}, {seconds(peer['cpu_s'])} CPU" if peer else "",
        f"{row['ratio']:.1f}×, {row['ratio_cpu']:.1f}×" if peer else "",
        target,
        {True: "✅", False: "❌"}.get(bool(row["ok"]), "") if "ok" in row else "",
    ]
    return "| " + " | ".join(f.replace("|", "\\|") for f in fields) + " |"


def number(x: float) -> str:
    """1,234,567 for large numbers, 4 significant digits otherwise."""
    return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:.4g}"


def conditions(doc: dict[str, Any]) -> str:
    """The footnote line of one bench: when, where, load, versions, command."""
    load = "/".join(f"{x:.1f}" for x in doc["load_before"]["loadavg"])
    after = "/".join(f"{x:.1f}" for x in doc["load_after"]["loadavg"])
    versions = ", ".join(f"{k} {v}" for k, v in doc["versions"].items())
    return (
        f"- `{doc['bench']}`: {doc['started'].replace('T', ' ')}, {doc['cores']} cores, "
        f"load {load} before, {after} after; {versions}; `{doc['command']}`"
    )


def kept_lines(block: str, names: set[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The old table rows and conditions lines of benches not in ``names``, by bench."""
    rows: dict[str, list[str]] = {}
    notes: dict[str, str] = {}
    for line in block.splitlines():
        if line.startswith("| `"):
            bench = line.split("`")[1]
            if bench not in names:
                rows.setdefault(bench, []).append(line)
        elif line.startswith("- `") and (bench := line.split("`")[1]) not in names:
            notes[bench] = line
    return rows, notes


def render(results: Path, old_block: str = "") -> str:
    """The block between the markers: the table, then one conditions line per bench."""
    docs = {}
    for path in sorted(results.glob("*.json")):
        doc = json.loads(path.read_text())
        docs[doc["bench"]] = doc
    rows, notes = kept_lines(old_block, set(docs))
    for name, doc in docs.items():
        rows[name] = [cells(name, row) for row in doc["rows"]]
        notes[name] = conditions(doc)
    table = [HEADER, *(line for name in sorted(rows) for line in rows[name])]
    footer = [notes[name] for name in sorted(notes)]
    return "\n".join([*table, "", "Measured:", "", *footer])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--readme", type=Path, default=Path(__file__).parent.parent / "README.md")
    parser.add_argument("--check", action="store_true", help="print, do not write")
    args = parser.parse_args()
    text = args.readme.read_text()
    if START not in text or END not in text:
        sys.exit(f"{args.readme}: markers {START} / {END} missing")
    head, rest = text.split(START, 1)
    old, tail = rest.split(END, 1)
    block = render(args.results, old)
    if args.check:
        print(block)
        return
    args.readme.write_text(f"{head}{START}\n{block}\n{END}{tail}")
    print(f"{args.readme}: performance table regenerated from {args.results}")


if __name__ == "__main__":
    main()
