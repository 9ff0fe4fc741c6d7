"""Explorer: the catalogue's embedding space on a 2-D map.

The story of a rerun: read the settings, get the map, take the pick and the zoom, search the picked
product's neighbours, draw the map, list what the dragged rectangle holds.
"""

import time
from concurrent.futures import Future

import numpy as np
import pandas as pd
import streamlit as st

from app.components.catalogue import recommender_or_stop
from app.components.layout import RINGED, embedding_map, map_caption, region_summary, results_grid
from app.components.loaders import get_map, label_codes, map_in_background, photo_uris, sample_order_of
from app.components.widgets import map_sidebar, product_picker, zoom_buttons
from recommender import MAP_METHODS, MAX_PHOTOS, MAX_POINTS, full_bounds, inside_mask, map_view, tsne_seconds

REGION_LIMIT = 20

st.title("Explore the embedding space")
recommender, version = recommender_or_stop()
catalogue = recommender.catalogue
root, metadata = str(catalogue.root), catalogue.metadata
settings = map_sidebar(recommender, MAP_METHODS)
space, method = settings.space, settings.method


@st.fragment(run_every=2)
def tsne_progress(started: float, estimate: float) -> None:
    """A progress bar while the t-SNE map is computed in the background; the page reruns when it is done."""
    job = map_in_background(root, version, space, "tsne")
    if not isinstance(job, Future) or job.done():
        st.rerun()
    elapsed = time.monotonic() - started
    st.progress(min(elapsed / estimate, 0.99),
                text=f"Computing the t-SNE map of {len(metadata):,} products in the background: about "
                     f"{max(estimate - elapsed, 0):.0f} s left (estimated), then it is saved with the catalogue. "
                     "The PCA map is shown meanwhile.")


if method == "tsne":
    job = map_in_background(root, version, space, method)
    if isinstance(job, Future) and job.done() and job.exception() is not None:
        st.error(f"The t-SNE map could not be computed: {job.exception()}")
        method = "pca"
    elif isinstance(job, Future) and not job.done():
        started = st.session_state.setdefault(f"tsne-started-{version}-{space}", time.monotonic())
        tsne_progress(started, tsne_seconds(len(metadata)))
        method = "pca"
points = get_map(root, version, space, method)
codes, label_names = label_codes(root, version, settings.colour_by)

zooms = st.session_state.setdefault(f"map-zoom-{version}-{space}-{method}", [])  # views zoomed into, outermost first
view = map_view(points, codes, sample_order_of(root, version), zooms[-1] if zooms else full_bounds(points))
chart_key = f"map-{space}-{method}-{len(zooms)}"  # a new zoom starts with no selection
state = st.session_state.get(chart_key)
selection = state["selection"] if state is not None else {}  # the chart's last pick and rectangle
picked = product_picker(recommender)
if picked is None and selection.get("pick"):
    picked = metadata["id"].iloc[int(selection["pick"][0]["row"])]
region = selection.get("region") or {}
has_region = "x" in region and "y" in region

neighbours, highlight = None, None
if picked is not None:
    neighbours = recommender.search(recommender.queries.from_id(picked), k=settings.k, space=space)
    rows = np.array([catalogue.row_of(picked), *[catalogue.row_of(i) for i in neighbours["id"]]])
    highlight = pd.DataFrame({"x": points[rows, 0], "y": points[rows, 1], "id": metadata["id"].to_numpy()[rows],
                              "name": metadata["productDisplayName"].to_numpy()[rows],
                              "role": [RINGED[0]] + [RINGED[1]] * len(neighbours)})

map_caption(view, total=len(metadata), method=method, space=space, colour_by=settings.colour_by, zoomed=bool(zooms),
            max_points=MAX_POINTS, max_photos=MAX_PHOTOS)
zoom = zoom_buttons(can_zoom_in=has_region, zoomed=bool(zooms))
if zoom is not None:
    if zoom == "in":
        zooms.append((*sorted(region["x"]), *sorted(region["y"])))
    elif zoom == "out":
        zooms.pop()
    else:
        zooms.clear()
    st.rerun()
photos = photo_uris(root, version, tuple(view.rows.tolist())) if view.photos else None
embedding_map(points, view, codes, label_names, metadata, colour_by=settings.colour_by, photos=photos,
              highlight=highlight, key=chart_key)

if neighbours is not None:
    st.subheader(f"Nearest to: {catalogue.product(picked)['productDisplayName']} ({picked})")
    results_grid(neighbours, key="explorer", more_like_this=False)

if has_region:
    inside = np.flatnonzero(inside_mask(points, (*sorted(region["x"]), *sorted(region["y"]))))
    counts = pd.Series(np.asarray(label_names, dtype=object)[codes[inside]]).value_counts().head(10)
    region_summary(counts, inside=len(inside), limit=REGION_LIMIT, colour_by=settings.colour_by)
    results_grid(catalogue.products(inside[:REGION_LIMIT]), key="region", more_like_this=False)
