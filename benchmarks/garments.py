"""Shop the look, measured: the garment finder's recall on annotated street photos, and what its crops buy.

    python benchmarks/garments.py [--artifacts artifacts] [--photos ../shared/datasets/shopper-photos]
                                  [--space SPACE] [--studio 200]

On the development set of shoppers' photos (never trained on):

* finder recall: for every annotated garment of ``garments.csv`` (Kaggle type, box) whose type is one the
  finder looks for, whether a found box of the same kind (and of any kind) overlaps it at IoU >= 0.5;
* articleType P@5 per annotated garment, paired on the same garments: the whole photo searched; the
  annotated box (with the finder's margin) searched; the finder's crop a shopper would pick (the found box of
  the garment's kind that overlaps it most; the whole photo where none overlaps it at IoU >= 0.5), as it is
  and with the background around the garment's region painted white;
* the phone photos (one garment each): the whole photo against what ``shop_the_look`` searches first;
* exact catalogue photos through ``shop_the_look``: the share that still finds itself first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "shopper-photos"


def iou(a: tuple, b: tuple) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def main() -> None:
    from recommender.data.images import decode_image
    from recommender.evaluation.metrics import bootstrap_interval, paired_bootstrap_interval
    from recommender.features.weights import resolve_weights
    from recommender.garments.finder import MARGIN, Garment, garment_photo, load_finder
    from recommender.garments.kinds import kind_of_article_type
    from recommender.search.look import shop_the_look
    from recommender.search.recommender import Recommender

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", default="artifacts")
    parser.add_argument("--photos", default=str(SHARED))
    parser.add_argument("--space", default=None)
    parser.add_argument("--studio", type=int, default=200, help="catalogue photos for the exact-match check")
    args = parser.parse_args()
    photos = Path(args.photos)
    recommender = Recommender.load(args.artifacts)
    space = args.space or recommender.default_space
    finder = load_finder(resolve_weights(), recommender.extractor.runtime)
    if finder is None:
        sys.exit("no garment finder: python -m recommender train-finder")

    def hits(image, label: str) -> float:
        results = recommender.search(recommender.query_from_image(image), k=5, space=space)
        return float((results["articleType"] == label).mean())

    garments = pd.read_csv(photos / "garments.csv", dtype={"id": str})
    rows = []
    for photo_id, annotated in garments.groupby("id", sort=True):
        image = decode_image(photos / "images" / f"{photo_id}.jpg")
        width, height = image.size
        found = finder.find(image)
        for _, garment in annotated.iterrows():
            kind = kind_of_article_type(garment["articleType"])
            if kind is None:
                continue
            box = (garment["x0"] / width, garment["y0"] / height, garment["x1"] / width, garment["y1"] / height)
            overlaps = [(iou(box, candidate.box), candidate) for candidate in found]
            same = [pair for pair in overlaps if pair[1].kind == kind]
            best = max(same, key=lambda pair: pair[0], default=(0.0, None))
            annotated_box = Garment(box, kind, 1.0, 0.0, np.zeros((1, 1), bool))
            rows.append({"kind": kind, "found_same": best[0] >= 0.5,
                         "found_any": any(value >= 0.5 for value, _ in overlaps),
                         "whole": hits(image, garment["articleType"]),
                         "annotated": hits(garment_photo(image, annotated_box), garment["articleType"]),
                         "finder": hits(garment_photo(image, best[1]), garment["articleType"])
                         if best[0] >= 0.5 else hits(image, garment["articleType"]),
                         "blanked": hits(garment_photo(image, best[1], blank=True), garment["articleType"])
                         if best[0] >= 0.5 else hits(image, garment["articleType"])})
    table = pd.DataFrame(rows)
    print(f"Street photos: {garments['id'].nunique()} photos, {len(table)} annotated garments of kinds the finder "
          f"looks for; catalogue {len(recommender.metadata):,} products, space {space!r}, margin {MARGIN:.0%}.\n")
    print("| kind | garments | recall, same kind (IoU >= 0.5) | recall, any kind |")
    print("|---|---|---|---|")
    for kind, group in [*table.groupby("kind"), ("all", table)]:
        print(f"| {kind} | {len(group)} | {group['found_same'].mean():.2f} | {group['found_any'].mean():.2f} |")
    print("\n| query, per annotated garment | articleType P@5 (95% interval) | change vs whole photo (paired) |")
    print("|---|---|---|")
    for name, what in (("whole", "the whole photo"), ("annotated", "the annotated box"),
                       ("finder", "the finder's crop a shopper picks"),
                       ("blanked", "... with the background around its region painted white")):
        low, high = bootstrap_interval(table[name].to_numpy())
        change = paired_bootstrap_interval(table["whole"].to_numpy(), table[name].to_numpy())
        delta = (f"{100 * (table[name].mean() - table['whole'].mean()):+.1f} ({100 * change[0]:+.1f} to "
                 f"{100 * change[1]:+.1f})") if name != "whole" else ""
        print(f"| {what} | {table[name].mean():.3f} ({low:.3f}-{high:.3f}) | {delta} |")

    styles = pd.read_csv(photos / "styles.csv", dtype=str, keep_default_na=False)
    phone = styles[styles["id"].str.startswith("1") & (styles["articleType"] != "")]
    whole, look = [], []
    for _, row in phone.iterrows():
        image = decode_image(photos / "images" / f"{row['id']}.jpg")
        whole.append(hits(image, row["articleType"]))
        first = shop_the_look(recommender, finder, image, k=5, space=space)[0]
        look.append(float((first.results["articleType"] == row["articleType"]).mean()))
    whole, look = np.array(whole), np.array(look)
    change = paired_bootstrap_interval(whole, look)
    print(f"\nPhone photos ({len(phone)}): whole photo P@5 {whole.mean():.3f}, shop the look's first part "
          f"{look.mean():.3f} (change {100 * (look.mean() - whole.mean()):+.1f}, {100 * change[0]:+.1f} to "
          f"{100 * change[1]:+.1f}).")

    sample = recommender.metadata.sample(n=min(args.studio, len(recommender.metadata)), random_state=0)
    first = 0
    for _, item in sample.iterrows():
        image = decode_image(recommender.dataset_root / item["image"])
        parts = shop_the_look(recommender, finder, image, k=1, space=space)
        first += str(parts[0].results["id"].iloc[0]) == str(item["id"])
    print(f"Exact catalogue photos through shop the look: {first} of {len(sample)} find themselves first.")


if __name__ == "__main__":
    main()
