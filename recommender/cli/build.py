"""``build DATASET``: embed a dataset folder and build its index (resumable)."""

from __future__ import annotations

import argparse

from ..config import artifacts_dir
from ..pipeline.build import build_catalogue
from . import options

NAME = "build"
HELP = "embed a dataset folder and build its index"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help="folder with images/<id>.jpg and optional styles.csv")
    parser.add_argument("--out", default=None, metavar="DIR", help="artifacts folder (default: artifacts/)")
    parser.add_argument("--sample", type=int, default=None, metavar="N",
                        help="keep about N products, stratified by articleType (a demo catalogue)")
    options.index_build(parser)
    options.feature_settings(parser)
    options.runtime(parser)
    options.weights(parser)
    options.embedding(parser)
    options.progress(parser)


def run(args: argparse.Namespace) -> int:
    build_catalogue(args.dataset, artifacts_dir(args.out), sample=args.sample, n_trees=args.n_trees,
                    metric=args.metric, weights=args.weights, pooling=args.pooling, resize=args.resize,
                    precision=args.precision, input_size=args.input_size, runtime=args.runtime,
                    batch_size=args.batch_size, chunk_size=args.chunk_size, engine=options.engine_of(args),
                    progress=not args.no_progress,
                    log=print)
    return 0
