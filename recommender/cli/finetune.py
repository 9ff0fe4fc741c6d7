"""``finetune``: fine-tune ResNet50's last stage (conv5) with the head; kept only where it wins."""

from __future__ import annotations

import argparse

from ..config import artifacts_dir
from ..training.finetune import DEFAULT_FINETUNE_EPOCHS, fine_tune
from . import options

NAME = "finetune"
HELP = "fine-tune ResNet50's conv5 with the fashion head (resumable; kept only where it wins)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.training(parser, epochs=DEFAULT_FINETUNE_EPOCHS, epochs_help="")
    options.weights(parser, what="the weights file the catalogue was built with")
    parser.add_argument("--keep-regardless", action="store_true",
                        help="keep the fine-tuned backbone even where it does not win on held-out products")
    options.progress(parser)


def run(args: argparse.Namespace) -> int:
    fine_tune(artifacts_dir(args.artifacts), space=args.space, holdout=args.holdout, seed=args.seed,
              epochs=args.epochs, weights=args.weights, keep_regardless=args.keep_regardless,
              progress=not args.no_progress, log=print)
    return 0
