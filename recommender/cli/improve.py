"""``improve``: train what the catalogue still lacks to search well (the fashion models, the garment finder), as
the first start does in the background; ``--status`` says where that training stands."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from ..config import artifacts_dir
from ..pipeline.improve import improve, pending_steps, read_status, status_lines
from ..store.names import TRAINING_LOG
from . import options

NAME = "improve"
HELP = "train the models the catalogue still lacks (what the first start trains in the background)"
BACKGROUND_NICENESS = 10  # the dashboard's searches come first on a shared machine


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.artifacts(parser)
    options.weights(parser)
    options.progress(parser)
    parser.add_argument("--status", action="store_true",
                        help="say what is trained, training and waiting; train nothing")
    parser.add_argument("--background", action="store_true",
                        help=f"as `serve` runs it: details and bars go to {TRAINING_LOG} beside the catalogue, this "
                             "terminal hears one line per model, and the process runs at a lower priority")


def run(args: argparse.Namespace) -> int:
    root = artifacts_dir(args.artifacts)
    if args.status:
        record = read_status(root)
        weights = options.weights_of(args)
        lines = status_lines(record) or ["Nothing trained in the background yet."]
        waiting = [step.title for step in pending_steps(root, weights)]
        if waiting and not record.get("running"):
            lines.append("Still to train: " + "; ".join(waiting) + " (run `python -m recommender improve`).")
        print("\n".join(lines))
        return 0
    if args.background:
        # serve stops its companion with SIGTERM: exit through Python, so scratch files are removed on the way.
        signal.signal(signal.SIGTERM, lambda number, _frame: sys.exit(128 + number))
        os.nice(BACKGROUND_NICENESS)
        log_file = open(root / TRAINING_LOG, "a", buffering=1)  # noqa: SIM115 - this process's stderr from now on
        os.dup2(log_file.fileno(), sys.stderr.fileno())  # the libraries' lines and the bars land there too

        def detail(line: str) -> None:
            print(line, file=log_file, flush=True)

        def say(line: str) -> None:
            detail(line)
            print(line, flush=True)
    else:
        detail = say = print
    improve(root, weights=options.weights_of(args), progress=not args.no_progress, log=detail, say=say)
    return 0
