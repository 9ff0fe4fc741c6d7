"""The ranking rules, written once and applied in one order by :class:`Ranker` (search and evaluation alike).

* Colour emphasis: candidates from the embedding index are re-ranked by
  ``sqrt((1 - w) * d_cnn^2 + w * d_colour^2)``; the index is asked for
  :data:`RERANK_POOL` times more candidates so that re-ranking has room.
* Type first: a trained space predicts the query's articleType and
  baseColour; each candidate pays ``w_label * (1 - p(its label))`` on top of
  its distance, so the right kind of product comes first and, among those,
  the right colour (weights chosen on a validation split at training time).
* Within the garment's kind: a garment the finder found and named (a bag, trousers) keeps its predicted
  articleType within the types of that kind (:func:`within_kinds`), so type first ranks bags first for a
  bag, whatever else its crop shows.
* A catalogue product used as a query is never its own neighbour: ask for
  one more result and drop it (as scikit-learn's ``kneighbors`` does).
* An exact match comes first, whatever the other rules say: a candidate
  within :data:`EXACT_MATCH_DISTANCE` of the query is the very photo (a
  shopper who uploads a catalogue photo finds that product first, even
  where a label penalty would demote it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..garments.kinds import kinds_of_article_types

# Candidates per wanted result when colour re-ranks them.
RERANK_POOL = 10
# An index distance this small is the same photo (unit vectors: a cosine of 0.9999995 or more). A catalogue
# photo searched measures 0.0 to itself; on the whole catalogue, 3% of products have a byte copy at 0.0 under
# another id, and for 95% the nearest other photo is 0.15 or more away.
EXACT_MATCH_DISTANCE = 1e-3


def candidate_count(k: int, *, reranked: bool, exclude_self: bool = False) -> int:
    """How many nearest candidates to ask the index for, to return ``k`` after re-ranking.

    >>> [candidate_count(5, reranked=False), candidate_count(5, reranked=True),
    ...  candidate_count(5, reranked=False, exclude_self=True)]
    [5, 50, 6]
    """
    return k * (RERANK_POOL if reranked else 1) + int(exclude_self)


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


def label_rerank(rows: np.ndarray, distances: np.ndarray, candidate_classes: Mapping[str, np.ndarray],
                 probabilities: Mapping[str, np.ndarray],
                 weights: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Re-rank candidates by distance plus a penalty for labels the query is unlikely to have.

    Parameters
    ----------
    rows : (n,) int, distances : (n,) float
        Candidates, nearest first.
    candidate_classes : label -> (n,) int
        Each candidate's class under the predicting head (-1: a class the head never saw).
    probabilities : label -> (C,) float
        The query's predicted distribution over the head's classes.
    weights : label -> float
        Penalty weight per label; labels left out (or 0) do not count.

    Returns
    -------
    rows, their distances (not the penalised scores: a shown distance stays a distance), best score first
    (a stable sort: ties keep the given order).

    >>> label_rerank(np.array([4, 8]), np.array([0.5, 0.6]), {"articleType": np.array([0, 1])},
    ...              {"articleType": np.array([0.1, 0.9])}, {"articleType": 0.5})
    (array([8, 4]), array([0.6, 0.5]))
    """
    weights = {label: w for label, w in weights.items() if w > 0}
    if not weights or len(rows) == 0:
        return rows, distances
    score = np.asarray(distances, np.float64).copy()
    for label, weight in weights.items():
        known = np.append(np.asarray(probabilities[label], np.float64), 0.0)  # index -1: never seen, p = 0
        score += weight * (1.0 - known[np.asarray(candidate_classes[label])])
    order = np.argsort(score, kind="stable")
    return rows[order], np.asarray(distances)[order]


def within_kinds(type_probabilities: np.ndarray, article_types: Sequence[str],
                 kinds: Sequence[Sequence[str]]) -> np.ndarray:
    """Queries' articleType distributions, (n, C) over the head's ``article_types``, each kept within the garment
    ``kinds`` the finder read that query as (one sequence per query; empty: no garment, left as it is).

    Types of other kinds (:func:`recommender.garments.kinds.kind_of_article_type`) get probability 0 and the rest
    are scaled to sum to 1; a query whose head gives every type of its kinds probability 0 is left as it is. On
    the development street photos' garments, as a shopper picks them among the finder's boxes: articleType P@5
    0.423 -> 0.463 (docs/evaluation.md).

    >>> within_kinds(np.array([[0.6, 0.3, 0.1]] * 2), ["Tshirts", "Jeans", "Shorts"], [("bottom",), ()]).round(2)
    array([[0.  , 0.75, 0.25],
           [0.6 , 0.3 , 0.1 ]])
    """
    probabilities = np.array(type_probabilities, np.float64)
    type_kinds = kinds_of_article_types(article_types)
    for row, its in enumerate(kinds):
        if its:
            kept = probabilities[row] * np.isin(type_kinds, list(its))
            if kept.sum() > 0:
                probabilities[row] = kept / kept.sum()
    return probabilities


@dataclass(frozen=True)
class Ranker:
    """The ranking rules over one catalogue, in their one order: the query itself out, colour, type first.

    :meth:`recommender.search.recommender.Recommender.search` and every
    evaluation protocol rank candidates with this class, so evaluation
    measures the search that shoppers get.

    Attributes
    ----------
    colours : (n, 64) array
        Colour signatures of the catalogue's rows (the rows the index returns).
    colour_weight : float in [0, 1]
        See :func:`colour_rerank`.
    label_weights : label -> weight
        Type-first penalty weights (see :func:`label_rerank`); empty: distance (and colour) alone.
    classes : label -> (n,) int
        Each catalogue row's class under the predicting head, for each weighted label.
    """

    colours: np.ndarray
    colour_weight: float = 0.0
    label_weights: Mapping[str, float] = field(default_factory=dict)
    classes: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.colour_weight <= 1.0:
            raise ValueError(f"Expected 0 <= colour_weight <= 1, got {self.colour_weight}")
        missing = [label for label, weight in self.label_weights.items() if weight > 0 and label not in self.classes]
        if missing:
            raise ValueError(f"Expected catalogue classes for every weighted label, got none for {missing}")

    @property
    def reranks(self) -> bool:
        """Whether candidates are re-ordered after the index's answer (so more of them are needed)."""
        return self.colour_weight > 0 or any(weight > 0 for weight in self.label_weights.values())

    def pool(self, k: int, *, exclude_self: bool = False) -> int:
        """How many candidates to ask the index for, to return ``k`` (see :func:`candidate_count`)."""
        return candidate_count(k, reranked=self.reranks, exclude_self=exclude_self)

    def rank(self, rows: np.ndarray, distances: np.ndarray, *, query_colour: np.ndarray,
             probabilities: Mapping[str, np.ndarray] | None = None,
             exclude: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One query's candidates, ranked: its own row out, colour, type first, exact matches first.

        ``probabilities`` (label -> (C,) the query's predicted distribution) is needed where
        :attr:`label_weights` has weights.  Returns rows and their (unpenalised) distances, best first.
        """
        rows, distances = drop_row(np.asarray(rows), np.asarray(distances), exclude)
        exact = rows[distances <= EXACT_MATCH_DISTANCE]
        rows, distances = colour_rerank(rows, distances, self.colours[rows], query_colour, self.colour_weight)
        if any(weight > 0 for weight in self.label_weights.values()):
            if probabilities is None:
                raise ValueError("Expected the query's predicted probabilities for type-first ranking")
            rows, distances = label_rerank(rows, distances, {label: c[rows] for label, c in self.classes.items()},
                                           probabilities, self.label_weights)
        return exact_first(rows, distances, exact)


def exact_first(rows: np.ndarray, distances: np.ndarray, exact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranked candidates with the ``exact`` matches moved to the front, each group's order kept.

    >>> exact_first(np.array([4, 8, 2]), np.array([0.3, 0.5, 0.0]), np.array([2]))
    (array([2, 4, 8]), array([0. , 0.3, 0.5]))
    """
    if len(exact) == 0:
        return rows, distances
    order = np.argsort(~np.isin(rows, exact), kind="stable")
    return rows[order], np.asarray(distances)[order]
