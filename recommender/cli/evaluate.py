"""``evaluate``: precision@k and mAP@10 on products the index never saw, Annoy's recall, robustness."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from ..config import artifacts_dir
from ..evaluation.protocols import holdout_evaluation, query_folder_evaluation
from ..evaluation.results import format_report, save_evaluation
from ..evaluation.robustness import PERTURBATIONS, upload_robustness
from ..features.weights import WeightsUnavailable
from ..store.artifacts import load_artifacts
from ..store.manifest import ArtifactError, read_manifest
from . import options

NAME = "evaluate"
HELP = "precision@k / mAP@10 on unseen products, Annoy recall, robustness to shoppers' photos"
# Held-out queries re-shot under each perturbation (each one is embedded ten times).
DEFAULT_ROBUSTNESS_QUERIES = 200


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.artifacts(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    options.holdout(source, default=None)
    source.add_argument("--queries", metavar="DIR", help="folder of query photos (images/ + styles.csv layout)")
    parser.add_argument("--styles", default="styles.csv", help="labels of the query photos (with --queries)")
    options.space(parser)
    parser.add_argument("--no-type-first", action="store_true",
                        help="rank by distance alone (default: a trained space's predicted type and colour steer it)")
    parser.add_argument("--robustness", type=int, default=DEFAULT_ROBUSTNESS_QUERIES, metavar="N",
                        help=f"embed N held-out queries under each perturbation (0: skip; with --holdout; "
                             f"default {DEFAULT_ROBUSTNESS_QUERIES})")
    options.search(parser)
    options.seed(parser)
    parser.add_argument("--baseline", default=None, metavar="DIR",
                        help="artifacts of another build (e.g. the original design's), evaluated on the same split")
    options.weights(parser)
    options.as_json(parser, "the whole evaluation")


def run(args: argparse.Namespace) -> int:
    root = artifacts_dir(args.artifacts)
    space = args.space or read_manifest(root).searched_space
    settings = dict(space=space, colour_weight=args.colour_weight, type_first=not args.no_type_first,
                    n_trees=args.n_trees, search_k=args.search_k)
    baseline = None
    if args.queries:
        queries = Path(args.queries)
        styles = args.styles if (queries / args.styles).is_file() else str(Path(args.styles).resolve())
        # No --space: each kind of query in the space the product searches it in.
        result = query_folder_evaluation(root, args.queries, styles, weights=args.weights, progress=not args.json,
                                         **{**settings, "space": args.space})
    else:
        artifacts = load_artifacts(root)
        other = load_artifacts(args.baseline) if args.baseline else None
        result = holdout_evaluation(artifacts, args.holdout, seed=args.seed, baseline=other,
                                    log=options.to_stderr, **settings)
        baseline = result.get("baseline")
        if args.robustness > 0 and (robustness := _robustness(root, args)):
            result["robustness"] = robustness
    saved = save_evaluation(root, read_manifest(root).build_id, result)
    print(f"saved {saved}", file=sys.stderr)
    print(json.dumps(result, indent=2) if args.json else format_report(result, baseline))
    return 0


def _robustness(root: Path, args: argparse.Namespace) -> dict:
    """The robustness table (:func:`recommender.evaluation.robustness.upload_robustness`) with a progress bar
    ({} where no photo is readable)."""
    try:
        with tqdm(total=len(PERTURBATIONS) + 1, unit="photo set", desc=f"Robustness ({args.robustness} queries)",
                  file=sys.stderr, disable=args.json) as bar:
            # No --space: each photo in the space the product searches it in (a worn garment's can differ).
            return upload_robustness(root, args.holdout, space=args.space, count=args.robustness,
                                     type_first=not args.no_type_first, seed=args.seed, weights=args.weights,
                                     progress=lambda done, total: bar.update(done - bar.n))
    except (ArtifactError, WeightsUnavailable, ValueError) as error:  # photos or model unavailable: say so
        print(f"warning: robustness not measured: {str(error).splitlines()[0]}", file=sys.stderr)
        return {}
