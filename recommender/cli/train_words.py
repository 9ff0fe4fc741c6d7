"""``train-words``: learn the text model of a trained space from the catalogue's names and labels (seconds)."""

from __future__ import annotations

import argparse

from ..config import artifacts_dir
from ..training.words import train_words
from . import options

NAME = "train-words"
HELP = "learn where a shopper's words land in a trained space, from the catalogue's names and labels"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.artifacts(parser)
    options.space(parser)


def run(args: argparse.Namespace) -> int:
    train_words(artifacts_dir(args.artifacts), space=args.space, log=print)
    return 0
