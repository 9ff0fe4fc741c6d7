"""How results and messages are drawn: functions that take plain data and place elements.

Nothing here changes session state or reruns the script: a button's click is
returned to the page, which decides what it means.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from pages.loaders import get_recommender, tradeoff_table
from recommender import (
    DATASET_HELP,
    DEMO_SAMPLE,
    ArtifactError,
    DatasetChanged,
    Recommender,
    WeightsUnavailable,
    artifacts_dir,
    build_catalogue,
    current_build_id,
    find_dataset,
    update_catalogue,
)

GRID_COLUMNS = 5
# Photos are drawn at most twice their pixel size: one image pixel per screen pixel on a
# high-density display; beyond that a 60x80 catalogue photo only gets blurrier.
MAX_UPSCALE = 2
MAX_PHOTO_WIDTH = 240


def recommender_or_stop() -> Recommender:
    """The recommender of the current build, or a clear message (and the page stops) when there is none."""
    root = str(artifacts_dir())
    try:
        recommender = get_recommender(root, current_build_id(root))
    except ArtifactError as error:
        st.error(str(error))
        if isinstance(error, DatasetChanged):
            offer_update(root)
        else:
            offer_rebuild(root)
        st.stop()
    except WeightsUnavailable as error:
        st.error(str(error))
        st.stop()
    summary = recommender.summary
    st.sidebar.caption(f"Catalogue: {summary['count']:,} products · build {summary['build_id']} "
                       f"· made {summary['created'].replace('T', ' ').rstrip('Z')} UTC")
    return recommender


def _progress_bar(text: str):
    bar = st.progress(0.0, text=text)
    return lambda done, total: bar.progress(done / max(total, 1), text=f"{text} {done:,}/{total:,}")


def offer_update(root: str) -> None:
    """Offer to bring the catalogue level with its changed dataset (only what changed is embedded)."""
    st.info("Run `python -m recommender update` in a terminal, or update it here: only new and changed photos "
            "are embedded.")
    if st.button("Update the catalogue", key="update", type="primary"):
        update_catalogue(None, root, log=lambda _: None,
                         progress=_progress_bar("Embedding new and changed photos..."))
        st.rerun()


def offer_rebuild(root: str) -> None:
    """Say how to (re)build the catalogue, and offer to build a demo one here and now."""
    dataset = find_dataset()
    if dataset is None:
        st.info(DATASET_HELP)
        return
    st.info(f"To build the whole catalogue, run `python -m recommender build {dataset}` in a terminal "
            f"(about an hour), or build a demo of {DEMO_SAMPLE:,} products here (a few minutes).")
    if st.button(f"Build a {DEMO_SAMPLE:,}-product demo catalogue", key="rebuild", type="primary"):
        build_catalogue(dataset, root, sample=DEMO_SAMPLE, log=lambda _: None,
                        progress=_progress_bar("Embedding photos..."))
        st.rerun()


def photo_width(size: tuple[int, int], *, limit: int = MAX_PHOTO_WIDTH) -> int:
    """Display width of a photo of ``size`` pixels: at most :data:`MAX_UPSCALE` times its width."""
    return int(min(size[0] * MAX_UPSCALE, limit))


def show_photo(image: Image.Image | str | Path, *, caption: str | None = None, limit: int = MAX_PHOTO_WIDTH) -> None:
    """A photo at a size its pixels support (see :func:`photo_width`)."""
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            st.caption("(image not found)")
            return
        with Image.open(path) as opened:
            size = opened.size
        st.image(str(path), caption=caption, width=photo_width(size, limit=limit))
    else:
        st.image(image, caption=caption, width=photo_width(image.size, limit=limit))


def results_grid(results: pd.DataFrame, *, key: str, more_like_this: bool = True) -> str | None:
    """The shared result layout: image, name, type, colour, distance, and a "More like this" button.

    Returns the id of the product whose "More like this" was clicked, else ``None``.
    """
    if results.empty:
        st.warning("No product matches these filters.")
        return None
    clicked = None
    for start in range(0, len(results), GRID_COLUMNS):
        columns = st.columns(GRID_COLUMNS)
        for column, row in zip(columns, results.iloc[start:start + GRID_COLUMNS].itertuples()):
            with column.container(border=True):
                show_photo(row.image_path)
                st.markdown(f"**{row.productDisplayName or row.id}**")
                distance = "" if np.isnan(row.distance) else f" · d = {row.distance:.3f}"
                st.caption(f"{row.articleType or '?'} · {row.baseColour or '?'}{distance}")
                if more_like_this and st.button("More like this", key=f"{key}-more-{row.id}"):
                    clicked = row.id
    return clicked


def prediction_line(predictions: dict[str, list[tuple[str, float]]], *, within: str | None,
                    key: str) -> str | None:
    """"Looks like: Sweatshirts 82% · Purple 71%", and the likeliest types as one-click searches within them.

    Returns the type whose button was clicked ("" for the button back to every type), else ``None``.
    """
    if not predictions:
        return None
    st.markdown("**Looks like:** " + " · ".join(f"{options[0][0]} {options[0][1]:.0%}"
                                                 for options in predictions.values()))
    types = predictions.get("articleType", [])
    columns = st.columns([1.2, *([1] * len(types)), 1])
    columns[0].caption("Search only within:")
    clicked = None
    for column, (name, probability) in zip(columns[1:], types):
        if column.button(f"{name} {probability:.0%}", key=f"{key}-within-{name}",
                         type="primary" if name == within else "secondary"):
            clicked = name
    if within and columns[-1].button("All types", key=f"{key}-within-all"):
        clicked = ""
    return clicked


def tradeoff_chart(n_trees: int, search_k: int, tuning: dict | None = None) -> None:
    """What a tree setting costs: the measured recall / latency curves, the current setting marked,
    and the search_k measured for this catalogue."""
    table = tradeoff_table()
    if table.empty and not tuning:
        return
    with st.expander("What do these settings cost?"):
        if tuning:
            reached = tuning["recall_at_5"] >= tuning["target"]
            st.caption((f"For this catalogue, search_k {tuning['value']:,} is the smallest that finds "
                        if reached else f"For this catalogue, no search_k reached the goal; the largest tried, "
                        f"{tuning['value']:,}, finds ") +
                       f"{tuning['recall_at_5']:.1%} of the exact 5 nearest products (goal {tuning['target']:.0%}; "
                       f"measured on {tuning['queries']} of its products when the index was built): the default.")
        if table.empty:
            return
        table = table.assign(current=(table["n_trees"] == n_trees) & (table["search_k"] == search_k))
        lines = alt.Chart(table).mark_line(point=True).encode(
            x=alt.X("ms:Q", scale=alt.Scale(type="log"), title="milliseconds per query"),
            y=alt.Y("recall_at_5:Q", scale=alt.Scale(zero=False), title="recall@5 against exact search"),
            color=alt.Color("n_trees:O", title="n_trees"),
            tooltip=["n_trees", "search_k", alt.Tooltip("recall_at_5", format=".3f"), alt.Tooltip("ms", format=".2f"),
                     alt.Tooltip("file_mb", format=".0f", title="index MB")],
        )
        marked = alt.Chart(table[table["current"]]).mark_point(size=300, shape="diamond", filled=False,
                                                               strokeWidth=3, color="black").encode(
            x="ms:Q", y="recall_at_5:Q")
        st.altair_chart(alt.layer(lines, marked), width="stretch")
        current = table[table["current"]]
        where = (f"Your setting ({n_trees} trees, search_k {search_k:,}) is the black diamond: recall@5 "
                 f"{current['recall_at_5'].iloc[0]:.3f} at {current['ms'].iloc[0]:.2f} ms."
                 if not current.empty else
                 f"Your setting ({n_trees} trees, search_k {search_k:,}) was not among the measured ones.")
        st.caption(f"Measured on the full 42k-product catalogue (benchmarks/annoy_tradeoff.py). {where}")
