"""The compute precision a build uses on this machine, chosen by measuring (``--precision auto``).

bfloat16 runs faster only where the machine has bfloat16 arithmetic (AMX,
AVX512-BF16, a GPU); elsewhere it is emulated and slower
(``benchmarks/extract.py``).  Its vectors differ from float32's by a cosine of
about 0.9999, so the precision is recorded like every feature setting.

int8 (OpenVINO, quantised by NNCF on the catalogue's own photos) is several
times faster where the CPU has VNNI, and its vectors differ more (a cosine of
about 0.995): it is chosen only where it is faster and where, on a labelled
sample of the catalogue, it loses less than half a point of articleType and
baseColour P@5 against float32 (docs/decisions/0008-inference-runtimes.md).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from . import quiet
from .export import Calibration
from .extractor import DEFAULT_BATCH_SIZE, Extractor
from .runtimes import RUNTIME_PRECISIONS, installed
from .settings import DEFAULT_INPUT_SIZE
from .weights import Weights

AUTO_PRECISION = "auto"
BFLOAT16_MIN_COSINE = 0.9999  # mean cosine to the float32 vectors for bfloat16 to be chosen
BFLOAT16_MIN_SPEEDUP = 1.05  # below this, measurement noise: float32 stays
INT8_MIN_SPEEDUP = 1.05
INT8_MAX_LOSS = 0.005  # P@5 lost to float32 on the labelled sample, per label (half a point)
INT8_LABELS = ("articleType", "baseColour")
# Labelled photos int8 is judged on (fewer in a catalogue: int8 is not tried). On 1,000 the measured loss moved by
# half a point between samples, on 4,000 it is steady (docs/decisions/0008-inference-runtimes.md).
INT8_SAMPLE = 4000


def bfloat16_hardware() -> str | None:
    """What runs bfloat16 natively here ("GPU", "AMX", "AVX512-BF16"), or None where it would be emulated."""
    tf = quiet.tensorflow()
    if tf.config.list_physical_devices("GPU"):
        return "GPU"
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return "unknown CPU"  # not Linux: measure rather than guess
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.read_text().splitlines()
                  if line.startswith("flags")), [])
    return "AMX" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else None


def choose_precision(weights: Weights, images: Iterable[Image.Image], *, input_size: int = DEFAULT_INPUT_SIZE,
                     batch_size: int = DEFAULT_BATCH_SIZE, repeats: int = 3, runtime: str = "tensorflow",
                     calibration: Calibration | None = None,
                     labelled: tuple[Sequence[Image.Image], Mapping[str, Sequence]] | None = None) -> tuple[str, str]:
    """The precision to build with on this machine, and why (one line).

    * bfloat16 only where the hardware has it and ``runtime`` runs it, runs the network at least
      :data:`BFLOAT16_MIN_SPEEDUP` times faster on a batch of ``images`` (the catalogue's own photos, read
      only where measured) and gives vectors whose mean cosine to float32's is at least
      :data:`BFLOAT16_MIN_COSINE`. Nothing is measured where the CPU has no bfloat16 instructions.
    * int8 only where OpenVINO and NNCF are installed and ``calibration`` and ``labelled`` (photos and their
      labels, :data:`INT8_SAMPLE` of them) are given, by :func:`decide_int8`.

    Of the precisions that pass, the fastest; else float32.
    """
    accepted: dict[str, float] = {}
    reasons = []
    hardware = bfloat16_hardware() if "bfloat16" in RUNTIME_PRECISIONS[runtime] else None
    images = list(itertools.islice(images, batch_size))
    if hardware is None:
        reasons.append("no bfloat16 arithmetic here (AMX or AVX512-BF16)" if "bfloat16" in RUNTIME_PRECISIONS[runtime]
                       else f"{runtime} runs no bfloat16")
    elif not images:
        reasons.append("no readable photo to measure bfloat16 on")
    else:
        speedup, cosine = measure_bfloat16(weights, images, input_size=input_size, batch_size=batch_size,
                                           repeats=repeats, runtime=runtime)
        chosen, why = decide_precision(speedup, cosine, hardware)
        reasons.append(why.split(": ", 1)[1])
        if chosen == "bfloat16":
            accepted["bfloat16"] = speedup
    if calibration is not None and labelled is not None and installed("openvino") and _nncf_installed():
        speedup, losses = measure_int8(weights, calibration, *labelled, input_size=input_size,
                                       batch_size=batch_size, repeats=repeats, runtime=runtime)
        chosen, why = decide_int8(speedup, losses)
        reasons.append(why)
        if chosen:
            accepted["int8"] = speedup
    else:
        reasons.append("int8 not tried (it needs openvino and nncf, and "
                       f"{INT8_SAMPLE:,} labelled photos to judge it on)")
    best = max(accepted, key=accepted.get) if accepted else "float32"
    return best, f"{best}: " + "; ".join(reasons)


def measure_bfloat16(weights: Weights, images: list[Image.Image], *, input_size: int = DEFAULT_INPUT_SIZE,
                     batch_size: int = DEFAULT_BATCH_SIZE, repeats: int = 3,
                     runtime: str = "tensorflow") -> tuple[float, float]:
    """bfloat16's speed as a multiple of float32's on one batch of ``images`` (best of ``repeats``), and the
    mean cosine between the two precisions' vectors."""
    extractors = {name: Extractor(weights, precision=name, input_size=input_size, batch_size=batch_size,
                                  runtime=runtime) for name in ("float32", "bfloat16")}
    batch = np.stack([extractors["float32"].prepare(image) for image in images])
    vectors, seconds = {}, {}
    for name, extractor in extractors.items():
        vectors[name], seconds[name] = _timed(extractor, batch, repeats)
    cosine = float((vectors["float32"] * vectors["bfloat16"]).sum(axis=1).mean())
    return seconds["float32"] / seconds["bfloat16"], cosine


def measure_int8(weights: Weights, calibration: Calibration, photos: Sequence[Image.Image],
                 labels: Mapping[str, Sequence], *, input_size: int = DEFAULT_INPUT_SIZE,
                 batch_size: int = DEFAULT_BATCH_SIZE, repeats: int = 3,
                 runtime: str = "tensorflow") -> tuple[float, dict[str, float]]:
    """int8's speed as a multiple of float32's (on ``runtime``), and the P@5 it loses per label.

    Every photo of ``photos`` is a query against the others (leave one out, exact cosine), once with
    float32 vectors and once with int8's; the loss is float32's P@5 minus int8's, paired on the same queries.
    """
    float32 = Extractor(weights, input_size=input_size, batch_size=batch_size, runtime=runtime)
    int8 = Extractor(weights, precision="int8", input_size=input_size, batch_size=batch_size, runtime="openvino",
                     calibration=calibration)
    batch = np.stack([float32.prepare(photo) for photo in photos])
    timed = batch[:batch_size]
    (_, f32_seconds), (_, int8_seconds) = _timed(float32, timed, repeats), _timed(int8, timed, repeats)
    vectors = {"float32": float32.embed(batch), "int8": int8.embed(batch)}
    losses = {label: _leave_one_out_p5(vectors["float32"], labels[label]) - _leave_one_out_p5(vectors["int8"],
                                                                                               labels[label])
              for label in INT8_LABELS}
    return f32_seconds / int8_seconds, losses


def decide_int8(speedup: float, losses: Mapping[str, float]) -> tuple[bool, str]:
    """The refusal rule: int8 only at :data:`INT8_MIN_SPEEDUP` times float32's speed or more, losing less than
    :data:`INT8_MAX_LOSS` of P@5 for every label of :data:`INT8_LABELS`; returns the verdict and why (one line).

    >>> decide_int8(3.0, {"articleType": 0.002, "baseColour": 0.004})[0]
    True
    >>> decide_int8(3.0, {"articleType": 0.002, "baseColour": 0.006})
    (False, 'int8 refused: 3.00x float32, P@5 lost: articleType 0.2 points, baseColour 0.6 points')
    """
    lost = ", ".join(f"{label} {100 * loss:.1f} points" for label, loss in losses.items())
    accepted = speedup >= INT8_MIN_SPEEDUP and all(loss < INT8_MAX_LOSS for loss in losses.values())
    return accepted, f"int8 {'accepted' if accepted else 'refused'}: {speedup:.2f}x float32, P@5 lost: {lost}"


def _timed(extractor: Extractor, batch: np.ndarray, repeats: int) -> tuple[np.ndarray, float]:
    vectors = extractor.embed(batch)  # the first call traces or warms up the network
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        extractor.embed(batch)
        timings.append(time.perf_counter() - started)
    return vectors, min(timings)


def _leave_one_out_p5(vectors: np.ndarray, labels: Sequence) -> float:
    labels = np.asarray(labels)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    top = np.argpartition(-similarity, 5, axis=1)[:, :5]
    return float((labels[top] == labels[:, None]).mean())


def _nncf_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("nncf") is not None


def decide_precision(speedup: float, cosine: float, hardware: str) -> tuple[str, str]:
    """The rule: bfloat16 only at :data:`BFLOAT16_MIN_SPEEDUP` times float32's speed or more, with vectors of
    mean cosine :data:`BFLOAT16_MIN_COSINE` or more to float32's; returns the precision and why (one line).

    >>> decide_precision(1.3, 0.99999, "AMX")[0], decide_precision(1.3, 0.9990, "AMX")[0]
    ('bfloat16', 'float32')
    """
    measured = f"bfloat16 {speedup:.2f}x float32's speed on {hardware}, mean cosine {cosine:.5f}"
    if speedup >= BFLOAT16_MIN_SPEEDUP and cosine >= BFLOAT16_MIN_COSINE:
        return "bfloat16", f"bfloat16: {measured}"
    return "float32", f"float32: {measured}"
