"""The settings that decide a catalogue's vectors, as one type: recorded, compared, turned into an extractor.

A catalogue's vectors can only be searched with query vectors made the same
way: the same weights, input size, resize, pooling and precision.  The
manifest records a :class:`FeatureSettings`; the extractor reports one; a
load, an update or a query compares the two with :meth:`FeatureSettings.differences`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..data.images import INPUT_SIZE

if TYPE_CHECKING:
    from .weights import Weights

FEATURE_DIM = 2048
POOLINGS = ("avg", "max")
# Chosen on the real catalogue (docs/decisions/0002-average-pooling-and-padding.md).
DEFAULT_POOLING = "avg"
DEFAULT_RESIZE = "pad"
PRECISIONS = ("float32", "bfloat16", "int8")
DEFAULT_PRECISION = "float32"
# Square input sizes the network is run at (multiples of 32, its total stride).
INPUT_SIZES = (128, 160, 192, 224)
# docs/decisions/0001-input-size-224.md: 192 is as good on held-out products and 1.37x faster, but two
# real-photo regression tests fail at 192.
DEFAULT_INPUT_SIZE = INPUT_SIZE
MODEL = "keras.applications.ResNet50"
PREPROCESS = "keras.applications.resnet50.preprocess_input (caffe: BGR, ImageNet mean)"
NORMALISATION = "l2"


@dataclass(frozen=True)
class FeatureSettings:
    """What decides the vectors: weights, input size, resize, pooling, precision.

    Attributes
    ----------
    weights_sha256 : str
        sha256 of the weights file (``"random"`` for the random network of tests).
    weights_source : str
        Where the weights came from: ``"explicit"``, ``"keras"``, ``"npm"``, ``"fine-tuned"``.
    input_size, resize, pooling, precision :
        As for :class:`recommender.features.extractor.Extractor`.
    backbone : dict, optional
        The fine-tuned backbone's file record (name, digest, what it was tuned from), where there is one.
    calibration : dict, optional
        int8 only: the photos the network was quantised on (``images``, relative to the dataset; ``digest``).
    runtime : str
        The runtime that made the vectors: for information, never compared (runtimes agree at float32 to a
        mean cosine of 0.99999; :mod:`recommender.features.runtimes`).
    """

    weights_sha256: str
    weights_source: str
    input_size: int = DEFAULT_INPUT_SIZE
    resize: str = DEFAULT_RESIZE
    pooling: str = DEFAULT_POOLING
    precision: str = DEFAULT_PRECISION
    backbone: Mapping[str, Any] | None = None
    calibration: Mapping[str, Any] | None = None
    runtime: str = "tensorflow"
    model: str = MODEL
    preprocess: str = PREPROCESS
    normalisation: str = NORMALISATION
    dimension: int = FEATURE_DIM
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    # What makes two catalogues' vectors incomparable (the source of the weights does not).
    COMPARED = ("weights_sha256", "input_size", "resize", "pooling", "precision", "calibration", "dimension",
                "normalisation")

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"Expected pooling in {POOLINGS}, got {self.pooling!r}")
        if self.resize not in ("pad", "squash"):
            raise ValueError(f"Expected resize in ('pad', 'squash'), got {self.resize!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"Expected precision in {PRECISIONS}, got {self.precision!r}")
        if self.input_size not in INPUT_SIZES:
            raise ValueError(f"Expected input_size in {INPUT_SIZES}, got {self.input_size!r}")
        if (self.precision == "int8") != (self.calibration is not None):
            raise ValueError("Expected calibration photos for int8, and only for int8")

    @classmethod
    def of(cls, weights: Weights | None, **knobs: Any) -> FeatureSettings:
        """The settings of an extractor with these weights (``None``: random) and knobs."""
        return cls(weights.sha256 if weights else "random", weights.source if weights else "random", **knobs)

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> FeatureSettings:
        """Read a manifest's ``features`` record; manifests written before a setting existed get the value
        they were built with (float32, 224)."""
        known = {name for name in cls.__dataclass_fields__ if name != "extra"}
        values = {key: value for key, value in record.items() if key in known}
        values.setdefault("input_size", INPUT_SIZE)
        values.setdefault("precision", DEFAULT_PRECISION)
        values["input_size"] = int(values["input_size"])
        return cls(**values, extra={key: value for key, value in record.items() if key not in known})

    def to_json(self) -> dict[str, Any]:
        """The manifest's ``features`` record."""
        record = {key: value for key, value in asdict(self).items() if key != "extra"}
        for optional in ("backbone", "calibration"):
            if record[optional] is None:
                del record[optional]
        return {**self.extra, **record}

    @property
    def knobs(self) -> dict[str, Any]:
        """The extractor's arguments that decide the vectors (``input_size``, ``resize``, ``pooling``,
        ``precision``)."""
        return {"input_size": self.input_size, "resize": self.resize, "pooling": self.pooling,
                "precision": self.precision}

    def with_weights(self, weights: Weights, **changes: Any) -> FeatureSettings:
        """The same knobs with other weights (a fine-tuned backbone, say)."""
        return replace(self, weights_sha256=weights.sha256, weights_source=weights.source, **changes)

    def differences(self, other: FeatureSettings) -> list[str]:
        """``"key: built X, now Y"`` for each compared setting that differs (empty: the vectors agree)."""
        return [f"{key}: built {self._shown(key)!r}, now {other._shown(key)!r}" for key in self.COMPARED
                if self._shown(key) != other._shown(key)]

    def _shown(self, key: str) -> Any:
        # Calibration photos are compared (and named) by their digest, not by 300 file names.
        value = getattr(self, key)
        return value.get("digest") if key == "calibration" and value else value
