"""Search: drop a photo (or take one), pick a garment found in it (or crop by hand), see the most similar
catalogue products."""

import streamlit as st

from app.components.catalogue import recommender_or_stop
from app.components.layout import (
    garments_photo,
    prediction_line,
    ranking_note,
    results_grid,
    show_photo,
    tradeoff_chart,
)
from app.components.loaders import crop_query, decoded, garment_query, read_photo, tradeoff_table
from app.components.widgets import crop_box, garment_choice, photo_input, reset_photo_input, search_sidebar
from recommender import FULL_FRAME, ImageError, crop

st.title("Find similar products")
recommender = recommender_or_stop()
catalogue, engine = recommender.catalogue, recommender.engine
root, build_id = str(catalogue.root), catalogue.build_id
settings = search_sidebar(recommender)
photo = photo_input()

if photo is not None and st.session_state.get("last_photo") != photo.file_id:
    st.session_state["last_photo"] = photo.file_id
    st.session_state.pop("query_id", None)  # a new photo replaces a "more like this" query
    st.session_state.pop("within_type", None)
if not catalogue.has_product(st.session_state.get("query_id")):
    st.session_state.pop("query_id", None)  # a product of a catalogue rebuilt since

query = None
photo_column, side_column = st.columns([1, 3])
if st.session_state.get("query_id"):
    query_id = st.session_state["query_id"]
    query = recommender.queries.from_id(query_id)
    with photo_column:
        show_photo(catalogue.image_path(query_id),
                   caption=f"More like: {catalogue.product(query_id)['productDisplayName']}")
        if st.button("Clear", key="clear-query"):
            st.session_state.pop("query_id")
            st.rerun()
elif photo is not None:
    try:
        image = decoded(photo.data)
        garments = read_photo(photo.data, root, build_id).garments
    except ImageError as error:
        st.error(f"This file cannot be used: {error}")
    else:
        with side_column:
            chosen = garment_choice(garments, key=f"garment-{photo.file_id}") if garments else None
            box = crop_box(key=f"crop-{photo.source}")
        if box == FULL_FRAME and chosen:  # the manual crop, once moved, overrides the garment chips
            with photo_column:
                show_photo(garments_photo(image, garments, chosen), caption=f"Searching {chosen}: "
                           f"{garments[chosen - 1].label}")
            query = garment_query(photo.data, chosen, root, build_id)
        else:
            with photo_column:
                show_photo(crop(image, box), caption="Your photo")
            query = crop_query(photo.data, box, root, build_id)
else:
    st.info(f"Upload a JPEG, PNG or WebP photo (or take one) to search {len(catalogue.metadata):,} products.")

# Each query in its kind's default space unless one is picked: a worn garment's can differ from a product photo's.
space = (settings.space or catalogue.default_space) if query is None else engine.space_for(query, settings.space)
if query is not None:
    if not engine.has_index(space=space, n_trees=settings.n_trees):
        with st.spinner(f"Building the Annoy index with {settings.n_trees} trees from the stored vectors..."):
            engine.index(space=space, n_trees=settings.n_trees)
    within = st.session_state.get("within_type")
    filters = {**settings.filters, "articleType": [within]} if within else settings.filters
    results, predictions = recommender.answer(query, k=settings.k, search_k=settings.search_k,
                                              n_trees=settings.n_trees, filters=filters,
                                              colour_weight=settings.colour_weight, space=space,
                                              type_first=settings.type_first)
    picked = prediction_line(predictions, within=within, key="search")
    if picked is not None:
        st.session_state["within_type"] = picked or None
        st.rerun()
    st.subheader(f"{len(results)} most similar products" + (f" among {within}" if within else ""))
    if settings.space is None and catalogue.worn_space != catalogue.default_space:
        st.caption(f"Model {space}: the one measured best on "
                   + ("garments people wear." if query.worn else "photos of a product."))
    ranking_note(settings.type_first and bool(catalogue.type_first_weights(space)))
    clicked = results_grid(results, key="search")
    if clicked is not None:
        st.session_state["query_id"] = clicked
        st.session_state.pop("within_type", None)
        reset_photo_input()
        st.rerun()
tradeoff_chart(tradeoff_table(), settings.n_trees,
               engine.tuned_search_k(space) if settings.search_k is None else settings.search_k,
               catalogue.tuning(space))
