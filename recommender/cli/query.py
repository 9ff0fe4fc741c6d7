"""``query PHOTO``: the k products most similar to a photo (or, with ``--id``, to a catalogue product)."""

from __future__ import annotations

import argparse
import json

import pandas as pd

from ..config import artifacts_dir
from ..data.images import decode_image
from ..search.catalogue import result_records
from ..search.engine import DEFAULT_K, MAX_K, check_k
from ..search.look import LookPart, part_record
from ..search.recommender import Recommender
from . import options

NAME = "query"
HELP = "the k products most similar to a photo, a product or words"
# The query table's columns, the image path last so that a narrow terminal cuts nothing useful.
QUERY_TABLE = ("rank", "id", "distance", "articleType", "baseColour", "productDisplayName", "image")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", nargs="?", default=None,
                        help="a photo, or with --id a catalogue product id (optional with --text)")
    parser.add_argument("--id", action="store_true", help="IMAGE is a catalogue product id")
    parser.add_argument("-k", type=int, default=DEFAULT_K, help=f"results, 1 to {MAX_K} (default {DEFAULT_K})")
    options.artifacts(parser)
    options.space(parser)
    options.search(parser)
    options.weights(parser)
    options.runtime(parser)
    parser.add_argument("--garments", action="store_true",
                        help="find the garments in the photo and search each (shop the look)")
    parser.add_argument("--text", default="", metavar="WORDS",
                        help='words: alone ("navy check shirt for men") or refining the photo ("in red")')
    parser.add_argument("--like", action="append", default=[], metavar="ID",
                        help="a product id whose kind the results should move toward (repeatable)")
    parser.add_argument("--dislike", action="append", default=[], metavar="ID",
                        help="a product id the results should move away from (repeatable)")
    parser.add_argument("--paths", action="store_true", help="absolute image paths instead of dataset-relative")
    options.as_json(parser, "the results (a list)")


def run(args: argparse.Namespace) -> int:
    root = artifacts_dir(args.artifacts)
    search = dict(k=check_k(args.k), search_k=args.search_k, n_trees=args.n_trees, space=args.space,
                  colour_weight=args.colour_weight)
    if args.image is None and not (args.text.strip() or args.like):
        raise ValueError("Expected a photo, a product id (--id), words (--text) or liked products (--like)")
    parts = None
    if args.image is None or args.id:
        recommender = Recommender.load(root, with_model=False)
        query = None if args.image is None else recommender.queries.from_id(args.image)
    else:
        # A bad photo or a missing catalogue is answered before the network loads (seconds).
        image = decode_image(args.image)
        # One photo: the network runs eagerly, skipping the trace that pays off from the second call.
        recommender = Recommender.load(root, weights=options.weights_of(args), compiled=False,
                                       runtime=args.runtime, log=options.to_stderr)
        if args.garments and recommender.queries.finder is None:
            options.to_stderr("No garment finder trained yet (python -m recommender train-finder): "
                              "searching the whole photo.")
        query = None if args.garments else recommender.queries.from_image(image)
        parts = recommender.look(image, **search) if args.garments else None
    if parts is None:
        answer = recommender.answer(query, text=args.text, like=args.like, dislike=args.dislike, **search)
        if answer.warning:
            options.to_stderr(f"warning: {answer.warning}")
        if answer.asked is not None:
            for line in [*answer.asked.notes, *(["Read as: " + " · ".join(answer.asked.chips)]
                                               if answer.asked.chips else [])]:
                options.to_stderr(line)
        parts = [LookPart(1, None, answer.asked.query if answer.asked else query, answer.results, answer.space)]
    dataset = None if args.paths else recommender.catalogue.dataset_root
    if args.json:
        records = [part_record(part, dataset) for part in parts]
        print(json.dumps(records if args.garments else records[0]["results"], indent=2))
        return 0
    for part in parts:
        table = pd.DataFrame(result_records(part.results, dataset)).rename(columns={"image_path": "image"})
        if args.garments:
            left, top, right, bottom = part.box
            found = f", score {part.garment.score:.2f}" if part.garment else ""
            print(f"{part.number} {part.label} (box {left:.2f},{top:.2f} to {right:.2f},{bottom:.2f}{found}):")
        print(f"{len(table)} nearest of {len(recommender.catalogue.metadata):,} products "
              f"(space {part.space}; images under {recommender.catalogue.dataset_root}):")
        print(table[list(QUERY_TABLE)].to_string(index=False, max_colwidth=40))
    return 0
