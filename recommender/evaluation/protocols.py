"""Evaluation protocols: how unseen queries are searched and scored.

Two ways to get unseen queries:

* held out (:func:`holdout_evaluation`): a fraction of the built catalogue,
  at random and in near-duplicate groups (:mod:`recommender.evaluation.splits`),
  is removed from the index and used as queries; their stored vectors are
  exactly what embedding their photos gives, so nothing is re-embedded.
* a folder of other photos (:func:`query_folder_evaluation`), embedded now
  (:func:`recommender.evaluation.query_folders.embed_folder`; :func:`photo_queries_evaluation` scores photos
  embedded once).

Each query is searched by the product's one neighbour search,
:func:`recommender.search.engine.kneighbors`, with the same ranking rules; a neighbour is
relevant for a label when it shares the query's value (articleType, subCategory, ...).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import silent
from ..data.catalogue import COLOUR_FAMILIES, LABEL_COLUMNS
from ..goals import COMPARED_LABELS
from ..index.annoy import DEFAULT_METRIC, DEFAULT_N_TREES, DEFAULT_SEARCH_K, VectorIndex
from ..index.exact import exact_search
from ..search.engine import kneighbors, predicted_labels, space_ranker
from ..search.ranking import Ranker
from ..store.artifacts import Artifacts, load_artifacts
from ..store.manifest import BACKBONE_SPACE, read_manifest
from ..store.predictor import catalogue_extractor, catalogue_finder
from .garment_matching import finder_folder, finder_recall
from .metrics import average_precision_at_k, bootstrap_interval, precision_at_k, recall_at_k
from .query_folders import PHOTO, QUERY_KINDS, WORN_KINDS, PhotoFolder, embed_folder
from .splits import Splits, make_splits, read_splits

K_VALUES = (1, 5, 10)
# The catalogue's labels, and baseColour read as a colour family (Navy Blue and Blue alike).
EVALUATED_LABELS = (*LABEL_COLUMNS, "colourFamily")
_CHUNK = 256


def evaluate_vectors(catalogue_vectors: np.ndarray, catalogue_labels: pd.DataFrame, query_vectors: np.ndarray,
                     query_labels: pd.DataFrame, *, metric: str = DEFAULT_METRIC, n_trees: int = DEFAULT_N_TREES,
                     search_k: int = DEFAULT_SEARCH_K, ranker: Ranker | None = None,
                     query_colours: np.ndarray | None = None,
                     query_probabilities: Mapping[str, np.ndarray] | None = None, seed: int = 0) -> dict:
    """Label precision of the ranked answers and Annoy's recall against exact search.

    Parameters
    ----------
    catalogue_vectors : (n, d) array
    catalogue_labels : DataFrame with :data:`LABEL_COLUMNS`, n rows
    query_vectors : (m, d) array
    query_labels : DataFrame with :data:`LABEL_COLUMNS`, m rows
    metric, n_trees, search_k : Annoy settings
    ranker : Ranker, optional
        The ranking rules over the n catalogue rows (default: distance alone).
    query_colours : (m, 64) array, optional
        Needed where the ranker blends in colour.
    query_probabilities : label -> (m, C), optional
        The queries' predicted labels, needed where the ranker ranks type first.

    Returns
    -------
    dict
        ``n_queries``, ``n_catalogue``, ``precision_at_k`` (label -> k -> mean, for
        :data:`EVALUATED_LABELS`), ``p5_interval`` (label -> 95% bootstrap interval of P@5),
        ``map_at_10`` (label -> mean), ``annoy_recall_at_k`` (k -> mean),
        ``per_article_type`` (type -> n and P@5 of articleType and baseColour).
    """
    k_max = max(K_VALUES)
    ranker = ranker or Ranker(np.zeros((len(catalogue_vectors), 1), np.float32))
    with tempfile.TemporaryDirectory(prefix="evaluate-") as tmp:
        index = VectorIndex(catalogue_vectors.shape[1], metric=metric, n_trees=n_trees, seed=seed)
        index.build(catalogue_vectors, Path(tmp) / "eval.ann")
        found = kneighbors(index, query_vectors, ranker, k=k_max, search_k=search_k, colours=query_colours,
                           probabilities=query_probabilities)
        del index
    approx, annoy_rows = found.rows, found.unranked
    exact = np.concatenate([
        exact_search(catalogue_vectors, query_vectors[start:start + _CHUNK], k_max, metric=metric)[0]
        for start in range(0, len(query_vectors), _CHUNK)
    ])
    result: dict = {"n_queries": int(len(query_vectors)), "n_catalogue": int(len(catalogue_vectors)),
                    "ranking": "type first" if ranker.label_weights else "distance",
                    "annoy": {"metric": metric, "n_trees": n_trees, "search_k": search_k},
                    "precision_at_k": {}, "p5_interval": {}, "map_at_10": {}}
    catalogue_labels, query_labels = with_colour_family(catalogue_labels), with_colour_family(query_labels)
    relevant_by_label = {}
    for label in EVALUATED_LABELS:
        truth = query_labels[label].to_numpy()
        found = catalogue_labels[label].to_numpy()[approx]
        # A query without this label (a shopper's photo labelled with its type alone) says nothing about it:
        # nothing is relevant to it, and it is left out of the label's figures.
        known = truth != ""
        relevant = (found == truth[:, None]) & known[:, None]
        relevant_by_label[label] = relevant
        if label in COMPARED_LABELS:  # per query, for paired comparisons of two models on the same queries
            result.setdefault("hits_at_5", {})[label] = relevant[:, :5].sum(axis=1).tolist()
        result.setdefault("n_labelled", {})[label] = int(known.sum())
        if not known.any():
            continue
        relevant, truth = relevant[known], truth[known]
        n_relevant = catalogue_labels[label].value_counts().reindex(truth).fillna(0).to_numpy()
        result["precision_at_k"][label] = {str(k): float(precision_at_k(relevant, k).mean()) for k in K_VALUES}
        result["p5_interval"][label] = bootstrap_interval(precision_at_k(relevant, 5), seed=seed)
        result["map_at_10"][label] = float(average_precision_at_k(relevant, 10, n_relevant).mean())
    result["annoy_recall_at_k"] = {str(k): float(recall_at_k(annoy_rows, exact, k).mean()) for k in K_VALUES}
    per_type = {}
    types = query_labels["articleType"].to_numpy()
    p5_type = precision_at_k(relevant_by_label["articleType"], 5)
    p5_colour = precision_at_k(relevant_by_label["baseColour"], 5)
    coloured = query_labels["baseColour"].to_numpy() != ""
    for name in sorted(set(types)):
        mask = types == name
        per_type[name] = {"n": int(mask.sum()), "articleType_p5": float(p5_type[mask].mean()),
                          "baseColour_p5": float(p5_colour[mask & coloured].mean()) if (mask & coloured).any()
                          else None}
    result["per_article_type"] = per_type
    return result


def space_ranking(artifacts: Artifacts, space: str, catalogue_rows: np.ndarray, query_space_vectors: np.ndarray,
                  *, colour_weight: float = 0.0, type_first: bool = True,
                  kinds: Sequence[Sequence[str]] | None = None) -> tuple[Ranker, dict[str, np.ndarray] | None]:
    """The search's ranking rules over some catalogue rows (:func:`recommender.search.engine.space_ranker`),
    and the queries' predicted labels where it ranks type first, each query's articleType kept within its
    ``kinds`` (the garment kinds the finder read it as; :func:`recommender.search.engine.predicted_labels`)."""
    head = artifacts.head(space) if type_first and artifacts.type_first_weights(space) else None
    ranker = space_ranker(artifacts, space, np.asarray(catalogue_rows), colour_weight=colour_weight,
                          type_first=type_first, head=head)
    if not ranker.label_weights:
        return ranker, None
    return ranker, predicted_labels(head, query_space_vectors, kinds)


def with_colour_family(labels: pd.DataFrame) -> pd.DataFrame:
    """The labels with a ``colourFamily`` column (:data:`recommender.data.catalogue.COLOUR_FAMILIES`)."""
    if "colourFamily" in labels:
        return labels
    return labels.assign(colourFamily=labels["baseColour"].map(COLOUR_FAMILIES).fillna(""))


def evaluation_splits(artifacts: Artifacts, fraction: float, *, seed: int = 0, space: str | None = None) -> Splits:
    """The build's random, grouped and validation splits for ``fraction`` and ``seed``.

    A trained space keeps the split it was trained with (``space`` first, then
    any other); every space is then measured on the same products.  Without
    one, the split is made from the backbone vectors.
    """
    entries = artifacts.manifest.spaces
    for name in sorted(entries, key=lambda name: name != space):
        if entries[name].split is not None:
            splits, settings = read_splits(artifacts.root / entries[name].split.name, artifacts.metadata)
            if settings["fraction"] == fraction and settings["seed"] == seed:
                return splits
    return make_splits(artifacts.metadata, np.asarray(artifacts.vectors), fraction, seed=seed)


def split_evaluation(artifacts: Artifacts, query_rows: np.ndarray, catalogue_rows: np.ndarray, *,
                     space: str = BACKBONE_SPACE, colour_weight: float = 0.0, type_first: bool = True,
                     n_trees: int | None = None, search_k: int | None = None, seed: int = 0) -> dict:
    """Evaluate a build with some of its products as queries against an index of others.

    The stored vectors of the query products are exactly what embedding their
    photos gives, so nothing is re-embedded.  ``type_first`` re-ranks by the
    space's predicted labels where the space was trained with them.
    """
    metadata = artifacts.metadata
    is_query, is_catalogue = np.asarray(query_rows, bool), np.asarray(catalogue_rows, bool) & ~np.asarray(query_rows)
    vectors = np.asarray(artifacts.space_vectors(space))
    ranker, probabilities = space_ranking(artifacts, space, is_catalogue, vectors[is_query],
                                         colour_weight=colour_weight, type_first=type_first)
    settings = artifacts.manifest.index
    return evaluate_vectors(vectors[is_catalogue], metadata[is_catalogue].reset_index(drop=True),
                            vectors[is_query], metadata[is_query].reset_index(drop=True),
                            metric=settings.metric, n_trees=n_trees or settings.n_trees,
                            search_k=artifacts.tuned_search_k(space) if search_k is None else search_k,
                            ranker=ranker, query_colours=np.asarray(artifacts.colours)[is_query],
                            query_probabilities=probabilities, seed=seed)


def holdout_evaluation(artifacts: Artifacts, fraction: float, *, space: str = BACKBONE_SPACE, seed: int = 0,
                       colour_weight: float = 0.0, type_first: bool = True, n_trees: int | None = None,
                       search_k: int | None = None, baseline: Artifacts | None = None,
                       log: Callable[[str], None] = silent) -> dict:
    """Evaluate a build on its held-out products: the random split, and the near-duplicate-grouped one.

    The top level holds the random split's figures (the keys of every earlier
    evaluation); ``"grouped"`` holds the same figures for the grouped split.
    With ``baseline`` (another build, e.g. of the original design's recipe),
    both are evaluated on the same queries and catalogue, restricted to
    products both builds hold; the result then has a ``"baseline"`` entry.  ``log`` is told where the
    queries may include products the space was trained on.
    """
    splits = evaluation_splits(artifacts, fraction, seed=seed, space=space)
    if (warning := trained_on_warning(artifacts, space, fraction, seed)) is not None:
        log(warning)
    options = dict(colour_weight=colour_weight, n_trees=n_trees, search_k=search_k, seed=seed)
    result: dict = {}
    for name in ("random", "grouped"):
        queries = splits.test(name)
        catalogue = ~queries
        if name == "grouped" and not queries.any():
            result["grouped"] = {"n_queries": 0}  # every product is in one group: nothing can be held out
            continue
        if baseline is not None:
            shared = artifacts.metadata["id"].isin(set(baseline.metadata["id"])).to_numpy()
            queries, catalogue = queries & shared, catalogue & shared
            on_baseline = {key: baseline.metadata["id"].isin(set(artifacts.metadata["id"][rows])).to_numpy()
                           for key, rows in (("queries", queries), ("catalogue", catalogue))}
            measured = split_evaluation(baseline, on_baseline["queries"], on_baseline["catalogue"], **options)
            measured.update(space=BACKBONE_SPACE, features=baseline.manifest.features.to_json())
            _nest(result, name, "baseline", measured)
        measured = split_evaluation(artifacts, queries, catalogue, space=space, type_first=type_first, **options)
        _nest(result, name, None, measured)
    result.update(space=space, holdout=fraction, colour_weight=colour_weight, type_first=type_first,
                  features=artifacts.manifest.features.to_json())
    return result


def grouped_result(result: dict) -> dict | None:
    """An evaluation's grouped-split figures, or None where it has none."""
    grouped = result.get("grouped")
    return grouped if grouped and grouped["n_queries"] > 0 else None


def _nest(result: dict, split: str, key: str | None, measured: dict) -> None:
    """Random-split figures at the top level (or under ``key``), grouped ones under ``"grouped"``."""
    target = result if split == "random" else result.setdefault("grouped", {})
    if key is None:
        target.update(measured)
    else:
        target[key] = measured


def by_query_kind(result: dict, items: pd.DataFrame, *, seed: int = 0) -> dict:
    """articleType P@5 of each kind of query (:data:`QUERY_KINDS`) in an evaluation of ``items``' queries,
    with 95% bootstrap intervals: kind -> {"n", "articleType_p5", "interval"}."""
    hits = np.asarray(result["hits_at_5"]["articleType"], np.float64) / 5
    kinds = items["query_kind"].to_numpy() if "query_kind" in items else np.full(len(items), PHOTO)
    return {kind: {"n": int((kinds == kind).sum()), "articleType_p5": float(hits[kinds == kind].mean()),
                   "interval": bootstrap_interval(hits[kinds == kind], seed=seed)}
            for kind in QUERY_KINDS if (kinds == kind).any()}


def photo_queries_evaluation(artifacts: Artifacts, photos: PhotoFolder, *, space: str = BACKBONE_SPACE,
                             colour_weight: float = 0.0, type_first: bool = True, n_trees: int | None = None,
                             search_k: int | None = None) -> dict:
    """Evaluate a catalogue with embedded photos of other products as queries (see :func:`embed_folder`)."""
    vectors = photos.vectors
    if space != BACKBONE_SPACE:
        vectors = artifacts.head(space).transform(vectors, photos.colours)
    everything = np.arange(len(artifacts.metadata))
    kinds = None
    if "garment_kinds" in photos.items:  # garments the finder cut, searched within the kinds it read them as
        kinds = [value.split("|") if value else () for value in photos.items["garment_kinds"].fillna("").astype(str)]
    ranker, probabilities = space_ranking(artifacts, space, everything, vectors, colour_weight=colour_weight,
                                         type_first=type_first, kinds=kinds)
    settings = artifacts.manifest.index
    result = evaluate_vectors(np.asarray(artifacts.space_vectors(space)), artifacts.metadata, vectors, photos.items,
                              metric=settings.metric, n_trees=n_trees or settings.n_trees,
                              search_k=artifacts.tuned_search_k(space) if search_k is None else search_k,
                              ranker=ranker, query_colours=photos.colours, query_probabilities=probabilities)
    kinds = {kind: {**row, "space": space} for kind, row in by_query_kind(result, photos.items).items()}
    result.update(space=space, queries=str(photos.folder), colour_weight=colour_weight, type_first=type_first,
                  features=artifacts.manifest.features.to_json(), by_query_kind=kinds)
    return result


def query_folder_evaluation(root: str, query_dir: str, styles: str, *, space: str | None = None,
                            colour_weight: float = 0.0, type_first: bool = True, n_trees: int | None = None,
                            search_k: int | None = None, weights: str | None = None, progress: bool = False) -> dict:
    """Evaluate a built catalogue with photos of other products (embedded now, with bars on stderr where
    ``progress``), by kind of query.

    The folder's photos are searched whole, and the garments its ``garments.csv`` annotates cut to their
    boxes; where a garment finder is trained, those garments also as a shopper picks them among the finder's
    boxes (reported by kind, with the finder's recall, apart from the whole figures). ``space`` None: each kind
    of query in the space the product searches it in (:meth:`~recommender.store.manifest.Manifest.space_for`;
    the whole figures are the product photos' space's, each kind's row names its space).
    """
    extractor = catalogue_extractor(root, read_manifest(root), weights=weights)
    artifacts = load_artifacts(root, expect_features=extractor.settings, expect_dataset=True)
    manifest, finder = artifacts.manifest, catalogue_finder(extractor, weights=weights)
    photos = embed_folder(extractor, query_dir, styles=styles, garments=True, progress=progress)
    settings = dict(colour_weight=colour_weight, type_first=type_first, n_trees=n_trees, search_k=search_k)
    product_space, worn_space = space or manifest.searched_space, space or manifest.space_for(worn=True)
    result = photo_queries_evaluation(artifacts, photos, space=product_space, **settings)
    if worn_space != product_space:
        worn = photo_queries_evaluation(artifacts, photos, space=worn_space, **settings)
        result["by_query_kind"].update({kind: row for kind, row in worn["by_query_kind"].items() if kind in WORN_KINDS})
    crops = finder_folder(extractor, query_dir, finder, progress=progress) if finder is not None else None
    if crops is not None:
        found = photo_queries_evaluation(artifacts, crops, space=worn_space, **settings)
        result["by_query_kind"].update(found["by_query_kind"])
        result["finder_recall"] = finder_recall(crops.items)
    return result


def trained_on_warning(artifacts: Artifacts, space: str, fraction: float, seed: int) -> str | None:
    """Why held-out queries of ``fraction`` and ``seed`` may include products ``space`` was trained on, or None."""
    if space == BACKBONE_SPACE:
        return None
    trained = artifacts.manifest.spaces[space].training
    if trained["holdout"] < fraction or trained["seed"] != seed:
        return (f"warning: space {space!r} was trained with holdout {trained['holdout']} seed {trained['seed']}; "
                f"queries of holdout {fraction} seed {seed} may include training products")
    return None
