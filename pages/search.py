"""Search: drop a photo, see the most similar catalogue products."""

import streamlit as st

from pages.cache import (
    N_TREES_CHOICES,
    ensure_index,
    query_for_upload,
    recommender_or_stop,
    results_grid,
    tradeoff_plot,
    upload_preview,
)
from recommender.index import DEFAULT_SEARCH_K
from recommender.search import FILTER_COLUMNS, MAX_K

st.title("Find similar products")
recommender = recommender_or_stop()
manifest = recommender.artifacts.manifest

with st.sidebar:
    st.header("Search settings")
    spaces = recommender.spaces
    space = st.selectbox("Model", spaces, index=spaces.index(recommender.default_space), key="space",
                         help="imagenet: frozen ResNet50 features; a trained space adds transfer learning.")
    k = st.slider("Number of results (k)", 1, MAX_K, 5, key="k")
    default_trees = manifest["index"]["n_trees"]
    choices = sorted({*N_TREES_CHOICES, default_trees})
    n_trees = st.select_slider("Annoy trees (n_trees)", choices, value=default_trees, key="n_trees",
                               help="More trees: better recall, bigger index. A new value builds its index once.")
    search_k = st.number_input("search_k (-1 = n_trees x k)", min_value=-1, value=DEFAULT_SEARCH_K, step=100,
                               key="search_k",
                               help="Nodes inspected per query: larger finds more true neighbours, slower.")
    tradeoff_plot()
    colour_weight = st.slider("Colour emphasis", 0.0, 1.0, 0.0, 0.05, key="colour_weight",
                              help="Blend the CNN distance with a colour-histogram distance of the product.")
    st.header("Filters")
    filters = {column: st.multiselect(column, sorted(v for v in recommender.metadata[column].unique() if v),
                                      key=f"filter-{column}") for column in FILTER_COLUMNS}

upload = st.file_uploader("Drag a photo of a garment, shoe or accessory here", type=["jpg", "jpeg", "png", "webp"],
                          key="upload")
if upload is not None and st.session_state.get("last_upload") != upload.file_id:
    st.session_state["last_upload"] = upload.file_id
    st.session_state.pop("query_id", None)  # a new photo replaces a "more like this" query

query, left = None, st.columns([1, 3])[0]
if not recommender.has_product(st.session_state.get("query_id")):
    st.session_state.pop("query_id", None)  # a product of a catalogue rebuilt since
if st.session_state.get("query_id"):
    query_id = st.session_state["query_id"]
    query = recommender.query_from_id(query_id)
    product = recommender.metadata.iloc[recommender.row_of(query_id)]
    with left:
        st.image(str(recommender.dataset_root / product["image"]), width=220,
                 caption=f"More like: {product['productDisplayName']}")
        if st.button("Clear", key="clear-query"):
            st.session_state.pop("query_id")
            st.rerun()
elif upload is not None:
    data = upload.getvalue()
    with left:
        upload_preview(data)
    query = query_for_upload(recommender, data)
else:
    st.info(f"Upload a JPEG, PNG or WebP photo to search {len(recommender.metadata):,} products.")

if query is not None:
    ensure_index(recommender, space, n_trees)
    results = recommender.search(query, k=k, search_k=int(search_k), n_trees=n_trees, filters=filters,
                                 colour_weight=colour_weight, space=space)
    st.subheader(f"{len(results)} most similar products")
    results_grid(results, key="search")
