"""``query PHOTO``: the k products most similar to a photo (or, with ``--id``, to a catalogue product)."""

from __future__ import annotations

import argparse
import json
import os

from ..config import artifacts_dir
from ..data.images import decode_image
from ..garments.finder import load_finder
from ..search.look import LookPart, shop_the_look
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
    parser.add_argument("--garments", action="store_true",
                        help="find the garments in the photo and search each (shop the look)")
    parser.add_argument("--paths", action="store_true", help="absolute image paths instead of dataset-relative")
    options.as_json(parser, "the results (a list)")


def run(args: argparse.Namespace) -> int:
    root = artifacts_dir(args.artifacts)
    search = dict(k=args.k, search_k=args.search_k, n_trees=args.n_trees, space=args.space,
                  colour_weight=args.colour_weight)
    if args.id:
        recommender = Recommender.load(root, with_model=False)
        query = recommender.query_from_id(args.image)
        parts = [LookPart(1, None, query, recommender.search(query, **search))]
    else:
        # A bad photo or a missing catalogue is answered before the network loads (seconds).
        image = decode_image(args.image)
        weights = options.weights_of(args)
        # One photo: the network runs eagerly, skipping the trace that pays off from the second call.
        recommender = Recommender.load(root, weights=weights, compiled=False, runtime=args.runtime,
                                       log=options.to_stderr)
        finder = None
        if args.garments:
            finder = load_finder(weights, recommender.extractor.runtime, log=options.to_stderr)
            if finder is None:
                options.to_stderr("No garment finder trained yet (python -m recommender train-finder): "
                                  "searching the whole photo.")
        if args.garments:
            parts = shop_the_look(recommender, finder, image, **search)
        else:
            query = recommender.query_from_image(image)
            parts = [LookPart(1, None, query, recommender.search(query, **search))]
    for part in parts:
        if not args.paths:
            part.results["image_path"] = [os.path.relpath(path, recommender.dataset_root)
                                          for path in part.results["image_path"]]
    if args.json:
        if args.garments:
            print(json.dumps([{"number": part.number, "label": part.label,
                               "kind": part.garment.kind if part.garment else None,
                               "other_kinds": list(part.garment.other_kinds) if part.garment else [],
                               "score": part.garment.score if part.garment else None, "box": list(part.box),
                               "space": recommender.space_for(part.query, args.space),
                               "results": part.results.to_dict(orient="records")} for part in parts], indent=2))
        else:
            print(json.dumps(parts[0].results.to_dict(orient="records"), indent=2))
        return 0
    for part in parts:
        table = part.results.rename(columns={"image_path": "image"})[list(QUERY_TABLE)]
        if args.garments:
            left, top, right, bottom = part.box
            found = f", score {part.garment.score:.2f}" if part.garment else ""
            print(f"{part.number} {part.label} (box {left:.2f},{top:.2f} to {right:.2f},{bottom:.2f}{found}):")
        print(f"{len(table)} nearest of {len(recommender.metadata):,} products "
              f"(space {recommender.space_for(part.query, args.space)}; images under {recommender.dataset_root}):")
        print(table.to_string(index=False, max_colwidth=40))
    return 0
