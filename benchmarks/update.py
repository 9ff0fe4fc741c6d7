"""An update against a full rebuild, on the whole shared catalogue, in one run.

    python benchmarks/update.py [--dataset DIR] [--add 100] [--remove 100] [--change 10] [--no-train]

1. copies the catalogue into a work folder, holding back ``--add`` photos (seeded choice);
2. builds it from scratch (timed: the full build) and trains the fashion head (not timed);
3. changes the dataset the way a shop's day does: the held-back photos arrive, ``--remove`` products go,
   ``--change`` photos are re-shot (mirrored: new bytes);
4. runs ``update`` (timed, split by stage: diff, embed, heads, index, commit).

Prints one table and writes ``benchmarks/results/update.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender import build_catalogue, read_catalogue, update_catalogue  # noqa: E402
from recommender.data.locate import SHARED_DATASET  # noqa: E402
from recommender.training.train import train_space  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "update.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(SHARED_DATASET))
    parser.add_argument("--add", type=int, default=100)
    parser.add_argument("--remove", type=int, default=100)
    parser.add_argument("--change", type=int, default=10)
    parser.add_argument("--no-train", action="store_true", help="skip the fashion head (no heads stage)")
    parser.add_argument("--work", default=None, help="work folder (default: a temporary one, removed after)")
    args = parser.parse_args()

    work = Path(args.work or tempfile.mkdtemp(prefix="update-bench-"))
    source = read_catalogue(args.dataset)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(source.items))
    held_back = source.items.iloc[order[:args.add]]
    dataset = work / "dataset"
    (dataset / "images").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source.root / "styles.csv", dataset / "styles.csv")
    kept = set(held_back["id"])
    for rel, item_id in zip(source.items["image"], source.items["id"]):
        if item_id not in kept:
            shutil.copyfile(source.root / rel, dataset / rel)
    artifacts = work / "artifacts"

    started = time.perf_counter()
    manifest = build_catalogue(dataset, artifacts, log=lambda _: None)
    build_seconds = time.perf_counter() - started
    if not args.no_train:
        train_space(artifacts, log=lambda _: None)

    for rel in held_back["image"]:
        shutil.copyfile(source.root / rel, dataset / rel)
    rest = source.items.iloc[order[args.add:]]
    for rel in rest["image"].iloc[:args.remove]:
        (dataset / rel).unlink()
    for rel in rest["image"].iloc[args.remove:args.remove + args.change]:
        with Image.open(dataset / rel) as photo:
            ImageOps.mirror(photo.convert("RGB")).save(dataset / rel, quality=95)

    report = update_catalogue(dataset, artifacts, log=lambda _: None)
    result = {"products_built": manifest.count, "build_seconds": round(build_seconds, 1), "update": report,
              "speedup": round(build_seconds / report["seconds"]["total"], 1)}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    stages = report["seconds"]
    print("| way | products | seconds | diff | embed | heads | index | commit | x faster |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| full build | {manifest.count:,} | {build_seconds:.1f} | | | | | | 1.0 |")
    print(f"| update (+{report['added']} new, -{report['removed']}, {report['changed']} re-shot) | "
          f"{report['products']:,} | {stages['total']:.1f} | {stages['diff']:.1f} | {stages['embed']:.1f} | "
          f"{stages['heads']:.1f} | {stages['index']:.1f} | {stages['commit']:.1f} | {result['speedup']} |")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
