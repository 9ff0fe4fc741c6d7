"""One process-wide adjustment of the libraries the app runs on, made in the open.

After every script run Streamlit calls ``keras.backend.clear_session()``,
meant for apps that build a model on each run; it also empties TensorFlow's
kernel cache, so the next forward pass took 0.7-0.9 s instead of 0.08 s
(docs/performance.md).  This app builds its one model per process and never
needs that clean-up, so :func:`keep_kernels_between_runs` turns it off.
"""

from __future__ import annotations

from recommender import import_tensorflow


def keep_kernels_between_runs() -> None:
    """Make ``keras.backend.clear_session`` a no-op in this process (the app's model is built once)."""
    import_tensorflow()
    import keras

    keras.backend.clear_session = lambda *args, **kwargs: None
