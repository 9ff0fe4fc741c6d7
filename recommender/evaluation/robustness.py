"""Photos shoppers actually take: held-out queries re-shot badly, and what each costs.

Each perturbation turns a catalogue-style studio photo into something closer
to a phone photo: cropped, tilted, small on a busy background, too dark or
too flat, heavily compressed, mirrored.  :func:`robustness_evaluation` embeds
the held-out queries under each (the network runs: these are new photos) and
measures articleType and baseColour P@5 against the same index as the clean
queries, with 95% bootstrap intervals
(:func:`recommender.evaluation.robustness.robustness_evaluation`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from ..data.images import ImageError, border_colour, decode_image, foreground_mask
from ..features.weights import Weights
from ..goals import COMPARED_LABELS, MAX_ROBUSTNESS_DROP_POINTS
from ..search.engine import Query, SearchEngine
from ..search.queries import QueryMaker
from ..store.artifacts import Artifacts, load_artifacts
from .metrics import bootstrap_interval
from .protocols import evaluate_vectors, evaluation_splits, space_ranking

CLEAN = "clean photo"


def _crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    side = np.sqrt(0.7)  # a window holding 70% of the frame, anywhere in it
    width, height = image.size
    w, h = int(round(width * side)), int(round(height * side))
    left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    return image.crop((left, top, left + w, top + h))


def _rotate(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    angle = float(rng.uniform(10, 15) * rng.choice([-1, 1]))
    return image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=border_colour(image))


def _clutter(size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A busy background: overlapping shapes in random colours over a noisy texture."""
    noise = rng.integers(90, 200, size=(size[1], size[0], 3), dtype=np.uint8)
    canvas = Image.fromarray(noise)
    draw = ImageDraw.Draw(canvas)
    for _ in range(30):
        x0, y0 = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        x1, y1 = x0 + int(rng.integers(5, size[0] // 2)), y0 + int(rng.integers(5, size[1] // 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)((x0, y0, x1, y1), fill=colour)
    return canvas


def _small_on(background: Callable[[tuple[int, int], np.random.Generator], Image.Image]):
    def perturb(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        width, height = image.size
        canvas = background((width * 2, height * 2), rng)
        mask = Image.fromarray(foreground_mask(image).astype(np.uint8) * 255)
        left, top = int(rng.integers(0, width + 1)), int(rng.integers(0, height + 1))
        canvas.paste(image, (left, top), mask)
        return canvas
    return perturb


def _plain(size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    return Image.new("RGB", size, tuple(int(c) for c in rng.integers(200, 256, 3)))


def _jpeg(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=20)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


PERTURBATIONS: dict[str, Callable[[Image.Image, np.random.Generator], Image.Image]] = {
    "crop 70% of the frame": _crop,
    "rotated 10-15 degrees": _rotate,
    "small, off-centre, plain background": _small_on(_plain),
    "small on a cluttered background": _small_on(_clutter),
    "darker (brightness x0.6)": lambda image, rng: ImageEnhance.Brightness(image).enhance(0.6),
    "brighter (brightness x1.4)": lambda image, rng: ImageEnhance.Brightness(image).enhance(1.4),
    "flat (contrast x0.5)": lambda image, rng: ImageEnhance.Contrast(image).enhance(0.5),
    "JPEG quality 20": _jpeg,
    "mirrored": lambda image, rng: ImageOps.mirror(image),
}


def robustness_report(table: dict) -> str:
    """The robustness table as text, with the goal."""
    lines = [f"{'photo':<38}{'type P@5':>10}{'95% CI':>15}{'colour P@5':>12}{'drop':>7}"]
    for name, row in table.items():
        low, high = row["articleType_interval"]
        lines.append(f"{name:<38}{row['articleType']:>10.3f}{f'{low:.3f}-{high:.3f}':>15}"
                     f"{row['baseColour']:>12.3f}{row['drop_points']:>7.1f}")
    worst = max(row["drop_points"] for row in table.values())
    lines.append(f"largest drop {worst:.1f} points (goal: at most {MAX_ROBUSTNESS_DROP_POINTS:g})")
    return "\n".join(lines)


def robustness_evaluation(artifacts: Artifacts, queries: QueryMaker, query_rows: np.ndarray,
                          catalogue_rows: np.ndarray, *, space: str | None, count: int, type_first: bool = True,
                          seed: int = 0, as_upload: bool = True,
                          progress: Callable[[int, int], None] | None = None) -> dict:
    """articleType and baseColour P@5 of up to ``count`` held-out queries, clean and under each perturbation.

    Parameters
    ----------
    artifacts : Artifacts
        The catalogue.
    queries : QueryMaker
        Its query maker, with the model (the perturbed photos are embedded now).
    query_rows, catalogue_rows : (n,) bool
        The split: queries, and the products the index holds.
    space : str or None
        The embedding space measured; None: each query in its kind's
        (:meth:`recommender.search.engine.SearchEngine.space_for`), as the product searches it.
    count : int
        Queries used (a seeded random subset of ``query_rows``).
    as_upload : bool, default True
        Each photo searched as an upload is (:attr:`recommender.search.queries.PhotoQueries.first`: its most
        prominent garment where the finder, if trained, cuts it into garments); else whole.

    Returns
    -------
    dict
        perturbation name -> {"articleType": P@5, "baseColour": P@5, "articleType_interval": [lo, hi],
        "drop_points": clean minus perturbed articleType P@5, in points}; the clean row is ``"clean photo"``.
    """
    engine, root = SearchEngine(artifacts), artifacts.manifest.dataset
    rows = np.flatnonzero(query_rows)
    rows = np.sort(np.random.default_rng(seed).permutation(rows)[:count])
    catalogue = np.asarray(catalogue_rows, bool).copy()
    catalogue[rows] = False
    metadata = artifacts.metadata
    photos, readable = [], []
    for row in rows:
        try:
            photos.append(decode_image(root / metadata["image"].iloc[row]))
            readable.append(row)
        except (ImageError, OSError):
            continue  # a photo gone or damaged since the build: measured without it
    if not photos:
        raise ValueError(f"None of the held-out photos could be read under {root}")
    rows = np.array(readable)
    query_labels = metadata.iloc[rows].reset_index(drop=True)
    table: dict[str, dict] = {}
    variants = {CLEAN: lambda image, rng: image, **PERTURBATIONS}
    for done, (name, perturb) in enumerate(variants.items()):
        rng = np.random.default_rng(seed)
        shots = [perturb(photo, rng) for photo in photos]
        made = ([queries.photo(shot, first_only=True).first for shot in shots] if as_upload
                else queries.from_images(shots))
        hits = _hits_at_5(artifacts, engine, made, query_labels, catalogue, space=space, type_first=type_first,
                          seed=seed)
        # A label's P@5 over the queries that carry it (a catalogue row may lack a colour).
        table[name] = {label: float(hits[label][query_labels[label].to_numpy() != ""].mean()) for label in hits}
        table[name]["articleType_interval"] = bootstrap_interval(hits["articleType"], seed=seed)
        if progress is not None:
            progress(done + 1, len(variants))
    clean = table[CLEAN]["articleType"]
    for row in table.values():
        row["drop_points"] = round(100 * (clean - row["articleType"]), 1)
    return table


def _hits_at_5(artifacts: Artifacts, engine: SearchEngine, queries: list[Query], labels, catalogue: np.ndarray, *,
               space: str | None, type_first: bool, seed: int) -> dict[str, np.ndarray]:
    """Each query's P@5 of articleType and baseColour against the ``catalogue`` rows, every query searched in
    ``space`` or, where None, in its own kind's (:meth:`SearchEngine.space_for`: a worn garment's can differ)."""
    settings = artifacts.manifest.index
    searched = np.array([engine.space_for(query, space) for query in queries])
    hits = {label: np.zeros(len(queries)) for label in COMPARED_LABELS}
    catalogue_labels = artifacts.metadata[catalogue].reset_index(drop=True)
    for name in dict.fromkeys(searched):
        mine = np.flatnonzero(searched == name)
        vectors = engine.space_vectors([queries[i] for i in mine], name)
        ranker, probabilities = space_ranking(artifacts, name, catalogue, vectors, type_first=type_first,
                                              kinds=[queries[i].kinds for i in mine])
        result = evaluate_vectors(np.asarray(artifacts.space_vectors(name))[catalogue], catalogue_labels, vectors,
                                  labels.iloc[mine].reset_index(drop=True), metric=settings.metric,
                                  n_trees=settings.n_trees, ranker=ranker, seed=seed,
                                  query_colours=np.stack([queries[i].colour for i in mine]),
                                  query_probabilities=probabilities)
        for label in COMPARED_LABELS:
            hits[label][mine] = np.asarray(result["hits_at_5"][label], np.float64) / 5
    return hits


def upload_robustness(root: str | os.PathLike, holdout: float, *, space: str | None, count: int, seed: int = 0,
                      type_first: bool = True, weights: Weights | str | os.PathLike | None = None,
                      progress: Callable[[int, int], None] | None = None) -> dict:
    """:func:`robustness_evaluation` of the catalogue in ``root`` on its grouped split's queries, each photo
    searched as an upload is (the garment finder where one is trained); ``space`` None: each photo in its kind's
    default space. ``progress(done, total)`` after each set of photos, of ``len(PERTURBATIONS) + 1``."""
    from ..search.recommender import Recommender  # the facade loads the finder and the network as search does

    recommender, artifacts = Recommender.load(root, weights=weights), load_artifacts(root)
    splits = evaluation_splits(artifacts, holdout, seed=seed, space=space or artifacts.manifest.searched_space)
    return robustness_evaluation(artifacts, recommender.queries, splits.grouped, ~splits.grouped, space=space,
                                 count=count, type_first=type_first, seed=seed, progress=progress)
