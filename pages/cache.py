"""App-side caching and the one result layout every page shares.

The package never imports Streamlit; this module is the only place that
decides what is cached: the model and the indexes once per process
(``st.cache_resource``, shared by every session), tables, maps and photo
embeddings once per input (``st.cache_data``), so changing k or a filter
never runs the network again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from recommender import ArtifactError, Recommender, WeightsUnavailable, build_catalogue
from recommender.catalogue import holdout_split
from recommender.evaluate import load_saved_evaluations
from recommender.images import ImageError, decode_image
from recommender.projection import catalogue_map
from recommender.search import Query
from recommender.settings import DATASET_HELP, DEMO_SAMPLE, PROJECT_ROOT, artifacts_dir, find_dataset

N_TREES_CHOICES = (10, 25, 50, 100, 200)
TRADEOFF_PLOT = PROJECT_ROOT / "benchmarks" / "results" / "annoy_tradeoff.png"
GRID_COLUMNS = 5


@st.cache_resource(show_spinner="Loading the model and the catalogue...")
def get_recommender(root: str) -> Recommender:
    """The process-wide recommender (model, vectors, indexes), loaded once."""
    _keep_kernels_between_runs()
    return Recommender.load(root)


def _keep_kernels_between_runs() -> None:
    """Stop Streamlit's per-run Keras clean-up from emptying TensorFlow's kernel cache.

    After every script run Streamlit calls ``keras.backend.clear_session()``, meant for apps
    that build a model on each run; it also clears TensorFlow's kernel cache, so the next
    forward pass took 0.7-0.9 s instead of 0.08 s (README, Performance). This app builds
    its one model per process and never needs that clean-up.
    """
    import keras

    keras.backend.clear_session = lambda *args, **kwargs: None


def recommender_or_stop() -> Recommender:
    """The recommender, or a clear message (and the page stops) when there is none."""
    root = str(artifacts_dir())
    try:
        return get_recommender(root)
    except ArtifactError as error:
        st.error(str(error))
        offer_rebuild(root)
    except WeightsUnavailable as error:
        st.error(str(error))
    st.stop()


def offer_rebuild(root: str) -> None:
    """Say how to (re)build the catalogue, and offer to build a demo one here and now."""
    dataset = find_dataset()
    if dataset is None:
        st.info(DATASET_HELP)
        return
    st.info(f"To build the whole catalogue, run `python -m recommender build {dataset}` in a terminal "
            f"(about an hour), or build a demo of {DEMO_SAMPLE:,} products here (a few minutes).")
    if st.button(f"Build a {DEMO_SAMPLE:,}-product demo catalogue", key="rebuild", type="primary"):
        bar = st.progress(0.0, text="Embedding photos...")
        build_catalogue(dataset, root, sample=DEMO_SAMPLE, log=lambda _: None,
                        progress=lambda done, total: bar.progress(done / total, text=f"Embedding {done:,}/{total:,}"))
        get_recommender.clear()
        st.rerun()


def ensure_index(recommender: Recommender, space: str, n_trees: int) -> None:
    """Make the index for ``n_trees`` ready, with a progress message when it must be built."""
    if recommender.has_index(space=space, n_trees=n_trees):
        return
    with st.spinner(f"Building the Annoy index with {n_trees} trees from the stored vectors..."):
        recommender.index(space=space, n_trees=n_trees)


@st.cache_data(max_entries=256, show_spinner="Reading the photo...")
def embed_upload(data: bytes, root: str) -> tuple[np.ndarray, np.ndarray]:
    """Vector and colour signature of an uploaded photo (the network runs once per photo).

    Raises ``ImageError`` with a one-line message for a file that is not a usable photo.
    """
    query = get_recommender(root).query_from_image(data)
    return query.vector, query.colour


def query_for_upload(recommender: Recommender, data: bytes) -> Query | None:
    """The query of an uploaded file, or ``None`` after showing why it cannot be used."""
    try:
        vector, colour = embed_upload(data, str(recommender.artifacts.root))
    except ImageError as error:
        st.error(f"This file cannot be used: {error}")
        return None
    return Query(vector, colour)


@st.cache_data(show_spinner="Computing the catalogue map...")
def get_map(root: str, build_id: str, space: str, method: str) -> np.ndarray:
    """2-D coordinates of every product (saved beside the artifacts after the first time)."""
    return catalogue_map(get_recommender(root).artifacts, space=space, method=method)


@st.cache_data
def held_out_examples(root: str, build_id: str, fraction: float, count: int = 200) -> list[str]:
    """Ids of up to ``count`` held-out products (hashing every id once per build, not per rerun)."""
    metadata = get_recommender(root).metadata
    ids = metadata["id"].to_numpy()[holdout_split(metadata, fraction)]
    return ids[np.random.default_rng(0).permutation(len(ids))[:count]].tolist()


@st.cache_data
def get_evaluations(root: str, build_id: str) -> dict:
    """Saved ``evaluate`` results of this build, by name."""
    return load_saved_evaluations(Path(root), build_id)


def upload_preview(data: bytes) -> None:
    """Show the uploaded photo (decoded safely, so a bad file never reaches st.image)."""
    try:
        st.image(decode_image(data), caption="Your photo", width=220)
    except ImageError:
        pass  # the search step shows the message


def results_grid(results: pd.DataFrame, *, key: str, more_like_this: bool = True) -> None:
    """The shared result layout: image, name, type, colour, distance, and a "More like this" button."""
    if results.empty:
        st.warning("No product matches these filters.")
        return
    for start in range(0, len(results), GRID_COLUMNS):
        columns = st.columns(GRID_COLUMNS)
        for column, row in zip(columns, results.iloc[start:start + GRID_COLUMNS].itertuples()):
            with column.container(border=True):
                if Path(row.image_path).is_file():
                    st.image(row.image_path, width="stretch")
                else:
                    st.caption("(image not found)")
                st.markdown(f"**{row.productDisplayName or row.id}**")
                distance = "" if np.isnan(row.distance) else f" · d = {row.distance:.3f}"
                st.caption(f"{row.articleType or '?'} · {row.baseColour or '?'}{distance}")
                if more_like_this and st.button("More like this", key=f"{key}-more-{row.id}"):
                    st.session_state["query_id"] = row.id
                    st.rerun()


def tradeoff_plot() -> None:
    """What a tree setting costs: the measured recall / latency curve (benchmarks/annoy_tradeoff.py)."""
    if TRADEOFF_PLOT.is_file():
        with st.expander("What do these settings cost?"):
            st.image(str(TRADEOFF_PLOT), width="stretch",
                     caption="Recall@5 against exact search vs query time on the full catalogue "
                             "(benchmarks/annoy_tradeoff.py)")
