"""Search: drop a photo (or take one), pick a garment found in it (or crop by hand), describe it or refine it in
words, see the most similar catalogue products and move them with likes and dislikes."""

import streamlit as st

from app.components.catalogue import recommender_or_stop
from app.components.layout import (
    garments_photo,
    prediction_line,
    ranking_note,
    results_grid,
    show_photo,
    tradeoff_chart,
    word_chips,
)
from app.components.loaders import crop_query, decoded, garment_query, read_photo, tradeoff_table
from app.components.widgets import (
    crop_box,
    garment_choice,
    photo_input,
    reset_photo_input,
    search_sidebar,
    words_input,
)
from recommender import FULL_FRAME, ImageError, NothingToSearch, crop

st.title("Find similar products")
recommender, version = recommender_or_stop()
catalogue, engine = recommender.catalogue, recommender.engine
root = str(catalogue.root)
settings = search_sidebar(recommender)
photo = photo_input()
text = words_input()
judged = st.session_state.setdefault("judged", {})  # product id -> "like" or "dislike", for this search

if photo is not None and st.session_state.get("last_photo") != photo.file_id:
    st.session_state["last_photo"] = photo.file_id
    st.session_state.pop("query_id", None)  # a new photo replaces a "more like this" query
    st.session_state.pop("within_type", None)
    judged.clear()
if st.session_state.get("last_words") != text:
    st.session_state["last_words"] = text
    judged.clear()
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
        garments = read_photo(photo.data, root, version).garments
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
            query = garment_query(photo.data, chosen, root, version)
        else:
            with photo_column:
                show_photo(crop(image, box), caption="Your photo")
            query = crop_query(photo.data, box, root, version)
elif not text.strip():
    st.info(f"Upload a JPEG, PNG or WebP photo (or take one), or describe what you look for, to search "
            f"{len(catalogue.metadata):,} products.")

# Each query in its kind's default space unless one is picked: a worn garment's can differ from a product photo's.
space = (settings.space or catalogue.default_space) if query is None else engine.space_for(query, settings.space)
if query is not None or text.strip():
    if not engine.has_index(space=space, n_trees=settings.n_trees):
        with st.spinner(f"Building the Annoy index with {settings.n_trees} trees from the stored vectors..."):
            engine.index(space=space, n_trees=settings.n_trees)
    within = st.session_state.get("within_type")
    filters = {**settings.filters, "articleType": [within]} if within else settings.filters
    reading = recommender.asker.read(text) if text.strip() else None
    dropped = word_chips(reading.chips, key=f"read-{text}") if reading is not None else []
    likes = [item for item, action in judged.items() if action == "like"]
    dislikes = [item for item, action in judged.items() if action == "dislike"]
    try:
        answer = recommender.answer(query, text=text, like=likes, dislike=dislikes, drop=dropped, k=settings.k,
                                    search_k=settings.search_k, n_trees=settings.n_trees, filters=filters,
                                    colour_weight=settings.colour_weight, space=settings.space,
                                    type_first=settings.type_first)
    except NothingToSearch as error:
        st.warning(str(error))
        st.stop()
    results, space = answer.results, answer.space
    if answer.warning:
        st.warning(answer.warning, icon=":material/help:")
    for note in answer.asked.notes if answer.asked is not None else ():
        st.caption(note)
    picked = prediction_line(answer.predictions, within=within, key="search")
    if picked is not None:
        st.session_state["within_type"] = picked or None
        st.rerun()
    st.subheader(f"{len(results)} most similar products" + (f" among {within}" if within else ""))
    if query is not None and settings.space is None and catalogue.worn_space != catalogue.default_space:
        st.caption(f"Model {space}: the one measured best on "
                   + ("garments people wear." if query.worn else "photos of a product."))
    ranking_note(settings.type_first and bool(catalogue.type_first_weights(space)))
    if judged:
        st.caption(f"Moved by {len(likes)} like(s) and {len(dislikes)} dislike(s).")
    clicked = results_grid(results, key="search", judged=judged)
    if clicked is not None:
        action, item = clicked
        if action == "more":
            st.session_state["query_id"] = item
            st.session_state.pop("within_type", None)
            judged.clear()
            reset_photo_input()
        elif judged.get(item) == action:  # a second click on the same judgement takes it back
            del judged[item]
        else:
            judged[item] = action
        st.rerun()
tradeoff_chart(tradeoff_table(), settings.n_trees,
               engine.tuned_search_k(space) if settings.search_k is None else settings.search_k,
               catalogue.tuning(space))
