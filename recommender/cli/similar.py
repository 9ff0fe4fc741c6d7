"""``similar``: every product's k most similar products, to a parquet file (product-page carousels)."""

from __future__ import annotations

import argparse

from ..config import artifacts_dir
from ..pipeline.similar import export_similar
from ..search.engine import MAX_K
from . import options

NAME = "similar"
HELP = "write every product's k most similar products to a parquet file (for product-page carousels)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.artifacts(parser)
    parser.add_argument("--k", type=int, default=20, help=f"similar products per product, 1 to {MAX_K} (default 20)")
    parser.add_argument("--out", default="similar.parquet", help="the parquet file (default similar.parquet)")
    options.space(parser)
    parser.add_argument("--no-type-first", action="store_true", help="rank by distance alone")
    options.progress(parser)


def run(args: argparse.Namespace) -> int:
    export_similar(artifacts_dir(args.artifacts), args.out, k=args.k, space=args.space,
                   type_first=not args.no_type_first, progress=not args.no_progress, log=print)
    return 0
