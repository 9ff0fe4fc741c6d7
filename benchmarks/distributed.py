"""The single-process engine against Ray Data, on the same photos, in one run.

    python benchmarks/distributed.py [--dataset DIR] [--n 1000] [--batch-size 32]

Embeds the same ``--n`` catalogue photos (the same chunk files a build writes) with the local engine, then
with Ray Data: one actor with every CPU Ray may give it, and one actor per CPU.  For each: images per
second end to end (start-up included), in the steady state (from the first finished image to the last), and
the start-up seconds (until the first image is done).  Needs ``pip install -r requirements-ray.txt``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender import Extractor, read_catalogue, resolve_weights  # noqa: E402
from recommender.build import content_hash, embed_items  # noqa: E402
from recommender.distributed import RayEngine, RayOptions  # noqa: E402
from recommender.settings import SHARED_DATASET  # noqa: E402


def run(name: str, extractor: Extractor, root: Path, items, engine: RayEngine | None) -> dict:
    work = Path(tempfile.mkdtemp(prefix="distributed-"))
    marks: list[float] = []
    started = time.perf_counter()
    embed_items(extractor, root, items, work, engine=engine,
                progress=lambda done, total: marks.append(time.perf_counter()))
    total = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    first, last = marks[0], marks[-1]
    steady = (len(items) - extractor.batch_size) / (last - first) if last > first else float("nan")
    return {"way": name, "end_to_end": len(items) / total, "steady": steady, "startup": first - started,
            "seconds": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(SHARED_DATASET))
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    catalogue = read_catalogue(args.dataset)
    items = catalogue.items.iloc[:args.n]
    items = items.assign(sha256=[content_hash(catalogue.root / rel) for rel in items["image"]])
    extractor = Extractor(resolve_weights(), batch_size=args.batch_size)
    cpus = os.cpu_count() or 1
    import ray

    rows = [run("single process (local engine)", extractor, catalogue.root, items, None)]
    for workers, per_worker in ((1, cpus), (cpus, 1)):
        ray.shutdown()
        engine = RayEngine(RayOptions(workers=workers, cpus_per_worker=per_worker))
        rows.append(run(f"Ray Data, {workers} actor(s) x {per_worker} CPU", extractor, catalogue.root, items,
                        engine))
    ray.shutdown()
    base = rows[0]["end_to_end"]
    print(f"{args.n:,} photos, batch {args.batch_size}, {cpus} CPUs")
    print("| way | img/s end to end | img/s steady | start-up s | end to end vs single process |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['way']} | {row['end_to_end']:.1f} | {row['steady']:.1f} | {row['startup']:.1f} | "
              f"{row['end_to_end'] / base:.2f}x |")


if __name__ == "__main__":
    main()
