"""Ranking rules shared by search and evaluation, written once.

* Colour emphasis: candidates from the embedding index are re-ranked by
  ``sqrt((1 - w) * d_cnn^2 + w * d_colour^2)``; the index is asked for
  :data:`RERANK_POOL` times more candidates so that re-ranking has room.
* A catalogue product used as a query is never its own neighbour: ask for
  one more result and drop it (as scikit-learn's ``kneighbors`` does).
"""

from __future__ import annotations

import numpy as np

# Candidates per wanted result when colour re-ranks them.
RERANK_POOL = 10


def candidate_count(k: int, colour_weight: float, *, exclude_self: bool = False) -> int:
    """How many nearest candidates to ask the index for, to return ``k`` after re-ranking.

    >>> candidate_count(5, 0.0), candidate_count(5, 0.3), candidate_count(5, 0.0, exclude_self=True)
    (5, 50, 6)
    """
    return k * (RERANK_POOL if colour_weight > 0 else 1) + int(exclude_self)


def drop_row(rows: np.ndarray, distances: np.ndarray, row: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Candidates without ``row`` (the query itself), order kept.

    >>> drop_row(np.array([3, 7, 9]), np.array([0.0, 0.2, 0.3]), 3)
    (array([7, 9]), array([0.2, 0.3]))
    """
    if row is None:
        return rows, distances
    keep = rows != row
    return rows[keep], distances[keep]


def colour_rerank(rows: np.ndarray, distances: np.ndarray, candidate_colours: np.ndarray,
                  query_colour: np.ndarray, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Re-rank candidates by a blend of embedding and colour-signature distances.

    Parameters
    ----------
    rows : (n,) int, distances : (n,) float
        Candidates from the index, nearest first.
    candidate_colours : (n, 64) float
        Colour signatures of ``rows``.
    query_colour : (64,) float
    weight : float in [0, 1]
        0 keeps the index's order; 1 ranks by colour alone.

    Returns
    -------
    rows, blended distances, nearest first (a stable sort: ties keep the index's order).
    """
    if weight <= 0 or len(rows) == 0:
        return rows, distances
    colour = np.linalg.norm(np.asarray(candidate_colours) - query_colour, axis=1)
    blended = np.sqrt((1 - weight) * np.asarray(distances, np.float64) ** 2 + weight * colour ** 2)
    order = np.argsort(blended, kind="stable")
    return rows[order], blended[order].astype(np.float32)
