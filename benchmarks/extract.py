"""Bulk extraction speed: the original design's recipe vs this project's pipeline vs the machine's ceiling.

    python benchmarks/extract.py [--n 1000] [--dataset DIR]

Embeds the same N real catalogue photos:

* original: Keras ``image.load_img(target_size=(224, 224))`` + ``preprocess_input`` +
  ``model.predict`` on one image at a time (ResNet50 + GlobalMaxPooling2D), as the original design did;
* pipeline: :meth:`recommender.features.Extractor.embed_files` (threads decode the next batch
  while one compiled ``tf.function`` runs the current one), at several batch sizes, and once with
  bfloat16 compute (``--precision bfloat16``);
* ceiling: a large float32 matrix product in TensorFlow, the compute this machine can reach.

Each way runs in its own process, so its peak resident memory is its own. Prints a table with
img/s, the ratio to the original, the pipeline's GFLOP/s (ResNet50 at 224x224 is ~4.1 G
multiply-adds, 8.2 GFLOP, per image) as a share of the ceiling, and the peak memory.
Runs unchanged on a CUDA GPU (TensorFlow picks it up) and prints the device.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FLOP_PER_IMAGE = 2 * 4.1e9


def _photos(dataset: str, n: int) -> list[Path]:
    from recommender.catalogue import read_catalogue, stratified_sample

    catalogue = read_catalogue(dataset)
    return [catalogue.root / rel for rel in stratified_sample(catalogue.items, n)["image"]]


def _device() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = (tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus)
        return "GPU: " + ", ".join(details)
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "CPU")
    return f"CPU: {model}, {os.cpu_count()} cores"


def way_original(photos: list[Path], _batch: int) -> float:
    import keras
    import numpy as np
    from keras.applications.resnet50 import preprocess_input
    from keras.utils import img_to_array, load_img

    from recommender.weights import resolve_weights

    backbone = keras.applications.ResNet50(weights=None, include_top=True)
    backbone.load_weights(str(resolve_weights().path))
    trunk = keras.Model(backbone.inputs, backbone.get_layer("conv5_block3_out").output)
    model = keras.Sequential([trunk, keras.layers.GlobalMaxPooling2D()])
    model.predict(np.zeros((1, 224, 224, 3), np.float32), verbose=0)
    started = time.perf_counter()
    for path in photos:
        array = np.expand_dims(img_to_array(load_img(path, target_size=(224, 224))), 0)
        vector = model.predict(preprocess_input(array), verbose=0)[0]
        vector / np.linalg.norm(vector)
    return time.perf_counter() - started


def way_pipeline(photos: list[Path], batch: int, precision: str = "float32") -> float:
    from recommender.features import Extractor
    from recommender.weights import resolve_weights

    extractor = Extractor(resolve_weights(), batch_size=batch, precision=precision)
    list(extractor.embed_files(photos[:batch]))  # traces the compiled function once
    started = time.perf_counter()
    for _ in extractor.embed_files(photos):
        pass
    return time.perf_counter() - started


def way_ceiling(_photos: list[Path], _batch: int) -> float:
    """Seconds per GFLOP of a 4096^3 float32 matmul, best of 5 (returned as seconds for 1 GFLOP)."""
    import tensorflow as tf

    a = tf.random.normal((4096, 4096))
    b = tf.random.normal((4096, 4096))
    matmul = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))
    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - started)
    return best / (2 * 4096 ** 3 / 1e9)


def way_pipeline_bf16(photos: list[Path], batch: int) -> float:
    return way_pipeline(photos, batch, precision="bfloat16")


WAYS = {"original": way_original, "pipeline": way_pipeline, "pipeline_bf16": way_pipeline_bf16,
        "ceiling": way_ceiling}


def _child(way: str, dataset: str, n: int, batch: int) -> None:
    photos = _photos(dataset, n) if way != "ceiling" else []
    seconds = WAYS[way](photos, batch)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"way": way, "seconds": seconds, "n": len(photos), "batch": batch, "peak_mb": peak,
                      "device": _device()}))


def _run(way: str, dataset: str, n: int, batch: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", way, "--dataset", dataset, "--n", str(n),
                           "--batch", str(batch)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    from recommender.settings import find_dataset

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--batches", default="8,32,128", help="pipeline batch sizes")
    parser.add_argument("--child", choices=WAYS, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=32, help=argparse.SUPPRESS)
    args = parser.parse_args()
    dataset = str(find_dataset(args.dataset) or sys.exit("no dataset: set RECOMMENDER_DATASET"))
    if args.child:
        _child(args.child, dataset, args.n, args.batch)
        return
    ceiling = _run("ceiling", dataset, 0, 0)
    ceiling_gflops = 1 / ceiling["seconds"]
    original = _run("original", dataset, args.n, 1)
    rows = [("original (load_img + predict, 1 image/call)", original)]
    rows += [(f"pipeline (batch {b})", _run("pipeline", dataset, args.n, int(b))) for b in args.batches.split(",")]
    rows.append(("pipeline, bfloat16 compute (batch 32)", _run("pipeline_bf16", dataset, args.n, 32)))
    print(f"Device: {ceiling['device']}; {args.n} real catalogue photos; "
          f"ceiling (float32 4096^3 matmul): {ceiling_gflops:.0f} GFLOP/s\n")
    print("| way | img/s | x original | GFLOP/s | share of ceiling | peak memory MB |")
    print("|---|---|---|---|---|---|")
    base = original["n"] / original["seconds"]
    for name, row in rows:
        rate = row["n"] / row["seconds"]
        gflops = rate * FLOP_PER_IMAGE / 1e9
        print(f"| {name} | {rate:.1f} | {rate / base:.2f} | {gflops:.0f} | {gflops / ceiling_gflops:.0%} | "
              f"{row['peak_mb']:.0f} |")


if __name__ == "__main__":
    main()
