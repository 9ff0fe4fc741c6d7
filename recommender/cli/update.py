"""``update [DATASET]``: bring the built catalogue level with its dataset, embedding only what changed."""

from __future__ import annotations

import argparse
import json

from ..config import artifacts_dir, silent
from ..pipeline.update import format_update_report, update_catalogue
from . import options

NAME = "update"
HELP = "bring the built catalogue level with its dataset, embedding only what changed"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", nargs="?", default=None,
                        help="dataset folder (default: the one the catalogue was built from)")
    options.artifacts(parser)
    parser.add_argument("--allow-empty", action="store_true", help="allow removing every product")
    options.weights(parser)
    options.runtime(parser)
    options.embedding(parser)
    options.as_json(parser, "the report")
    options.progress(parser)


def run(args: argparse.Namespace) -> int:
    report = update_catalogue(args.dataset, artifacts_dir(args.artifacts), allow_empty=args.allow_empty,
                              weights=args.weights, batch_size=args.batch_size, chunk_size=args.chunk_size,
                              runtime=args.runtime, engine=options.engine_of(args), progress=not args.no_progress,
                              log=silent if args.json else print)
    print(json.dumps(report) if args.json else format_update_report(report))
    return 0
