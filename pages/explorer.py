"""Explorer: the catalogue's embedding space on a 2-D map."""

import time
from concurrent.futures import Future

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from pages.layout import recommender_or_stop, results_grid
from pages.loaders import get_map, map_in_background
from recommender import tsne_seconds

COLOUR_COLUMNS = ("articleType", "masterCategory", "baseColour", "gender")
LEGEND_SIZE = 15
REGION_LIMIT = 20
# Tableau's 20 colours, strongest first; products outside the legend are drawn in grey.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#393b79", "#ad494a", "#637939", "#7b4173", "#3182bd", "#e6550d", "#31a354"]

st.title("Explore the embedding space")
recommender = recommender_or_stop()
root, build_id = str(recommender.root), recommender.build_id
metadata = recommender.metadata

with st.sidebar:
    st.header("Map settings")
    spaces = recommender.spaces
    space = st.selectbox("Model", spaces, index=spaces.index(recommender.default_space), key="explorer-space")
    method = st.radio("Projection", ["pca", "tsne"], format_func=str.upper, horizontal=True, key="method",
                      help="PCA: seconds. t-SNE: minutes the first time, then saved with the catalogue.")
    colour_by = st.selectbox("Colour by", COLOUR_COLUMNS, key="colour-by")
    k = st.slider("Neighbours of the picked product", 1, 20, 8, key="explorer-k")


@st.fragment(run_every=2)
def tsne_progress(started: float, estimate: float) -> None:
    """A progress bar while the t-SNE map is computed in the background; the page reruns when it is done."""
    job = map_in_background(root, build_id, space, "tsne")
    if not isinstance(job, Future) or job.done():
        st.rerun()
    elapsed = time.monotonic() - started
    st.progress(min(elapsed / estimate, 0.99),
                text=f"Computing the t-SNE map of {len(metadata):,} products in the background: about "
                     f"{max(estimate - elapsed, 0):.0f} s left (estimated), then it is saved with the catalogue. "
                     "The PCA map is shown meanwhile.")


if method == "tsne":
    job = map_in_background(root, build_id, space, method)
    if isinstance(job, Future) and job.done() and job.exception() is not None:
        st.error(f"The t-SNE map could not be computed: {job.exception()}")
        method = "pca"
    elif isinstance(job, Future) and not job.done():
        started = st.session_state.setdefault(f"tsne-started-{build_id}-{space}", time.monotonic())
        tsne_progress(started, tsne_seconds(len(metadata)))
        method = "pca"
points = get_map(root, build_id, space, method)
labels = metadata[colour_by].replace("", "(unknown)")
common = labels.value_counts().index[:LEGEND_SIZE].tolist()
other = f"other ({labels.nunique() - len(common)} more)" if labels.nunique() > len(common) else None
palette = alt.Scale(domain=common + ([other] if other else []),
                    range=PALETTE[:len(common)] + (["#c8c8c8"] if other else []))
frame = pd.DataFrame({
    "x": points[:, 0], "y": points[:, 1], "row": np.arange(len(metadata)), "id": metadata["id"],
    "name": metadata["productDisplayName"],
    colour_by: labels.where(labels.isin(common), other),
})

left, right = st.columns(2)
by_id = left.text_input("Pick a product by id", key="pick-id").strip()
name_query = right.text_input("...or search by name", key="pick-name").strip()
picked = None
if by_id:
    if recommender.has_product(by_id):
        picked = by_id
    else:
        left.warning(f"No product with id {by_id!r}.")
elif name_query:
    matches = metadata[metadata["productDisplayName"].str.contains(name_query, case=False, regex=False)]
    if matches.empty:
        right.warning("No product name contains that text.")
    else:
        options = matches["id"].head(200).tolist()
        names = dict(zip(matches["id"], matches["productDisplayName"]))
        picked = right.selectbox(f"{len(matches):,} matches", options, format_func=lambda i: f"{names[i]} ({i})",
                                 key="pick-match")

click = alt.selection_point(name="pick", fields=["row"], on="click", clear="dblclick")
region = alt.selection_interval(name="region", encodings=["x", "y"])
state = st.session_state.get("map")
if picked is None and state is not None:
    chosen = state.selection.get("pick") or []
    if chosen:
        picked = metadata["id"].iloc[int(chosen[0]["row"])]

neighbours = None
if picked is not None:
    neighbours = recommender.search(recommender.query_from_id(picked), k=k, space=space)
    highlight = frame.iloc[[recommender.row_of(picked), *[recommender.row_of(i) for i in neighbours["id"]]]].copy()
    highlight["role"] = ["picked"] + ["neighbour"] * len(neighbours)

base = alt.Chart(frame).mark_circle(size=18, opacity=0.7).encode(
    x=alt.X("x:Q", axis=None), y=alt.Y("y:Q", axis=None),
    color=alt.Color(f"{colour_by}:N", scale=palette, legend=alt.Legend(title=colour_by, symbolLimit=LEGEND_SIZE + 1)),
    tooltip=["id:N", "name:N", f"{colour_by}:N"],
).add_params(click, region)
chart = base
if neighbours is not None:
    marks = alt.Chart(highlight).mark_point(filled=False, strokeWidth=2).encode(
        x="x:Q", y="y:Q", shape=alt.Shape("role:N", title="picked"),
        size=alt.condition("datum.role == 'picked'", alt.value(400), alt.value(120)),
        color=alt.value("black"), tooltip=["id:N", "name:N"],
    )
    chart = alt.layer(base, marks)
st.caption(f"{len(frame):,} products, {method.upper()} of the {space} space. Click a point to pick it "
           "(double-click clears); drag a rectangle to see the products in that region.")
st.altair_chart(chart.properties(height=520), width="stretch", on_select="rerun", key="map",
                selection_mode=["pick", "region"])

if neighbours is not None:
    product = metadata.iloc[recommender.row_of(picked)]
    st.subheader(f"Nearest to: {product['productDisplayName']} ({picked})")
    results_grid(neighbours, key="explorer", more_like_this=False)

bounds = (state.selection.get("region") if state is not None else None) or {}
if "x" in bounds and "y" in bounds:
    (x0, x1), (y0, y1) = sorted(bounds["x"]), sorted(bounds["y"])
    inside = frame[(frame.x >= x0) & (frame.x <= x1) & (frame.y >= y0) & (frame.y <= y1)]
    st.subheader(f"{len(inside):,} products in the selected region" +
                 (f" (first {REGION_LIMIT} shown)" if len(inside) > REGION_LIMIT else ""))
    st.dataframe(inside[colour_by].value_counts().head(10).rename("products"), width="content")
    results_grid(recommender.products(inside["row"].to_numpy()[:REGION_LIMIT]), key="region", more_like_this=False)
