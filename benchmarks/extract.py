"""Bulk extraction speed: the original design's recipe vs this project's pipeline vs the machine's ceilings.

    python benchmarks/extract.py [--n 1000] [--dataset DIR] [--batches 8,32,128]

Embeds the same N real catalogue photos:

* original: Keras ``image.load_img(target_size=(224, 224))`` + ``preprocess_input`` +
  ``model.predict`` on one image at a time (ResNet50 + GlobalMaxPooling2D), as the original design did;
* pipeline: :meth:`recommender.features.Extractor.embed_files` (threads decode the next batch
  while the network runs the current one) on each installed runtime (TensorFlow's compiled
  ``tf.function``, OpenVINO, ONNX Runtime: ``build --runtime``), at several batch sizes, in
  bfloat16 and int8 (OpenVINO, calibrated on 300 of the catalogue's photos as ``build`` does),
  and at the smaller input sizes (``build --input-size``);
* ceilings: a large matrix product in TensorFlow in float32 and in bfloat16, the compute this
  machine can reach in each precision;
* what ``build --runtime auto --precision auto`` choose here, and why.

Each way runs in its own process, so its peak resident memory is its own. Prints a table with
img/s, the ratio to the original, the pipeline's GFLOP/s (ResNet50 is ~4.1 G multiply-adds,
8.2 GFLOP, per 224x224 image, and scales with the input's area) as a share of its own
precision's ceiling, and the peak memory. Runs unchanged on a CUDA GPU (TensorFlow picks it
up) and prints the device.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FLOP_PER_IMAGE = 2 * 4.1e9  # at 224x224


def flop_per_image(input_size: int) -> float:
    """ResNet50's multiply-adds x 2 at a square input (the convolutions' work grows with the area)."""
    return FLOP_PER_IMAGE * (input_size / 224) ** 2


def _photos(dataset: str, n: int) -> list[Path]:
    from recommender.data.catalogue import read_catalogue, stratified_sample

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


def way_original(photos: list[Path], _batch: int, *_settings) -> float:
    import keras
    import numpy as np
    from keras.applications.resnet50 import preprocess_input
    from keras.utils import img_to_array, load_img

    from recommender.features.weights import resolve_weights

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


def way_pipeline(photos: list[Path], batch: int, precision: str = "float32", input_size: int = 224,
                 runtime: str = "tensorflow", dataset: str = "") -> float:
    from recommender.features.extractor import Extractor
    from recommender.features.weights import resolve_weights

    calibration = None
    if precision == "int8":
        from recommender.features.tuning import calibration_photos
        from recommender.pipeline.build import catalogue_items

        catalogue, items = catalogue_items(dataset)
        calibration = calibration_photos(catalogue.root, items)
    extractor = Extractor(resolve_weights(), batch_size=batch, precision=precision, input_size=input_size,
                          runtime=runtime, calibration=calibration)
    list(extractor.embed_files(photos[:batch]))  # traces or warms up the network once
    started = time.perf_counter()
    for _ in extractor.embed_files(photos):
        pass
    return time.perf_counter() - started


def way_ceiling(_photos: list[Path], _batch: int, precision: str = "float32", _input_size: int = 224,
                *_where) -> float:
    """Seconds per GFLOP of a 4096^3 matmul in ``precision``, best of 5."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal((4096, 4096)), precision)
    b = tf.cast(tf.random.normal((4096, 4096)), precision)
    matmul = tf.function(lambda x, y: tf.reduce_sum(tf.cast(tf.matmul(x, y), tf.float32)))
    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - started)
    return best / (2 * 4096 ** 3 / 1e9)


def way_auto(photos: list[Path], batch: int, _precision: str = "float32", input_size: int = 224, *_where) -> float:
    """What ``build --runtime auto --precision auto`` pick here (printed), on the first photos."""
    import numpy as np

    from recommender.data.images import decode_image, to_model_input
    from recommender.features.precision import choose_precision
    from recommender.features.runtimes import choose_runtime
    from recommender.features.weights import resolve_weights

    started = time.perf_counter()
    weights = resolve_weights()
    images = [decode_image(p) for p in photos[:batch]]
    runtime, runtime_why = choose_runtime(weights, np.stack([to_model_input(image, size=input_size)
                                                              for image in images]))
    precision, why = choose_precision(weights, images, input_size=input_size, batch_size=batch, runtime=runtime)
    print(json.dumps({"auto": precision, "why": why, "runtime": runtime, "runtime_why": runtime_why}))
    return time.perf_counter() - started


WAYS = {"original": way_original, "pipeline": way_pipeline, "ceiling": way_ceiling, "auto": way_auto}


def _child(way: str, dataset: str, n: int, batch: int, precision: str, input_size: int, runtime: str) -> None:
    photos = _photos(dataset, n) if way != "ceiling" else []
    seconds = WAYS[way](photos, batch, precision, input_size, runtime, dataset)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"way": way, "seconds": seconds, "n": len(photos), "batch": batch, "precision": precision,
                      "input_size": input_size, "runtime": runtime, "peak_mb": peak, "device": _device()}))


def measure(way: str, dataset: str, n: int, batch: int = 32, precision: str = "float32",
            input_size: int = 224, runtime: str = "tensorflow") -> dict:
    """Run one way in its own process; its JSON report (plus ``"auto"``/``"why"`` for the auto way)."""
    done = subprocess.run([sys.executable, __file__, "--child", way, "--dataset", dataset, "--n", str(n),
                           "--batch", str(batch), "--precision", precision, "--input-size", str(input_size),
                           "--runtime", runtime], capture_output=True, text=True, check=True)
    report = {}
    for line in done.stdout.strip().splitlines():
        if line.startswith("{"):
            report.update(json.loads(line))
    return report


def main() -> None:
    from recommender.data.locate import find_dataset
    from recommender.features.runtimes import RUNTIME_PRECISIONS, RUNTIMES, installed
    from recommender.features.settings import INPUT_SIZES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--batches", default="8,32,128", help="pipeline batch sizes")
    parser.add_argument("--child", choices=WAYS, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=32, help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="float32", help=argparse.SUPPRESS)
    parser.add_argument("--input-size", type=int, default=224, help=argparse.SUPPRESS)
    parser.add_argument("--runtime", default="tensorflow", help=argparse.SUPPRESS)
    args = parser.parse_args()
    dataset = str(find_dataset(args.dataset) or sys.exit("no dataset: set RECOMMENDER_DATASET"))
    if args.child:
        _child(args.child, dataset, args.n, args.batch, args.precision, args.input_size, args.runtime)
        return
    ceilings = {precision: 1 / measure("ceiling", dataset, 0, precision=precision)["seconds"]
                for precision in ("float32", "bfloat16")}
    auto = measure("auto", dataset, 64)
    original = measure("original", dataset, args.n, 1)
    rows = [("original (load_img + predict, 1 image/call)", original)]
    rows += [(f"pipeline, 224x224 input (batch {b})", measure("pipeline", dataset, args.n, int(b)))
             for b in args.batches.split(",")]
    rows.append(("pipeline, 224x224, bfloat16 compute (batch 32)",
                 measure("pipeline", dataset, args.n, 32, "bfloat16")))
    rows += [(f"pipeline, {size}x{size} input (batch 32)", measure("pipeline", dataset, args.n, 32, "float32", size))
             for size in sorted(INPUT_SIZES, reverse=True) if size != 224]
    others = [name for name in RUNTIMES if name != "tensorflow" and installed(name)]
    for runtime in others:
        for precision in [name for name in RUNTIME_PRECISIONS[runtime]
                          if name != "int8" or importlib.util.find_spec("nncf")]:
            for size in sorted(INPUT_SIZES, reverse=True) if precision != "bfloat16" else [224]:
                rows.append((f"{runtime}, {size}x{size}, {precision} (batch 32)",
                             measure("pipeline", dataset, args.n, 32, precision, size, runtime)))
    print(f"Device: {original['device']}; {args.n} real catalogue photos; ceilings (4096^3 matmul): "
          f"float32 {ceilings['float32']:.0f} GFLOP/s, bfloat16 {ceilings['bfloat16']:.0f} GFLOP/s; "
          f"`--runtime auto` here: {auto['runtime_why']}; `--precision auto` here: {auto['why']}\n")
    print("| way | img/s | x original | GFLOP/s | share of its precision's ceiling | peak memory MB |")
    print("|---|---|---|---|---|---|")
    base = original["n"] / original["seconds"]
    for name, row in rows:
        rate = row["n"] / row["seconds"]
        gflops = rate * flop_per_image(row["input_size"]) / 1e9
        ceiling = ceilings.get(row["precision"])
        share = f"{gflops / ceiling:.0%}" if ceiling else "n/a (int8)"
        print(f"| {name} | {rate:.1f} | {rate / base:.2f} | {gflops:.0f} | {share} | {row['peak_mb']:.0f} |")


if __name__ == "__main__":
    main()
