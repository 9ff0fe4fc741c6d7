"""What int8 costs in retrieval: two builds of one catalogue, float32 and int8, on the same held-out products.

    python -m recommender build DATASET --out A --precision float32 && python -m recommender train --artifacts A
    python -m recommender build DATASET --out B --precision int8 && python -m recommender train --artifacts B
    python benchmarks/int8_quality.py --float32 A --int8 B

Reads the evaluations ``train`` saved in each build (the same held-out products: the split depends
only on the ids and the seed), and prints per space (frozen ImageNet; the fashion head, trained on
each build's own vectors) and per split (random; near-duplicate grouped) the articleType and
baseColour P@5 of both, the paired change and its 95% bootstrap interval
(:func:`recommender.evaluation.comparison.compare_models`), and the refusal rule's verdict: int8
is acceptable only where it loses less than half a point of both (``features.precision.MAX_LOSS``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _saved(root: str, space: str) -> dict:
    from recommender.evaluation.results import load_saved_evaluations
    from recommender.store.artifacts import load_artifacts

    artifacts = load_artifacts(root)
    holdout = artifacts.manifest.spaces["fashion"].training["holdout"]
    return load_saved_evaluations(root, artifacts.build_id)[f"{space}-c0-holdout{holdout:g}"]


def main() -> None:
    from recommender.evaluation.comparison import compare_models
    from recommender.features.precision import JUDGED_LABELS, MAX_LOSS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--float32", required=True, help="artifacts of the float32 build (trained)")
    parser.add_argument("--int8", required=True, help="artifacts of the int8 build of the same catalogue (trained)")
    args = parser.parse_args()
    print("| space | split | queries | articleType P@5 float32 / int8 | change (95% interval) | "
          "baseColour P@5 float32 / int8 | change (95% interval) | loses < 0.5 point |")
    print("|---|---|---|---|---|---|---|---|")
    for space in ("imagenet", "fashion"):
        before, after = _saved(args.float32, space), _saved(args.int8, space)
        for split in ("random", "grouped"):
            pick = (lambda result: {key: value for key, value in result.items() if key != "grouped"}) \
                if split == "random" else (lambda result: result["grouped"])
            report = compare_models(pick(before), pick(after))
            cells = []
            for label in JUDGED_LABELS:
                row = report[label]
                low, high = row["interval"]
                cells += [f"{row['before']:.3f} / {row['after']:.3f}",
                          f"{100 * row['change']:+.1f} ({100 * low:+.1f} to {100 * high:+.1f})"]
            ok = all(-report[label]["change"] < MAX_LOSS for label in JUDGED_LABELS)
            print(f"| {space} | {split} | {pick(before)['n_queries']:,} | {' | '.join(cells)} | "
                  f"{'yes' if ok else 'no'} |")


if __name__ == "__main__":
    main()
