"""How results and messages are drawn: functions that take plain data and place elements.

Nothing here changes session state, runs a build or reruns the script: a
button's click is returned to the page, which decides what it means.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

GRID_COLUMNS = 5
# A likely type under this is no alternative worth a button ("Nail Polish 0%" for a kurta).
MIN_SHOWN_PROBABILITY = 0.01
# Photos are drawn at most twice their pixel size: one image pixel per screen pixel on a
# high-density display; beyond that a 60x80 catalogue photo only gets blurrier.
MAX_UPSCALE = 2
MAX_PHOTO_WIDTH = 240


def catalogue_caption(summary: dict) -> None:
    """The loaded build in one line of the sidebar."""
    st.sidebar.caption(f"Catalogue: {summary['count']:,} products · build {summary['build_id']} "
                       f"· made {summary['created'].replace('T', ' ').rstrip('Z')} UTC")


def training_box(lines: list[str], progress: str, *, running: bool) -> None:
    """The background training's state in the sidebar: a line per model (ready, training now, waiting) and the
    training's last progress line; folded once the training is over."""
    if not lines:
        return
    with st.expander("Getting better in the background" if running else "Models trained in the background",
                     expanded=running, icon=":material/model_training:"):
        for line in lines:
            st.caption(line)
        if progress:
            st.caption(f"`{progress[:120]}`")


def progress_bar(text: str):
    """A progress bar; returns the ``(done, total)`` callback that moves it."""
    bar = st.progress(0.0, text=text)
    return lambda done, total: bar.progress(done / max(total, 1), text=f"{text} {done:,}/{total:,}")


def update_offer() -> bool:
    """The way to bring a catalogue level with its changed dataset; returns whether its button was clicked."""
    st.info("Run `python -m recommender update` in a terminal, or update it here: only new and changed photos "
            "are embedded.")
    return st.button("Update the catalogue", key="update", type="primary")


def build_offer(dataset: str | None, sample: int, help_text: str) -> bool:
    """How to (re)build the catalogue, and a button to build a demo one here; returns whether it was clicked."""
    if dataset is None:
        st.info(help_text)
        return False
    st.info(f"To build the whole catalogue, run `python -m recommender build {dataset}` in a terminal "
            f"(about an hour), or build a demo of {sample:,} products here and train its fashion model "
            "(a few minutes).")
    return st.button(f"Build a {sample:,}-product demo catalogue", key="rebuild", type="primary")


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


def results_grid(results: pd.DataFrame, *, key: str, more_like_this: bool = True,
                 judged: dict[str, str] | None = None) -> tuple[str, str] | None:
    """The shared result layout: image, name, type, colour, distance, a "More like this" button and, with
    ``judged`` (product id -> "like" or "dislike" so far), a like and a dislike button.

    Returns what was clicked, ``("more" | "like" | "dislike", product id)``, else ``None``.
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
                    clicked = ("more", row.id)
                if judged is not None:
                    like, dislike = st.columns(2)
                    for place, action, icon in ((like, "like", ":material/thumb_up:"),
                                                 (dislike, "dislike", ":material/thumb_down:")):
                        if place.button("", key=f"{key}-{action}-{row.id}", icon=icon,
                                        help="Like: move the results toward this product (again to undo)"
                                        if action == "like" else "Not this: move the results away from it",
                                        type="primary" if judged.get(row.id) == action else "secondary"):
                            clicked = (action, row.id)
    return clicked


def word_chips(values: list[str], *, key: str) -> list[str]:
    """How the words were read, as chips ("Dresses · Pink · Women") the shopper can switch off.

    Returns the label values switched off.
    """
    if not values:
        return []
    kept = st.pills("Read as (click to drop one)", values, selection_mode="multi", default=values, key=key, wrap=True)
    return [value for value in values if value not in (kept or [])]


def ranking_note(type_first: bool) -> None:
    """One line on why results under type first are not in order of distance."""
    if type_first:
        st.caption("Ordered type first: a product of the type and colour the model predicts comes before a nearer "
                   "one of another, so the distances d shown (the distances themselves) need not rise.")


def prediction_line(predictions: dict[str, list[tuple[str, float]]], *, within: str | None,
                    key: str) -> str | None:
    """"Looks like: Sweatshirts 82% · Purple 71%", and the likeliest types as one-click searches within them.

    Returns the type whose button was clicked ("" for the button back to every type), else ``None``.
    """
    if not predictions:
        return None
    st.markdown("**Looks like:** " + " · ".join(f"{options[0][0]} {options[0][1]:.0%}"
                                                 for options in predictions.values()))
    types = [(name, probability) for name, probability in predictions.get("articleType", [])
             if probability >= MIN_SHOWN_PROBABILITY]
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


def tradeoff_chart(table: pd.DataFrame, n_trees: int, search_k: int, tuning: dict | None = None) -> None:
    """What a tree setting costs: the measured recall / latency curves (``table``, from
    ``benchmarks/annoy_tradeoff.py``), the current setting marked, and the search_k measured for this catalogue."""
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


PHOTO_SIZE = 52  # pixels of a product's photo on the map
# Tableau's 10 colours, its grey swapped for black: as many labels get a colour of their own as there are colours
# that cannot be mistaken for one another (Tableau's 20 paired light and dark blues: Topwear and Socks looked
# alike); the rest share the "other" grey.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#222222", "#bcbd22",
           "#17becf"]
LEGEND_SIZE = len(PALETTE)
OTHER_COLOUR = "#c8c8c8"
RINGED = ("picked product", "its nearest products")


def legend_labels(codes: np.ndarray, label_names: list[str]) -> tuple[np.ndarray, alt.Scale]:
    """Each code's name in the legend (its own for the :data:`LEGEND_SIZE` most common labels, "other (N more)"
    for the rest), and the colour scale that draws them."""
    common = label_names[:LEGEND_SIZE]
    other = f"other ({len(label_names) - len(common)} more)" if len(label_names) > len(common) else None
    shown = np.array(common + [other or ""], dtype=object)
    scale = alt.Scale(domain=common + ([other] if other else []),
                      range=PALETTE[:len(common)] + ([OTHER_COLOUR] if other else []))
    return shown[np.minimum(codes, len(common))], scale


def embedding_map(points: np.ndarray, view, codes: np.ndarray, label_names: list[str], metadata: pd.DataFrame, *,
                  colour_by: str, photos: list[str | None] | None, highlight: pd.DataFrame | None, key: str):
    """The catalogue map of one view (:class:`recommender.MapView`): points, photos or a density grid, the
    picked product and its neighbours ringed (``highlight``: rows and roles).

    Clicks pick a point (``pick``) and a dragged rectangle selects a region (``region``); returns the chart's
    selection state.
    """
    labels, palette = legend_labels(codes, label_names)
    x0, x1, y0, y1 = view.bounds
    x_scale = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    y_scale = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    colour = alt.Color("label:N", scale=palette, legend=alt.Legend(title=colour_by, symbolLimit=LEGEND_SIZE + 1))
    click = alt.selection_point(name="pick", fields=["row"], on="click", clear="dblclick")
    region = alt.selection_interval(name="region", encodings=["x", "y"])
    drawn = pd.DataFrame({"x": points[view.rows, 0], "y": points[view.rows, 1], "row": view.rows,
                          "id": metadata["id"].to_numpy()[view.rows],
                          "name": metadata["productDisplayName"].to_numpy()[view.rows], "label": labels[view.rows]})
    tooltip = ["id:N", "name:N", alt.Tooltip("label:N", title=colour_by)]
    size = 18 if view.density is None else 10
    dots = alt.Chart(drawn).mark_circle(size=size, opacity=0.8).encode(
        x=alt.X("x:Q", axis=None, scale=x_scale), y=alt.Y("y:Q", axis=None, scale=y_scale), color=colour,
        tooltip=tooltip)
    if photos is not None:  # each photo over a larger dot of its label's colour, so the legend still reads
        drawn["photo"] = photos
        pictures = alt.Chart(drawn).mark_image(width=PHOTO_SIZE, height=PHOTO_SIZE).encode(
            x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale), url="photo:N", tooltip=tooltip)
        layers = [dots.mark_circle(size=PHOTO_SIZE * 75, opacity=0.5), pictures.add_params(click, region)]
    else:
        layers = [dots.add_params(click, region)]
    if view.density is not None:
        cells = view.density.assign(label=legend_labels(view.density["label"].to_numpy(), label_names)[0],
                                    shade=np.log1p(view.density["count"]) / np.log1p(view.density["count"].max()))
        layers.insert(0, alt.Chart(cells).mark_rect().encode(
            x=alt.X("x0:Q", axis=None, scale=x_scale), x2="x1:Q", y=alt.Y("y0:Q", axis=None, scale=y_scale),
            y2="y1:Q", color=colour,
            opacity=alt.Opacity("shade:Q", scale=alt.Scale(domain=[0, 1], range=[0.15, 0.9]), legend=None),
            tooltip=[alt.Tooltip("count:Q", title="products", format=","),
                     alt.Tooltip("label:N", title=f"most common {colour_by}")]))
    if highlight is not None:
        layers.append(alt.Chart(highlight).mark_point(filled=False, strokeWidth=2, clip=True).encode(
            x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale),
            shape=alt.Shape("role:N", title="ringed", scale=alt.Scale(domain=list(RINGED))),
            size=alt.condition(f"datum.role == '{RINGED[0]}'", alt.value(400), alt.value(120)),
            color=alt.value("black"), tooltip=["id:N", "name:N"]))
    return st.altair_chart(alt.layer(*layers).properties(height=520), width="stretch", on_select="rerun", key=key,
                           selection_mode=["pick", "region"])


def map_caption(view, *, total: int, method: str, space: str, colour_by: str, zoomed: bool,
                max_points: int, max_photos: int) -> None:
    """What the map shows and how to use it, in one caption."""
    here = f"{view.inside:,} product{'' if view.inside == 1 else 's'}"
    where = f"{method.upper()} map of the {space} space" + (f", zoomed in: {here} of {total:,} here" if zoomed
                                                           else f": {here}")
    if view.density is not None:
        drawing = (f"Too many to draw one by one, so each square is coloured by its most common {colour_by} and "
                   f"shaded by how many products it holds; {len(view.rows):,} of them are drawn as points to click. "
                   f"Zoom in to see every product (at most {max_points:,}) and, closer still, their photos "
                   f"(at most {max_photos}).")
    elif view.photos:
        drawing = "Each drawn as its photo."
    else:
        drawing = f"Each a point; zoom in to {max_photos} or fewer to see their photos."
    st.caption(f"{where}. {drawing} Click a point to pick it (double-click clears); drag a rectangle to list the "
               "products in it and zoom in.")


def region_summary(counts: pd.Series, *, inside: int, limit: int, colour_by: str) -> None:
    """The selected region's size and its most common labels."""
    st.subheader(f"{inside:,} products in the selected region" + (f" (first {limit} shown)" if inside > limit else ""))
    st.dataframe(counts.rename("products").rename_axis(colour_by), width="content")


# Box colours, each bright or dark enough to read on a photo; a box takes the one farthest from what it frames.
BOX_COLOURS = ((255, 75, 75), (31, 119, 180), (255, 212, 0), (0, 200, 83), (255, 255, 255), (20, 20, 20))


def contrasting_colour(image: Image.Image, box: tuple[float, float, float, float]) -> tuple[int, int, int]:
    """The colour of :data:`BOX_COLOURS` farthest (RGB distance) from the mean colour of ``image`` inside ``box``
    (pixel corners): a red box on red trousers could not be seen."""
    region = image.crop(tuple(round(value) for value in box)).convert("RGB")
    mean = np.asarray(region, np.float32).reshape(-1, 3).mean(axis=0) if region.width and region.height else 0
    return max(BOX_COLOURS, key=lambda colour: float(np.linalg.norm(np.asarray(colour, np.float32) - mean)))


def garments_photo(image: Image.Image, garments: list, selected: int | None) -> Image.Image:
    """The photo with each garment's numbered box drawn in a colour that stands out from it (the selected one
    thicker)."""
    from PIL import ImageDraw

    drawn = image.copy()
    draw = ImageDraw.Draw(drawn)
    width, height = image.size
    line = max(2, round(max(width, height) / 150))
    for number, garment in enumerate(garments, start=1):
        left, top, right, bottom = garment.box
        rectangle = (left * width, top * height, right * width, bottom * height)
        colour = contrasting_colour(image, rectangle)
        draw.rectangle(rectangle, outline=colour, width=line * (2 if number == selected else 1))
        draw.rectangle((rectangle[0], rectangle[1], rectangle[0] + 9 * line, rectangle[1] + 9 * line), fill=colour)
        draw.text((rectangle[0] + 2 * line, rectangle[1] + line), str(number),
                  fill="black" if sum(colour) > 450 else "white", font_size=7 * line)
    return drawn
