"""The catalogue every page needs: loaded, or a clear message and the way to make one.

This is where the app decides what a first-start or update button does; the
layout only draws the offer and reports the click.
"""

from __future__ import annotations

import streamlit as st

from app.components.layout import build_offer, catalogue_caption, progress_bar, update_offer
from app.components.loaders import get_recommender
from recommender import (
    DATASET_HELP,
    DEMO_SAMPLE,
    ArtifactError,
    DatasetChanged,
    DatasetUnavailable,
    Recommender,
    WeightsUnavailable,
    artifacts_dir,
    current_build_id,
    ensure_catalogue,
    find_dataset,
    update_catalogue,
)


def recommender_or_stop() -> Recommender:
    """The recommender of the current build, or a clear message (and the page stops) when there is none."""
    root = str(artifacts_dir())
    try:
        recommender = get_recommender(root, current_build_id(root))
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
                st.rerun()
        st.stop()
    catalogue_caption(recommender.summary)
    return recommender
