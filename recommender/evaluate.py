"""Measure retrieval quality on products that are not in the searched catalogue.

Two ways to get unseen queries:

* ``--holdout F``: a stratified fraction F of the built catalogue (by
  articleType, seeded id hash, see :func:`recommender.catalogue.holdout_split`)
  is removed from the index and used as queries; their stored vectors are
  exactly what embedding their photos gives, so nothing is re-embedded.
* ``--queries DIR --styles CSV``: photos of other products, embedded now.

For each query the Annoy index returns 10 neighbours; a neighbour is relevant
for a label when it shares the query's value (articleType, subCategory, ...).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import (
    BACKBONE_SPACE,
    ArtifactError,
    Artifacts,
    commit_manifest,
    load_artifacts,
    read_manifest,
)
from .atomic import write_json_atomic
from .catalogue import COLOUR_FAMILIES, LABEL_COLUMNS, holdout_split, read_catalogue
from .head import Head, load_head
from .images import ImageError, decode_image
from .index import (
    DEFAULT_METRIC,
    DEFAULT_N_TREES,
    DEFAULT_SEARCH_K,
    VectorIndex,
    exact_search,
)
from .metrics import (
    average_precision_at_k,
    bootstrap_interval,
    paired_bootstrap_interval,
    precision_at_k,
    recall_at_k,
)
from .ranking import candidate_count, colour_rerank, label_rerank
from .robustness import CLEAN, PERTURBATIONS, robustness_report
from .search import Recommender
from .settings import artifacts_dir
from .splits import Splits, make_splits, read_splits
from .weights import WeightsUnavailable

K_VALUES = (1, 5, 10)
# The catalogue's labels, and baseColour read as a colour family (Navy Blue and Blue alike).
EVALUATED_LABELS = (*LABEL_COLUMNS, "colourFamily")
# Type-first penalty weights tried on the validation split (distances between unit vectors are in [0, 2]).
LABEL_WEIGHT_GRID = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)
# What "wins" is judged on: type must improve, colour must not get worse (see compare_models).
COMPARED_LABELS = ("articleType", "baseColour")
# Held-out queries re-shot under each perturbation by ``evaluate`` (each one is embedded ten times).
DEFAULT_ROBUSTNESS_QUERIES = 200
_CHUNK = 256


def evaluate_vectors(catalogue_vectors: np.ndarray, catalogue_labels: pd.DataFrame, query_vectors: np.ndarray,
                     query_labels: pd.DataFrame, *, metric: str = DEFAULT_METRIC, n_trees: int = DEFAULT_N_TREES,
                     search_k: int = DEFAULT_SEARCH_K, catalogue_colours: np.ndarray | None = None,
                     query_colours: np.ndarray | None = None, colour_weight: float = 0.0,
                     prior: LabelPrior | None = None, seed: int = 0) -> dict:
    """Label precision of Annoy's answers and Annoy's recall against exact search.

    Parameters
    ----------
    catalogue_vectors : (n, d) array
    catalogue_labels : DataFrame with :data:`LABEL_COLUMNS`, n rows
    query_vectors : (m, d) array
    query_labels : DataFrame with :data:`LABEL_COLUMNS`, m rows
    metric, n_trees, search_k : Annoy settings
    catalogue_colours, query_colours, colour_weight :
        Optional colour blend, as in :meth:`recommender.search.Recommender.search`.
    prior : LabelPrior, optional
        Type-first re-ranking by the queries' predicted labels.

    Returns
    -------
    dict
        ``n_queries``, ``n_catalogue``, ``precision_at_k`` (label -> k -> mean, for
        :data:`EVALUATED_LABELS`), ``p5_interval`` (label -> 95% bootstrap interval of P@5),
        ``map_at_10`` (label -> mean), ``annoy_recall_at_k`` (k -> mean),
        ``per_article_type`` (type -> n and P@5 of articleType and baseColour).
    """
    k_max = max(K_VALUES)
    pool = candidate_count(k_max, reranked=colour_weight > 0 or prior is not None)
    with tempfile.TemporaryDirectory(prefix="evaluate-") as tmp:
        index = VectorIndex(catalogue_vectors.shape[1], metric=metric, n_trees=n_trees, seed=seed)
        index.build(catalogue_vectors, Path(tmp) / "eval.ann")
        approx = np.full((len(query_vectors), k_max), -1, np.int64)
        annoy_rows = approx.copy()  # Annoy's own answer, before any colour re-ranking
        for q, vector in enumerate(query_vectors):
            rows, distances = index.query(vector, pool, search_k=search_k)
            annoy_rows[q, :min(k_max, len(rows))] = rows[:k_max]
            if colour_weight > 0:
                rows, distances = colour_rerank(rows, distances, catalogue_colours[rows], query_colours[q],
                                                colour_weight)
            if prior is not None:
                rows, distances = prior.rerank(rows, distances, q)
            approx[q, :min(k_max, len(rows))] = rows[:k_max]
        del index
    exact = np.concatenate([
        exact_search(catalogue_vectors, query_vectors[start:start + _CHUNK], k_max, metric=metric)[0]
        for start in range(0, len(query_vectors), _CHUNK)
    ])
    result: dict = {"n_queries": int(len(query_vectors)), "n_catalogue": int(len(catalogue_vectors)),
                    "ranking": "type first" if prior is not None else "distance",
                    "precision_at_k": {}, "p5_interval": {}, "map_at_10": {}}
    catalogue_labels, query_labels = with_colour_family(catalogue_labels), with_colour_family(query_labels)
    relevant_by_label = {}
    for label in EVALUATED_LABELS:
        truth = query_labels[label].to_numpy()
        found = catalogue_labels[label].to_numpy()[approx]
        relevant = found == truth[:, None]
        relevant_by_label[label] = relevant
        counts = catalogue_labels[label].value_counts()
        n_relevant = counts.reindex(truth).fillna(0).to_numpy()
        result["precision_at_k"][label] = {str(k): float(precision_at_k(relevant, k).mean()) for k in K_VALUES}
        result["p5_interval"][label] = bootstrap_interval(precision_at_k(relevant, 5), seed=seed)
        if label in COMPARED_LABELS:  # per query, for paired comparisons of two models on the same queries
            result.setdefault("hits_at_5", {})[label] = relevant[:, :5].sum(axis=1).tolist()
        result["map_at_10"][label] = float(average_precision_at_k(relevant, 10, n_relevant).mean())
    result["annoy_recall_at_k"] = {str(k): float(recall_at_k(annoy_rows, exact, k).mean()) for k in K_VALUES}
    per_type = {}
    types = query_labels["articleType"].to_numpy()
    p5_type = precision_at_k(relevant_by_label["articleType"], 5)
    p5_colour = precision_at_k(relevant_by_label["baseColour"], 5)
    for name in sorted(set(types)):
        mask = types == name
        per_type[name] = {"n": int(mask.sum()), "articleType_p5": float(p5_type[mask].mean()),
                          "baseColour_p5": float(p5_colour[mask].mean())}
    result["per_article_type"] = per_type
    return result


@dataclass(frozen=True)
class LabelPrior:
    """Type-first re-ranking for a batch of queries (see :func:`recommender.ranking.label_rerank`).

    Attributes
    ----------
    weights : label -> penalty weight
    probabilities : label -> (m, classes) predicted distribution of each query
    catalogue_classes : label -> (n,) class of each catalogue product (-1: unknown to the head)
    """

    weights: Mapping[str, float]
    probabilities: Mapping[str, np.ndarray]
    catalogue_classes: Mapping[str, np.ndarray]

    @classmethod
    def from_head(cls, head: Head, weights: Mapping[str, float], query_space_vectors: np.ndarray,
                  catalogue_labels: pd.DataFrame) -> "LabelPrior":
        """The prior a trained head gives queries (by their vectors in its space) over a labelled catalogue."""
        weights = {label: w for label, w in weights.items() if label in head.centres}
        return cls(weights, head.predict(query_space_vectors),
                   {label: head.class_index(label, catalogue_labels[label].to_numpy()) for label in weights})

    def rerank(self, rows: np.ndarray, distances: np.ndarray, query: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidates of query number ``query``, re-ranked."""
        classes = {label: classes[rows] for label, classes in self.catalogue_classes.items()}
        return label_rerank(rows, distances, classes, {label: p[query] for label, p in self.probabilities.items()},
                            self.weights)


def with_colour_family(labels: pd.DataFrame) -> pd.DataFrame:
    """The labels with a ``colourFamily`` column (:data:`recommender.catalogue.COLOUR_FAMILIES`)."""
    if "colourFamily" in labels:
        return labels
    return labels.assign(colourFamily=labels["baseColour"].map(COLOUR_FAMILIES).fillna(""))


def choose_label_weights(space_vectors: np.ndarray, metadata: pd.DataFrame, head: Head, splits: Splits) -> dict:
    """The type-first penalty weights that maximise articleType + baseColour P@5 on the validation split.

    Validation products are searched (exactly) among the training products, so
    test queries never choose a setting.  Returns ``{"weights": ..., "validation": ...}``.
    """
    queries, catalogue = np.flatnonzero(splits.validation), np.flatnonzero(splits.train)
    labels = ("articleType", "baseColour")
    if len(queries) == 0 or len(catalogue) < 5:
        return {"weights": dict.fromkeys(labels, 0.0), "validation": {"n_queries": 0}}
    rows, distances = exact_search(space_vectors[catalogue], space_vectors[queries],
                                   candidate_count(5, reranked=True))
    probabilities = head.predict(space_vectors[queries])
    truth = {label: metadata[label].to_numpy() for label in labels}
    classes = {label: head.class_index(label, truth[label][catalogue]) for label in labels}

    def scores(weights: dict[str, float]) -> dict[str, float]:
        top = np.array([label_rerank(r, d, {label: classes[label][r] for label in labels},
                                     {label: probabilities[label][q] for label in labels}, weights)[0][:5]
                        for q, (r, d) in enumerate(zip(rows, distances))])
        return {label: float((truth[label][catalogue][top] == truth[label][queries][:, None]).mean())
                for label in labels}

    grid = [dict(zip(labels, pair)) for pair in itertools.product(LABEL_WEIGHT_GRID, repeat=2)]
    measured = [(weights, scores(weights)) for weights in grid]
    best, best_scores = max(measured, key=lambda item: (sum(item[1].values()), -sum(item[0].values())))
    return {"weights": best, "validation": {"n_queries": int(len(queries)), "p5": best_scores,
                                           "p5_distance_only": measured[0][1]}}


def evaluation_splits(artifacts: Artifacts, fraction: float, *, seed: int = 0, space: str | None = None) -> Splits:
    """The build's random, grouped and validation splits for ``fraction`` and ``seed``.

    A trained space keeps the split it was trained with (``space`` first, then
    any other); every space is then measured on the same products.  Without
    one, the split is made from the backbone vectors.
    """
    entries = artifacts.manifest.get("spaces", {})
    for name in sorted(entries, key=lambda name: name != space):
        if "split" in entries[name]:
            splits, settings = read_splits(artifacts.root / entries[name]["split"]["name"], artifacts.metadata)
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
    colours = np.asarray(artifacts.colours)
    catalogue_labels = metadata[is_catalogue].reset_index(drop=True)
    prior = space_prior(artifacts, space, vectors[is_query], catalogue_labels) if type_first else None
    settings = artifacts.manifest["index"]
    return evaluate_vectors(vectors[is_catalogue], catalogue_labels,
                            vectors[is_query], metadata[is_query].reset_index(drop=True),
                            metric=settings["metric"], n_trees=n_trees or settings["n_trees"],
                            search_k=artifacts.tuned_search_k(space) if search_k is None else search_k,
                            catalogue_colours=colours[is_catalogue], query_colours=colours[is_query],
                            colour_weight=colour_weight, prior=prior, seed=seed)


def space_prior(artifacts: Artifacts, space: str, query_space_vectors: np.ndarray,
                catalogue_labels: pd.DataFrame) -> LabelPrior | None:
    """The type-first prior of a trained space for these queries, or None (backbone, or no weights chosen)."""
    weights = artifacts.type_first_weights(space)
    if not weights:
        return None
    return LabelPrior.from_head(load_head(artifacts, space), weights, query_space_vectors, catalogue_labels)


def holdout_evaluation(artifacts: Artifacts, fraction: float, *, space: str = BACKBONE_SPACE, seed: int = 0,
                       colour_weight: float = 0.0, type_first: bool = True, n_trees: int | None = None,
                       search_k: int | None = None, baseline: Artifacts | None = None) -> dict:
    """Evaluate a build on its held-out products: the random split, and the near-duplicate-grouped one.

    The top level holds the random split's figures (the keys of every earlier
    evaluation); ``"grouped"`` holds the same figures for the grouped split.
    With ``baseline`` (another build, e.g. of the original design's recipe),
    both are evaluated on the same queries and catalogue, restricted to
    products both builds hold; the result then has a ``"baseline"`` entry.
    """
    splits = evaluation_splits(artifacts, fraction, seed=seed, space=space)
    _warn_if_trained_on(artifacts, space, fraction, seed)
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
            measured.update(space=BACKBONE_SPACE, features=baseline.manifest["features"])
            _nest(result, name, "baseline", measured)
        measured = split_evaluation(artifacts, queries, catalogue, space=space, type_first=type_first, **options)
        _nest(result, name, None, measured)
    result.update(space=space, holdout=fraction, colour_weight=colour_weight, type_first=type_first,
                  features=artifacts.manifest["features"])
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


def query_folder_evaluation(root: str, query_dir: str, styles: str, *, space: str = BACKBONE_SPACE,
                            colour_weight: float = 0.0, type_first: bool = True, n_trees: int | None = None,
                            search_k: int | None = None,
                            weights: str | None = None) -> dict:
    """Evaluate a built catalogue with photos of other products (embedded now)."""
    recommender = Recommender.load(root, weights=weights)
    catalogue = read_catalogue(query_dir, styles=styles)
    labelled = catalogue.items[catalogue.items["articleType"] != ""].reset_index(drop=True)
    if labelled.empty:
        raise ValueError(f"No labelled query photos in {query_dir} (is {styles} there?)")
    paths = [catalogue.root / rel for rel in labelled["image"]]
    vectors, colours, good = [], [], []
    for batch in recommender.extractor.embed_files(paths):
        for i, error in enumerate(batch.errors):
            if error is None:
                vectors.append(batch.vectors[i])
                colours.append(batch.colours[i])
                good.append(batch.start + i)
    vectors, colours = np.stack(vectors), np.stack(colours)
    artifacts = recommender.artifacts
    if space != BACKBONE_SPACE:
        vectors = load_head(artifacts, space).transform(vectors, colours)
    prior = space_prior(artifacts, space, vectors, artifacts.metadata) if type_first else None
    settings = artifacts.manifest["index"]
    result = evaluate_vectors(np.asarray(artifacts.space_vectors(space)), artifacts.metadata, vectors,
                              labelled.iloc[good].reset_index(drop=True), metric=settings["metric"],
                              n_trees=n_trees or settings["n_trees"],
                              search_k=artifacts.tuned_search_k(space) if search_k is None else search_k,
                              catalogue_colours=np.asarray(artifacts.colours), query_colours=colours,
                              colour_weight=colour_weight, prior=prior)
    result.update(space=space, queries=str(query_dir), colour_weight=colour_weight, type_first=type_first,
                  features=artifacts.manifest["features"])
    return result


def robustness_evaluation(recommender, query_rows: np.ndarray, catalogue_rows: np.ndarray, *, space: str,
                          count: int, type_first: bool = True, seed: int = 0,
                          progress: Callable[[int, int], None] | None = None) -> dict:
    """articleType and baseColour P@5 of up to ``count`` held-out queries, clean and under each perturbation.

    Parameters
    ----------
    recommender : Recommender
        Loaded with its model (the perturbed photos are embedded now).
    query_rows, catalogue_rows : (n,) bool
        The split: queries, and the products the index holds.
    space : embedding space measured
    count : int
        Queries used (a seeded random subset of ``query_rows``).

    Returns
    -------
    dict
        perturbation name -> {"articleType": P@5, "baseColour": P@5, "articleType_interval": [lo, hi],
        "drop_points": clean minus perturbed articleType P@5, in points}; the clean row is ``"clean photo"``.
    """
    artifacts = recommender.artifacts
    rows = np.flatnonzero(query_rows)
    rows = np.sort(np.random.default_rng(seed).permutation(rows)[:count])
    catalogue = np.asarray(catalogue_rows, bool).copy()
    catalogue[rows] = False
    metadata = artifacts.metadata
    photos, readable = [], []
    for row in rows:
        try:
            photos.append(decode_image(recommender.dataset_root / metadata["image"].iloc[row]))
            readable.append(row)
        except (ImageError, OSError):
            continue  # a photo gone or damaged since the build: measured without it
    if not photos:
        raise ValueError(f"None of the held-out photos could be read under {recommender.dataset_root}")
    rows = np.array(readable)
    catalogue_vectors = np.asarray(artifacts.space_vectors(space))[catalogue]
    catalogue_labels = metadata[catalogue].reset_index(drop=True)
    query_labels = metadata.iloc[rows].reset_index(drop=True)
    settings = artifacts.manifest["index"]
    table: dict[str, dict] = {}
    variants = {CLEAN: lambda image, rng: image, **PERTURBATIONS}
    for done, (name, perturb) in enumerate(variants.items()):
        rng = np.random.default_rng(seed)
        queries = recommender.queries_from_images([perturb(photo, rng) for photo in photos])
        vectors = np.stack([recommender.space_vector(query, space) for query in queries])
        prior = space_prior(artifacts, space, vectors, catalogue_labels) if type_first else None
        result = evaluate_vectors(catalogue_vectors, catalogue_labels, vectors, query_labels,
                                  metric=settings["metric"], n_trees=settings["n_trees"], prior=prior, seed=seed)
        table[name] = {"articleType": result["precision_at_k"]["articleType"]["5"],
                       "baseColour": result["precision_at_k"]["baseColour"]["5"],
                       "articleType_interval": result["p5_interval"]["articleType"]}
        if progress is not None:
            progress(done + 1, len(variants))
    clean = table[CLEAN]["articleType"]
    for row in table.values():
        row["drop_points"] = round(100 * (clean - row["articleType"]), 1)
    return table


def _warn_if_trained_on(artifacts: Artifacts, space: str, fraction: float, seed: int) -> None:
    if space == BACKBONE_SPACE:
        return
    trained = artifacts.manifest["spaces"][space]["training"]
    if trained["holdout"] < fraction or trained["seed"] != seed:
        print(f"warning: space {space!r} was trained with holdout {trained['holdout']} seed {trained['seed']}; "
              f"queries of holdout {fraction} seed {seed} may include training products", file=sys.stderr)


def compare_models(before: dict, after: dict, *, seed: int = 0) -> dict:
    """Whether ``after`` beats ``before`` on the same held-out queries, beyond noise.

    Both are evaluations of the same queries in the same order (two spaces of a
    build, or a build and its fine-tuned successor); the grouped split is used
    where both have it.  ``after`` wins when the paired 95% bootstrap interval
    of its articleType P@5 gain lies above 0 and that of its baseColour change
    does not lie below 0.

    Returns
    -------
    dict
        ``wins`` and, per label of :data:`COMPARED_LABELS`, ``before``, ``after``, ``change`` and
        ``interval`` (of the change).
    """
    before, after = grouped_result(before) or before, grouped_result(after) or after
    if before["n_queries"] != after["n_queries"]:
        raise ValueError(f"Expected evaluations of the same queries, got {before['n_queries']} and "
                         f"{after['n_queries']}")
    report: dict = {}
    for label in COMPARED_LABELS:
        old, new = (np.asarray(result["hits_at_5"][label], np.float64) / 5 for result in (before, after))
        report[label] = {"before": float(old.mean()), "after": float(new.mean()), "change": float((new - old).mean()),
                         "interval": paired_bootstrap_interval(old, new, seed=seed)}
    report["wins"] = report["articleType"]["interval"][0] > 0 and report["baseColour"]["interval"][1] >= 0
    return report


def format_comparison(report: dict, before: str, after: str) -> str:
    """One line per compared label: both P@5, the change and its paired interval."""
    return "\n".join(f"  {label:<12} P@5 {before} {row['before']:.3f}  {after} {row['after']:.3f}  change "
                     f"{100 * row['change']:+.1f} points (95% interval {100 * row['interval'][0]:+.1f} to "
                     f"{100 * row['interval'][1]:+.1f})" for label, row in report.items() if label != "wins")


def choose_default_space(root: Path, space: str, *, holdout: float, seed: int,
                         log: Callable[[str], None] = print) -> dict:
    """Make ``space`` the catalogue's default only where it wins on the held-out products.

    It must beat the frozen ImageNet features on articleType P@5 without
    losing baseColour P@5, beyond noise (:func:`compare_models`), on the
    near-duplicate-grouped split (the one a twin cannot flatter).  Both
    evaluations are saved beside the build (the dashboard's Evaluation page
    shows them).  Returns the comparison.
    """
    artifacts = load_artifacts(root)
    results = {}
    for name in (BACKBONE_SPACE, space):
        results[name] = holdout_evaluation(artifacts, holdout, space=name, seed=seed)
        save_evaluation(root, artifacts.build_id, results[name])
    comparison = compare_models(results[BACKBONE_SPACE], results[space], seed=seed)
    log(f"Grouped split, {BACKBONE_SPACE} vs {space}:\n" + format_comparison(comparison, BACKBONE_SPACE, space))
    manifest = dict(artifacts.manifest)
    manifest["default_space"] = space if comparison["wins"] else BACKBONE_SPACE
    manifest["spaces"][space]["comparison"] = comparison
    commit_manifest(root, manifest)
    verdict = "wins" if comparison["wins"] else "does not win beyond noise"
    log(f"Default space: {manifest['default_space']!r} ({space!r} {verdict} on held-out products).")
    return comparison


def save_evaluation(root: Path, build_id: str, result: dict) -> Path:
    """Keep an evaluation beside the build it measured (the dashboard shows it)."""
    name = f"{result['space']}-c{result['colour_weight']:g}"
    name += f"-holdout{result['holdout']:g}" if "holdout" in result else "-queries"
    name += "-vs-baseline" if "baseline" in result else ""
    name += "-distance-only" if result.get("type_first") is False else ""
    path = Path(root) / f"evaluation-{build_id}-{name}.json"
    write_json_atomic(path, result)
    return path


def load_saved_evaluations(root: Path, build_id: str) -> dict[str, dict]:
    """Evaluations saved for this build, by name (``imagenet-c0-holdout0.1``, ...)."""
    saved = {}
    for path in sorted(Path(root).glob(f"evaluation-{build_id}-*.json")):
        try:
            saved[path.stem.split(f"{build_id}-", 1)[1]] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a damaged file is simply not shown
    return saved


def headline_table(saved: dict[str, dict]) -> pd.DataFrame:
    """One column per saved evaluation: P@5 of each label (and on the grouped split where measured),
    articleType mAP@10, Annoy recall@5."""
    def rows(result: dict) -> dict:
        figures = {f"{label} P@5": result["precision_at_k"][label]["5"]
                   for label in EVALUATED_LABELS if label in result["precision_at_k"]}
        if grouped_result(result):
            figures.update({f"{label} P@5, grouped split": result["grouped"]["precision_at_k"][label]["5"]
                            for label in ("articleType", "baseColour")})
        return {**figures, "articleType mAP@10": result["map_at_10"]["articleType"],
                "Annoy recall@5": result["annoy_recall_at_k"]["5"]}

    return pd.DataFrame({name: rows(result) for name, result in saved.items()})


def per_type_table(result: dict) -> pd.DataFrame:
    """An evaluation's per-articleType rows (n, type P@5, colour P@5), largest types first."""
    table = pd.DataFrame(result["per_article_type"]).T[["n", "articleType_p5", "baseColour_p5"]]
    return table.astype({"n": int}).sort_values("n", ascending=False)


def robustness_table(result: dict) -> pd.DataFrame | None:
    """An evaluation's robustness rows (photo, type P@5 and its interval, colour P@5, drop), if it has them."""
    if "robustness" not in result:
        return None
    return pd.DataFrame([{"photo": name, "articleType P@5": row["articleType"],
                          "95% interval": "{:.3f}-{:.3f}".format(*row["articleType_interval"]),
                          "baseColour P@5": row["baseColour"], "drop (points)": row["drop_points"]}
                         for name, row in result["robustness"].items()]).set_index("photo")


def evaluation_sizes(saved: dict[str, dict]) -> str:
    """"N queries against M products" for each distinct size among saved evaluations."""
    sizes = sorted({(r["n_queries"], r["n_catalogue"]) for r in saved.values()})
    return "; ".join(f"{q:,} queries against {c:,} products" for q, c in sizes)


def held_out_product_ids(metadata: pd.DataFrame, fraction: float, *, count: int = 200, seed: int = 0) -> list[str]:
    """Up to ``count`` ids of the held-out split (in a seeded random order), e.g. as examples to show."""
    ids = metadata["id"].to_numpy()[holdout_split(metadata, fraction)]
    return ids[np.random.default_rng(seed).permutation(len(ids))[:count]].tolist()


def format_report(result: dict, baseline: dict | None = None) -> str:
    """Human-readable tables of an evaluation: both splits with 95% intervals, the baseline beside,
    robustness, and per-type figures."""
    lines = [f"{result['n_queries']:,} queries against {result['n_catalogue']:,} catalogue products, "
             f"space {result['space']!r}, colour weight {result['colour_weight']}, ranking: {result['ranking']}"]
    grouped = grouped_result(result)
    if grouped:
        lines.append(f"grouped split (near-duplicates kept together): {result['grouped']['n_queries']:,} queries "
                     f"against {result['grouped']['n_catalogue']:,}")
    header = f"{'label':<16}" + "".join(f"{'P@' + str(k):>8}" for k in K_VALUES) + f"{'P@5 95% CI':>16}{'mAP@10':>8}"
    header += f"{'grouped P@5':>24}" if grouped else ""
    header += f"{'base P@5':>10}" if baseline else ""
    lines += ["", header]
    for label in EVALUATED_LABELS:
        if label not in result["precision_at_k"]:
            continue
        low, high = result["p5_interval"][label]
        row = f"{label:<16}" + "".join(f"{result['precision_at_k'][label][str(k)]:>8.3f}" for k in K_VALUES)
        row += f"{f'{low:.3f}-{high:.3f}':>16}{result['map_at_10'][label]:>8.3f}"
        if grouped:
            g_low, g_high = grouped["p5_interval"][label]
            row += f"{grouped['precision_at_k'][label]['5']:>10.3f} ({g_low:.3f}-{g_high:.3f})"
        if baseline:
            row += f"{baseline['precision_at_k'][label]['5']:>10.3f}"
        lines.append(row)
    recall = ", ".join(f"@{k}: {v:.3f}" for k, v in result["annoy_recall_at_k"].items())
    lines += ["", f"Annoy recall against exact search {recall}"]
    if "robustness" in result:
        lines += ["", robustness_report(result["robustness"])]
    lines += ["", f"{'articleType':<28}{'n':>6}{'type P@5':>10}{'colour P@5':>12}"]
    for name, row in sorted(result["per_article_type"].items(), key=lambda item: -item[1]["n"]):
        lines.append(f"{name[:28]:<28}{row['n']:>6}{row['articleType_p5']:>10.3f}{row['baseColour_p5']:>12.3f}")
    return "\n".join(lines)


def add_evaluate_parser(sub: argparse._SubParsersAction, *,
                        parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """Register ``evaluate`` on the CLI."""
    parser = sub.add_parser("evaluate", help="precision@k / mAP@10 on unseen products, Annoy recall",
                            parents=list(parents))
    parser.add_argument("--artifacts", default=None)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--holdout", type=float, help="keep this fraction of the catalogue out, as queries")
    source.add_argument("--queries", help="folder of query photos (images/ + styles.csv layout)")
    parser.add_argument("--styles", default="styles.csv", help="labels of the query photos (with --queries)")
    parser.add_argument("--space", default=None, help="embedding space (default: the catalogue's default)")
    parser.add_argument("--colour-weight", type=float, default=0.0)
    parser.add_argument("--no-type-first", action="store_true",
                        help="rank by distance alone (default: a trained space's predicted type and colour steer it)")
    parser.add_argument("--robustness", type=int, default=DEFAULT_ROBUSTNESS_QUERIES, metavar="N",
                        help="embed N held-out queries under each perturbation (0: skip; with --holdout)")
    parser.add_argument("--n-trees", type=int, default=None)
    parser.add_argument("--search-k", type=int, default=None, help="default: the value tuned for the catalogue")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", default=None,
                        help="artifacts of another build (e.g. the original design's), evaluated on the same split")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    root = artifacts_dir(args.artifacts)
    space = args.space or read_manifest(root).get("default_space", BACKBONE_SPACE)
    options = dict(space=space, colour_weight=args.colour_weight, type_first=not args.no_type_first,
                   n_trees=args.n_trees, search_k=args.search_k)
    baseline = None
    if args.queries:
        queries = Path(args.queries)
        styles = args.styles if (queries / args.styles).is_file() else str(Path(args.styles).resolve())
        result = query_folder_evaluation(root, args.queries, styles, weights=args.weights, **options)
    else:
        artifacts = load_artifacts(root)
        other = load_artifacts(args.baseline) if args.baseline else None
        result = holdout_evaluation(artifacts, args.holdout, seed=args.seed, baseline=other, **options)
        baseline = result.get("baseline")
        if args.robustness > 0 and (robustness := _robustness(root, args, space)):
            result["robustness"] = robustness
    saved = save_evaluation(root, read_manifest(root)["build_id"], result)
    print(f"saved {saved}", file=sys.stderr)
    print(json.dumps(result, indent=2) if args.json else format_report(result, baseline))
    return 0


def _robustness(root: Path, args: argparse.Namespace, space: str) -> dict:
    """The robustness table on the grouped split's queries, with a progress bar ({} where no photo is readable)."""
    try:
        recommender = Recommender.load(root, weights=args.weights)
        splits = evaluation_splits(recommender.artifacts, args.holdout, seed=args.seed, space=space)
        return _robustness_with_bar(recommender, splits, args, space)
    except (ArtifactError, WeightsUnavailable, ValueError) as error:  # photos or model unavailable: say so
        print(f"warning: robustness not measured: {str(error).splitlines()[0]}", file=sys.stderr)
        return {}


def _robustness_with_bar(recommender: Recommender, splits: Splits, args: argparse.Namespace, space: str) -> dict:
    from tqdm import tqdm

    with tqdm(total=len(PERTURBATIONS) + 1, unit="photo set", desc=f"Robustness ({args.robustness} queries)",
              file=sys.stderr, disable=args.json) as bar:
        return robustness_evaluation(recommender, splits.grouped, ~splits.grouped, space=space,
                                     count=args.robustness, type_first=not args.no_type_first, seed=args.seed,
                                     progress=lambda done, total: bar.update(done - bar.n))
