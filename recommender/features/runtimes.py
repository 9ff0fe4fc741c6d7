"""Where the network runs: TensorFlow, OpenVINO or ONNX Runtime, the fastest that agrees (``--runtime auto``).

Every runtime runs the same function (:func:`recommender.features.network.compiled_network`):
a uint8 batch in; average-pooled, max-pooled and ImageNet-logit vectors out, as numpy arrays.
OpenVINO and ONNX Runtime run its export (:mod:`recommender.features.export`) and never import
TensorFlow once the export is cached.  At float32 their vectors agree with TensorFlow's to a
mean cosine of 0.99999 or more (measured by :func:`choose_runtime` before one is chosen), so
the runtime is recorded for information and never refuses artifacts; precision is what
changes vectors (docs/decisions/0008-inference-runtimes.md).
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from ..config import silent
from . import quiet
from .export import Calibration, exported_network
from .weights import Weights

AUTO_RUNTIME = "auto"
RUNTIMES = ("tensorflow", "openvino", "onnxruntime")
# What each runtime can run; int8 is OpenVINO's (NNCF's post-training quantisation).
RUNTIME_PRECISIONS = {"tensorflow": ("float32", "bfloat16"), "openvino": ("float32", "bfloat16", "int8"),
                      "onnxruntime": ("float32",)}
MIN_RUNTIME_COSINE = 0.99999  # mean cosine to TensorFlow's vectors for a runtime to be chosen
_IMPORTS = {"tensorflow": "tensorflow", "openvino": "openvino", "onnxruntime": "onnxruntime"}
_OPENVINO_PRECISION = {"float32": "f32", "bfloat16": "bf16", "int8": "f32"}  # int8 layers are in the file


class RuntimeUnavailable(RuntimeError):
    """No installed runtime can run the network at the precision asked for."""


class Network(Protocol):
    """A runnable network: ``network(batch)`` -> ``(avg, max, logits)`` float32 arrays for a uint8 batch."""

    runtime: str

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


def installed(runtime: str) -> bool:
    """Whether ``runtime``'s package can be imported here (it is not imported where it is not needed)."""
    if runtime not in _IMPORTS:
        raise ValueError(f"Expected a runtime in {RUNTIMES}, got {runtime!r}")
    try:
        return importlib.util.find_spec(_IMPORTS[runtime]) is not None
    except (ImportError, ValueError):  # a module blocked in sys.modules (None) reads as absent
        return False


def runtime_for(requested: str, precision: str, *, recorded: str | None = None,
                log: Callable[[str], None] = silent) -> str:
    """The installed runtime that serves ``requested`` at ``precision``, saying why where it is another.

    ``"auto"`` without a measurement (a query, the app, the API) takes ``recorded`` (the runtime the
    catalogue was built on) where it is installed and runs the precision, else TensorFlow. A named
    runtime that is missing, or cannot run the precision, falls back the same way, in one line.
    """
    if requested != AUTO_RUNTIME and requested not in RUNTIMES:
        raise ValueError(f"Expected a runtime in {(AUTO_RUNTIME, *RUNTIMES)}, got {requested!r}")
    wanted = recorded if requested == AUTO_RUNTIME else requested
    candidates = [wanted] if wanted else []
    candidates += [name for name in RUNTIMES if name not in candidates]
    for name in candidates:
        if precision in RUNTIME_PRECISIONS[name] and installed(name):
            if wanted and name != wanted:
                missing = not installed(wanted)
                log(f"Runtime {name}: {wanted} is " + ("not installed" if missing else f"not able to run {precision}")
                    + (f" (pip install {wanted})." if missing else "."))
            return name
    raise RuntimeUnavailable(f"No installed runtime runs {precision}: install openvino (pip install openvino nncf)")


def load_network(weights: Weights | None, precision: str, input_size: int, runtime: str, *,
                 calibration: Calibration | None = None, threads: int | None = None, compiled: bool = True,
                 log: Callable[[str], None] = silent) -> Network:
    """The network of these weights at this size and precision, running on ``runtime`` (resolved, not auto).

    ``calibration`` is needed for int8. ``threads`` caps the runtime's threads (a Ray actor's share
    of a node); ``compiled`` only matters to TensorFlow (see :class:`recommender.features.extractor.Extractor`).
    """
    if precision not in RUNTIME_PRECISIONS[runtime]:
        raise ValueError(f"{runtime} cannot run {precision} (it runs {', '.join(RUNTIME_PRECISIONS[runtime])})")
    if (precision == "int8") != (calibration is not None):
        raise ValueError("Expected calibration photos for int8, and only for int8")
    if runtime == "tensorflow" or weights is None:  # random weights (tests of shapes) are never exported
        return _TensorFlowNetwork(weights, precision, input_size, threads=threads, compiled=compiled)
    model = exported_network(weights, input_size, runtime, log=log, **(
        {"calibration": lambda: calibration_batch(calibration, input_size), "calibration_digest": calibration.digest}
        if calibration else {}))
    if runtime == "openvino":
        return _OpenVinoNetwork(str(model), precision, threads)
    return _OnnxNetwork(str(model), threads)


def load_map_network(weights: Weights, runtime: str, *, threads: int | None = None,
                     log: Callable[[str], None] = silent) -> Callable[[np.ndarray], np.ndarray]:
    """ResNet50's stride-16 feature map on ``runtime`` (resolved): a uint8 batch (n, H, W, 3), H and W multiples
    of 16, -> float32 (n, H / 16, W / 16, 1024). Float32 always: a garment finder reads it, no catalogue."""
    if runtime == "tensorflow":
        from .network import compiled_map_network

        quiet.tensorflow()
        forward = compiled_map_network(weights)
        return lambda batch: np.array(forward(batch))
    model = str(exported_network(weights, None, runtime, log=log))
    network = _OpenVinoNetwork(model, "float32", threads) if runtime == "openvino" else _OnnxNetwork(model, threads)
    return lambda batch: network(batch)[0]


def calibration_batch(calibration: Calibration, input_size: int) -> np.ndarray:
    """The calibration photos as the network's uint8 input (padded squares of ``input_size``)."""
    from ..data.images import decode_image, to_model_input

    calibration.check()
    return np.stack([to_model_input(decode_image(calibration.root / rel), mode=calibration.resize, size=input_size)
                     for rel in calibration.images])


def choose_runtime(weights: Weights, batch: np.ndarray, *, repeats: int = 2,
                   log: Callable[[str], None] = silent) -> tuple[str, str]:
    """The fastest installed runtime whose float32 vectors agree with TensorFlow's, and why (one line).

    ``batch`` is a uint8 batch of the catalogue's own photos; every installed runtime embeds it
    ``repeats`` times (best time kept); agreement is a mean cosine of :data:`MIN_RUNTIME_COSINE` or
    more between average-pooled vectors.  Exports are made (and cached) on the way.
    """
    input_size = batch.shape[1]
    networks = {name: load_network(weights, "float32", input_size, name, log=log)
                for name in RUNTIMES if installed(name)}
    reference = _unit(networks["tensorflow"](batch)[0])
    measured = {}
    for name, network in networks.items():
        log(f"Timing {name} on {len(batch)} of the catalogue's photos...")
        vectors = _unit(network(batch)[0])  # the first call also warms the runtime up
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            network(batch)
            timings.append(time.perf_counter() - started)
        measured[name] = (min(timings), float((vectors * reference).sum(axis=1).mean()))
    return decide_runtime(measured)


def decide_runtime(measured: dict[str, tuple[float, float]]) -> tuple[str, str]:
    """The rule: of the runtimes whose mean cosine to TensorFlow's vectors is at least
    :data:`MIN_RUNTIME_COSINE`, the fastest; ``measured`` maps runtime -> (seconds, cosine).

    >>> decide_runtime({"tensorflow": (1.0, 1.0), "openvino": (0.7, 1.0), "onnxruntime": (0.6, 0.99)})[0]
    'openvino'
    """
    agreeing = {name: seconds for name, (seconds, cosine) in measured.items() if cosine >= MIN_RUNTIME_COSINE}
    best = min(agreeing, key=agreeing.get)
    tf_seconds = measured["tensorflow"][0]
    others = ", ".join(f"{name} {tf_seconds / seconds:.2f}x (cosine {cosine:.6f})"
                       for name, (seconds, cosine) in measured.items() if name not in (best, "tensorflow"))
    why = (f"{best}, {tf_seconds / agreeing[best]:.2f}x TensorFlow's speed with vectors of mean cosine "
           f"{measured[best][1]:.6f}" + (f"; {others}" if others else ""))
    return best, why


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


class _TensorFlowNetwork:
    runtime = "tensorflow"

    def __init__(self, weights: Weights | None, precision: str, input_size: int, *, threads: int | None,
                 compiled: bool) -> None:
        from .network import compiled_network

        tf = quiet.tensorflow()
        if threads:  # before the first op; TensorFlow refuses a change later, so keep what it has then
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(1)
            except RuntimeError:
                pass
        network = (compiled_network(weights, precision, input_size) if weights
                   else compiled_network.__wrapped__(None, precision, input_size))
        self._forward = network if compiled else network.python_function

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(np.array(part) for part in self._forward(batch))  # copies: TensorFlow reuses its buffers


class _OpenVinoNetwork:
    runtime = "openvino"

    def __init__(self, model: str, precision: str, threads: int | None) -> None:
        import openvino as ov

        config = {"INFERENCE_PRECISION_HINT": _OPENVINO_PRECISION[precision], "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self._compiled = ov.Core().compile_model(model, "CPU", config)

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # One request per call: callers on several threads (the app's sessions) never share one.
        request = self._compiled.create_infer_request()
        request.infer({0: np.ascontiguousarray(batch, dtype=np.uint8)})
        return tuple(request.get_output_tensor(i).data.copy() for i in range(len(self._compiled.outputs)))


class _OnnxNetwork:
    runtime = "onnxruntime"

    def __init__(self, model: str, threads: int | None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(self._session.run(None, {self._input: np.ascontiguousarray(batch, dtype=np.uint8)}))
