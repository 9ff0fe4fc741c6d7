"""A million-item catalogue: Annoy build, size, memory and query speed at the app's settings.

    python benchmarks/million.py [--artifacts artifacts] [--items 1000000] [--space SPACE] [--out DIR]

The vectors are made from the real catalogue's: item i is real vector (i mod n) plus Gaussian
noise whose norm is half the median nearest-neighbour distance of the real catalogue, then
L2-normalised, generated chunk by chunk from a fixed seed (never all in memory). Queries are
held-out real products plus fresh noise. The index is built with Annoy's on-disk build, then
memory-mapped; exact top-k for recall is computed by streaming the same chunks again.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHUNK = 50_000


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _chunks(base: np.ndarray, items: int, sigma: float):
    from recommender.features.extractor import l2_normalise

    for start in range(0, items, CHUNK):
        rng = np.random.default_rng(start)
        rows = np.arange(start, min(items, start + CHUNK)) % len(base)
        noise = rng.normal(scale=sigma, size=(len(rows), base.shape[1])).astype(np.float32)
        yield start, l2_normalise(base[rows] + noise)


def main() -> None:
    from annoy import AnnoyIndex

    from recommender.data.catalogue import holdout_split
    from recommender.evaluation.metrics import recall_at_k
    from recommender.features.extractor import l2_normalise
    from recommender.index.annoy import DEFAULT_N_TREES, DEFAULT_SEARCH_K
    from recommender.index.exact import exact_search
    from recommender.store.artifacts import load_artifacts

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", default="artifacts")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--space", default=None)
    parser.add_argument("--n-trees", type=int, default=DEFAULT_N_TREES)
    parser.add_argument("--out", default=None, help="folder for the index file (default: a temporary one)")
    args = parser.parse_args()

    artifacts = load_artifacts(args.artifacts)
    space = args.space or artifacts.manifest.searched_space
    vectors = np.asarray(artifacts.space_vectors(space), dtype=np.float32)
    is_query = holdout_split(artifacts.metadata, 0.05)
    base, held_out = vectors[~is_query], vectors[is_query][: args.queries]
    sample = base[np.random.default_rng(0).choice(len(base), 500, replace=False)]
    nearest = exact_search(base, sample, 2)[1][:, 1]
    sigma = 0.5 * float(np.median(nearest)) / np.sqrt(base.shape[1])
    rng = np.random.default_rng(99)
    queries = l2_normalise(held_out + rng.normal(scale=sigma, size=held_out.shape).astype(np.float32))
    dims, k = base.shape[1], 5
    search_k = DEFAULT_SEARCH_K if DEFAULT_SEARCH_K > 0 else args.n_trees * k

    folder = Path(args.out or tempfile.mkdtemp(prefix="million-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"million-{space}.ann"
    started = time.perf_counter()
    index = AnnoyIndex(dims, "euclidean")
    index.set_seed(0)
    index.on_disk_build(str(path))
    for start, chunk in _chunks(base, args.items, sigma):
        for offset, vector in enumerate(chunk):
            index.add_item(start + offset, vector)
    add_s = time.perf_counter() - started
    index.build(args.n_trees, -1)
    build_s = time.perf_counter() - started
    index.unload()

    rss_before = _rss_mb()
    loaded = AnnoyIndex(dims, "euclidean")
    loaded.load(str(path))
    rss_loaded = _rss_mb()
    times, found = [], []
    for query in queries:
        t0 = time.perf_counter()
        found.append(loaded.get_nns_by_vector(query.tolist(), k, search_k=search_k))
        times.append((time.perf_counter() - t0) * 1000)
    rss_queried = _rss_mb()

    best = np.full((len(queries), k), -1, np.int64)
    best_d = np.full((len(queries), k), np.inf, np.float32)
    for start, chunk in _chunks(base, args.items, sigma):
        rows, distances = exact_search(chunk, queries, k)
        merged_rows = np.concatenate([best, rows + start], axis=1)
        merged_d = np.concatenate([best_d, distances], axis=1)
        order = np.argsort(merged_d, axis=1)[:, :k]
        best, best_d = np.take_along_axis(merged_rows, order, 1), np.take_along_axis(merged_d, order, 1)
    recall = recall_at_k(np.array(found), best, k).mean()

    size_gb = path.stat().st_size / 2 ** 30
    print(f"{args.items:,} items x {dims} dims ({space} space; real vectors + noise of norm "
          f"{0.5 * float(np.median(nearest)):.3f}), {args.n_trees} trees, search_k {search_k}, k {k}\n")
    print("| items | add s | build s (total) | file GB | RSS after load MB | RSS after queries MB | "
          "p50 ms | p99 ms | recall@5 |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.items:,} | {add_s:.0f} | {build_s:.0f} | {size_gb:.2f} | {rss_loaded - rss_before:.0f} | "
          f"{rss_queried - rss_before:.0f} | {np.percentile(times, 50):.2f} | {np.percentile(times, 99):.2f} | "
          f"{recall:.3f} |")
    if args.out is None:
        path.unlink()


if __name__ == "__main__":
    main()
