"""Two garment parsers compared in one run: what each finds, and what an upload searched through it is worth.

    python benchmarks/finders.py BEFORE.npz AFTER.npz [--artifacts artifacts]
                                 [--photos ../shared/datasets/shopper-photos] [--queries 200] [--studio 200]
    (--queries 0: no robustness table, the quick comparison, e.g. of two training seeds)

BEFORE and AFTER are saved parsers (``train-finder`` writes one; ``recommender.training.finder.train_parser``
takes any ``path``), e.g. one trained on the street photos alone and one with pasted product scenes too.
Each is run over the same map network, catalogue and photos, every query searched in its kind's default
space (``Recommender.space_for``), type first:

* the development street photos' annotated garments: recall per kind at IoU >= 0.5, and articleType P@5 of
  the garment as a shopper picks it among the boxes (``query_folders.FINDER_CROP``, ``query_folders.FINDER_PICK``);
* the development phone photos searched as an upload is (``search.look.first_query``);
* exact catalogue photos: the share that still finds itself first;
* the robustness table as an upload (``evaluation.robustness``, held-out studio queries re-shot).

Each P@5 row gives both, and the paired change with its 95% interval where the queries are the same.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.garments import SHARED  # noqa: E402


def main() -> None:
    from recommender.data.images import decode_image
    from recommender.evaluation import garment_matching, protocols, query_folders
    from recommender.evaluation.metrics import paired_bootstrap_interval
    from recommender.evaluation.robustness import robustness_evaluation
    from recommender.features.runtimes import load_map_network
    from recommender.features.weights import resolve_weights
    from recommender.garments.finder import GarmentFinder
    from recommender.garments.parser import GarmentParser
    from recommender.search.recommender import Recommender
    from recommender.store.artifacts import load_artifacts
    from recommender.store.predictor import catalogue_extractor

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parsers", nargs=2, metavar="PARSER.npz")
    parser.add_argument("--artifacts", default="artifacts")
    parser.add_argument("--photos", default=str(SHARED))
    parser.add_argument("--queries", type=int, default=200, help="held-out studio queries of the robustness table")
    parser.add_argument("--studio", type=int, default=200, help="catalogue photos for the exact-match check")
    parser.add_argument("--holdout", type=float, default=0.1)
    args = parser.parse_args()
    recommender, artifacts = Recommender.load(args.artifacts), load_artifacts(args.artifacts)
    extractor = catalogue_extractor(args.artifacts, artifacts.manifest)
    network = load_map_network(resolve_weights(), extractor.runtime)
    names = [Path(path).stem for path in args.parsers]
    finders = [GarmentFinder(network, GarmentParser.load(path)) for path in args.parsers]
    photos = query_folders.embed_folder(extractor, args.photos, garments=True)
    phone = photos.items[photos.items["query_kind"] == query_folders.PHOTO]
    phone_images = [decode_image(photos.folder / "images" / f"{item}.jpg") for item in phone["id"]]
    studio = artifacts.metadata.sample(n=min(args.studio, len(artifacts.metadata)), random_state=0)
    splits = protocols.evaluation_splits(artifacts, args.holdout, space=recommender.catalogue.default_space)

    hits, recall, itself, robustness = {}, {}, {}, {}
    for name, finder in zip(names, finders):
        with_finder = Recommender.load(args.artifacts, finder=finder)
        crops = garment_matching.finder_folder(extractor, args.photos, finder)
        evaluated = protocols.photo_queries_evaluation(artifacts, crops, space=recommender.catalogue.worn_space)
        found = np.asarray(evaluated["hits_at_5"]["articleType"], np.float64) / 5
        kinds = crops.items["query_kind"].to_numpy()
        hits[name] = {kind: found[kinds == kind] for kind in (query_folders.FINDER_CROP, query_folders.FINDER_PICK)}
        hits[name]["phone photo as an upload"] = np.array([
            float((with_finder.search(with_finder.queries.photo(image, first_only=True).first, k=5)["articleType"]
                   == label).mean())
            for image, label in zip(phone_images, phone["articleType"])])
        recall[name] = garment_matching.finder_recall(crops.items)
        itself[name] = sum(str(with_finder.search(with_finder.queries.photo(decode_image(
            artifacts.manifest.dataset / item["image"]), first_only=True).first, k=1)["id"].iloc[0]) == str(item["id"])
            for _, item in studio.iterrows())
        if args.queries:
            robustness[name] = robustness_evaluation(artifacts, with_finder.queries, splits.grouped,
                                                     ~splits.grouped, space=None, count=args.queries)

    before, after = names
    print(f"{args.photos}; catalogue {len(recommender.catalogue.metadata):,} products; product photos in "
          f"{recommender.catalogue.default_space}, worn garments in {recommender.catalogue.worn_space}.\n")
    print(f"| query | n | {before} P@5 | {after} P@5 | change, points (paired 95%) |\n|---|---|---|---|---|")
    for kind in hits[before]:
        a, b = hits[before][kind], hits[after][kind]
        low, high = paired_bootstrap_interval(a, b)
        print(f"| {kind} | {len(a)} | {a.mean():.3f} | {b.mean():.3f} | {100 * (b.mean() - a.mean()):+.1f} "
              f"({100 * low:+.1f} to {100 * high:+.1f}) |")
    print(f"\n| kind | garments | recall same kind, {before} | {after} | recall any kind, {before} | {after} |\n"
          "|---|---|---|---|---|---|")
    for kind, row in recall[before].items():
        other = recall[after][kind]
        print(f"| {kind} | {row['n']} | {row['same_kind']:.2f} | {other['same_kind']:.2f} | {row['any_kind']:.2f} | "
              f"{other['any_kind']:.2f} |")
    print(f"\nExact catalogue photos that find themselves first: {before} {itself[before]} of {len(studio)}, "
          f"{after} {itself[after]} of {len(studio)}.")
    if not args.queries:
        return
    print(f"\nRobustness as an upload ({args.queries} held-out studio queries), articleType P@5 and drop, points:\n"
          f"| photo | {before} | {after} |\n|---|---|---|")
    for row in robustness[before]:
        cells = [f"{table[row]['articleType']:.3f} ({table[row]['drop_points']:+.1f})"
                 for table in (robustness[before], robustness[after])]
        print(f"| {row} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
