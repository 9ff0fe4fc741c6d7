"""Find the garments in a photo: numbered boxes with a kind and a score, most prominent first.

The photo is fitted so its longer side is :data:`FINDER_SIZE` (padded to multiples of 16),
ResNet50's stride-16 map is read (the same network as search, on the same runtime), the
garment parser (:class:`~recommender.garments.parser.GarmentParser`) labels every cell, and
each connected region of one garment kind becomes a box. A photo in which one garment fills
most of the frame (a catalogue shot, a shirt on a bed) gives one box, or none, and is then
searched whole: the caller decides (:func:`recommender.search.recommender.Recommender.look`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from ..config import cache_dir, silent
from ..data.colour import colour_signature
from ..data.images import CropBox, border_colour, box_iou, crop, plain_background
from ..features.runtimes import load_map_network
from ..features.weights import Weights
from .kinds import KINDS, SHOWN
from .parser import GarmentParser

# 512 rather than 384: a finer map for bags and shoes. On the tenth of the training street photos the parser
# holds out, recall at IoU >= 0.5 0.560 -> 0.622 (the same parser trained at each size; docs/evaluation.md),
# for a map pass of 1.8x the pixels.
FINDER_SIZE = 512
# The parser's design (recommender.training.finder): "context", each cell read with its eight neighbours, after
# one that read each cell alone (docs/decisions/0012-garments-in-context.md).
PARSER_DESIGN = "context"
MAP_STRIDE = 16
UPSAMPLE = 4  # regions are found on a 4x finer grid than the map's (stride 4 pixels)
MIN_AREA = 0.004  # of the photo: smaller regions are noise (a handbag in a street photo is about 0.7%)
MAX_GARMENTS = 6
MARGIN = 0.08  # of the box's size, added on each side of a garment's query crop
# How regions become garments, chosen on the training street photos the parser held out (every tenth: 70
# photos, 259 garments; recall at IoU >= 0.5 0.517 -> 0.591, docs/evaluation.md): a region grows over the
# cells around it whose probability of its kind is at least GROW_PROBABILITY, and regions of one kind
# within MERGE_GAP_CELLS map cells of each other are one garment.
GROW_PROBABILITY = 0.4
MERGE_GAP_CELLS = 3
# Regions of two kinds whose boxes overlap this much are one garment the parser split between kinds (a jacket
# read partly as a top): a third of the development street photos showed such a pair as two chips. On the same
# held-out training photos, recall at IoU >= 0.5 0.645 -> 0.649 at 0.6, 0.645 at 0.5 (docs/evaluation.md).
SAME_GARMENT_IOU = 0.6


@dataclass(frozen=True)
class Garment:
    """One garment found in a photo.

    Attributes
    ----------
    box : CropBox
        (left, top, right, bottom) as fractions of the photo's width and height.
    kind : str
        One of :data:`recommender.garments.kinds.GARMENT_KINDS`.
    score : float
        The parser's mean probability of that kind over the region, in [0, 1].
    area : float
        The region's share of the photo.
    mask : ndarray of bool, shape (rows, columns)
        The region on the finder's grid (stride 4 px of the fitted photo), over the whole photo.
    other_kinds : tuple of str
        Kinds of the regions found on the same garment and dropped for this one (one garment whose cells the
        parser split between two kinds, :data:`SAME_GARMENT_IOU`).
    """

    box: CropBox
    kind: str
    score: float
    area: float
    mask: np.ndarray = field(compare=False, repr=False)
    other_kinds: tuple[str, ...] = ()

    @property
    def kinds(self) -> tuple[str, ...]:
        """Its kind, then the kinds of the regions found on it and dropped for it (a jacket read partly as a top)."""
        return (self.kind, *self.other_kinds)

    @property
    def label(self) -> str:
        """What a shopper reads on its chip ("Top", "Bag", ...)."""
        return SHOWN[self.kind]

    @property
    def prominence(self) -> float:
        """Area times score: the order garments are offered in."""
        return self.area * self.score


@dataclass(frozen=True)
class Survey:
    """What the finder saw in a photo: its garments (most prominent first), the share of it that is a person's
    skin and hair, and whether its background is plain (a studio shot)."""

    garments: list[Garment]
    person: float
    plain_background: bool


def finder_input(image: Image.Image) -> tuple[np.ndarray, tuple[int, int]]:
    """The photo fitted for the finder: a uint8 array whose sides are multiples of 16, and the fitted photo's
    own (width, height) inside it (the rest is padding in the photo's border colour, right and bottom)."""
    scale = FINDER_SIZE / max(image.size)
    width, height = (max(MAP_STRIDE, round(side * scale)) for side in image.size)
    padded = tuple(-(-side // MAP_STRIDE) * MAP_STRIDE for side in (width, height))
    canvas = Image.new("RGB", padded, border_colour(image))
    canvas.paste(image.resize((width, height), Image.Resampling.BICUBIC), (0, 0))
    return np.asarray(canvas, dtype=np.uint8), (width, height)


class GarmentFinder:
    """Garments in a photo, from a stride-16 map network and a trained parser.

    Parameters
    ----------
    map_network : callable
        uint8 batch (1, H, W, 3) -> float32 (1, H / 16, W / 16, 1024)
        (:func:`recommender.features.runtimes.load_map_network`).
    parser : GarmentParser
    """

    def __init__(self, map_network: Callable[[np.ndarray], np.ndarray], parser: GarmentParser) -> None:
        self.map_network = map_network
        self.parser = parser

    def kind_probabilities(self, image: Image.Image) -> tuple[np.ndarray, tuple[int, int]]:
        """Per-cell kind probabilities on the finer grid, over the fitted photo only: (rows, columns, kinds)."""
        array, (width, height) = finder_input(image)
        probabilities = self.parser.probabilities(self.map_network(array[None])[0])
        fine = ndimage.zoom(probabilities, (UPSAMPLE, UPSAMPLE, 1), order=1)
        step = MAP_STRIDE // UPSAMPLE
        return fine[:-(-height // step), :-(-width // step)], (width, height)

    def find(self, image: Image.Image) -> list[Garment]:
        """The garments in ``image``, most prominent first (at most :data:`MAX_GARMENTS`)."""
        return self.survey(image).garments

    def survey(self, image: Image.Image) -> Survey:
        """The garments in ``image`` and what else decides whether it is searched whole (:class:`Survey`)."""
        probabilities, _ = self.kind_probabilities(image)
        rows, columns = probabilities.shape[:2]
        winner = probabilities.argmax(axis=-1)
        found = []
        for index, kind in enumerate(KINDS):
            if index < 2:  # background and the wearer's skin and hair
                continue
            regions, count = ndimage.label(winner == index, structure=np.ones((3, 3)))
            # Hysteresis: each region grows over the cells around it that are still likely enough of its kind
            # (a sleeve, a strap, a hem), as the garment's own extent does.
            likely, _ = ndimage.label((probabilities[..., index] >= GROW_PROBABILITY) | (regions > 0),
                                      structure=np.ones((3, 3)))
            grown = np.unique(likely[regions > 0]) if count else []
            masks = _merged_touching([likely == region for region in grown])
            for mask in masks:
                area = float(mask.sum()) / (rows * columns)
                if area < MIN_AREA:
                    continue
                ys, xs = np.nonzero(mask)
                box = (xs.min() / columns, ys.min() / rows, (xs.max() + 1) / columns, (ys.max() + 1) / rows)
                found.append(Garment(tuple(float(v) for v in box), kind, float(probabilities[mask, index].mean()),
                                     area, mask))
        garments = _one_per_garment(found)[:MAX_GARMENTS]
        return Survey(garments, float((winner == KINDS.index("person")).mean()), plain_background(image))


def query_box(garment: Garment) -> CropBox:
    """The garment's box with :data:`MARGIN` on each side, within the photo: what its query is cut to.

    >>> query_box(Garment((0.2, 0.5, 0.7, 1.0), "top", 1.0, 0.1, np.zeros((1, 1), bool)))
    (0.16, 0.46, 0.74, 1.0)
    """
    left, top, right, bottom = garment.box
    dx, dy = MARGIN * (right - left), MARGIN * (bottom - top)
    return tuple(round(value, 6) for value in (max(0.0, left - dx), max(0.0, top - dy), min(1.0, right + dx),
                                               min(1.0, bottom + dy)))


def _one_per_garment(found: list[Garment]) -> list[Garment]:
    """Most prominent first, each garment once: a garment whose box overlaps a more prominent one's at IoU >=
    :data:`SAME_GARMENT_IOU` (of another kind: regions of one kind are joined already) is that garment, read
    partly as another kind; its kind is kept in the more prominent one's :attr:`Garment.other_kinds`."""
    kept: list[Garment] = []
    for garment in sorted(found, key=lambda candidate: -candidate.prominence):
        same = next((i for i, other in enumerate(kept) if box_iou(other.box, garment.box) >= SAME_GARMENT_IOU), None)
        if same is None:
            kept.append(garment)
        else:
            other = kept[same]
            kinds = tuple(dict.fromkeys(kind for kind in (*other.other_kinds, *garment.kinds) if kind != other.kind))
            kept[same] = replace(other, other_kinds=kinds)
    return kept


def _merged_touching(masks: list[np.ndarray]) -> list[np.ndarray]:
    """Regions of one kind whose boxes overlap or lie within :data:`MERGE_GAP_CELLS` map cells of each other,
    merged (a top cut in two by a bag strap or an open jacket is one top)."""
    def box(mask: np.ndarray) -> tuple[int, int, int, int]:
        ys, xs = np.nonzero(mask)
        return xs.min(), ys.min(), xs.max(), ys.max()

    merged = list(masks)
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                a, b = box(merged[i]), box(merged[j])
                gap = UPSAMPLE * MERGE_GAP_CELLS
                if a[0] <= b[2] + gap and b[0] <= a[2] + gap and a[1] <= b[3] + gap and b[1] <= a[3] + gap:
                    merged[i] = merged[i] | merged.pop(j)
                    changed = True
                    break
            if changed:
                break
    return merged


def garment_photo(image: Image.Image, garment: Garment, *, blank: bool = False) -> Image.Image:
    """The garment as a catalogue-like photo: its :func:`query_box`; with ``blank``, what lies outside its
    region (grown by one map cell) painted white, as the catalogue's backgrounds are."""
    box = query_box(garment)
    if not blank:
        return crop(image, box)
    grown = ndimage.binary_dilation(garment.mask, iterations=UPSAMPLE)
    keep = Image.fromarray(grown.astype(np.uint8) * 255).resize(image.size, Image.Resampling.NEAREST)
    background = Image.new("RGB", image.size, (255, 255, 255))  # the catalogue's studio white
    return crop(Image.composite(image, background, keep), box)


def garment_colour(image: Image.Image, garment: Garment) -> np.ndarray:
    """The colour signature of the garment's own pixels: its region, the rest of its crop painted white, as a
    catalogue product lies on white (the wearer's skin, the street and the other garments left out)."""
    keep = Image.fromarray(garment.mask.astype(np.uint8) * 255).resize(image.size, Image.Resampling.NEAREST)
    white = Image.new("RGB", image.size, (255, 255, 255))
    return colour_signature(crop(Image.composite(image, white, keep), query_box(garment)))


def finder_path(weights_sha256: str) -> Path:
    """Where the garment parser trained over these backbone weights at :data:`FINDER_SIZE` is kept (the per-user
    cache): a parser trained on maps of another size, or of an earlier design (:data:`PARSER_DESIGN`), is not
    this one, and the first start trains this one once."""
    return cache_dir() / "finder" / f"garment-parser-{weights_sha256[:16]}-{FINDER_SIZE}-{PARSER_DESIGN}.npz"


def load_finder(weights: Weights, runtime: str, *, threads: int | None = None,
                log: Callable[[str], None] = silent) -> GarmentFinder | None:
    """The garment finder for these weights on ``runtime``, or None where no parser has been trained
    (``python -m recommender train-finder``)."""
    path = finder_path(weights.sha256)
    if not path.is_file():
        return None
    return GarmentFinder(load_map_network(weights, runtime, threads=threads, log=log), GarmentParser.load(path))
