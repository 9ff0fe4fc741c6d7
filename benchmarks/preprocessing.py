"""Which input handling and pooling retrieve best: pad vs squash, average vs max pooling.

    python benchmarks/preprocessing.py [--n 4000] [--dataset DIR]

Embeds a stratified sample of N real catalogue photos once per resize mode (both poolings come
from the same forward pass), then measures, with each product as a query against all the others
(leave-one-out, exact search), P@5 of same articleType, subCategory, masterCategory, baseColour and
gender. The squash + max row is the original design's recipe.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    from recommender.data.catalogue import LABEL_COLUMNS, read_catalogue, stratified_sample
    from recommender.data.images import decode_image, to_model_input
    from recommender.data.locate import find_dataset
    from recommender.evaluation.metrics import precision_at_k
    from recommender.features.extractor import Extractor
    from recommender.features.weights import resolve_weights
    from recommender.index.exact import exact_search

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--dataset", default=None)
    args = parser.parse_args()
    catalogue = read_catalogue(find_dataset(args.dataset) or sys.exit("no dataset: set RECOMMENDER_DATASET"))
    items = stratified_sample(catalogue.items[catalogue.items["articleType"] != ""], args.n).reset_index(drop=True)
    images = [decode_image(catalogue.root / rel) for rel in items["image"]]
    extractor = Extractor(resolve_weights())
    print(f"{len(items):,} real products, leave-one-out exact search, P@5\n")
    print("| resize | pooling | " + " | ".join(LABEL_COLUMNS) + " |")
    print("|---|---|" + "---|" * len(LABEL_COLUMNS))
    for resize in ("pad", "squash"):
        inputs = np.stack([to_model_input(image, mode=resize) for image in images])
        pooled = extractor.pooled(inputs)
        del inputs
        for pooling in ("avg", "max"):
            vectors = pooled[pooling]
            rows = np.concatenate([exact_search(vectors, vectors[start:start + 512], 6)[0]
                                   for start in range(0, len(vectors), 512)])
            neighbours = np.array([[r for r in row if r != i][:5] for i, row in enumerate(rows)])
            scores = [precision_at_k(items[label].to_numpy()[neighbours] == items[label].to_numpy()[:, None], 5).mean()
                      for label in LABEL_COLUMNS]
            note = " (original design)" if (resize, pooling) == ("squash", "max") else ""
            print(f"| {resize} | {pooling}{note} | " + " | ".join(f"{v:.3f}" for v in scores) + " |")


if __name__ == "__main__":
    main()
