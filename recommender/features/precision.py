"""The compute precision a build uses on this machine, chosen by measuring (``--precision auto``).

bfloat16 runs faster only where the machine has bfloat16 arithmetic (AMX,
AVX512-BF16, a GPU); elsewhere it is emulated and slower
(``benchmarks/extract.py``).  Its vectors differ from float32's by a cosine of
about 0.9999, so the precision is recorded like every feature setting.

int8 (OpenVINO, quantised by NNCF on the catalogue's own photos) is several
times faster where the CPU has VNNI, and its vectors differ more (a cosine of
about 0.995). Both are held to one rule: chosen only where faster and where, on
a labelled sample of the catalogue, they lose less than half a point of
articleType and baseColour P@5 against float32
(docs/decisions/0008-inference-runtimes.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from . import quiet
from .export import Calibration
from .extractor import DEFAULT_BATCH_SIZE, Extractor
from .runtimes import RUNTIME_PRECISIONS, installed
from .settings import DEFAULT_INPUT_SIZE
from .weights import Weights

AUTO_PRECISION = "auto"
MIN_SPEEDUP = 1.05  # below this, measurement noise: float32 stays
MAX_LOSS = 0.005  # P@5 a precision may lose to float32 on the labelled sample, per label (half a point)
JUDGED_LABELS = ("articleType", "baseColour")
# Labelled photos int8 is judged on (fewer in a catalogue: int8 is not tried). On 1,000 the measured loss moved by
# half a point between samples, on 4,000 it is steady (docs/decisions/0008-inference-runtimes.md).
INT8_SAMPLE = 4000
# bfloat16's vectors differ from float32's by a cosine of about 0.9999 against int8's 0.995: few neighbours change,
# so a smaller sample judges it (a demo of 1,500 products included), at a quarter of the first start's minute.
BFLOAT16_SAMPLE = 500
BFLOAT16_MIN_SAMPLE = 200


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


def choose_precision(weights: Weights,
                     labelled: Callable[[str, int], tuple[list[Image.Image], dict[str, list]]], *,
                     input_size: int = DEFAULT_INPUT_SIZE, batch_size: int = DEFAULT_BATCH_SIZE, repeats: int = 3,
                     runtime: str = "tensorflow", calibration: Calibration | None = None,
                     progress: bool = False) -> tuple[str, str]:
    """The precision to build with on this machine, and why (one line).

    ``labelled(precision, n)`` gives up to ``n`` labelled photos of the catalogue and their labels to judge
    ``precision`` on (for int8, none it is calibrated on), read only where a precision is measured. Each
    precision is judged by one rule (:func:`decide_precision`): at least :data:`MIN_SPEEDUP` times float32's
    speed, and less than :data:`MAX_LOSS` of P@5 lost per label of :data:`JUDGED_LABELS` on those photos
    (:func:`measure_precision`).

    * bfloat16 is measured only where the hardware has it and ``runtime`` runs it, on :data:`BFLOAT16_SAMPLE`
      photos (at least :data:`BFLOAT16_MIN_SAMPLE`);
    * int8 only where OpenVINO and NNCF are installed and ``calibration`` is given, on :data:`INT8_SAMPLE`.

    Of the precisions that pass, the fastest; else float32. ``progress``: a bar while photos are embedded.
    """
    accepted: dict[str, float] = {}
    reasons = []
    hardware = bfloat16_hardware() if "bfloat16" in RUNTIME_PRECISIONS[runtime] else None
    trials = []
    if hardware is None:
        reasons.append("no bfloat16 arithmetic here (AMX or AVX512-BF16)" if "bfloat16" in RUNTIME_PRECISIONS[runtime]
                       else f"{runtime} runs no bfloat16")
    else:
        trials.append(("bfloat16", BFLOAT16_SAMPLE, BFLOAT16_MIN_SAMPLE, hardware))
    if calibration is not None and installed("openvino") and _nncf_installed():
        trials.append(("int8", INT8_SAMPLE, INT8_SAMPLE, "OpenVINO"))
    else:
        reasons.append("int8 not tried (it needs openvino and nncf)")
    for precision, count, minimum, hardware_name in trials:
        photos, labels = labelled(precision, count)
        if len(photos) < minimum:
            reasons.append(f"{precision} not tried ({minimum:,} labelled photos are needed to judge it, "
                           f"{len(photos):,} here)")
            continue
        speedup, losses = measure_precision(weights, precision, photos, labels, input_size=input_size,
                                            batch_size=batch_size, repeats=repeats, runtime=runtime,
                                            calibration=calibration, progress=progress)
        chosen, why = decide_precision(precision, speedup, losses)
        reasons.append(f"{why} ({len(photos):,} photos, on {hardware_name})")
        if chosen:
            accepted[precision] = speedup
    best = max(accepted, key=accepted.get) if accepted else "float32"
    return best, f"{best}: " + "; ".join(reasons)


def measure_precision(weights: Weights, precision: str, photos: Sequence[Image.Image], labels: Mapping[str, Sequence],
                      *, input_size: int = DEFAULT_INPUT_SIZE, batch_size: int = DEFAULT_BATCH_SIZE, repeats: int = 3,
                      runtime: str = "tensorflow", calibration: Calibration | None = None,
                      progress: bool = False) -> tuple[float, dict[str, float]]:
    """``precision``'s speed as a multiple of float32's (on ``runtime``; int8 runs on OpenVINO, calibrated on
    ``calibration``), and the P@5 it loses per label of :data:`JUDGED_LABELS`.

    Every photo of ``photos`` is a query against the others (leave one out, exact cosine), once with float32
    vectors and once with ``precision``'s; the loss is float32's P@5 minus the other's, paired on the same queries.
    """
    float32 = Extractor(weights, input_size=input_size, batch_size=batch_size, runtime=runtime)
    other = Extractor(weights, precision=precision, input_size=input_size, batch_size=batch_size,
                      runtime="openvino" if precision == "int8" else runtime,
                      calibration=calibration if precision == "int8" else None)
    batch = np.stack([float32.prepare(photo) for photo in photos])
    timed = batch[:batch_size]
    (_, f32_seconds), (_, other_seconds) = _timed(float32, timed, repeats), _timed(other, timed, repeats)
    vectors = {}
    with tqdm(total=2 * len(batch), desc=f"Judging {precision} against float32", unit="photo",
              disable=not progress) as bar:
        for name, extractor in (("float32", float32), (precision, other)):
            parts = []
            for start in range(0, len(batch), batch_size):
                parts.append(extractor.embed(batch[start:start + batch_size]))
                bar.update(len(parts[-1]))
            vectors[name] = np.concatenate(parts)
    losses = {label: _leave_one_out_p5(vectors["float32"], labels[label]) - _leave_one_out_p5(vectors[precision],
                                                                                               labels[label])
              for label in JUDGED_LABELS}
    return f32_seconds / other_seconds, losses


def decide_precision(precision: str, speedup: float, losses: Mapping[str, float]) -> tuple[bool, str]:
    """The rule every precision but float32 is held to: at least :data:`MIN_SPEEDUP` times float32's speed, losing
    less than :data:`MAX_LOSS` of P@5 for every label of :data:`JUDGED_LABELS`; the verdict and why (one line).

    >>> decide_precision("int8", 3.0, {"articleType": 0.002, "baseColour": 0.004})[0]
    True
    >>> decide_precision("bfloat16", 3.0, {"articleType": 0.002, "baseColour": 0.006})
    (False, 'bfloat16 refused: 3.00x float32, P@5 lost: articleType 0.2 points, baseColour 0.6 points')
    """
    lost = ", ".join(f"{label} {100 * loss:.1f} points" for label, loss in losses.items())
    accepted = speedup >= MIN_SPEEDUP and all(loss < MAX_LOSS for loss in losses.values())
    return accepted, f"{precision} {'accepted' if accepted else 'refused'}: {speedup:.2f}x float32, P@5 lost: {lost}"


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
