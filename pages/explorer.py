"""Explorer: the catalogue's embedding space on a 2-D map."""

import time
from concurrent.futures import Future

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from pages.layout import recommender_or_stop, results_grid
from pages.loaders import get_map, label_codes, map_in_background, photo_uris, sample_order_of
from recommender import MAX_PHOTOS, MAX_POINTS, full_bounds, inside_mask, map_view, tsne_seconds

COLOUR_COLUMNS = ("articleType", "masterCategory", "baseColour", "gender")
LEGEND_SIZE = 15
REGION_LIMIT = 20
PHOTO_SIZE = 52  # pixels of a product's photo on the map
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
codes, names = label_codes(root, build_id, colour_by)
common = names[:LEGEND_SIZE]
other = f"other ({len(names) - len(common)} more)" if len(names) > len(common) else None
palette = alt.Scale(domain=common + ([other] if other else []),
                    range=PALETTE[:len(common)] + (["#c8c8c8"] if other else []))


def legend_names(label_codes: np.ndarray) -> np.ndarray:
    """Each code's name in the legend: its own for the most common labels, "other (...)" for the rest."""
    shown = np.array(common + [other or ""], dtype=object)
    return shown[np.minimum(label_codes, len(common))]


zoom_key = f"map-zoom-{build_id}-{space}-{method}"
zooms = st.session_state.setdefault(zoom_key, [])  # the views zoomed into, outermost first
bounds = zooms[-1] if zooms else full_bounds(points)
view = map_view(points, codes, sample_order_of(root, build_id), bounds)
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

chart_key = f"map-{space}-{method}-{len(zooms)}"  # a new zoom starts with no selection
click = alt.selection_point(name="pick", fields=["row"], on="click", clear="dblclick")
region = alt.selection_interval(name="region", encodings=["x", "y"])
state = st.session_state.get(chart_key)
if picked is None and state is not None:
    chosen = state.selection.get("pick") or []
    if chosen:
        picked = metadata["id"].iloc[int(chosen[0]["row"])]

x0, x1, y0, y1 = view.bounds
x_scale = alt.Scale(domain=[x0, x1], nice=False, zero=False)
y_scale = alt.Scale(domain=[y0, y1], nice=False, zero=False)
colour = alt.Color("label:N", scale=palette, legend=alt.Legend(title=colour_by, symbolLimit=LEGEND_SIZE + 1))
drawn = pd.DataFrame({"x": points[view.rows, 0], "y": points[view.rows, 1], "row": view.rows,
                      "id": metadata["id"].to_numpy()[view.rows],
                      "name": metadata["productDisplayName"].to_numpy()[view.rows],
                      "label": legend_names(codes[view.rows])})
tooltip = ["id:N", "name:N", alt.Tooltip("label:N", title=colour_by)]
size = 18 if view.density is None else 10
points_layer = alt.Chart(drawn).mark_circle(size=size, opacity=0.8).encode(
    x=alt.X("x:Q", axis=None, scale=x_scale), y=alt.Y("y:Q", axis=None, scale=y_scale), color=colour, tooltip=tooltip)
if view.photos:  # each photo over a larger dot of its label's colour, so the legend still reads
    drawn["photo"] = photo_uris(root, build_id, tuple(view.rows.tolist()))
    photos = alt.Chart(drawn).mark_image(width=PHOTO_SIZE, height=PHOTO_SIZE).encode(
        x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale), url="photo:N", tooltip=tooltip)
    layers = [points_layer.mark_circle(size=PHOTO_SIZE * 75, opacity=0.5), photos.add_params(click, region)]
else:
    layers = [points_layer.add_params(click, region)]
if view.density is not None:
    cells = view.density.assign(label=legend_names(view.density["label"].to_numpy()),
                                shade=np.log1p(view.density["count"]) / np.log1p(view.density["count"].max()))
    layers.insert(0, alt.Chart(cells).mark_rect().encode(
        x=alt.X("x0:Q", axis=None, scale=x_scale), x2="x1:Q", y=alt.Y("y0:Q", axis=None, scale=y_scale), y2="y1:Q",
        color=colour, opacity=alt.Opacity("shade:Q", scale=alt.Scale(domain=[0, 1], range=[0.15, 0.9]), legend=None),
        tooltip=[alt.Tooltip("count:Q", title="products", format=","),
                 alt.Tooltip("label:N", title=f"most common {colour_by}")]))

neighbours = None
if picked is not None:
    neighbours = recommender.search(recommender.query_from_id(picked), k=k, space=space)
    rows = np.array([recommender.row_of(picked), *[recommender.row_of(i) for i in neighbours["id"]]])
    highlight = pd.DataFrame({"x": points[rows, 0], "y": points[rows, 1], "id": metadata["id"].to_numpy()[rows],
                              "name": metadata["productDisplayName"].to_numpy()[rows],
                              "role": ["picked"] + ["neighbour"] * len(neighbours)})
    layers.append(alt.Chart(highlight).mark_point(filled=False, strokeWidth=2, clip=True).encode(
        x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale), shape=alt.Shape("role:N", title="picked"),
        size=alt.condition("datum.role == 'picked'", alt.value(400), alt.value(120)),
        color=alt.value("black"), tooltip=["id:N", "name:N"],
    ))

here = f"{view.inside:,} product{'' if view.inside == 1 else 's'} here"
if view.density is not None:
    drawing = (f"{here}: too many to draw one by one, so each square is coloured by its "
               f"most common {colour_by} and shaded by how many products it holds; {len(view.rows):,} of them "
               f"are drawn as points to click. Zoom in to see every product (at most {MAX_POINTS:,}) and, "
               f"closer still, their photos (at most {MAX_PHOTOS}).")
elif view.photos:
    drawing = f"{here}, drawn as their photos."
else:
    drawing = f"{here}, each a point; zoom in to {MAX_PHOTOS} or fewer to see their photos."
st.caption(f"{len(metadata):,} products, {method.upper()} of the {space} space. {drawing} Click a point to pick "
           "it (double-click clears); drag a rectangle to list the products in it and zoom in.")
zoom_in, zoom_out, whole = st.columns(3)
selected = (state.selection.get("region") if state is not None else None) or {}
if zoom_in.button("Zoom in to the rectangle", disabled=not ("x" in selected and "y" in selected),
                  width="stretch", key="zoom-in"):
    zooms.append((*sorted(selected["x"]), *sorted(selected["y"])))
    st.rerun()
if zoom_out.button("Zoom out", disabled=not zooms, width="stretch", key="zoom-out"):
    zooms.pop()
    st.rerun()
if whole.button("Whole map", disabled=not zooms, width="stretch", key="whole-map"):
    zooms.clear()
    st.rerun()
st.altair_chart(alt.layer(*layers).properties(height=520), width="stretch", on_select="rerun", key=chart_key,
                selection_mode=["pick", "region"])

if neighbours is not None:
    product = metadata.iloc[recommender.row_of(picked)]
    st.subheader(f"Nearest to: {product['productDisplayName']} ({picked})")
    results_grid(neighbours, key="explorer", more_like_this=False)

if "x" in selected and "y" in selected:
    inside = np.flatnonzero(inside_mask(points, (*sorted(selected["x"]), *sorted(selected["y"]))))
    st.subheader(f"{len(inside):,} products in the selected region" +
                 (f" (first {REGION_LIMIT} shown)" if len(inside) > REGION_LIMIT else ""))
    counts = pd.Series(np.asarray(names, dtype=object)[codes[inside]]).value_counts().head(10)
    st.dataframe(counts.rename("products").rename_axis(colour_by), width="content")
    results_grid(recommender.products(inside[:REGION_LIMIT]), key="region", more_like_this=False)
