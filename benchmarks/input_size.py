"""The input size and precision the photos deserve: speed and trained quality at 224, 192, 160 and 128 pixels.

    python benchmarks/input_size.py [--dataset DIR] [--sample 10000] [--n 400] [--work DIR] [--sizes 224,192,160]

For each input size, in float32 and in int8 (where OpenVINO and NNCF are installed; bfloat16 too
where ``build --precision auto`` picks it on this machine), on the runtime ``build --runtime auto``
picks here, the same stratified sample of the catalogue is built (``build --sample N
--input-size S``), the fashion head is trained on it holding out the products of the 224
build's split (``train --split``), and both spaces are measured on those same held-out
products (the near-duplicate-grouped split, type-first ranking: the figures ``train``
saves).  Speed is the pipeline's img/s on N real photos at that size, next to the original
design's recipe in the same run (``benchmarks/extract.py``'s ways, each in its own process; the
best of ``--repeats`` interleaved timings).

The default is the fastest setting whose trained articleType and baseColour P@5 are both
within 0.5 point of the best setting's.  Builds stay in ``--work``: a second run reuses
them.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.extract import measure  # noqa: E402

TOLERANCE = 0.005  # P@5 a smaller input may lose against the best setting and still be the default
LABELS = ("articleType", "baseColour")


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "recommender", *args, "--no-progress"], check=True,
                   stdout=subprocess.DEVNULL)


def built(root: Path, size: int, precision: str, sample: int) -> bool:
    """Whether ``root`` holds a build of this sample at this input size and precision."""
    path = root / "manifest.json"
    if not path.is_file():
        return False
    from recommender.store.manifest import read_manifest

    manifest = read_manifest(root)
    return (manifest.features.input_size == size and manifest.features.precision == precision
            and manifest.catalogue.get("sample") == sample)


def quality(root: Path, dataset: str, size: int, precision: str, sample: int, split: Path | None) -> dict:
    """Build and train where not done yet; the saved grouped-split evaluations of both spaces."""
    from recommender.evaluation.results import load_saved_evaluations
    from recommender.store.artifacts import load_artifacts

    if not built(root, size, precision, sample):
        _cli("build", dataset, "--sample", str(sample), "--input-size", str(size), "--precision", precision,
             "--out", str(root))
    artifacts = load_artifacts(root)
    if "fashion" not in artifacts.spaces:
        _cli("train", "--artifacts", str(root), *(["--split", str(split)] if split else []))
        artifacts = load_artifacts(root)
    saved = load_saved_evaluations(root, artifacts.build_id)
    holdout = artifacts.manifest.spaces["fashion"].training["holdout"]
    return {space: saved[f"{space}-c0-holdout{holdout:g}"] for space in ("imagenet", "fashion")}


def main() -> None:
    from recommender.data.locate import find_dataset
    from recommender.evaluation.comparison import compare_models
    from recommender.evaluation.protocols import grouped_result
    from recommender.features.runtimes import installed
    from recommender.features.settings import INPUT_SIZES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--n", type=int, default=400, help="photos timed per setting")
    parser.add_argument("--repeats", type=int, default=2, help="timings per setting, interleaved; the best counts")
    parser.add_argument("--work", default="artifacts/input-size", help="where the builds are kept")
    parser.add_argument("--sizes", default=",".join(map(str, sorted(INPUT_SIZES, reverse=True))),
                        help="input sizes to measure, the reference (224) first")
    args = parser.parse_args()
    dataset = str(find_dataset(args.dataset) or sys.exit("no dataset: set RECOMMENDER_DATASET"))
    work = Path(args.work)
    original = measure("original", dataset, args.n, 1)
    base_rate = original["n"] / original["seconds"]
    settings, why = [], {}
    int8 = installed("openvino") and importlib.util.find_spec("nncf") is not None
    for size in [int(size) for size in args.sizes.split(",")]:
        auto = measure("auto", dataset, 64, input_size=size)
        settings += [(size, "float32")] + ([(size, "bfloat16")] if auto["auto"] == "bfloat16" else [])
        settings += [(size, "int8")] if int8 else []
        why[size] = auto["why"]
    runtime = auto["runtime"]
    rows, split = [], None
    for size, precision in settings:
        root = work / f"s{size}-{precision}"
        print(f"{size}x{size} {precision}: building, training and measuring in {root}...", file=sys.stderr)
        measured = quality(root, dataset, size, precision, args.sample, split)
        split = split or next(root.glob("split-*-fashion.json"))
        rows.append({"size": size, "precision": precision, "rate": 0.0, **measured})
    for _ in range(args.repeats):  # round robin: a slow moment of a shared machine hits every setting alike
        for row in rows:
            speed = measure("pipeline", dataset, args.n, 32, row["precision"], row["size"],
                            runtime if row["precision"] != "int8" else "openvino")
            row["rate"] = max(row["rate"], speed["n"] / speed["seconds"])

    def p5(row: dict, space: str, label: str) -> float:
        return grouped_result(row[space])["precision_at_k"][label]["5"]

    best = {label: max(p5(row, "fashion", label) for row in rows) for label in LABELS}
    eligible = [row for row in rows if all(best[label] - p5(row, "fashion", label) <= TOLERANCE for label in LABELS)]
    chosen = max(eligible, key=lambda row: row["rate"])
    reference = rows[0]  # 224, float32
    print(f"Device: {original['device']}; runtime {runtime} (int8: openvino); {args.n} photos timed per setting "
          f"(best of {args.repeats}); original recipe "
          f"{base_rate:.1f} img/s. Quality: {args.sample:,}-product sample, grouped split "
          f"({grouped_result(reference['fashion'])['n_queries']} queries, the same for every row), type first.\n")
    print("| input | precision | img/s | x original | fashion articleType P@5 | fashion baseColour P@5 | "
          "change vs 224 (paired 95% interval), type / colour | frozen ImageNet articleType / baseColour P@5 |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        change = compare_models(reference["fashion"], row["fashion"])
        delta = " / ".join(f"{100 * change[label]['change']:+.1f} ({100 * change[label]['interval'][0]:+.1f}.."
                           f"{100 * change[label]['interval'][1]:+.1f})" for label in LABELS)
        mark = " **default**" if row is chosen else ""
        print(f"| {row['size']}{mark} | {row['precision']} | {row['rate']:.1f} | {row['rate'] / base_rate:.2f} | "
              f"{p5(row, 'fashion', 'articleType'):.3f} | {p5(row, 'fashion', 'baseColour'):.3f} | {delta} | "
              f"{p5(row, 'imagenet', 'articleType'):.3f} / {p5(row, 'imagenet', 'baseColour'):.3f} |")
    if not any(precision == "bfloat16" for _, precision in settings):
        print(f"\nNo bfloat16 rows: `--precision auto` picks float32 at every size here ({why[224]}).")
    print(f"\nDefault: {chosen['size']}x{chosen['size']} {chosen['precision']}, the fastest setting within "
          f"{100 * TOLERANCE:.1f} point of the best trained P@5 ({chosen['rate'] / base_rate:.2f}x the original "
          "recipe's img/s).")


if __name__ == "__main__":
    main()
