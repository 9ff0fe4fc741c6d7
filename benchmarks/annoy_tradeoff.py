"""Annoy on real features: recall against exact search vs query time, over n_trees and search_k.

    python benchmarks/annoy_tradeoff.py [--artifacts artifacts] [--queries 1000] [--space SPACE]

Queries are held-out catalogue products (stratified 2.5%), the index holds the rest. For each
n_trees in {10, 25, 50, 100, 200} and search_k from Annoy's default (n_trees * k) up to
near-exhaustive, prints recall@5 and @10 against exact numpy search and the mean query time;
exact search is timed in the same run. Then checks whether PCA to 256 or 512 dimensions
(fitted on the catalogue) keeps recall@5 >= 0.95 against the full-dimension exact answer.
Writes benchmarks/results/NAME.{png,json} (the dashboard shows annoy_tradeoff.png).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

RESULTS = Path(__file__).resolve().parent / "results"
TREES = (10, 25, 50, 100, 200)
SEARCH_K_FACTORS = (1, 2, 4, 10, 30)


def _timed_queries(index, queries: np.ndarray, k: int, search_k: int) -> tuple[np.ndarray, float]:
    rows = np.empty((len(queries), k), np.int64)
    started = time.perf_counter()
    for i, query in enumerate(queries):
        rows[i] = index.query(query, k, search_k=search_k)[0]
    return rows, (time.perf_counter() - started) / len(queries) * 1000


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from recommender.data.catalogue import holdout_split
    from recommender.evaluation.metrics import recall_at_k
    from recommender.explore.projection import pca_basis
    from recommender.index.annoy import VectorIndex
    from recommender.index.exact import exact_search
    from recommender.store.artifacts import load_artifacts

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", default="artifacts")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--space", default=None)
    parser.add_argument("--name", default="annoy_tradeoff", help="file name of the plot and JSON in results/")
    parser.add_argument("--trees", default=",".join(map(str, TREES)), help="n_trees values, comma-separated")
    args = parser.parse_args()

    artifacts = load_artifacts(args.artifacts)
    space = args.space or artifacts.manifest.searched_space
    vectors = np.asarray(artifacts.space_vectors(space))
    is_query = holdout_split(artifacts.metadata, 0.025)
    catalogue, queries = vectors[~is_query], vectors[is_query][: args.queries]
    k = 10
    started = time.perf_counter()
    exact = np.concatenate([exact_search(catalogue, q[None], k)[0] for q in queries])
    exact_ms = (time.perf_counter() - started) / len(queries) * 1000
    print(f"{len(queries)} held-out queries, catalogue {len(catalogue):,} x {catalogue.shape[1]} ({space}); "
          f"exact numpy search: {exact_ms:.2f} ms/query\n")
    print("| n_trees | build s | file MB | search_k | recall@5 | recall@10 | ms/query | speed-up vs exact |")
    print("|---|---|---|---|---|---|---|---|")
    curves, table = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for n_trees in [int(t) for t in args.trees.split(",")]:
            t0 = time.perf_counter()
            index = VectorIndex(catalogue.shape[1], n_trees=n_trees).build(catalogue, Path(tmp) / f"{n_trees}.ann")
            build_s = time.perf_counter() - t0
            size_mb = (Path(tmp) / f"{n_trees}.ann").stat().st_size / 2 ** 20
            curves[n_trees] = []
            for factor in SEARCH_K_FACTORS:
                search_k = n_trees * k * factor
                rows, ms = _timed_queries(index, queries, k, search_k)
                r5, r10 = recall_at_k(rows, exact, 5).mean(), recall_at_k(rows, exact, 10).mean()
                curves[n_trees].append((ms, r5))
                table.append({"n_trees": n_trees, "search_k": search_k, "recall_at_5": r5, "recall_at_10": r10,
                              "ms": ms, "build_s": build_s, "file_mb": size_mb})
                print(f"| {n_trees} | {build_s:.1f} | {size_mb:.0f} | {search_k}{' (default)' if factor == 1 else ''}"
                      f" | {r5:.3f} | {r10:.3f} | {ms:.2f} | {exact_ms / ms:.0f}x |")
            del index
        good = [row for row in table if row["recall_at_5"] >= 0.99]
        best = min(good, key=lambda row: row["ms"]) if good else max(table, key=lambda row: row["recall_at_5"])
        print(f"\nChosen: n_trees={best['n_trees']}, search_k={best['search_k']}: recall@5 {best['recall_at_5']:.3f} "
              f"at {best['ms']:.2f} ms/query (lowest latency with recall@5 >= 0.99)\n")

        print("| dimensions | recall@5 vs full exact (exact search, reduced) | recall@5 (Annoy 50 trees) | ms/query |")
        print("|---|---|---|---|")
        reduced_rows = []
        for dims in (256, 512):
            if dims >= catalogue.shape[1]:
                continue
            mean, basis = pca_basis(catalogue, dims)
            small_catalogue = (catalogue - mean) @ basis
            small_queries = (queries - mean) @ basis
            exact_small = np.concatenate([exact_search(small_catalogue, q[None], 5)[0] for q in small_queries])
            index = VectorIndex(dims, n_trees=50).build(small_catalogue, Path(tmp) / f"pca{dims}.ann")
            rows, ms = _timed_queries(index, small_queries, 5, 50 * 5 * 4)
            r_exact = recall_at_k(exact_small, exact, 5).mean()
            r_annoy = recall_at_k(rows, exact, 5).mean()
            reduced_rows.append({"dims": dims, "exact_recall_at_5": r_exact, "annoy_recall_at_5": r_annoy, "ms": ms})
            print(f"| {dims} | {r_exact:.3f} | {r_annoy:.3f} | {ms:.2f} |")
    RESULTS.mkdir(exist_ok=True)
    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=110)
    for n_trees, points in curves.items():
        ms, recall = zip(*points)
        axes.plot(ms, recall, marker="o", label=f"{n_trees} trees")
    axes.axvline(exact_ms, color="grey", linestyle="--", label=f"exact numpy ({exact_ms:.1f} ms)")
    axes.scatter([best["ms"]], [best["recall_at_5"]], s=160, facecolors="none", edgecolors="black", zorder=5,
                 label="default")
    axes.set_xscale("log")
    axes.set_xlabel("ms per query (log)")
    axes.set_ylabel("recall@5 vs exact")
    axes.set_title(f"Annoy on {len(catalogue):,} real {space} vectors ({catalogue.shape[1]}-d); "
                   "points: search_k = n_trees*k x 1, 2, 4, 10, 30", fontsize=8)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(RESULTS / f"{args.name}.png")
    (RESULTS / f"{args.name}.json").write_text(json.dumps(
        {"space": space, "exact_ms": exact_ms, "rows": table, "chosen": best, "pca": reduced_rows}, indent=2))
    print(f"\nwrote {RESULTS / args.name}.png")


if __name__ == "__main__":
    main()
