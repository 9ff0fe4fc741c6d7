"""What the app loads, and how long it keeps it: the one place that decides caching.

The model and the indexes load once per process (``st.cache_resource``,
shared by every session); tables, maps and photo embeddings once per input
(``st.cache_data``), so changing k or a filter never runs the network again.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from app.components.runtime import keep_kernels_between_runs
from recommender import (
    FULL_FRAME,
    PROJECT_ROOT,
    CropBox,
    Garment,
    GarmentFinder,
    Query,
    Recommender,
    catalogue_map,
    decode_image,
    garment_queries,
    garments_to_search,
    held_out_product_ids,
    load_finder,
    load_saved_evaluations,
    photo_uri,
    requested_runtime,
    resolve_weights,
    sample_order,
    saved_map,
)

TRADEOFF_FILE = PROJECT_ROOT / "benchmarks" / "results" / "annoy_tradeoff.json"


@st.cache_resource(show_spinner="Loading the model and the catalogue...", max_entries=2)
def get_recommender(root: str, build_id: str) -> Recommender:
    """The process-wide recommender of one build (model, vectors, indexes), loaded once.

    Keyed by build id: after an ``update`` or ``build`` the next rerun of any session loads the
    new build, while a session in the middle of a search finishes with the one it holds (its
    files stay for :data:`recommender.store.manifest.GRACE_SECONDS`). Two builds are kept at most.
    """
    recommender = Recommender.load(root, runtime=requested_runtime())
    if recommender.extractor.runtime == "tensorflow":  # before its first run ends: see app/components/runtime.py
        keep_kernels_between_runs()
    return recommender


@st.cache_data(max_entries=256, show_spinner="Reading the photo...")
def embed_photo(data: bytes, box: CropBox, root: str, build_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Vector and colour signature of a photo cropped to ``box`` (the network runs once per photo and crop).

    Raises ``ImageError`` with a one-line message for a file that is not a usable photo.
    """
    query = get_recommender(root, build_id).query_from_image(data, box=box)
    return query.vector, query.colour


@st.cache_resource(show_spinner="Loading the garment finder...", max_entries=2)
def get_finder(root: str, build_id: str) -> GarmentFinder | None:
    """The garment finder on the catalogue's runtime, or None where none is trained (``train-finder``)."""
    return load_finder(resolve_weights(), get_recommender(root, build_id).extractor.runtime)


@st.cache_data(max_entries=64, show_spinner="Finding the garments...")
def find_garments(data: bytes, root: str, build_id: str) -> list[Garment]:
    """The garments of an uploaded photo to search one by one, most prominent first; empty where the photo is
    searched whole (:func:`recommender.searched_whole`) or no finder is trained."""
    recommender = get_recommender(root, build_id)
    # The whole photo's query is the one the page searches with when no garment is picked: embedded once.
    return garments_to_search(recommender, get_finder(root, build_id), decode_image(data),
                              whole=photo_query(recommender, data, FULL_FRAME))


@st.cache_data(max_entries=64, show_spinner="Reading the garment...")
def embed_garment(data: bytes, number: int, root: str, build_id: str) -> tuple[np.ndarray, np.ndarray]:
    """The query of the ``number``-th garment found in an uploaded photo (:func:`recommender.garment_queries`:
    its crop, its own pixels' colour), as arrays (cached by photo and garment)."""
    garment = find_garments(data, root, build_id)[number - 1]
    [query] = garment_queries(get_recommender(root, build_id), decode_image(data), [garment])
    return query.vector, query.colour


def garment_query(recommender: Recommender, data: bytes, number: int) -> Query:
    """The query of a garment found in a photo, by its number (1 for the most prominent): a worn garment,
    searched within the kinds the finder read it as (as :func:`recommender.garment_queries` makes it)."""
    root, build_id = str(recommender.root), recommender.build_id
    vector, colour = embed_garment(data, number, root, build_id)
    return Query(vector, colour, worn=True, kinds=find_garments(data, root, build_id)[number - 1].kinds)


def photo_query(recommender: Recommender, data: bytes, box: CropBox, *, worn: bool = False) -> Query:
    """The query of a photo and crop (cached by both); ``worn``: a photo of a person wearing the garments,
    or a crop of one (searched in the worn space). ``ImageError`` for a bad file."""
    vector, colour = embed_photo(data, box, str(recommender.root), recommender.build_id)
    return Query(vector, colour, worn=worn)


@st.cache_data(show_spinner="Computing the catalogue map...")
def get_map(root: str, build_id: str, space: str, method: str) -> np.ndarray:
    """2-D coordinates of every product (saved beside the artifacts after the first time)."""
    return catalogue_map(get_recommender(root, build_id).artifacts, space=space, method=method)


@st.cache_data(max_entries=8)
def label_codes(root: str, build_id: str, column: str) -> tuple[np.ndarray, list[str]]:
    """Each product's ``column`` value as a code, most common value first, and the values in that order."""
    values = get_recommender(root, build_id).metadata[column].replace("", "(unknown)")
    names = values.value_counts().index.tolist()
    return pd.Categorical(values, categories=names).codes.astype(np.int32), names


@st.cache_data(max_entries=4)
def sample_order_of(root: str, build_id: str) -> np.ndarray:
    """The catalogue's fixed sampling order for dense map views (:func:`recommender.sample_order`)."""
    return sample_order(len(get_recommender(root, build_id).metadata))


@st.cache_data(max_entries=64)
def photo_uris(root: str, build_id: str, rows: tuple[int, ...]) -> list[str | None]:
    """Small photos of catalogue rows as data URIs, for the map's closest views."""
    recommender = get_recommender(root, build_id)
    images = recommender.metadata["image"].to_numpy()
    return [photo_uri(recommender.dataset_root / images[row]) for row in rows]


@st.cache_resource
def _map_jobs() -> tuple[ThreadPoolExecutor, dict[tuple[str, str, str, str], Future]]:
    # One worker: two slow maps at once would each take twice as long on 2 cores.
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="map"), {}


def map_in_background(root: str, build_id: str, space: str, method: str) -> np.ndarray | Future:
    """The map if it is saved, else the (process-wide, started once) job computing it."""
    recommender = get_recommender(root, build_id)
    points = saved_map(recommender.artifacts, space=space, method=method)
    if points is not None:
        return points
    pool, jobs = _map_jobs()
    key = (root, build_id, space, method)
    if key not in jobs:  # a failed job stays failed: the page shows why instead of retrying on every rerun
        jobs[key] = pool.submit(catalogue_map, recommender.artifacts, space=space, method=method)
    return jobs[key]


@st.cache_data
def held_out_examples(root: str, build_id: str, fraction: float) -> list[str]:
    """Ids of up to 200 held-out products (hashing every id once per build, not per rerun)."""
    return held_out_product_ids(get_recommender(root, build_id).metadata, fraction)


@st.cache_data
def get_evaluations(root: str, build_id: str) -> dict:
    """Saved ``evaluate`` results of this build, by name."""
    return load_saved_evaluations(Path(root), build_id)


@st.cache_data
def tradeoff_table() -> pd.DataFrame:
    """The measured recall / latency of Annoy settings (``benchmarks/annoy_tradeoff.py``), or an empty table."""
    try:
        return pd.DataFrame(json.loads(TRADEOFF_FILE.read_text())["rows"])
    except (OSError, ValueError, KeyError):
        return pd.DataFrame()
