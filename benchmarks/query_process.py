"""A whole ``query PHOTO`` process, start to exit, on each installed runtime (the goal: under 2.5 s).

    python benchmarks/query_process.py [--artifacts artifacts] [--photo FILE] [--repeats 5]

Runs ``python -m recommender query PHOTO --runtime R`` as a shopper's terminal would, for every
installed runtime in turn (round robin, ``--repeats`` rounds: a slow moment of a shared machine
hits each alike), after one untimed run each (it exports the network where it is not cached).
Prints the median and best wall time per runtime, the ratio to TensorFlow's, and whether the
process imported TensorFlow at all.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _query(artifacts: str, photo: str, runtime: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recommender", "query", photo, "--artifacts", artifacts,
                           "--runtime", runtime], capture_output=True, text=True, check=True)


def _imports_tensorflow(artifacts: str, photo: str, runtime: str) -> bool:
    """Whether the same query imported TensorFlow (its CLI, run in a process that reports its modules)."""
    code = ("import sys\nfrom recommender.cli import main\n"
            f"main(['query', {photo!r}, '--artifacts', {artifacts!r}, '--runtime', {runtime!r}])\n"
            "print('tensorflow' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stderr.strip().splitlines()[-1] == "True"


def main() -> None:
    from recommender.features.runtimes import RUNTIMES, installed
    from recommender.store.artifacts import load_artifacts

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", default="artifacts")
    parser.add_argument("--photo", default=None, help="default: the catalogue's first photo")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    artifacts = load_artifacts(args.artifacts)
    photo = args.photo or str(artifacts.manifest.dataset / artifacts.metadata["image"].iloc[0])
    runtimes = [name for name in RUNTIMES if installed(name)]
    imports_tf = {}
    for runtime in runtimes:
        _query(args.artifacts, photo, runtime)  # untimed: exports, file caches
        imports_tf[runtime] = _imports_tensorflow(args.artifacts, photo, runtime)
    seconds = {name: [] for name in runtimes}
    for _ in range(args.repeats):
        for runtime in runtimes:
            started = time.perf_counter()
            _query(args.artifacts, photo, runtime)
            seconds[runtime].append(time.perf_counter() - started)
    print(f"`query` of one photo, {artifacts.manifest.count:,}-product catalogue "
          f"({artifacts.manifest.features.input_size}x{artifacts.manifest.features.input_size}, "
          f"{artifacts.manifest.features.precision}), {args.repeats} rounds\n")
    print("| runtime | median s | best s | x TensorFlow (median) | imports TensorFlow |")
    print("|---|---|---|---|---|")
    reference = statistics.median(seconds["tensorflow"])
    for runtime, values in seconds.items():
        median = statistics.median(values)
        print(f"| {runtime} | {median:.2f} | {min(values):.2f} | {reference / median:.2f} | "
              f"{'yes' if imports_tf[runtime] else 'no'} |")


if __name__ == "__main__":
    main()
