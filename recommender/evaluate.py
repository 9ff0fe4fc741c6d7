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
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import (
    BACKBONE_SPACE,
    Artifacts,
    commit_manifest,
    load_artifacts,
    read_manifest,
)
from .atomic import write_json_atomic
from .catalogue import LABEL_COLUMNS, holdout_split, read_catalogue
from .head import load_head
from .index import (
    DEFAULT_METRIC,
    DEFAULT_N_TREES,
    DEFAULT_SEARCH_K,
    VectorIndex,
    exact_search,
)
from .metrics import average_precision_at_k, precision_at_k, recall_at_k
from .ranking import candidate_count, colour_rerank
from .search import Recommender
from .settings import artifacts_dir

K_VALUES = (1, 5, 10)
_CHUNK = 256


def evaluate_vectors(catalogue_vectors: np.ndarray, catalogue_labels: pd.DataFrame, query_vectors: np.ndarray,
                     query_labels: pd.DataFrame, *, metric: str = DEFAULT_METRIC, n_trees: int = DEFAULT_N_TREES,
                     search_k: int = DEFAULT_SEARCH_K, catalogue_colours: np.ndarray | None = None,
                     query_colours: np.ndarray | None = None, colour_weight: float = 0.0,
                     seed: int = 0) -> dict:
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

    Returns
    -------
    dict
        ``n_queries``, ``n_catalogue``, ``precision_at_k`` (label -> k -> mean),
        ``map_at_10`` (label -> mean), ``annoy_recall_at_k`` (k -> mean),
        ``per_article_type`` (type -> n and P@5 of articleType and baseColour).
    """
    k_max = max(K_VALUES)
    pool = candidate_count(k_max, colour_weight)
    with tempfile.TemporaryDirectory(prefix="evaluate-") as tmp:
        index = VectorIndex(catalogue_vectors.shape[1], metric=metric, n_trees=n_trees, seed=seed)
        index.build(catalogue_vectors, Path(tmp) / "eval.ann")
        approx = np.full((len(query_vectors), k_max), -1, np.int64)
        annoy_rows = approx.copy()  # Annoy's own answer, before any colour re-ranking
        for q, vector in enumerate(query_vectors):
            rows, distances = index.query(vector, pool, search_k=search_k)
            annoy_rows[q, :min(k_max, len(rows))] = rows[:k_max]
            if colour_weight > 0:
                rows, _ = colour_rerank(rows, distances, catalogue_colours[rows], query_colours[q], colour_weight)
            approx[q, :min(k_max, len(rows))] = rows[:k_max]
        del index
    exact = np.concatenate([
        exact_search(catalogue_vectors, query_vectors[start:start + _CHUNK], k_max, metric=metric)[0]
        for start in range(0, len(query_vectors), _CHUNK)
    ])
    result: dict = {"n_queries": int(len(query_vectors)), "n_catalogue": int(len(catalogue_vectors)),
                    "precision_at_k": {}, "map_at_10": {}}
    relevant_by_label = {}
    for label in LABEL_COLUMNS:
        truth = query_labels[label].to_numpy()
        found = catalogue_labels[label].to_numpy()[approx]
        relevant = found == truth[:, None]
        relevant_by_label[label] = relevant
        counts = catalogue_labels[label].value_counts()
        n_relevant = counts.reindex(truth).fillna(0).to_numpy()
        result["precision_at_k"][label] = {str(k): float(precision_at_k(relevant, k).mean()) for k in K_VALUES}
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


def holdout_ids(artifacts: Artifacts, fraction: float, *, seed: int = 0) -> tuple[set[str], set[str]]:
    """(catalogue ids, query ids) of the stratified holdout split of a build."""
    metadata = artifacts.metadata
    queries = holdout_split(metadata, fraction, seed=seed)
    return set(metadata["id"][~queries]), set(metadata["id"][queries])


def split_evaluation(artifacts: Artifacts, catalogue_ids: set[str], query_ids: set[str], *,
                     space: str = BACKBONE_SPACE, colour_weight: float = 0.0, n_trees: int | None = None,
                     search_k: int = DEFAULT_SEARCH_K, seed: int = 0) -> dict:
    """Evaluate a build with some of its products as queries against an index of others.

    The stored vectors of the query products are exactly what embedding their
    photos gives, so nothing is re-embedded.
    """
    metadata = artifacts.metadata
    is_query = metadata["id"].isin(query_ids).to_numpy()
    is_catalogue = metadata["id"].isin(catalogue_ids).to_numpy() & ~is_query
    vectors = np.asarray(artifacts.space_vectors(space))
    colours = np.asarray(artifacts.colours)
    settings = artifacts.manifest["index"]
    return evaluate_vectors(vectors[is_catalogue], metadata[is_catalogue].reset_index(drop=True),
                            vectors[is_query], metadata[is_query].reset_index(drop=True),
                            metric=settings["metric"], n_trees=n_trees or settings["n_trees"], search_k=search_k,
                            catalogue_colours=colours[is_catalogue], query_colours=colours[is_query],
                            colour_weight=colour_weight, seed=seed)


def holdout_evaluation(artifacts: Artifacts, fraction: float, *, space: str = BACKBONE_SPACE, seed: int = 0,
                       colour_weight: float = 0.0, n_trees: int | None = None, search_k: int = DEFAULT_SEARCH_K,
                       baseline: Artifacts | None = None) -> dict:
    """Evaluate a build on a stratified held-out fraction of itself.

    With ``baseline`` (another build, e.g. of the original design's recipe),
    both are evaluated on the same queries and catalogue: the held-out
    products and the rest, restricted to products both builds hold.  The
    result then has a ``"baseline"`` entry.
    """
    catalogue_ids, query_ids = holdout_ids(artifacts, fraction, seed=seed)
    _warn_if_trained_on(artifacts, space, fraction, seed)
    options = dict(colour_weight=colour_weight, n_trees=n_trees, search_k=search_k, seed=seed)
    result: dict = {}
    if baseline is not None:
        shared = set(baseline.metadata["id"])
        catalogue_ids, query_ids = catalogue_ids & shared, query_ids & shared
        result["baseline"] = split_evaluation(baseline, catalogue_ids, query_ids, **options)
        result["baseline"].update(space=BACKBONE_SPACE, features=baseline.manifest["features"])
    result.update(split_evaluation(artifacts, catalogue_ids, query_ids, space=space, **options))
    result.update(space=space, holdout=fraction, colour_weight=colour_weight, features=artifacts.manifest["features"])
    return result


def query_folder_evaluation(root: str, query_dir: str, styles: str, *, space: str = BACKBONE_SPACE,
                            colour_weight: float = 0.0, n_trees: int | None = None, search_k: int = DEFAULT_SEARCH_K,
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
    if space != BACKBONE_SPACE:
        vectors = load_head(recommender.artifacts, space).transform(vectors, colours)
    artifacts = recommender.artifacts
    settings = artifacts.manifest["index"]
    result = evaluate_vectors(np.asarray(artifacts.space_vectors(space)), artifacts.metadata, vectors,
                              labelled.iloc[good].reset_index(drop=True), metric=settings["metric"],
                              n_trees=n_trees or settings["n_trees"], search_k=search_k,
                              catalogue_colours=np.asarray(artifacts.colours), query_colours=colours,
                              colour_weight=colour_weight)
    result.update(space=space, queries=str(query_dir), colour_weight=colour_weight,
                  features=artifacts.manifest["features"])
    return result


def _warn_if_trained_on(artifacts: Artifacts, space: str, fraction: float, seed: int) -> None:
    if space == BACKBONE_SPACE:
        return
    trained = artifacts.manifest["spaces"][space]["training"]
    if trained["holdout"] < fraction or trained["seed"] != seed:
        print(f"warning: space {space!r} was trained with holdout {trained['holdout']} seed {trained['seed']}; "
              f"queries of holdout {fraction} seed {seed} may include training products", file=sys.stderr)


def choose_default_space(root: Path, space: str, *, holdout: float, seed: int,
                         log: Callable[[str], None] = print) -> dict:
    """Make ``space`` the catalogue's default only where it wins on the held-out products.

    It must beat the frozen ImageNet features on articleType P@5 without
    losing baseColour P@5.  Both evaluations are saved beside the build (the
    dashboard's Evaluation page shows them).  Returns both P@5 figures.
    """
    artifacts = load_artifacts(root)
    scores = {}
    for name in (BACKBONE_SPACE, space):
        result = holdout_evaluation(artifacts, holdout, space=name, seed=seed)
        save_evaluation(root, artifacts.build_id, result)
        scores[name] = {label: result["precision_at_k"][label]["5"] for label in LABEL_COLUMNS}
        log(f"  {name:<10} P@5 " + "  ".join(f"{k} {v:.3f}" for k, v in scores[name].items()))
    wins = scores[space]["articleType"] > scores[BACKBONE_SPACE]["articleType"] and \
        scores[space]["baseColour"] >= scores[BACKBONE_SPACE]["baseColour"]
    manifest = dict(artifacts.manifest)
    manifest["default_space"] = space if wins else BACKBONE_SPACE
    manifest["spaces"][space]["comparison"] = scores
    commit_manifest(root, manifest)
    log(f"Default space: {manifest['default_space']!r} ({'wins' if wins else 'does not win'} on held-out products).")
    return scores


def save_evaluation(root: Path, build_id: str, result: dict) -> Path:
    """Keep an evaluation beside the build it measured (the dashboard shows it)."""
    name = f"{result['space']}-c{result['colour_weight']:g}"
    name += f"-holdout{result['holdout']:g}" if "holdout" in result else "-queries"
    name += "-vs-baseline" if "baseline" in result else ""
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
    """One column per saved evaluation: P@5 of each label, articleType mAP@10, Annoy recall@5."""
    return pd.DataFrame({
        name: {**{f"{label} P@5": result["precision_at_k"][label]["5"] for label in LABEL_COLUMNS},
               "articleType mAP@10": result["map_at_10"]["articleType"],
               "Annoy recall@5": result["annoy_recall_at_k"]["5"]}
        for name, result in saved.items()
    })


def per_type_table(result: dict) -> pd.DataFrame:
    """An evaluation's per-articleType rows (n, type P@5, colour P@5), largest types first."""
    table = pd.DataFrame(result["per_article_type"]).T[["n", "articleType_p5", "baseColour_p5"]]
    return table.astype({"n": int}).sort_values("n", ascending=False)


def evaluation_sizes(saved: dict[str, dict]) -> str:
    """"N queries against M products" for each distinct size among saved evaluations."""
    sizes = sorted({(r["n_queries"], r["n_catalogue"]) for r in saved.values()})
    return "; ".join(f"{q:,} queries against {c:,} products" for q, c in sizes)


def held_out_product_ids(metadata: pd.DataFrame, fraction: float, *, count: int = 200, seed: int = 0) -> list[str]:
    """Up to ``count`` ids of the held-out split (in a seeded random order), e.g. as examples to show."""
    ids = metadata["id"].to_numpy()[holdout_split(metadata, fraction)]
    return ids[np.random.default_rng(seed).permutation(len(ids))[:count]].tolist()


def format_report(result: dict, baseline: dict | None = None) -> str:
    """Human-readable tables of an evaluation (and its baseline, side by side)."""
    lines = [f"{result['n_queries']:,} queries against {result['n_catalogue']:,} catalogue products, "
             f"space {result['space']!r}, colour weight {result['colour_weight']}"]
    header = f"{'label':<16}" + "".join(f"{'P@' + str(k):>8}" for k in K_VALUES) + f"{'mAP@10':>8}"
    if baseline:
        header += f"{'base P@5':>10}{'base mAP':>10}"
    lines += ["", header]
    for label in LABEL_COLUMNS:
        row = f"{label:<16}" + "".join(f"{result['precision_at_k'][label][str(k)]:>8.3f}" for k in K_VALUES)
        row += f"{result['map_at_10'][label]:>8.3f}"
        if baseline:
            row += f"{baseline['precision_at_k'][label]['5']:>10.3f}{baseline['map_at_10'][label]:>10.3f}"
        lines.append(row)
    recall = ", ".join(f"@{k}: {v:.3f}" for k, v in result["annoy_recall_at_k"].items())
    lines += ["", f"Annoy recall against exact search {recall}", "",
              f"{'articleType':<28}{'n':>6}{'type P@5':>10}{'colour P@5':>12}"]
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
    parser.add_argument("--n-trees", type=int, default=None)
    parser.add_argument("--search-k", type=int, default=DEFAULT_SEARCH_K)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", default=None,
                        help="artifacts of another build (e.g. the original design's), evaluated on the same split")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    root = artifacts_dir(args.artifacts)
    space = args.space or read_manifest(root).get("default_space", BACKBONE_SPACE)
    options = dict(space=space, colour_weight=args.colour_weight, n_trees=args.n_trees, search_k=args.search_k)
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
    saved = save_evaluation(root, read_manifest(root)["build_id"], result)
    print(f"saved {saved}", file=sys.stderr)
    print(json.dumps(result, indent=2) if args.json else format_report(result, baseline))
    return 0
