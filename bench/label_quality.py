"""Time the label_quality monitor, and measure confident learning against cleanlab.

``time`` (default): runs on a 1M-row window (10 classes, 80% labeled, 10% of labels flipped,
label delays, prediction and probability columns) against a 100k reference whose profile is
cached (a first run fills it, as the service's first run on a reference version does): the
median wall and CPU time of ``--repeats`` runs against the 1.5 s target; the confident-learning
step alone next to ``cleanlab.filter.find_label_issues`` on the same rows (cleanlab is a
test-only dependency); then the agreement of the flagged sets on the ``quality`` problem (seed
0). Results go to ``bench/results/label_quality.json`` (see ``bench.harness``).

``quality``: label-issue precision / recall on a synthetic problem with 10% flipped labels and
out-of-sample probabilities (``cross_val_predict``), for dqm and cleanlab, and the agreement
(Jaccard, identical) of the flagged sets, for three seeds.

Run: ``.venv/bin/python -m bench.label_quality [time|quality] [--rows N] [--classes K]
[--reference-rows N] [--repeats R]``
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

import numpy as np
import pyarrow as pa

from bench.harness import Bench
from dqm.monitors.labels import confident_learning as cl
from dqm.monitors.labels.monitor import DELAY_COLUMN, LabelQualityMonitor, LabelQualityParams
from dqm.monitors.profile import ReferenceProfile
from dqm.monitors.schema import ColumnSpec, Schema

TARGET_SECONDS = 1.5  # one run, 1M rows x 10 classes, profile cached, on 2 cores


def class_names(k: int) -> list[str]:
    return [f"k{i}" for i in range(k)]


def make_schema(k: int) -> Schema:
    """Id, target, prediction and one probability column per class."""
    probabilities = (
        ColumnSpec.model_validate(
            {"name": f"p_{c}", "type": "numerical", "role": "prediction_probability", "class": c}
        )
        for c in class_names(k)
    )
    return Schema(
        columns=[
            ColumnSpec(name="id", type="categorical", role="id"),
            ColumnSpec(name="y", type="categorical", role="target"),
            ColumnSpec(name="pred", type="categorical", role="prediction"),
            *probabilities,
        ]
    )


def make_window(
    n: int, seed: int, labeled: float, k: int = 3
) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """A window whose probabilities are calibrated, 10% of labels flipped; also codes, probs."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(k, 0.5), size=n)
    truth = np.minimum((rng.random(n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1), k - 1)
    given = np.where(rng.random(n) < 0.1, (truth + rng.integers(1, k, size=n)) % k, truth)
    names = np.array(class_names(k))
    has_label = rng.random(n) < labeled
    y = pa.array(names[given], mask=~has_label)
    cols: dict[str, Any] = {
        "id": pa.array(np.char.add("r", np.arange(n).astype(str))),
        "y": y,
        "pred": pa.array(names[probs.argmax(axis=1)]),
    }
    cols.update({f"p_{c}": pa.array(probs[:, i]) for i, c in enumerate(names)})
    cols[DELAY_COLUMN] = pa.array(rng.exponential(3600, size=n), mask=~has_label)
    return pa.table(cols), np.where(has_label, given, -1), probs


def bench_time(bench: Bench, n: int, repeats: int, k: int = 10, n_reference: int = 100_000) -> None:
    from cleanlab.filter import find_label_issues  # type: ignore[import-untyped]

    schema = make_schema(k)
    reference = ReferenceProfile(make_window(n_reference, 1, labeled=1.0, k=k)[0], schema).warm()
    current, labels, probs = make_window(n, 2, labeled=0.8, k=k)
    monitor, params = LabelQualityMonitor(), LabelQualityParams()
    shape = f"{n:,} rows x {k} classes, {n_reference:,}-row reference"
    first = bench.time(lambda: monitor.run(reference, current, schema, params), repeats=1)
    bench.add(f"first run, {shape} (builds the reference side)", first)
    run = bench.time(lambda: monitor.run(reference, current, schema, params), repeats)
    bench.add(f"run, {shape}, profile cached", run, target=TARGET_SECONDS)
    rows = labels >= 0
    ours = bench.time(lambda: cl.find_label_issues(labels[rows], probs[rows]), repeats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = bench.time(lambda: find_label_issues(labels[rows], probs[rows], n_jobs=1), repeats)
    bench.add(
        f"confident learning, {int(rows.sum()):,} labeled rows x {k}",
        ours,
        peer=("cleanlab find_label_issues (n_jobs=1)", theirs),
    )
    result = monitor.run(reference, current, schema, params)
    share = result.value("label_issue_share")
    print(f"  label_issue_share {share:.4f}, findings kept {len(result.findings)}")


def bench_quality(bench: Bench | None, n: int, seed: int) -> None:
    from cleanlab.filter import find_label_issues
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    x, truth = make_classification(
        n_samples=n,
        n_features=10,
        n_informative=6,
        n_classes=3,
        n_clusters_per_class=1,
        class_sep=1.5,
        random_state=seed,
    )
    rng = np.random.default_rng(seed)
    flipped = rng.random(n) < 0.1
    given = np.where(flipped, (truth + rng.integers(1, 3, size=n)) % 3, truth)
    probs = cross_val_predict(
        LogisticRegression(max_iter=500), x, given, cv=5, method="predict_proba"
    )
    ours = cl.find_label_issues(given.astype(np.int64), probs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.asarray(find_label_issues(given, probs, n_jobs=1))
    for name, mask in (("dqm", ours), ("cleanlab", theirs)):
        hits = int((mask & flipped).sum())
        print(
            f"{name:9s} flagged {int(mask.sum()):5d} of {n} ({int(flipped.sum())} flipped): "
            f"precision {hits / max(int(mask.sum()), 1):.3f}, recall {hits / flipped.sum():.3f}"
        )
    jaccard = (ours & theirs).sum() / max(int((ours | theirs).sum()), 1)
    print(f"agreement: Jaccard {jaccard:.4f}, identical {bool(np.array_equal(ours, theirs))}")
    if bench is not None:
        name = f"flagged rows vs cleanlab, {n:,} rows, seed {seed}: Jaccard"
        bench.add(name, value=float(jaccard), unit="", target=1.0, at_least=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=("time", "quality"), default="time")
    parser.add_argument("--rows", type=int, default=1_000_000, help="window rows (time)")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quality-rows", type=int, default=10_000)
    args = parser.parse_args()
    if args.mode == "quality":
        for seed in range(3):
            print(f"seed {seed}:")
            bench_quality(None, args.quality_rows, seed)
        return
    bench = Bench("label_quality", peers=["cleanlab", "scikit-learn"], description=__doc__)
    bench_time(bench, args.rows, args.repeats, args.classes, args.reference_rows)
    bench_quality(bench, args.quality_rows, 0)
    bench.save()


if __name__ == "__main__":
    main()
