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
from PIL import Image

from app.components.runtime import keep_kernels_between_runs
from recommender import (
    FULL_FRAME,
    PROJECT_ROOT,
    Artifacts,
    CropBox,
    PhotoQueries,
    Query,
    Recommender,
    catalogue_map,
    decode_image,
    held_out_product_ids,
    load_artifacts,
    load_saved_evaluations,
    photo_uri,
    requested_runtime,
    resolve_weights,
    sample_order,
    saved_map,
)

TRADEOFF_FILE = PROJECT_ROOT / "benchmarks" / "results" / "annoy_tradeoff.json"


@st.cache_resource(show_spinner="Loading the model and the catalogue...", max_entries=2)
def get_recommender(root: str, version: str) -> Recommender:
    """The process-wide recommender of one version of the catalogue (model, vectors, indexes, garment finder),
    loaded once.

    Keyed by :func:`recommender.served_version`: after an ``update`` or ``build``, or a model trained in the
    background, the next rerun of any session loads the new version, while a session in the middle of a search
    finishes with the one it holds (its files stay for :data:`recommender.store.manifest.GRACE_SECONDS`). Two
    versions are kept at most.
    """
    recommender = Recommender.load(root, runtime=requested_runtime())
    if recommender.summary["runtime"] == "tensorflow":  # before its first run ends: see app/components/runtime.py
        keep_kernels_between_runs()
    return recommender


@st.cache_resource(show_spinner=False)
def finder_weights_sha256() -> str:
    """The ImageNet weights' digest, which names the garment finder trained over them (hashed once)."""
    return resolve_weights(None).sha256


@st.cache_resource(max_entries=2)
def get_artifacts(root: str, version: str) -> Artifacts:
    """One build's stored vectors (memory-mapped), for its maps."""
    return load_artifacts(root)


@st.cache_resource(max_entries=8)
def decoded(data: bytes) -> Image.Image:
    """An upload decoded once, for every loader and drawing of it (``ImageError`` for a file that is not a
    usable photo, with a one-line message)."""
    return decode_image(data)


@st.cache_data(max_entries=64, show_spinner="Reading the photo...")
def read_photo(data: bytes, root: str, version: str) -> PhotoQueries:
    """An uploaded photo read for search (:meth:`recommender.QueryMaker.photo`): the photo whole, the garments
    to search one by one (empty where it is searched whole or no finder is trained) and the most prominent
    one's query; the network runs once per photo."""
    return get_recommender(root, version).queries.photo(decoded(data), first_only=True)


@st.cache_data(max_entries=64, show_spinner="Reading the garment...")
def garment_query(data: bytes, number: int, root: str, version: str) -> Query:
    """The query of the ``number``-th garment found in an uploaded photo, 1 the most prominent (cached by
    photo and garment)."""
    photo = read_photo(data, root, version)
    if number == 1:
        return photo.first
    [query] = get_recommender(root, version).queries.of_garments(decoded(data), [photo.garments[number - 1]])
    return query


@st.cache_data(max_entries=64, show_spinner="Reading the photo...")
def crop_query(data: bytes, box: CropBox, root: str, version: str) -> Query:
    """The query of a photo cropped by hand (cached by photo and crop; the whole photo's is
    :func:`read_photo`'s)."""
    photo = read_photo(data, root, version)
    if box == FULL_FRAME:
        return photo.whole
    return get_recommender(root, version).queries.from_image(decoded(data), box=box, garments=photo.garments)


@st.cache_data(show_spinner="Computing the catalogue map...")
def get_map(root: str, version: str, space: str, method: str) -> np.ndarray:
    """2-D coordinates of every product (saved beside the artifacts after the first time)."""
    return catalogue_map(get_artifacts(root, version), space=space, method=method)


@st.cache_data(max_entries=8)
def label_codes(root: str, version: str, column: str) -> tuple[np.ndarray, list[str]]:
    """Each product's ``column`` value as a code, most common value first, and the values in that order."""
    values = get_recommender(root, version).catalogue.metadata[column].replace("", "(unknown)")
    names = values.value_counts().index.tolist()
    return pd.Categorical(values, categories=names).codes.astype(np.int32), names


@st.cache_data(max_entries=4)
def sample_order_of(root: str, version: str) -> np.ndarray:
    """The catalogue's fixed sampling order for dense map views (:func:`recommender.sample_order`)."""
    return sample_order(len(get_recommender(root, version).catalogue.metadata))


@st.cache_data(max_entries=64)
def photo_uris(root: str, version: str, rows: tuple[int, ...]) -> list[str | None]:
    """Small photos of catalogue rows as data URIs, for the map's closest views."""
    catalogue = get_recommender(root, version).catalogue
    images = catalogue.metadata["image"].to_numpy()
    return [photo_uri(catalogue.dataset_root / images[row]) for row in rows]


@st.cache_resource
def _map_jobs() -> tuple[ThreadPoolExecutor, dict[tuple[str, str, str, str], Future]]:
    # One worker: two slow maps at once would each take twice as long on 2 cores.
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="map"), {}


def map_in_background(root: str, version: str, space: str, method: str) -> np.ndarray | Future:
    """The map if it is saved, else the (process-wide, started once) job computing it."""
    artifacts = get_artifacts(root, version)
    points = saved_map(artifacts, space=space, method=method)
    if points is not None:
        return points
    pool, jobs = _map_jobs()
    key = (root, version, space, method)
    if key not in jobs:  # a failed job stays failed: the page shows why instead of retrying on every rerun
        jobs[key] = pool.submit(catalogue_map, artifacts, space=space, method=method)
    return jobs[key]


@st.cache_data
def held_out_examples(root: str, version: str, fraction: float) -> list[str]:
    """Ids of up to 200 held-out products (hashing every id once per build, not per rerun)."""
    return held_out_product_ids(get_recommender(root, version).catalogue.metadata, fraction)


@st.cache_data
def get_evaluations(root: str, version: str) -> dict:
    """Saved ``evaluate`` results of this build, by name."""
    return load_saved_evaluations(Path(root), get_recommender(root, version).catalogue.build_id)


@st.cache_data
def tradeoff_table() -> pd.DataFrame:
    """The measured recall / latency of Annoy settings (``benchmarks/annoy_tradeoff.py``), or an empty table."""
    try:
        return pd.DataFrame(json.loads(TRADEOFF_FILE.read_text())["rows"])
    except (OSError, ValueError, KeyError):
        return pd.DataFrame()
