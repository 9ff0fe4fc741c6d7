"""The type-first penalty weights of a trained space, chosen on its validation split."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..evaluation.splits import Splits
from ..features.head import Head
from ..index.exact import exact_search
from ..search.ranking import Ranker

# Type-first penalty weights tried on the validation split (distances between unit vectors are in [0, 2]).
LABEL_WEIGHT_GRID = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)
_LABELS = ("articleType", "baseColour")


def choose_label_weights(space_vectors: np.ndarray, metadata: pd.DataFrame, head: Head, splits: Splits) -> dict:
    """The type-first penalty weights that maximise articleType + baseColour P@5 on the validation split.

    Validation products are searched (exactly) among the training products, so
    test queries never choose a setting.  Returns ``{"weights": ..., "validation": ...}``.
    """
    queries, catalogue = np.flatnonzero(splits.validation), np.flatnonzero(splits.train)
    if len(queries) == 0 or len(catalogue) < 5:
        return {"weights": dict.fromkeys(_LABELS, 0.0), "validation": {"n_queries": 0}}
    probabilities = head.predict(space_vectors[queries])
    truth = {label: metadata[label].to_numpy() for label in _LABELS}
    classes = {label: head.class_index(label, truth[label][catalogue]) for label in _LABELS}
    no_colour = np.zeros((len(catalogue), 1), np.float32)  # colour is not blended here
    pool = Ranker(no_colour, label_weights=dict.fromkeys(_LABELS, 1.0), classes=classes).pool(5)
    rows, distances = exact_search(space_vectors[catalogue], space_vectors[queries], pool)

    def scores(weights: dict[str, float]) -> dict[str, float]:
        ranker = Ranker(no_colour, label_weights=weights, classes=classes)
        top = np.array([ranker.rank(r, d, query_colour=no_colour[0],
                                    probabilities={label: probabilities[label][q] for label in _LABELS})[0][:5]
                        for q, (r, d) in enumerate(zip(rows, distances))])
        return {label: float((truth[label][catalogue][top] == truth[label][queries][:, None]).mean())
                for label in _LABELS}

    grid = [dict(zip(_LABELS, pair)) for pair in itertools.product(LABEL_WEIGHT_GRID, repeat=2)]
    measured = [(weights, scores(weights)) for weights in grid]
    best, best_scores = max(measured, key=lambda item: (sum(item[1].values()), -sum(item[0].values())))
    return {"weights": best, "validation": {"n_queries": int(len(queries)), "p5": best_scores,
                                           "p5_distance_only": measured[0][1]}}
