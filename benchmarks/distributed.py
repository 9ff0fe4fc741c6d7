"""The single-process engine against Ray Data, on the same photos, in one run.

    python benchmarks/distributed.py [--dataset DIR] [--n 1000] [--batch-size 32]

Builds a catalogue of the same ``--n`` photos with the local engine, then with Ray Data (one actor with
every CPU, and one actor per CPU).  End to end: ``python -m recommender build`` in a fresh process, timed
as a user would see it (TensorFlow's import, Ray's start, the model, embedding, index, commit).  Steady
state and start-up: the same embedding inside this process, from its progress (start-up: until the first
image is done; steady: from then to the last).  Needs ``pip install -r requirements-ray.txt``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender import Extractor, read_catalogue, resolve_weights  # noqa: E402
from recommender.config import PROJECT_ROOT as PROJECT  # noqa: E402
from recommender.data.locate import SHARED_DATASET  # noqa: E402
from recommender.pipeline.build import content_hash, embed_items  # noqa: E402
from recommender.pipeline.engines import RayEngine, RayOptions  # noqa: E402


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


def end_to_end(dataset: Path, batch_size: int, engine_args: list[str]) -> float:
    out = Path(tempfile.mkdtemp(prefix="distributed-build-"))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "recommender", "build", str(dataset), "--out", str(out), "--no-progress",
                    "--batch-size", str(batch_size), *engine_args], check=True, cwd=PROJECT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    shutil.rmtree(out, ignore_errors=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(SHARED_DATASET))
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    catalogue = read_catalogue(args.dataset)
    items = catalogue.items.iloc[:args.n]
    items = items.assign(sha256=[content_hash(catalogue.root / rel) for rel in items["image"]])
    subset = Path(tempfile.mkdtemp(prefix="distributed-photos-"))
    (subset / "images").mkdir()
    shutil.copyfile(catalogue.root / "styles.csv", subset / "styles.csv")
    for rel in items["image"]:
        shutil.copyfile(catalogue.root / rel, subset / rel)
    extractor = Extractor(resolve_weights(), batch_size=args.batch_size)
    cpus = os.cpu_count() or 1
    import ray

    ways = [("single process (local engine)", None, [])] + [
        (f"Ray Data, {workers} actor(s) x {per_worker} CPU", RayOptions(workers=workers, cpus_per_worker=per_worker),
         ["--engine", "ray", "--workers", str(workers), "--cpus-per-worker", str(per_worker)])
        for workers, per_worker in ((1, cpus), (cpus, 1))]
    rows = []
    for name, options, engine_args in ways:
        ray.shutdown()
        row = run(name, extractor, catalogue.root, items, RayEngine(options) if options else None)
        ray.shutdown()
        row["build_seconds"] = end_to_end(subset, args.batch_size, engine_args)
        rows.append(row)
    shutil.rmtree(subset, ignore_errors=True)
    base = rows[0]["build_seconds"]
    print(f"{args.n:,} photos, batch {args.batch_size}, {cpus} CPUs")
    print("| way | build s (fresh process) | img/s end to end | vs single process | img/s steady | start-up s |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['way']} | {row['build_seconds']:.1f} | {args.n / row['build_seconds']:.1f} | "
              f"{base / row['build_seconds']:.2f}x | {row['steady']:.1f} | {row['startup']:.1f} |")


if __name__ == "__main__":
    main()
