"""``train-finder``: teach the garment finder on street photos with per-pixel garment labels."""

from __future__ import annotations

import argparse

from ..data.locate import real_photos
from ..features.runtimes import load_map_network, runtime_for
from ..features.weights import resolve_weights
from ..training.finder import EPOCHS, train_parser
from . import options

NAME = "train-finder"
HELP = "teach the garment finder on street photos with per-pixel labels (images/, labels/, labels.csv)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("photos", nargs="?", default=str(real_photos("street")),
                        help="folder with images/, labels/ and labels.csv (default: the shared street photos, "
                             "$RECOMMENDER_REAL_PHOTOS/shopper-photos-train/street)")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="train on the first N photos only")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"training epochs (default {EPOCHS})")
    options.weights(parser)
    options.runtime(parser)
    options.progress(parser)


def run(args: argparse.Namespace) -> int:
    weights = resolve_weights(args.weights, log=options.to_stderr)
    runtime = runtime_for(args.runtime, "float32", recorded="openvino", log=print)
    train_parser(args.photos, load_map_network(weights, runtime, log=print), weights, epochs=args.epochs,
                 limit=args.limit, progress=not args.no_progress, log=print)
    return 0
