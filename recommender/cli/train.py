"""``train``: learn the fashion embedding on the catalogue's labels; the default model only where it wins."""

from __future__ import annotations

import argparse

from ..config import artifacts_dir
from ..training.finder import street_garment_photos
from ..training.train import DEFAULT_EPOCHS, train_space
from . import options

NAME = "train"
HELP = "learn a fashion embedding on the catalogue's labels (kept as the default only where it wins)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.training(parser, epochs=DEFAULT_EPOCHS, epochs_help=": the best held-out P@5 of 15, 30, 60")
    parser.add_argument("--split", default=None, metavar="FILE",
                        help="hold out the products of an earlier split file (compare two builds on the same queries)")
    parser.add_argument("--extra-photos", action="append", default=[], metavar="DIR",
                        help="real photos (Kaggle layout) that teach the head too; they never enter the index "
                             "(repeatable)")
    parser.add_argument("--street-photos", default=None, metavar="DIR",
                        help="street photos with per-pixel garment labels (as train-finder reads): each garment, "
                             "cut out, teaches the head too")
    parser.add_argument("--phone-like", type=int, default=0, metavar="N",
                        help="N phone-like copies of each training product's photo (tilted, cropped, relit, blurred, "
                             "compressed; laid on real backgrounds from --street-photos) teach the head too")
    parser.add_argument("--dev-photos", default=None, metavar="DIR",
                        help="other real photos (Kaggle layout) that judge a head trained with --extra-photos "
                             "or --phone-like")
    options.weights(parser)
    options.progress(parser)


def run(args: argparse.Namespace) -> int:
    street = [street_garment_photos(args.street_photos, progress=not args.no_progress, log=print)
              ] if args.street_photos else []
    extra = [*args.extra_photos, *street]
    train_space(artifacts_dir(args.artifacts), space=args.space, holdout=args.holdout, seed=args.seed,
                epochs=args.epochs, split=args.split, extra_photos=extra, dev_photos=args.dev_photos,
                phone_like=args.phone_like, backgrounds=args.street_photos,
                weights=args.weights, progress=not args.no_progress, log=print)
    return 0
