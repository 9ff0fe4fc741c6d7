"""Photos shoppers take: held-out queries under each perturbation, three ways in one run.

    python benchmarks/robustness.py ARTIFACTS [--queries 300] [--holdout 0.1] [--space fashion]

ARTIFACTS is a built and trained catalogue (``build`` then ``train``).  The
queries are the near-duplicate-grouped split's held-out products; each is
re-shot under every perturbation of :mod:`recommender.evaluation.robustness`,
embedded, and searched against the rest of the catalogue (type first, as the
app does).  The three ways: the photo embedded as given; cut down to its
product where it lies small on a plain background
(``QueryMaker.trim``, on by default); and searched as an upload is
(:meth:`recommender.search.queries.QueryMaker.photo`: trimmed, and its most
prominent garment where the garment finder cuts the photo into garments; only
where a finder is trained).  Prints one table and writes
``benchmarks/results/robustness.json``.
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
from recommender.store.artifacts import load_artifacts  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "robustness.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifacts")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--holdout", type=float, default=0.1)
    parser.add_argument("--space", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    recommender, artifacts = Recommender.load(args.artifacts), load_artifacts(args.artifacts)
    space = args.space or recommender.catalogue.default_space
    searched = args.space or (space if recommender.catalogue.worn_space == space else f"{space}, worn garments in "
                                                                               f"{recommender.catalogue.worn_space}")
    splits = evaluation_splits(artifacts, args.holdout, seed=args.seed, space=space)
    ways = {"as given": (False, False), "trimmed": (True, False),
            **({"as an upload": (True, True)} if recommender.queries.finder else {})}
    tables = {}
    for label, (trim, as_upload) in ways.items():
        recommender.queries.trim = trim
        tables[label] = robustness_evaluation(artifacts, recommender.queries, splits.grouped, ~splits.grouped,
                                              space=args.space, count=args.queries, seed=args.seed,
                                              as_upload=as_upload)

    print(f"{args.queries} held-out queries (grouped split) against {int((~splits.grouped).sum()):,} products, "
          f"space {searched}, type first; articleType P@5 (95% interval) and drop from the clean photo, points")
    print(f"{'photo':<38}" + "".join(f"{label:>26}" for label in tables) + f"{'colour P@5 (last)':>20}")
    last = tables[list(tables)[-1]]
    for name in last:
        cells = []
        for table in tables.values():
            row = table[name]
            low, high = row["articleType_interval"]
            cells.append(f"{row['articleType']:.3f} ({low:.3f}-{high:.3f}) {row['drop_points']:>5.1f}")
        print(f"{name:<38}" + "".join(f"{cell:>26}" for cell in cells) + f"{last[name]['baseColour']:>20.3f}")
    for label, table in tables.items():
        worst = max(table.items(), key=lambda item: item[1]["drop_points"])
        print(f"{label}: largest drop {worst[1]['drop_points']:.1f} points ({worst[0]}); goal <= {MAX_DROP_POINTS:g}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"artifacts": str(args.artifacts), "space": searched, "queries": args.queries,
                                   "build_id": recommender.catalogue.build_id, **tables}, indent=2))


if __name__ == "__main__":
    main()
