"""``train-finder``: teach the garment finder on street photos with per-pixel garment labels."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data.locate import real_photos
from ..features.weights import resolve_weights
from ..training.finder import EPOCHS, SCENES, train_finder
from . import options

NAME = "train-finder"
HELP = "teach the garment finder on street photos with per-pixel labels (images/, labels/, labels.csv)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("photos", nargs="?", default=str(real_photos("street")),
                        help="folder with images/, labels/ and labels.csv (default: the shared street photos, "
                             "$RECOMMENDER_REAL_PHOTOS/shopper-photos-train/street)")
    parser.add_argument("--products", default=None, metavar="DIR",
                        help="also a catalogue folder (images/, styles.csv) whose products are pasted onto scenes "
                             "(measured not to pay: docs/decisions/0011-products-lying-anywhere.md)")
    parser.add_argument("--scenes", type=int, default=SCENES, metavar="N",
                        help=f"pasted scenes with --products (default {SCENES})")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="train on the first N photos only")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"training epochs (default {EPOCHS})")
    options.weights(parser)
    options.runtime(parser)
    options.progress(parser)


def run(args: argparse.Namespace) -> int:
    products = Path(args.products) if args.products else None
    if products is not None and not (products / "styles.csv").is_file():
        raise FileNotFoundError(f"No catalogue in {products}: expected images/ and styles.csv")
    train_finder(args.photos, resolve_weights(args.weights, log=options.to_stderr), products=products,
                 scene_count=args.scenes, runtime=args.runtime, epochs=args.epochs, limit=args.limit,
                 progress=not args.no_progress, log=print)
    return 0
