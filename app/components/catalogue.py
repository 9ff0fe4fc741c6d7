"""The catalogue every page needs: loaded, or a clear message and the way to make one.

This is where the app decides what a first-start or update button does; the
layout only draws the offer and reports the click.
"""

from __future__ import annotations

import streamlit as st

from app.components.layout import build_offer, catalogue_caption, progress_bar, training_box, update_offer
from app.components.loaders import finder_weights_sha256, get_recommender
from recommender import (
    DATASET_HELP,
    DEMO_SAMPLE,
    ArtifactError,
    DatasetChanged,
    DatasetUnavailable,
    Recommender,
    WeightsUnavailable,
    artifacts_dir,
    ensure_catalogue,
    find_dataset,
    last_progress,
    read_status,
    resolve_weights,
    served_version,
    start_in_background,
    status_lines,
    update_catalogue,
)

TRAINING_CHECK_SECONDS = 5


def recommender_or_stop() -> tuple[Recommender, str]:
    """The recommender of the catalogue's current version and that version (the key its loaders cache by,
    :func:`recommender.served_version`), or a clear message (and the page stops) when there is none.

    The sidebar says what is still training in the background, and the page reruns with each model it commits.
    """
    root = str(artifacts_dir())
    try:
        version = served_version(root, finder_weights_sha256())
        recommender = get_recommender(root, version)
    except (ArtifactError, WeightsUnavailable) as error:
        st.error(str(error))
        if isinstance(error, DatasetChanged):
            if update_offer():
                update_catalogue(None, root, progress=progress_bar("Embedding new and changed photos..."))
                st.rerun()
        elif isinstance(error, ArtifactError):
            dataset = find_dataset()
            if build_offer(None if dataset is None else str(dataset), DEMO_SAMPLE, DATASET_HELP):
                try:
                    # The same first start as `python -m recommender serve`: a demo build and its fashion model.
                    ensure_catalogue(root, dataset=dataset, progress=progress_bar("Embedding photos..."))
                except (ArtifactError, WeightsUnavailable, DatasetUnavailable) as failure:
                    st.error(str(failure))
                    st.stop()
                start_in_background(root, resolve_weights(None))
                st.rerun()
        st.stop()
    catalogue_caption(recommender.summary)
    with st.sidebar:
        record = read_status(root)
        if record.get("running"):
            background_training(root, version)
        else:
            training_box(status_lines(record), "", running=False)
    return recommender, version


@st.fragment(run_every=TRAINING_CHECK_SECONDS)
def background_training(root: str, version: str) -> None:
    """What the background training has made and is making, read again every few seconds while it runs; the
    whole page reruns once a model is committed (so that it searches with it) or the training ends."""
    record = read_status(root)
    if not record.get("running") or served_version(root, finder_weights_sha256()) != version:
        st.rerun(scope="app")
    training_box(status_lines(record), last_progress(root), running=True)
