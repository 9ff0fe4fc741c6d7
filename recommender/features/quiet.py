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
    with _stderr_to_devnull(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import keras  # noqa: F401
        import tensorflow as tf
    return tf


@contextmanager
def _stderr_to_devnull():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
