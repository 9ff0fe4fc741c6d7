"""Widgets that read the user's choices and return plain values."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from recommender import (
    DEFAULT_K,
    DEFAULT_N_TREES,
    DEFAULT_SEARCH_K,
    FILTER_COLUMNS,
    FULL_FRAME,
    MAX_K,
    CropBox,
    Recommender,
)

N_TREES_CHOICES = (10, 25, 50, 100, 200)


@dataclass(frozen=True)
class SearchSettings:
    """Everything the search sidebar decides (``space`` None: each query's kind's default space;
    ``search_k`` None: each space's measured value)."""

    space: str | None
    k: int = DEFAULT_K
    n_trees: int = DEFAULT_N_TREES
    search_k: int | None = DEFAULT_SEARCH_K
    colour_weight: float = 0.0
    filters: dict[str, list[str]] = field(default_factory=dict)
    type_first: bool = True


def search_sidebar(recommender: Recommender) -> SearchSettings:
    """The search settings and filters, in the sidebar."""
    with st.sidebar:
        st.header("Search settings")
        catalogue = recommender.catalogue
        spaces = catalogue.spaces
        backbone = recommender.summary["backbone"]
        default, worn = catalogue.default_space, catalogue.worn_space
        # Two defaults: a product photo in one space, a garment worn by a person in another (each measured better).
        options = [None, *spaces] if worn != default else spaces
        space = st.selectbox("Model", options, index=options.index(None if worn != default else default), key="space",
                             format_func=lambda name: name or "Automatic",
                             help=f"{spaces[0]}: the {backbone} ResNet50's own vectors; a trained space adds "
                                  "transfer learning on the catalogue's labels."
                                  + (f" Automatic: a photo of a product is searched in {default}, a garment "
                                     f"someone wears in {worn}, the spaces measured best on each." if worn != default
                                     else ""))
        if space is None:  # the sidebar is narrow: what "automatic" means, on lines of its own
            st.caption(f"Automatic: the model measured best on each kind of photo. Photos of a product: "
                       f"**{default}**  \nGarments people wear: **{worn}**")
        k = st.slider("Number of results (k)", 1, MAX_K, DEFAULT_K, key="k")
        n_trees_default = recommender.summary["n_trees"]
        choices = sorted({*N_TREES_CHOICES, n_trees_default})
        n_trees = st.select_slider("Annoy trees (n_trees)", choices, value=n_trees_default, key="n_trees",
                                   help="More trees: better recall, bigger index. A new value builds its index once.")
        tuned = recommender.engine.tuned_search_k(space)
        search_k = st.number_input("search_k (-1 = n_trees x k)", min_value=-1, value=tuned,
                                   step=100, key=f"search_k-{space}",
                                   help="Nodes inspected per query: larger finds more true neighbours, slower. "
                                        "The default was measured for this catalogue (recall@5 >= 0.99).")
        colour_weight = st.slider("Colour emphasis", 0.0, 1.0, 0.0, 0.05, key="colour_weight",
                                  help="Blend the CNN distance with a colour-histogram distance of the product.")
        type_first = bool(catalogue.type_first_weights(space)) and st.toggle(
            "Type first", value=True, key="type_first",
            help="Rank products of the type and colour the model predicts for your photo first.")
        st.header("Filters")
        filters = {column: st.multiselect(column, catalogue.filter_options(column), key=f"filter-{column}")
                   for column in FILTER_COLUMNS}
    # Automatic and left as measured: each space searches with its own measured value.
    return SearchSettings(space, k, n_trees, None if space is None and search_k == tuned else int(search_k),
                          colour_weight, filters, type_first)


@dataclass(frozen=True)
class Photo:
    """A photo the user gave: its bytes, where it came from (``upload`` or ``camera``) and its widget file id."""

    data: bytes
    source: str
    file_id: str


def photo_input() -> Photo | None:
    """The uploader and, beside it, the camera; the one used last wins.

    Their keys carry a generation number: :func:`reset_photo_input` empties both
    (e.g. when a catalogue product becomes the query instead).
    """
    generation = st.session_state.setdefault("photo_generation", 0)
    left, right = st.columns([3, 2])
    upload = left.file_uploader("Drag a photo of a garment, shoe or accessory here",
                                type=["jpg", "jpeg", "png", "webp"], key=f"upload-{generation}")
    with right.expander("...or take one with the camera"):
        camera = st.camera_input("Camera", key=f"camera-{generation}", label_visibility="collapsed")
    for widget, source in ((upload, "upload"), (camera, "camera")):
        if widget is not None and st.session_state.get(f"last-{source}") != widget.file_id:
            st.session_state[f"last-{source}"] = widget.file_id
            st.session_state["photo_source"] = source
    chosen = {"upload": upload, "camera": camera}.get(st.session_state.get("photo_source", ""))
    chosen = chosen or upload or camera
    if chosen is None:
        return None
    return Photo(chosen.getvalue(), "camera" if chosen is camera else "upload", chosen.file_id)


def words_input() -> str:
    """A text box beside the photo: words alone, or words that refine the photo ("in red")."""
    return st.text_input("...or describe it, or refine the photo in words",
                         placeholder='"navy check shirt for men", or with a photo: "in red", "for women"',
                         key="words", max_chars=2000)


def reset_photo_input() -> None:
    """Empty the uploader and the camera (new widget keys on the next run)."""
    st.session_state["photo_generation"] = st.session_state.get("photo_generation", 0) + 1
    st.session_state.pop("photo_source", None)


def garment_choice(garments: list, key: str) -> int:
    """Chips "1 Top · 2 Trousers or skirt · 3 Bag · Whole photo": the garment to search (1, the most
    prominent, by default; 0 the whole photo)."""
    options = [*range(1, len(garments) + 1), 0]
    # wrap: in a column, pills keep to one row and six garments were cut at its edge ("Whole phot").
    chosen = st.pills("Garments in your photo", options, default=1, key=key, wrap=True,
                      format_func=lambda number: f"{number} {garments[number - 1].label}" if number else "Whole photo")
    return 1 if chosen is None else chosen


def crop_box(key: str) -> CropBox:
    """Two range sliders that crop the photo to one garment; the full frame by default."""
    with st.expander("Crop to one garment"):
        st.caption("A street photo holds a shirt, trousers and shoes: keep only the one to search for.")
        left, right = st.slider("Left and right edges (%)", 0, 100, (0, 100), step=5, key=f"{key}-x")
        top, bottom = st.slider("Top and bottom edges (%)", 0, 100, (0, 100), step=5, key=f"{key}-y")
    if right <= left or bottom <= top:
        st.warning("The crop is empty: move the edges apart. Searching with the whole photo.")
        return FULL_FRAME
    return (left / 100, top / 100, right / 100, bottom / 100)


COLOUR_COLUMNS = ("subCategory", "articleType", "masterCategory", "baseColour", "gender")


@dataclass(frozen=True)
class MapSettings:
    """Everything the Explorer's sidebar decides."""

    space: str
    method: str
    colour_by: str
    k: int


def map_sidebar(recommender: Recommender, methods: tuple[str, ...]) -> MapSettings:
    """The map's model, projection, colouring and neighbour count, in the sidebar."""
    with st.sidebar:
        st.header("Map settings")
        spaces = recommender.catalogue.spaces
        space = st.selectbox("Model", spaces, index=spaces.index(recommender.catalogue.default_space),
                             key="explorer-space")
        method = st.radio("Projection", methods, format_func=str.upper, horizontal=True, key="method",
                          help="PCA: seconds. t-SNE: minutes the first time, then saved with the catalogue.")
        colour_by = st.selectbox("Colour by", COLOUR_COLUMNS, key="colour-by")
        k = st.slider("Neighbours of the picked product", 1, 20, 8, key="explorer-k")
    return MapSettings(space, method, colour_by, k)


def product_picker(recommender: Recommender) -> str | None:
    """A product picked by id or by a text of its name (the id box wins); None where nothing is picked."""
    left, right = st.columns(2)
    by_id = left.text_input("Pick a product by id", key="pick-id").strip()
    name_query = right.text_input("...or search by name", key="pick-name").strip()
    if by_id:
        if recommender.catalogue.has_product(by_id):
            return by_id
        left.warning(f"No product with id {by_id!r}.")
        return None
    if not name_query:
        return None
    metadata = recommender.catalogue.metadata
    matches = metadata[metadata["productDisplayName"].str.contains(name_query, case=False, regex=False)]
    if matches.empty:
        right.warning("No product name contains that text.")
        return None
    product_names = dict(zip(matches["id"], matches["productDisplayName"]))
    return right.selectbox(f"{len(matches):,} matches", matches["id"].head(200).tolist(), key="pick-match",
                           format_func=lambda item: f"{product_names[item]} ({item})")


def zoom_buttons(*, can_zoom_in: bool, zoomed: bool) -> str | None:
    """"Zoom in to the rectangle", "Zoom out", "Whole map"; returns ``"in"``, ``"out"``, ``"whole"`` or None."""
    zoom_in, zoom_out, whole = st.columns(3)
    if zoom_in.button("Zoom in to the rectangle", disabled=not can_zoom_in, width="stretch", key="zoom-in"):
        return "in"
    if zoom_out.button("Zoom out", disabled=not zoomed, width="stretch", key="zoom-out"):
        return "out"
    if whole.button("Whole map", disabled=not zoomed, width="stretch", key="whole-map"):
        return "whole"
    return None
