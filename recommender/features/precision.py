"""The compute precision a build uses on this machine, chosen by measuring (``--precision auto``).

bfloat16 runs faster only where the machine has bfloat16 arithmetic (AMX,
AVX512-BF16, a GPU); elsewhere it is emulated and slower
(``benchmarks/extract.py``).  Its vectors differ from float32's by a cosine of
about 0.99996, so the precision is recorded like every feature setting.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from . import quiet
from .extractor import DEFAULT_BATCH_SIZE, Extractor
from .settings import DEFAULT_INPUT_SIZE, PRECISIONS
from .weights import Weights

AUTO_PRECISION = "auto"
BFLOAT16_MIN_COSINE = 0.9999  # mean cosine to the float32 vectors for bfloat16 to be chosen
BFLOAT16_MIN_SPEEDUP = 1.05  # below this, measurement noise: float32 stays


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
                     batch_size: int = DEFAULT_BATCH_SIZE, repeats: int = 3) -> tuple[str, str]:
    """The precision to build with on this machine, and why (one line).

    bfloat16 only where the hardware has it, runs the network at least
    :data:`BFLOAT16_MIN_SPEEDUP` times faster on a batch of ``images`` (the
    catalogue's own photos, read only where measured) and gives vectors whose mean cosine to float32's is at
    least :data:`BFLOAT16_MIN_COSINE`; else float32.  Measures nothing where the
    CPU has no bfloat16 instructions (emulated bfloat16 is always slower).
    """
    hardware = bfloat16_hardware()
    if hardware is None:
        return "float32", "float32: this CPU has no bfloat16 arithmetic (AMX or AVX512-BF16)"
    images = list(itertools.islice(images, batch_size))
    if not images:
        return "float32", "float32: no readable photo to measure bfloat16 on"
    speedup, cosine = measure_bfloat16(weights, images, input_size=input_size, batch_size=batch_size,
                                       repeats=repeats)
    return decide_precision(speedup, cosine, hardware)


def measure_bfloat16(weights: Weights, images: list[Image.Image], *, input_size: int = DEFAULT_INPUT_SIZE,
                     batch_size: int = DEFAULT_BATCH_SIZE, repeats: int = 3) -> tuple[float, float]:
    """bfloat16's speed as a multiple of float32's on one batch of ``images`` (best of ``repeats``), and the
    mean cosine between the two precisions' vectors."""
    extractors = {name: Extractor(weights, precision=name, input_size=input_size, batch_size=batch_size)
                  for name in PRECISIONS}
    batch = np.stack([extractors["float32"].prepare(image) for image in images])
    vectors, seconds = {}, {}
    for name, extractor in extractors.items():
        vectors[name] = extractor.embed(batch)  # the first call traces the network
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            extractor.embed(batch)
            timings.append(time.perf_counter() - started)
        seconds[name] = min(timings)
    cosine = float((vectors["float32"] * vectors["bfloat16"]).sum(axis=1).mean())
    return seconds["float32"] / seconds["bfloat16"], cosine


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
