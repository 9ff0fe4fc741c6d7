"""Photos shoppers take: held-out queries under each perturbation, as the photo is given and trimmed to the product.

    python benchmarks/robustness.py ARTIFACTS [--queries 300] [--holdout 0.1] [--space fashion]

ARTIFACTS is a built and trained catalogue (``build`` then ``train``).  The
queries are the near-duplicate-grouped split's held-out products; each is
re-shot under every perturbation of :mod:`recommender.robustness`, embedded,
and searched against the rest of the catalogue (type first, as the app does).
Both ways are measured in one run: photos embedded as they are, and trimmed
to the product first (:func:`recommender.images.trim_to_product`, the app's
default).  Prints one table and writes ``benchmarks/results/robustness.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender import Recommender  # noqa: E402
from recommender.evaluation.protocols import evaluation_splits  # noqa: E402
from recommender.evaluation.robustness import robustness_evaluation  # noqa: E402
from recommender.goals import MAX_ROBUSTNESS_DROP_POINTS as MAX_DROP_POINTS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "robustness.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifacts")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--holdout", type=float, default=0.1)
    parser.add_argument("--space", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    recommender = Recommender.load(args.artifacts)
    space = args.space or recommender.default_space
    splits = evaluation_splits(recommender.artifacts, args.holdout, seed=args.seed, space=space)
    tables = {}
    for trim in (False, True):
        recommender.trim_queries = trim
        tables["trimmed" if trim else "as given"] = robustness_evaluation(
            recommender, splits.grouped, ~splits.grouped, space=space, count=args.queries, seed=args.seed)

    given, trimmed = tables["as given"], tables["trimmed"]
    print(f"{args.queries} held-out queries (grouped split) against {int((~splits.grouped).sum()):,} products, "
          f"space {space!r}, type first; articleType P@5 (95% interval) and drop from the clean photo, points")
    print(f"{'photo':<38}{'as given':>26}{'trimmed to product':>30}{'colour P@5 (trimmed)':>22}")
    for name in given:
        cells = []
        for table in (given, trimmed):
            row = table[name]
            low, high = row["articleType_interval"]
            cells.append(f"{row['articleType']:.3f} ({low:.3f}-{high:.3f}) {row['drop_points']:>5.1f}")
        print(f"{name:<38}{cells[0]:>26}{cells[1]:>30}{trimmed[name]['baseColour']:>22.3f}")
    for label, table in tables.items():
        worst = max(table.items(), key=lambda item: item[1]["drop_points"])
        print(f"{label}: largest drop {worst[1]['drop_points']:.1f} points ({worst[0]}); goal <= {MAX_DROP_POINTS:g}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"artifacts": str(args.artifacts), "space": space, "queries": args.queries,
                                   "build_id": recommender.build_id, **tables}, indent=2))


if __name__ == "__main__":
    main()
