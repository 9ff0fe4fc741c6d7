"""The Keras network exported once for OpenVINO or ONNX Runtime (and quantised to int8), cached on disk.

An export is the compiled function of :func:`recommender.features.network.compiled_network`
(uint8 batch in; average-pooled, max-pooled and ImageNet-logit vectors out), written in the
runtime's own format: OpenVINO's IR (``model.xml`` + ``model.bin``) or an ONNX file.  Making one
needs TensorFlow (and ``tf2onnx`` for ONNX, NNCF for int8); running one does not, which is what
lets a query start without importing TensorFlow.

Exports are cached under ``cache_dir()/networks``, one folder per weights sha256, input size,
runtime and runtime version (and, for int8, the calibration photos' digest), written to a
temporary folder and renamed into place: a half-written export is never loaded.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import cache_dir, silent
from . import quiet
from .weights import Weights

# The runtimes a network is exported for, and the PyPI package that runs each.
EXPORTED_RUNTIMES = {"openvino": "openvino", "onnxruntime": "onnxruntime"}
MODEL_FILES = {"openvino": "model.xml", "onnxruntime": "model.onnx"}
ONNX_OPSET = 17
# NNCF's default calibration size; the calibration photos are the catalogue's own.
CALIBRATION_PHOTOS = 300


class CalibrationChanged(RuntimeError):
    """The photos an int8 network was calibrated on are gone or changed, and the network is not cached."""


@dataclass(frozen=True)
class Calibration:
    """The photos an int8 network is calibrated on: relative paths under a dataset root, with their sha256.

    The same photos give the same int8 network (NNCF's quantisation is deterministic), so a
    manifest records :attr:`record` and any machine with the same photos can remake the network.
    The digest is of the recorded hashes: a cached network keeps serving after the dataset
    changes (products are removed every day); only remaking it needs the photos as they were.
    """

    root: Path
    images: tuple[str, ...]
    sha256: tuple[str, ...]
    resize: str = "pad"  # fitted into the square as the catalogue's photos are

    @property
    def digest(self) -> str:
        """sha256 over the resize mode and each photo's path and recorded hash."""
        digest = hashlib.sha256(self.resize.encode() + b"\0")
        for rel, sha in zip(self.images, self.sha256, strict=True):
            digest.update(f"{rel}\0{sha}\0".encode())
        return digest.hexdigest()

    @property
    def record(self) -> dict:
        """The manifest's record of it (``FeatureSettings.calibration``)."""
        return {"images": list(self.images), "sha256": list(self.sha256), "digest": self.digest}

    def check(self) -> None:
        """Raise :class:`CalibrationChanged` unless every photo is there with its recorded bytes."""
        for rel, sha in zip(self.images, self.sha256, strict=True):
            path = self.root / rel
            if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != sha:
                raise CalibrationChanged(
                    f"The int8 network must be remade on this machine, but its calibration photo {rel} is gone or "
                    f"changed in {self.root}: build the catalogue again (or copy the network's cache folder)")


def runtime_version(runtime: str) -> str:
    """The installed version of a runtime's package (``importlib.metadata``; the package need not be imported)."""
    return importlib.metadata.version(EXPORTED_RUNTIMES.get(runtime, runtime))


def export_dir(weights: Weights, input_size: int | None, runtime: str, *,
               calibration_digest: str | None = None) -> Path:
    """Where the export of these weights at this size (None: the feature map at any size) for this runtime (and
    calibration) is cached."""
    size = "map" if input_size is None else input_size
    name = f"resnet50-{weights.sha256[:16]}-{size}-{runtime}-{runtime_version(runtime)}"
    if calibration_digest:
        name += f"-int8-{calibration_digest[:16]}"
    return cache_dir() / "networks" / name


def exported_network(weights: Weights, input_size: int | None, runtime: str, *,
                     calibration: Callable[[], np.ndarray] | None = None, calibration_digest: str | None = None,
                     log: Callable[[str], None] = silent) -> Path:
    """The model file of the network exported for ``runtime``, exporting it first where it is not cached.

    ``input_size`` None exports the feature map network (:func:`recommender.features.network.compiled_map_network`)
    instead, for photos of any size. ``calibration`` (int8, OpenVINO only) returns the calibration photos as a
    uint8 batch, and is called only where the int8 network is not cached yet; ``calibration_digest`` names them.
    """
    if runtime not in EXPORTED_RUNTIMES:
        raise ValueError(f"Expected a runtime in {tuple(EXPORTED_RUNTIMES)}, got {runtime!r}")
    if (calibration is None) != (calibration_digest is None):
        raise ValueError("Expected both calibration and calibration_digest, or neither")
    target = export_dir(weights, input_size, runtime, calibration_digest=calibration_digest)
    model = target / MODEL_FILES[runtime]
    if model.is_file():
        return model
    if calibration is not None:
        source = exported_network(weights, input_size, runtime, log=log)
        log(f"Quantising the network to int8 for {runtime} on the catalogue's own photos (once)...")
        write = lambda folder: _quantise(source, calibration(), folder / MODEL_FILES[runtime])  # noqa: E731
    else:
        log(f"Exporting the network for {runtime} " + ("(its feature map) " if input_size is None else
                                                       f"at {input_size}x{input_size} ") + "(once, cached)...")
        write = lambda folder: _export(weights, input_size, runtime, folder / MODEL_FILES[runtime])  # noqa: E731
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-",
                                     ignore_cleanup_errors=True) as scratch:
        write(Path(scratch))
        try:
            Path(scratch).rename(target)  # a folder appears whole or not at all
        except OSError:
            if not model.is_file():  # another process won the race with the same export: keep theirs
                raise
    return model


def _export(weights: Weights, input_size: int | None, runtime: str, model: Path) -> None:
    from .network import compiled_map_network, compiled_network

    tf = quiet.tensorflow()
    forward = compiled_map_network(weights) if input_size is None else compiled_network(weights, "float32", input_size)
    if runtime == "openvino":
        import openvino as ov

        ov.save_model(ov.convert_model(forward), str(model), compress_to_fp16=False)
        return
    with quiet.silenced():  # tf2onnx logs each optimiser pass
        import tf2onnx

        signature = [tf.TensorSpec([None, input_size, input_size, 3], tf.uint8)]  # None, None: the map's
        tf2onnx.convert.from_function(forward, input_signature=signature, opset=ONNX_OPSET, output_path=str(model))


def _quantise(source: Path, photos: np.ndarray, model: Path) -> None:
    import nncf
    import openvino as ov

    with quiet.silenced():  # NNCF draws its own progress bars
        network = ov.Core().read_model(str(source))
        dataset = nncf.Dataset([photos[i:i + 1] for i in range(len(photos))])
        quantised = nncf.quantize(network, dataset, subset_size=len(photos))
    ov.save_model(quantised, str(model))
