"""Latency of one upload, stage by stage, on a built catalogue (the full 42k one for docs/performance.md).

    python benchmarks/query.py [--artifacts artifacts] [--n 200] [--photos DIR]

For N uploaded photos (JPEG bytes, by default the 225x300 shared photos), times each stage
as the dashboard runs it: decode, preprocess (fit to 224x224 + colour signature), CNN
(one compiled forward pass), nearest neighbours (Annoy), metadata (building the result
table). Prints p50 and p99 of each, and the total against the CNN alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SHARED_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fashion-product-images-225x300"


def main() -> None:
    from recommender.data.colour import colour_signature
    from recommender.data.images import decode_image
    from recommender.index.annoy import DEFAULT_SEARCH_K
    from recommender.search.engine import Query
    from recommender.search.recommender import Recommender
    from recommender.store.manifest import read_manifest
    from recommender.store.predictor import catalogue_extractor

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", default="artifacts")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--photos", default=str(SHARED_PHOTOS / "images"))
    args = parser.parse_args()

    recommender = Recommender.load(args.artifacts)
    extractor = catalogue_extractor(args.artifacts, read_manifest(args.artifacts))
    space = recommender.catalogue.default_space
    index = recommender.engine.index(space=space)
    uploads = [p.read_bytes() for p in sorted(Path(args.photos).glob("*.jpg"))[: args.n]]
    stages = {name: [] for name in ("decode", "preprocess", "cnn", "neighbours", "metadata", "total")}
    for i, data in enumerate([uploads[0]] * 3 + uploads):  # three warm-up runs, not counted
        t0 = time.perf_counter()
        image = decode_image(data)
        t1 = time.perf_counter()
        array, colour = extractor.prepare(image), colour_signature(image)
        t2 = time.perf_counter()
        vector = extractor.embed(array[None])[0]
        t3 = time.perf_counter()
        query = Query(vector, colour)
        space_vector = recommender.engine.space_vectors([query], space)[0]
        rows, distances = index.query(space_vector, args.k, search_k=DEFAULT_SEARCH_K)
        t4 = time.perf_counter()
        recommender.catalogue.products(rows)
        t5 = time.perf_counter()
        if i >= 3:
            for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0)):
                stages[name].append(seconds * 1000)
    print(f"{len(uploads)} uploads, catalogue of {index.n_items:,} products, space {space!r}, "
          f"{index.n_trees} trees, search_k={DEFAULT_SEARCH_K}, k={args.k}\n")
    print("| stage | p50 ms | p99 ms |")
    print("|---|---|---|")
    for name, values in stages.items():
        print(f"| {name} | {np.percentile(values, 50):.2f} | {np.percentile(values, 99):.2f} |")
    ratio = np.percentile(stages["total"], 50) / np.percentile(stages["cnn"], 50)
    print(f"\ntotal / CNN alone (p50): {ratio:.2f}")


if __name__ == "__main__":
    main()
