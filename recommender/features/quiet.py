"""Keep the terminal to the project's own words: TensorFlow's start-up logs only on request.

TensorFlow writes its start-up lines (``Could not find cuda drivers``,
``failed call to cuInit``, ``oneDNN custom operations are on``) from C++
before its log settings apply, straight to file descriptor 2, where Python
cannot filter them.  On a machine without a GPU they read like failures and
mean nothing, so :func:`tensorflow` imports it with that descriptor pointed
at ``/dev/null``, and sets ``TF_CPP_MIN_LOG_LEVEL=3`` for what comes later (the
``failed call to cuInit`` error is logged when the first model is built).
``RECOMMENDER_VERBOSE=1`` (or the CLI's ``--verbose``) shows everything.
"""

from __future__ import annotations

import os
import sys
import warnings
from contextlib import contextmanager
from types import ModuleType

from ..config import is_verbose


def tensorflow() -> ModuleType:
    """``import tensorflow`` (and Keras), silently unless verbose; returns the ``tensorflow`` module."""
    if "tensorflow" in sys.modules or is_verbose():
        import keras  # noqa: F401
        import tensorflow as tf

        return tf
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # errors too: on a CPU machine they are cuInit's
    with _to_devnull(2), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import keras  # noqa: F401
        import tensorflow as tf
    return tf


@contextmanager
def silenced():
    """Within it, a library's own output (tf2onnx's passes, NNCF's progress bars, warnings) is not shown,
    unless verbose."""
    if is_verbose():
        yield
        return
    with _to_devnull(1), _to_devnull(2), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextmanager
def _to_devnull(descriptor: int):
    (sys.stdout if descriptor == 1 else sys.stderr).flush()
    saved = os.dup(descriptor)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
        yield
    finally:
        (sys.stdout if descriptor == 1 else sys.stderr).flush()
        os.dup2(saved, descriptor)
        os.close(saved)
        os.close(devnull)
