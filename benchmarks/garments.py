"""Shoppers' photos, measured by kind of query and space: what the finder finds and what each search is worth.

    python benchmarks/garments.py [--artifacts artifacts] [--photos ../shared/datasets/shopper-photos]
                                  [--spaces auto,fashion-street] [--studio 200]

On the development set of shoppers' photos (never trained on), every photo is embedded once and
searched in each space (``auto``, the default: each kind of query in the space the product searches it in,
``Recommender.space_for``):

* articleType P@5 by kind of query (``recommender.evaluation.query_folders.QUERY_KINDS``: phone photos
  whole; street photos whole; each annotated garment cut to its box; each annotated garment as a
  shopper picks it among the finder's boxes, matched at IoU >= 0.5 or centred on it, the whole photo
  where none is), plus the whole street photo scored against each of its garments, each with its 95%
  interval, and with two spaces the paired change of each row;
* the finder's recall per kind (a found box of the garment's kind, and of any kind, at IoU >= 0.5);
* with the last space: the phone photos searched whole against what ``shop_the_look`` searches first,
  and exact catalogue photos through ``shop_the_look`` (the share that still finds itself first).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "shopper-photos"
WHOLE_PER_GARMENT = "garment, the whole photo"
AUTO = "auto"  # each query in its kind's default space, as the product searches it


def main() -> None:
    from recommender.data.images import decode_image
    from recommender.evaluation import garment_matching, protocols, query_folders
    from recommender.evaluation.metrics import bootstrap_interval, paired_bootstrap_interval
    from recommender.garments.finder import MARGIN
    from recommender.search.recommender import Recommender
    from recommender.store.artifacts import load_artifacts
    from recommender.store.predictor import catalogue_extractor

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", default="artifacts")
    parser.add_argument("--photos", default=str(SHARED))
    parser.add_argument("--spaces", default=AUTO, help=f"comma-separated spaces ({AUTO}: each kind of query in its "
                                                       f"default space; the default)")
    parser.add_argument("--studio", type=int, default=200, help="catalogue photos for the exact-match check")
    args = parser.parse_args()
    recommender, artifacts = Recommender.load(args.artifacts), load_artifacts(args.artifacts)
    spaces = args.spaces.split(",")
    extractor = catalogue_extractor(args.artifacts, artifacts.manifest)
    finder = recommender.queries.finder
    if finder is None:
        sys.exit("no garment finder: python -m recommender train-finder")

    photos = query_folders.embed_folder(extractor, args.photos, garments=True)
    crops = garment_matching.finder_folder(extractor, args.photos, finder)
    looks = photos.items[photos.items["query_kind"] == query_folders.WORN]
    row_of_photo = {str(item): row for row, item in zip(looks.index, looks["id"])}
    garments = photos.items[photos.items["query_kind"] == query_folders.GARMENT_BOX]
    whole = [row_of_photo[item.rsplit("-", 1)[0]] for item in garments["id"]]  # each garment's whole photo
    every = query_folders.PhotoFolder.joined([photos, crops, query_folders.PhotoFolder(
        photos.folder, garments.assign(query_kind=WHOLE_PER_GARMENT), photos.vectors[whole],
        photos.colours[whole])])
    kinds = every.items["query_kind"].to_numpy()
    defaults = (recommender.catalogue.default_space, recommender.catalogue.worn_space)
    measured = [*dict.fromkeys(name for space in spaces for name in (defaults if space == AUTO else (space,)))]
    hits = {space: np.asarray(protocols.photo_queries_evaluation(artifacts, every, space=space)
                              ["hits_at_5"]["articleType"], np.float64) / 5 for space in measured}
    worn = np.isin(kinds, [*query_folders.WORN_KINDS, WHOLE_PER_GARMENT])
    hits[AUTO] = np.where(worn, hits[recommender.catalogue.worn_space], hits[recommender.catalogue.default_space])

    print(f"{args.photos}: {len(photos.items):,} photos and garments; catalogue {len(artifacts.metadata):,} "
          f"products; finder margin {MARGIN:.0%}; {AUTO}: product photos in {defaults[0]}, worn garments in "
          f"{defaults[1]}.\n")
    print("| query | n | " + " | ".join(f"{space} P@5 (95% interval)" for space in spaces)
          + (" | change (paired) |" if len(spaces) == 2 else " |"))
    print("|---|---|" + "---|" * len(spaces) + ("---|" if len(spaces) == 2 else ""))
    for kind in [*query_folders.QUERY_KINDS, WHOLE_PER_GARMENT]:
        rows = kinds == kind
        if not rows.any():
            continue
        cells = []
        for space in spaces:
            low, high = bootstrap_interval(hits[space][rows])
            cells.append(f"{hits[space][rows].mean():.3f} ({low:.3f}-{high:.3f})")
        if len(spaces) == 2:
            before, after = (hits[space][rows] for space in spaces)
            low, high = paired_bootstrap_interval(before, after)
            cells.append(f"{100 * (after.mean() - before.mean()):+.1f} ({100 * low:+.1f} to {100 * high:+.1f})")
        print(f"| {kind} | {int(rows.sum())} | " + " | ".join(cells) + " |")

    space = spaces[-1]
    searched = None if space == AUTO else space  # shop_the_look's space: None, each part in its kind's
    box, whole_hits = hits[space][kinds == query_folders.GARMENT_BOX], hits[space][kinds == WHOLE_PER_GARMENT]
    for crop_kind in (query_folders.FINDER_CROP, query_folders.FINDER_PICK):
        found = hits[space][kinds == crop_kind]
        for name, other in (("the annotated box", box), ("the whole photo", whole_hits)):
            low, high = paired_bootstrap_interval(other, found)
            print(f"\n{space}: {crop_kind} against {name}, per garment: {100 * (found.mean() - other.mean()):+.1f} "
                  f"points ({100 * low:+.1f} to {100 * high:+.1f}).", end="")
    picked = crops.items[crops.items["query_kind"] == query_folders.FINDER_PICK]["picked"]
    print(f"\nA box of the garment's kind centred on it: {picked.mean():.2f} of the garments.")
    print("\n| kind | garments | recall, same kind (IoU >= 0.5) | recall, any kind |\n|---|---|---|---|")
    for kind, row in garment_matching.finder_recall(crops.items).items():
        print(f"| {kind} | {row['n']} | {row['same_kind']:.2f} | {row['any_kind']:.2f} |")

    phone = photos.items[photos.items["query_kind"] == query_folders.PHOTO]
    first = []
    for item, article_type in zip(phone["id"], phone["articleType"]):
        part = recommender.look(decode_image(photos.folder / "images" / f"{item}.jpg"), k=5,
                             space=searched)[0]
        first.append(float((part.results["articleType"] == article_type).mean()))
    whole_phone, first = hits[space][kinds == query_folders.PHOTO], np.array(first)
    low, high = paired_bootstrap_interval(whole_phone, first)
    print(f"\n{space}, phone photos ({len(phone)}): whole photo P@5 {whole_phone.mean():.3f}, shop the look's first "
          f"part {first.mean():.3f} (change {100 * (first.mean() - whole_phone.mean()):+.1f}, {100 * low:+.1f} to "
          f"{100 * high:+.1f}).")

    sample = artifacts.metadata.sample(n=min(args.studio, len(artifacts.metadata)), random_state=0)
    itself = sum(str(recommender.look(decode_image(recommender.catalogue.dataset_root / item["image"]), k=1,
                                   space=searched)[0].results["id"].iloc[0]) == str(item["id"])
                 for _, item in sample.iterrows())
    print(f"Exact catalogue photos through shop the look: {itself} of {len(sample)} find themselves first.")


if __name__ == "__main__":
    main()
