"""Retrieval metrics as pure functions over arrays (per-query values; take the mean)."""

from __future__ import annotations

import numpy as np


def precision_at_k(relevant: np.ndarray, k: int) -> np.ndarray:
    """Share of relevant results among the first ``k``.

    Parameters
    ----------
    relevant : (m, K) bool, K >= k
        ``relevant[q, i]``: the i-th result of query q is relevant.

    Returns
    -------
    (m,) float64

    >>> precision_at_k(np.array([[True, False, True]]), 2)
    array([0.5])
    """
    relevant = np.asarray(relevant, dtype=bool)
    if relevant.shape[1] < k:
        raise ValueError(f"Expected at least k={k} results per query, got {relevant.shape[1]}")
    return relevant[:, :k].mean(axis=1)


def average_precision_at_k(relevant: np.ndarray, k: int, n_relevant: np.ndarray | None = None) -> np.ndarray:
    """AP@k: mean of precision@i at each relevant rank i <= k, over min(k, R) relevant items.

    Parameters
    ----------
    relevant : (m, K) bool
    k : int
    n_relevant : (m,) int, optional
        R, relevant items in the whole catalogue for each query; defaults to
        the relevant count within the first ``k`` results.

    >>> average_precision_at_k(np.array([[True, False, True]]), 3, np.array([2]))
    array([0.83333333])
    """
    hits = np.asarray(relevant, dtype=bool)[:, :k]
    precision = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    total = hits.sum(axis=1) if n_relevant is None else np.minimum(np.asarray(n_relevant), k)
    return np.where(total > 0, (precision * hits).sum(axis=1) / np.maximum(total, 1), 0.0)


def recall_at_k(approximate: np.ndarray, exact: np.ndarray, k: int) -> np.ndarray:
    """Share of the exact ``k`` nearest rows that the approximate search found.

    >>> recall_at_k(np.array([[1, 2, 9]]), np.array([[1, 2, 3]]), 3)
    array([0.66666667])
    """
    approximate, exact = np.asarray(approximate)[:, :k], np.asarray(exact)[:, :k]
    return np.array([len(set(a) & set(e)) / k for a, e in zip(approximate, exact)])


def bootstrap_interval(values: np.ndarray, *, level: float = 0.95, resamples: int = 1000,
                       seed: int = 0) -> list[float]:
    """Percentile bootstrap interval of the mean of per-query ``values`` (queries resampled with replacement).

    >>> bootstrap_interval(np.ones(10))
    [1.0, 1.0]
    """
    values = np.asarray(values, np.float64)
    if len(values) == 0:
        return [float("nan"), float("nan")]
    draws = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values)))
    means = values[draws].mean(axis=1)
    tail = (1 - level) / 2
    return [float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))]


def paired_bootstrap_interval(before: np.ndarray, after: np.ndarray, *, level: float = 0.95, resamples: int = 1000,
                              seed: int = 0) -> list[float]:
    """Percentile bootstrap interval of ``mean(after - before)`` over the same queries (resampled together).

    >>> paired_bootstrap_interval(np.zeros(20), np.ones(20))
    [1.0, 1.0]
    """
    return bootstrap_interval(np.asarray(after, np.float64) - np.asarray(before, np.float64), level=level,
                              resamples=resamples, seed=seed)
