"""``query PHOTO``: the k products most similar to a photo (or, with ``--id``, to a catalogue product)."""

from __future__ import annotations

import argparse
import json
import os

from ..config import artifacts_dir
from ..data.images import decode_image
from ..search.recommender import DEFAULT_K, MAX_K, Recommender
from . import options

NAME = "query"
HELP = "the k products most similar to a photo"
# The query table's columns, the image path last so that a narrow terminal cuts nothing useful.
QUERY_TABLE = ("rank", "id", "distance", "articleType", "baseColour", "productDisplayName", "image")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="a photo, or with --id a catalogue product id")
    parser.add_argument("--id", action="store_true", help="IMAGE is a catalogue product id")
    parser.add_argument("-k", type=int, default=DEFAULT_K, help=f"results, 1 to {MAX_K} (default {DEFAULT_K})")
    options.artifacts(parser)
    options.space(parser)
    options.search(parser)
    options.weights(parser)
    options.runtime(parser)
    parser.add_argument("--paths", action="store_true", help="absolute image paths instead of dataset-relative")
    options.as_json(parser, "the results (a list)")


def run(args: argparse.Namespace) -> int:
    root = artifacts_dir(args.artifacts)
    if args.id:
        recommender = Recommender.load(root, with_model=False)
        query = recommender.query_from_id(args.image)
    else:
        # A bad photo or a missing catalogue is answered before TensorFlow starts (seconds).
        image = decode_image(args.image)
        # One photo: the network runs eagerly, skipping the trace that pays off from the second call.
        recommender = Recommender.load(root, weights=options.weights_of(args), compiled=False,
                                       runtime=args.runtime, log=options.to_stderr)
        query = recommender.query_from_image(image)
    results = recommender.search(query, k=args.k, search_k=args.search_k, n_trees=args.n_trees,
                                 space=args.space, colour_weight=args.colour_weight)
    if not args.paths:
        results["image_path"] = [os.path.relpath(path, recommender.dataset_root) for path in results["image_path"]]
    if args.json:
        print(json.dumps(results.to_dict(orient="records"), indent=2))
    else:
        table = results.rename(columns={"image_path": "image"})[list(QUERY_TABLE)]
        print(f"{len(table)} nearest of {len(recommender.metadata):,} products "
              f"(space {args.space or recommender.default_space}; images under {recommender.dataset_root}):")
        print(table.to_string(index=False, max_colwidth=40))
    return 0
