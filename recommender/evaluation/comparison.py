"""Whether one model beats another on the same held-out queries, beyond noise (the win rule)."""

from __future__ import annotations

import numpy as np

from ..goals import COMPARED_LABELS
from .metrics import paired_bootstrap_interval
from .protocols import grouped_result


def compare_models(before: dict, after: dict, *, queries: np.ndarray | None = None, seed: int = 0) -> dict:
    """Whether ``after`` beats ``before`` on the same held-out queries, beyond noise.

    Both are evaluations of the same queries in the same order (two spaces of a
    build, or a build and its fine-tuned successor); the grouped split is used
    where both have it.  ``after`` wins when the paired 95% bootstrap interval
    of its articleType P@5 gain lies above 0 and that of its baseColour change
    does not lie below 0. ``queries``, a mask over the queries, compares those alone.

    Returns
    -------
    dict
        ``wins`` and, per label of :data:`recommender.goals.COMPARED_LABELS`, ``before``, ``after``, ``change`` and
        ``interval`` (of the change).
    """
    before, after = grouped_result(before) or before, grouped_result(after) or after
    if before["n_queries"] != after["n_queries"]:
        raise ValueError(f"Expected evaluations of the same queries, got {before['n_queries']} and "
                         f"{after['n_queries']}")
    report: dict = {}
    for label in COMPARED_LABELS:
        old, new = (np.asarray(result["hits_at_5"][label], np.float64) / 5 for result in (before, after))
        if queries is not None:
            old, new = old[queries], new[queries]
        report[label] = {"before": float(old.mean()), "after": float(new.mean()), "change": float((new - old).mean()),
                         "interval": paired_bootstrap_interval(old, new, seed=seed)}
    report["wins"] = report["articleType"]["interval"][0] > 0 and report["baseColour"]["interval"][1] >= 0
    return report


def format_comparison(report: dict, before: str, after: str) -> str:
    """One line per compared label: both P@5, the change and its paired interval."""
    return "\n".join(f"  {label:<12} P@5 {before} {row['before']:.3f}  {after} {row['after']:.3f}  change "
                     f"{100 * row['change']:+.1f} points (95% interval {100 * row['interval'][0]:+.1f} to "
                     f"{100 * row['interval'][1]:+.1f})" for label, row in report.items() if label != "wins")
