"""The text model, learned from the shop's own catalogue: each product's name and labels are its words, its
vector in a trained space is where those words should land (:class:`recommender.features.text.TextModel`).

Only the products the space trained on teach it (its split's held-out products never do), so the goals are
measured on products whose names the model never read. A ridge regression from the words' TF-IDF (scikit-learn)
to the space's vectors: seconds on the whole catalogue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import silent
from ..evaluation.protocols import evaluation_splits
from ..features.text import TextModel, terms
from ..search.words import WORD_LABELS, tokens
from ..store.artifacts import load_artifacts
from ..store.manifest import BACKBONE_SPACE, FileEntry, SpaceEntry, commit_manifest
from ..store.names import words_file

# Ridge penalty of the map (chosen on the validation split: docs/decisions/0014-words-beside-the-photo.md).
RIDGE_ALPHA = 1.0
MIN_PRODUCTS = 2  # a term carried by fewer training products is not learned
MAX_TERMS = 8_000  # the most frequent terms: the solve is (V, V), seconds on 2 cores


def catalogue_words(metadata: pd.DataFrame) -> list[list[str]]:
    """Each product's words: its name, then its label values (what a shopper might type for it)."""
    columns = ["productDisplayName", *(label for label in WORD_LABELS if label in metadata)]
    return [tokens(" ".join(str(value) for value in row)) for row in metadata[columns].itertuples(index=False)]


def fit_text_model(words: Sequence[Sequence[str]], targets: np.ndarray, *, alpha: float = RIDGE_ALPHA,
                   min_products: int = MIN_PRODUCTS) -> TextModel:
    """Learn where each product's words should land: its row of ``targets`` (n, d)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge

    vectorizer = TfidfVectorizer(analyzer=terms, min_df=min_products, max_features=MAX_TERMS, sublinear_tf=True,
                                 norm="l2")
    weighed = vectorizer.fit_transform(list(words))
    ridge = Ridge(alpha=alpha, fit_intercept=False, solver="cholesky")  # one (V, V) solve for every target
    ridge.fit(weighed, np.asarray(targets, np.float32))
    vocabulary = {term: int(column) for term, column in vectorizer.vocabulary_.items()}
    return TextModel(vocabulary, vectorizer.idf_.astype(np.float32), ridge.coef_.T.astype(np.float32))


def train_words(root: str | Path, *, space: str | None = None, log: Callable[[str], None] = silent) -> SpaceEntry:
    """Learn the text model of a trained space (default: the product photos' default) on the products it trained
    on (its own split's), save it and record it in the manifest with the space."""
    artifacts = load_artifacts(root)
    space = space or artifacts.manifest.searched_space
    if space == BACKBONE_SPACE or space not in artifacts.manifest.spaces:
        raise ValueError(f"Expected a trained space in {list(artifacts.manifest.spaces)}, got {space!r}: the text "
                         "model learns where words land in a fashion space (python -m recommender train first)")
    entry = artifacts.manifest.spaces[space]
    holdout, seed = entry.training["holdout"], entry.training["seed"]
    rows = evaluation_splits(artifacts, holdout, seed=seed, space=space).train
    started = time.perf_counter()
    words = catalogue_words(artifacts.metadata[rows])
    model = fit_text_model(words, np.asarray(artifacts.space_vectors(space))[rows])
    seconds = time.perf_counter() - started
    path = Path(root) / words_file(artifacts.build_id, space)
    model.save(path)
    entry = replace(entry, words=FileEntry.of(path)).with_training(words={
        "products": int(rows.sum()), "terms": len(model.vocabulary), "alpha": RIDGE_ALPHA,
        "seconds": round(seconds, 1), "holdout": holdout, "seed": seed})
    commit_manifest(root, artifacts.manifest.with_space(space, entry))
    log(f"Text model of space {space!r}: {len(model.vocabulary):,} terms learned from the names and labels of "
        f"{int(rows.sum()):,} products in {seconds:.0f} s.")
    return entry
