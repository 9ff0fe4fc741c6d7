"""Stage 11, cli: the command line: ``python -m recommender COMMAND``, one module per command.

Every command prints only the project's own lines (progress bars, reports,
one-line errors); ``--verbose`` (or ``RECOMMENDER_VERBOSE=1``) adds the
libraries' logs.  Each command module has ``NAME``, ``HELP``, ``add_arguments``
and ``run``; the options they share are defined once in :mod:`.options`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..config import VERBOSE_ENV
from ..data.hub import DatasetUnavailable
from ..data.images import ImageError
from ..features.export import CalibrationChanged
from ..features.runtimes import RuntimeUnavailable
from ..features.weights import WeightsUnavailable
from ..pipeline.engines import EngineUnavailable
from ..store.manifest import ArtifactError
from . import (
    api,
    build,
    evaluate,
    finetune,
    improve,
    options,
    query,
    reindex,
    serve,
    similar,
    train,
    train_finder,
    train_words,
    update,
)

COMMANDS = (build, update, query, similar, reindex, train, train_words, train_finder, improve, finetune, evaluate,
            serve, api)


def parser() -> argparse.ArgumentParser:
    """The whole command line: one sub-command per module of :data:`COMMANDS`."""
    top = argparse.ArgumentParser(prog="python -m recommender",
                                  description="Visual fashion recommender: ResNet50 features + Annoy.")
    sub = top.add_subparsers(required=True, metavar="COMMAND")
    common = options.common()
    for command in COMMANDS:
        one = sub.add_parser(command.NAME, help=command.HELP, description=command.HELP, parents=[common])
        command.add_arguments(one)
        one.set_defaults(run=command.run)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit status (0 ok, 1 user error, 2 usage, 130 interrupted)."""
    args = parser().parse_args(argv)
    if args.verbose:
        os.environ[VERBOSE_ENV] = "1"
    try:
        return args.run(args)
    except (ArtifactError, ImageError, WeightsUnavailable, DatasetUnavailable, EngineUnavailable, RuntimeUnavailable,
            CalibrationChanged, FileNotFoundError, KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
