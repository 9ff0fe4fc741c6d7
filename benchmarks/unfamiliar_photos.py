"""When to warn that a photo shows no fashion product: two signals, on real shoppers' photos and on photos that are
not fashion at all, in one run.

    python benchmarks/unfamiliar_photos.py ARTIFACTS [--dev ../shared/datasets/shopper-photos] [--limit N]

Every photo is read as an upload is (:meth:`recommender.QueryMaker.photo`: the most prominent garment where the
finder finds one, else the photo whole), and two signals of the searched query are taken:

* the distance from its ImageNet vector to the nearest catalogue product (unit vectors, Euclidean);
* the fashion head's confidence in its likeliest articleType (its kind's default space).

Fashion photos are every photo of the development set (phone photos and street photos); the others are the
photos that ship with scikit-image (a cat, coffee, a rocket, coins, the moon, ...: ``pip install scikit-image``).
For each signal the table gives the threshold that flags no development photo (its most extreme value there)
and the share of the other photos it flags; writes ``benchmarks/results/unfamiliar_photos.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender import ImageError, Recommender, decode_image  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "unfamiliar_photos.json"
SKIPPED = {"chessboard_GRAY.png", "chessboard_RGB.png", "no_time_for_that_tiny.gif", "multipage.tif",
           "multipage_rgb.tif"}  # too small to search (refused as such) or not photos


def non_fashion_photos() -> list[Path]:
    """scikit-image's sample photos (none shows a garment for sale), or none where it is not installed."""
    try:
        import skimage
    except ImportError:
        return []
    folder = Path(skimage.__file__).parent / "data"
    return sorted(path for path in folder.iterdir()
                  if path.suffix in (".png", ".jpg", ".gif", ".tif") and path.name not in SKIPPED)


def signals(recommender: Recommender, paths: list[Path]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each readable photo's nearest-product distance and head confidence, and its name."""
    distances, confidences, names = [], [], []
    for path in paths:
        try:
            image = decode_image(path)
        except ImageError:
            continue
        query = recommender.queries.photo(image, first_only=True).first
        distances.append(recommender.engine.nearest(query.vector)[1])
        predicted = recommender.predictions(query)
        confidences.append(predicted["articleType"][0][1] if predicted.get("articleType") else 1.0)
        names.append(path.name)
    return np.array(distances), np.array(confidences), names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("artifacts")
    parser.add_argument("--dev", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets" /
                                             "shopper-photos"))
    parser.add_argument("--limit", type=int, default=None, help="development photos read at most")
    args = parser.parse_args()
    others = non_fashion_photos()
    if not others:
        print("scikit-image is not installed: pip install scikit-image (its sample photos are the non-fashion ones)")
        return 1
    recommender = Recommender.load(args.artifacts)
    dev = sorted((Path(args.dev) / "images").glob("*.jpg"))[:args.limit]
    dev_distance, dev_confidence, _ = signals(recommender, dev)
    other_distance, other_confidence, other_names = signals(recommender, others)
    distance_threshold = float(dev_distance.max())
    confidence_threshold = float(dev_confidence.min())
    rows = {
        "nearest-product distance above": (distance_threshold, other_distance > distance_threshold),
        "head confidence below": (confidence_threshold, other_confidence < confidence_threshold),
    }
    print(f"{len(dev_distance)} development photos, {len(other_distance)} non-fashion photos; catalogue "
          f"{recommender.summary['count']:,} products\n")
    print(f"{'signal':<32} {'threshold':>10} {'dev flagged':>12} {'others flagged':>15}")
    for name, (threshold, flagged) in rows.items():
        print(f"{name:<32} {threshold:>10.3f} {0:>12} {flagged.mean():>14.0%}")
    print("\ndevelopment photos, nearest-product distance: "
          + ", ".join(f"p{q} {np.percentile(dev_distance, q):.3f}" for q in (50, 90, 99, 100)))
    print("non-fashion photos: " + ", ".join(f"{name} {distance:.3f}" for name, distance in
                                              sorted(zip(other_names, other_distance), key=lambda item: -item[1])))
    RESULTS.write_text(json.dumps({
        "catalogue": recommender.summary["count"], "dev_photos": len(dev_distance),
        "non_fashion_photos": len(other_distance),
        "dev_distance_percentiles": {q: float(np.percentile(dev_distance, q)) for q in (50, 90, 99, 100)},
        "signals": {name: {"threshold": threshold, "non_fashion_flagged": float(flagged.mean())}
                    for name, (threshold, flagged) in rows.items()},
        "non_fashion": {name: {"distance": float(d), "confidence": float(c)}
                        for name, d, c in zip(other_names, other_distance, other_confidence)}}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
