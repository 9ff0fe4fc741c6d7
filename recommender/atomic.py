"""Atomic file writes: a file is either complete under its name or not there at all.

Each writer writes a uniquely named partial file beside the target (unique
per process and thread, so concurrent writers never share one), flushes it
to disk and renames it over the target, which POSIX makes atomic.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd


def partial_path(target: Path, suffix: str = "") -> Path:
    """A hidden, unique sibling name for writing ``target`` before the rename."""
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.partial{suffix}")


def write_atomic(target: Path, write: Callable[[Path], None], *, suffix: str = "") -> None:
    """Call ``write(partial)``, fsync the result, and rename it over ``target``.

    ``suffix`` is kept at the end of the partial name for writers that insist
    on an extension (Keras' ``.weights.h5``, numpy's ``.npz``).
    """
    target = Path(target)
    partial = partial_path(target, suffix)
    try:
        write(partial)
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def write_json_atomic(path: Path, data: dict) -> None:
    """JSON (indented, sorted keys), atomically."""
    write_atomic(path, lambda p: p.write_text(json.dumps(data, indent=2, sort_keys=True)))


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    """``np.save`` (no pickle), atomically."""
    def write(partial: Path) -> None:
        with open(partial, "wb") as handle:
            np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
    write_atomic(path, write)


def save_csv_atomic(path: Path, frame: pd.DataFrame) -> None:
    """A DataFrame as CSV without its index, atomically."""
    write_atomic(path, lambda p: frame.to_csv(p, index=False))
