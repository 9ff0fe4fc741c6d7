"""The product's settings from the environment: where artifacts and caches live, how loud it is.

Every stage may import this module; it imports none of them.
"""

from __future__ import annotations

import os
from pathlib import Path

DATASET_ENV = "RECOMMENDER_DATASET"
ARTIFACTS_ENV = "RECOMMENDER_ARTIFACTS"
CACHE_ENV = "RECOMMENDER_CACHE"
WEIGHTS_ENV = "RECOMMENDER_WEIGHTS"
VERBOSE_ENV = "RECOMMENDER_VERBOSE"
RUNTIME_ENV = "RECOMMENDER_RUNTIME"
REAL_PHOTOS_ENV = "RECOMMENDER_REAL_PHOTOS"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Products in the demo catalogue that the first start builds: 1,500 build in about 3.5 minutes on 2 cores, and
# search held-out products within noise of 3,000 (articleType P@5 0.638 vs 0.676, ImageNet features;
# docs/performance.md, "The first start"), which take 5.6.
DEMO_SAMPLE = 1500


def artifacts_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The artifacts folder: ``explicit``, else ``$RECOMMENDER_ARTIFACTS``, else ``artifacts/`` in the project."""
    return Path(explicit or os.environ.get(ARTIFACTS_ENV) or PROJECT_ROOT / "artifacts")


def cache_dir() -> Path:
    """The per-user cache folder (``$RECOMMENDER_CACHE`` or ``~/.cache/fashion-recommender``), created."""
    path = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "fashion-recommender")
    path.mkdir(parents=True, exist_ok=True)
    return path


def requested_runtime() -> str:
    """The inference runtime asked for: ``$RECOMMENDER_RUNTIME``, else ``"auto"`` (recommender.features.runtimes)."""
    return os.environ.get(RUNTIME_ENV) or "auto"


def is_verbose() -> bool:
    """Whether the libraries' own logs are wanted (``--verbose`` or ``RECOMMENDER_VERBOSE=1``)."""
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def silent(_line: str) -> None:
    """The library's default log: it says nothing (the command line passes ``print``)."""
