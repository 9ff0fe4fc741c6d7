"""Evaluation protocols: how unseen queries are searched and scored.

Two ways to get unseen queries:

* held out (:func:`holdout_evaluation`): a fraction of the built catalogue,
  at random and in near-duplicate groups (:mod:`recommender.evaluation.splits`),
  is removed from the index and used as queries; their stored vectors are
  exactly what embedding their photos gives, so nothing is re-embedded.
* a folder of other photos (:func:`query_folder_evaluation`), embedded now
  (:func:`embed_folder`; :func:`photo_queries_evaluation` scores photos embedded once).

Each query is searched the way :meth:`recommender.search.recommender.Recommender.search`
searches (the same :class:`~recommender.search.ranking.Ranker`); a neighbour is
relevant for a label when it shares the query's value (articleType, subCategory, ...).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from ..config import silent
from ..data.catalogue import COLOUR_FAMILIES, LABEL_COLUMNS, read_catalogue
from ..data.colour import colour_signature
from ..data.images import CropBox, ImageError, box_iou, crop, decode_image
from ..features.extractor import Extractor
from ..garments.finder import Garment, GarmentFinder, garment_colour, garment_photo, load_finder, query_box
from ..garments.kinds import kind_of_article_type
from ..goals import COMPARED_LABELS
from ..index.annoy import DEFAULT_METRIC, DEFAULT_N_TREES, DEFAULT_SEARCH_K, VectorIndex
from ..index.exact import exact_search
from ..search.ranking import Ranker, within_kinds
from ..search.recommender import Recommender, space_ranker
from ..store.artifacts import Artifacts
from ..store.manifest import BACKBONE_SPACE
from .folder_cache import folder_key, load_embedded, save_embedded
from .metrics import average_precision_at_k, bootstrap_interval, precision_at_k, recall_at_k
from .splits import Splits, make_splits, read_splits

K_VALUES = (1, 5, 10)
# What a query of a photo folder is (embed_folder's query_kind column).
PHOTO, WORN, GARMENT_BOX = "photo, whole", "worn look, whole photo", "garment, annotated box"
FINDER_CROP, FINDER_PICK = "garment, the finder's box at IoU >= 0.5", "garment, the finder's box centred on it"
QUERY_KINDS = (PHOTO, WORN, GARMENT_BOX, FINDER_CROP, FINDER_PICK)
# The kinds of query a product search meets as a garment worn by a person (Query.worn: searched in the worn space).
WORN_KINDS = (WORN, GARMENT_BOX, FINDER_CROP, FINDER_PICK)
MATCH_IOU = 0.5  # a found box this close to an annotated garment's is that garment
# The catalogue's labels, and baseColour read as a colour family (Navy Blue and Blue alike).
EVALUATED_LABELS = (*LABEL_COLUMNS, "colourFamily")
_CHUNK = 256


def evaluate_vectors(catalogue_vectors: np.ndarray, catalogue_labels: pd.DataFrame, query_vectors: np.ndarray,
                     query_labels: pd.DataFrame, *, metric: str = DEFAULT_METRIC, n_trees: int = DEFAULT_N_TREES,
                     search_k: int = DEFAULT_SEARCH_K, ranker: Ranker | None = None,
                     query_colours: np.ndarray | None = None,
                     query_probabilities: Mapping[str, np.ndarray] | None = None, seed: int = 0) -> dict:
    """Label precision of the ranked answers and Annoy's recall against exact search.

    Parameters
    ----------
    catalogue_vectors : (n, d) array
    catalogue_labels : DataFrame with :data:`LABEL_COLUMNS`, n rows
    query_vectors : (m, d) array
    query_labels : DataFrame with :data:`LABEL_COLUMNS`, m rows
    metric, n_trees, search_k : Annoy settings
    ranker : Ranker, optional
        The ranking rules over the n catalogue rows (default: distance alone).
    query_colours : (m, 64) array, optional
        Needed where the ranker blends in colour.
    query_probabilities : label -> (m, C), optional
        The queries' predicted labels, needed where the ranker ranks type first.

    Returns
    -------
    dict
        ``n_queries``, ``n_catalogue``, ``precision_at_k`` (label -> k -> mean, for
        :data:`EVALUATED_LABELS`), ``p5_interval`` (label -> 95% bootstrap interval of P@5),
        ``map_at_10`` (label -> mean), ``annoy_recall_at_k`` (k -> mean),
        ``per_article_type`` (type -> n and P@5 of articleType and baseColour).
    """
    k_max = max(K_VALUES)
    ranker = ranker or Ranker(np.zeros((len(catalogue_vectors), 1), np.float32))
    with tempfile.TemporaryDirectory(prefix="evaluate-") as tmp:
        index = VectorIndex(catalogue_vectors.shape[1], metric=metric, n_trees=n_trees, seed=seed)
        index.build(catalogue_vectors, Path(tmp) / "eval.ann")
        approx, annoy_rows = ranked_neighbours(index, query_vectors, ranker, k=k_max, search_k=search_k,
                                               query_colours=query_colours, query_probabilities=query_probabilities)
        del index
    exact = np.concatenate([
        exact_search(catalogue_vectors, query_vectors[start:start + _CHUNK], k_max, metric=metric)[0]
        for start in range(0, len(query_vectors), _CHUNK)
    ])
    result: dict = {"n_queries": int(len(query_vectors)), "n_catalogue": int(len(catalogue_vectors)),
                    "ranking": "type first" if ranker.label_weights else "distance",
                    "annoy": {"metric": metric, "n_trees": n_trees, "search_k": search_k},
                    "precision_at_k": {}, "p5_interval": {}, "map_at_10": {}}
    catalogue_labels, query_labels = with_colour_family(catalogue_labels), with_colour_family(query_labels)
    relevant_by_label = {}
    for label in EVALUATED_LABELS:
        truth = query_labels[label].to_numpy()
        found = catalogue_labels[label].to_numpy()[approx]
        # A query without this label (a shopper's photo labelled with its type alone) says nothing about it:
        # nothing is relevant to it, and it is left out of the label's figures.
        known = truth != ""
        relevant = (found == truth[:, None]) & known[:, None]
        relevant_by_label[label] = relevant
        if label in COMPARED_LABELS:  # per query, for paired comparisons of two models on the same queries
            result.setdefault("hits_at_5", {})[label] = relevant[:, :5].sum(axis=1).tolist()
        result.setdefault("n_labelled", {})[label] = int(known.sum())
        if not known.any():
            continue
        relevant, truth = relevant[known], truth[known]
        n_relevant = catalogue_labels[label].value_counts().reindex(truth).fillna(0).to_numpy()
        result["precision_at_k"][label] = {str(k): float(precision_at_k(relevant, k).mean()) for k in K_VALUES}
        result["p5_interval"][label] = bootstrap_interval(precision_at_k(relevant, 5), seed=seed)
        result["map_at_10"][label] = float(average_precision_at_k(relevant, 10, n_relevant).mean())
    result["annoy_recall_at_k"] = {str(k): float(recall_at_k(annoy_rows, exact, k).mean()) for k in K_VALUES}
    per_type = {}
    types = query_labels["articleType"].to_numpy()
    p5_type = precision_at_k(relevant_by_label["articleType"], 5)
    p5_colour = precision_at_k(relevant_by_label["baseColour"], 5)
    coloured = query_labels["baseColour"].to_numpy() != ""
    for name in sorted(set(types)):
        mask = types == name
        per_type[name] = {"n": int(mask.sum()), "articleType_p5": float(p5_type[mask].mean()),
                          "baseColour_p5": float(p5_colour[mask & coloured].mean()) if (mask & coloured).any()
                          else None}
    result["per_article_type"] = per_type
    return result




def ranked_neighbours(index: VectorIndex, query_vectors: np.ndarray, ranker: Ranker, *, k: int, search_k: int,
                      query_colours: np.ndarray | None = None,
                      query_probabilities: Mapping[str, np.ndarray] | None = None,
                      exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each query's ``k`` best rows as the search ranks them, and Annoy's own answer before any re-ranking.

    Returns two (m, k) int64 arrays (-1 where fewer than ``k`` were found).  ``exclude`` gives each query's
    own row (or -1), as a catalogue product used as a query has.
    """
    ranked = np.full((len(query_vectors), k), -1, np.int64)
    annoy_rows = ranked.copy()
    for q, vector in enumerate(query_vectors):
        own = None if exclude is None or exclude[q] < 0 else int(exclude[q])
        rows, distances = index.query(vector, ranker.pool(k, exclude_self=own is not None), search_k=search_k)
        annoy_rows[q, :min(k, len(rows))] = rows[:k]
        rows, _ = ranker.rank(rows, distances, exclude=own,
                              query_colour=None if query_colours is None else query_colours[q],
                              probabilities=None if query_probabilities is None else
                              {label: p[q] for label, p in query_probabilities.items()})
        ranked[q, :min(k, len(rows))] = rows[:k]
    return ranked, annoy_rows


def space_ranking(artifacts: Artifacts, space: str, catalogue_rows: np.ndarray, query_space_vectors: np.ndarray,
                  *, colour_weight: float = 0.0, type_first: bool = True,
                  kinds: Sequence[Sequence[str]] | None = None) -> tuple[Ranker, dict[str, np.ndarray] | None]:
    """The search's ranking rules over some catalogue rows (:func:`recommender.search.recommender.space_ranker`),
    and the queries' predicted labels where it ranks type first, each query's articleType kept within its
    ``kinds`` (the garment kinds the finder read it as, as :attr:`Query.kinds`; :func:`within_kinds`)."""
    ranker = space_ranker(artifacts, space, np.asarray(catalogue_rows), colour_weight=colour_weight,
                          type_first=type_first)
    if not ranker.label_weights:
        return ranker, None
    head = artifacts.head(space)
    probabilities = head.predict(query_space_vectors)
    if kinds is not None and "articleType" in probabilities:
        probabilities["articleType"] = within_kinds(probabilities["articleType"], head.classes["articleType"],
                                                    kinds).astype(np.float32)
    return ranker, probabilities


def with_colour_family(labels: pd.DataFrame) -> pd.DataFrame:
    """The labels with a ``colourFamily`` column (:data:`recommender.catalogue.COLOUR_FAMILIES`)."""
    if "colourFamily" in labels:
        return labels
    return labels.assign(colourFamily=labels["baseColour"].map(COLOUR_FAMILIES).fillna(""))


def evaluation_splits(artifacts: Artifacts, fraction: float, *, seed: int = 0, space: str | None = None) -> Splits:
    """The build's random, grouped and validation splits for ``fraction`` and ``seed``.

    A trained space keeps the split it was trained with (``space`` first, then
    any other); every space is then measured on the same products.  Without
    one, the split is made from the backbone vectors.
    """
    entries = artifacts.manifest.spaces
    for name in sorted(entries, key=lambda name: name != space):
        if entries[name].split is not None:
            splits, settings = read_splits(artifacts.root / entries[name].split.name, artifacts.metadata)
            if settings["fraction"] == fraction and settings["seed"] == seed:
                return splits
    return make_splits(artifacts.metadata, np.asarray(artifacts.vectors), fraction, seed=seed)


def split_evaluation(artifacts: Artifacts, query_rows: np.ndarray, catalogue_rows: np.ndarray, *,
                     space: str = BACKBONE_SPACE, colour_weight: float = 0.0, type_first: bool = True,
                     n_trees: int | None = None, search_k: int | None = None, seed: int = 0) -> dict:
    """Evaluate a build with some of its products as queries against an index of others.

    The stored vectors of the query products are exactly what embedding their
    photos gives, so nothing is re-embedded.  ``type_first`` re-ranks by the
    space's predicted labels where the space was trained with them.
    """
    metadata = artifacts.metadata
    is_query, is_catalogue = np.asarray(query_rows, bool), np.asarray(catalogue_rows, bool) & ~np.asarray(query_rows)
    vectors = np.asarray(artifacts.space_vectors(space))
    ranker, probabilities = space_ranking(artifacts, space, is_catalogue, vectors[is_query],
                                         colour_weight=colour_weight, type_first=type_first)
    settings = artifacts.manifest.index
    return evaluate_vectors(vectors[is_catalogue], metadata[is_catalogue].reset_index(drop=True),
                            vectors[is_query], metadata[is_query].reset_index(drop=True),
                            metric=settings.metric, n_trees=n_trees or settings.n_trees,
                            search_k=artifacts.tuned_search_k(space) if search_k is None else search_k,
                            ranker=ranker, query_colours=np.asarray(artifacts.colours)[is_query],
                            query_probabilities=probabilities, seed=seed)


def holdout_evaluation(artifacts: Artifacts, fraction: float, *, space: str = BACKBONE_SPACE, seed: int = 0,
                       colour_weight: float = 0.0, type_first: bool = True, n_trees: int | None = None,
                       search_k: int | None = None, baseline: Artifacts | None = None,
                       log: Callable[[str], None] = silent) -> dict:
    """Evaluate a build on its held-out products: the random split, and the near-duplicate-grouped one.

    The top level holds the random split's figures (the keys of every earlier
    evaluation); ``"grouped"`` holds the same figures for the grouped split.
    With ``baseline`` (another build, e.g. of the original design's recipe),
    both are evaluated on the same queries and catalogue, restricted to
    products both builds hold; the result then has a ``"baseline"`` entry.  ``log`` is told where the
    queries may include products the space was trained on.
    """
    splits = evaluation_splits(artifacts, fraction, seed=seed, space=space)
    if (warning := trained_on_warning(artifacts, space, fraction, seed)) is not None:
        log(warning)
    options = dict(colour_weight=colour_weight, n_trees=n_trees, search_k=search_k, seed=seed)
    result: dict = {}
    for name in ("random", "grouped"):
        queries = splits.test(name)
        catalogue = ~queries
        if name == "grouped" and not queries.any():
            result["grouped"] = {"n_queries": 0}  # every product is in one group: nothing can be held out
            continue
        if baseline is not None:
            shared = artifacts.metadata["id"].isin(set(baseline.metadata["id"])).to_numpy()
            queries, catalogue = queries & shared, catalogue & shared
            on_baseline = {key: baseline.metadata["id"].isin(set(artifacts.metadata["id"][rows])).to_numpy()
                           for key, rows in (("queries", queries), ("catalogue", catalogue))}
            measured = split_evaluation(baseline, on_baseline["queries"], on_baseline["catalogue"], **options)
            measured.update(space=BACKBONE_SPACE, features=baseline.manifest.features.to_json())
            _nest(result, name, "baseline", measured)
        measured = split_evaluation(artifacts, queries, catalogue, space=space, type_first=type_first, **options)
        _nest(result, name, None, measured)
    result.update(space=space, holdout=fraction, colour_weight=colour_weight, type_first=type_first,
                  features=artifacts.manifest.features.to_json())
    return result


def grouped_result(result: dict) -> dict | None:
    """An evaluation's grouped-split figures, or None where it has none."""
    grouped = result.get("grouped")
    return grouped if grouped and grouped["n_queries"] > 0 else None


def _nest(result: dict, split: str, key: str | None, measured: dict) -> None:
    """Random-split figures at the top level (or under ``key``), grouped ones under ``"grouped"``."""
    target = result if split == "random" else result.setdefault("grouped", {})
    if key is None:
        target.update(measured)
    else:
        target[key] = measured


@dataclass(frozen=True)
class PhotoFolder:
    """A folder of photos in the Kaggle layout, embedded: its readable photos' labels, vectors and colours."""

    folder: Path
    items: pd.DataFrame  # the readable photos' rows of styles.csv ("" where a label is unknown)
    vectors: np.ndarray  # (n, 2048) backbone vectors
    colours: np.ndarray  # (n, 64) colour signatures

    @staticmethod
    def joined(folders: Sequence[PhotoFolder]) -> PhotoFolder:
        """Several embedded folders as one (the first one's folder named)."""
        return PhotoFolder(folders[0].folder, pd.concat([f.items for f in folders], ignore_index=True),
                           np.concatenate([f.vectors for f in folders]), np.concatenate([f.colours for f in folders]))


def embed_folder(extractor: Extractor, folder: str | os.PathLike, *, styles: str | None = None,
                 labelled_only: bool = True, garments: bool = False, progress: bool = False) -> PhotoFolder:
    """Embed the photos of a Kaggle-layout folder with ``extractor`` (the catalogue's), unreadable ones left out.

    ``labelled_only`` keeps only photos with an articleType (queries need one to be scored). With
    ``garments``, every garment annotated in the folder's ``garments.csv`` (id, articleType, x0, y0, x1, y1 in
    the photo's pixels) is a query too, cut to its box with the finder's margin, as a shopper who picks it in
    the photo searches it. Each query's ``query_kind`` column says which it is (:data:`QUERY_KINDS`).
    ``progress``: a bar on stderr. Embedded once per machine (:mod:`recommender.evaluation.folder_cache`).
    """
    catalogue = read_catalogue(folder, styles=styles or "styles.csv")
    items = catalogue.items[catalogue.items["articleType"] != ""] if labelled_only else catalogue.items
    items = items.reset_index(drop=True)
    if items.empty:
        raise ValueError(f"No labelled photos in {folder} (is {styles or 'its styles.csv'} there?)")
    how = {"features": extractor.settings.to_json(), "labelled_only": labelled_only, "garments": garments}
    key = folder_key(catalogue.root, how, styles=str(styles or "styles.csv"))
    kept = load_embedded(key)
    if kept is not None:
        return PhotoFolder(catalogue.root, *kept)
    photos = _embed_photos(extractor, catalogue.root, items, garments=garments, progress=progress)
    save_embedded(key, photos.items, photos.vectors, photos.colours)
    return photos


def _embed_photos(extractor: Extractor, root: Path, items: pd.DataFrame, *, garments: bool,
                  progress: bool) -> PhotoFolder:
    """:func:`embed_folder`'s work: the folder's photos (``items``, its rows), then its annotated garments."""
    vectors, colours, good = [], [], []
    bar = tqdm(total=len(items), desc="Embedding the query photos", unit="photo", disable=not progress)
    for batch in extractor.embed_files([root / rel for rel in items["image"]]):
        bar.update(len(batch.errors))
        for i, error in enumerate(batch.errors):
            if error is None:
                vectors.append(batch.vectors[i])
                colours.append(batch.colours[i])
                good.append(batch.start + i)
    bar.close()
    if not good:
        raise ValueError(f"No readable photo in {root}")
    photos = PhotoFolder(root, items.iloc[good].reset_index(drop=True), np.stack(vectors), np.stack(colours))
    table = root / "garments.csv"
    worn = set(annotated_garments(table)["id"]) if table.is_file() else set()
    photos.items["query_kind"] = np.where(photos.items["id"].astype(str).isin(worn), WORN, PHOTO)
    if not (garments and worn):
        return photos
    boxes = _embedded(extractor, root, _box_crops(root, table), GARMENT_BOX, progress=progress,
                      what="annotated garments")
    joined = PhotoFolder.joined([photos, boxes])
    return replace(joined, items=joined.items.fillna(""))  # a garment's row knows no season: "", as unknown


def annotated_garments(table: str | os.PathLike) -> pd.DataFrame:
    """A ``garments.csv``: one row per garment a shopper might pick (id of its photo, articleType, x0..y1)."""
    return pd.read_csv(table, dtype={"id": str, "articleType": str}, keep_default_na=False)


def garment_crops(root: Path, table: Path, finder: GarmentFinder, *, progress: bool = False
                  ) -> tuple[list[Image.Image], pd.DataFrame, np.ndarray]:
    """Every annotated garment as a shopper who picks it among the finder's boxes searches it, two ways.

    :data:`FINDER_CROP`: the found garment of its kind (among its :attr:`~recommender.garments.finder.Garment.kinds`:
    a jacket the parser read partly as a top is a jacket's box) that overlaps its annotated box most, at IoU >=
    0.5 (the detection benchmarks' match). :data:`FINDER_PICK`: of the found garments of its kind whose box is
    centred within its annotated box (the chip a shopper would click for it: a bag's box without its strap),
    the one that overlaps it most. Each is queried as :func:`recommender.search.look.garment_queries` makes
    it (its crop, its own pixels' colour, its kinds: ``garment_kinds``); where none is found, the whole photo.
    Returns the photos, rows (``query_kind``, the garment's ``kind``, whether a box of its kind and of any kind
    matched it at IoU >= 0.5: ``found_same``, ``found_any``) and the colour signatures.
    """
    images, rows, colours = [], [], []
    photos = _annotated_photos(root, table)
    for photo_id, image, annotated in tqdm(photos, desc="Finding the garments", unit="photo", disable=not progress,
                                           total=annotated_garments(table)["id"].nunique()):
        found = finder.find(image)
        for number, garment in enumerate(annotated.itertuples(), start=1):
            kind = kind_of_article_type(garment.articleType)
            box = _fraction_box(garment, image)
            overlaps = [(box_iou(box, candidate.box), candidate) for candidate in found]
            same = [(value, candidate) for value, candidate in overlaps if kind in candidate.kinds]
            matched = max(same, key=lambda pair: pair[0], default=(0.0, None))
            centred = max(((value, candidate) for value, candidate in same if _centred_in(candidate.box, box)),
                          key=lambda pair: pair[0], default=(0.0, None))
            row = _garment_row(photo_id, number, garment.articleType) | {
                "kind": kind or "", "found_same": matched[0] >= MATCH_IOU,
                "found_any": any(value >= MATCH_IOU for value, _ in overlaps)}
            for query_kind, picked in ((FINDER_CROP, matched[1] if matched[0] >= MATCH_IOU else None),
                                       (FINDER_PICK, centred[1])):
                images.append(image if picked is None else garment_photo(image, picked))
                colours.append(colour_signature(image) if picked is None else garment_colour(image, picked))
                rows.append(row | {"query_kind": query_kind, "picked": picked is not None,
                                   "garment_kinds": "" if picked is None else "|".join(picked.kinds)})
    return images, pd.DataFrame(rows), np.stack(colours)


def _centred_in(inner: CropBox, outer: CropBox) -> bool:
    x, y = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= x <= outer[2] and outer[1] <= y <= outer[3]


def finder_folder(extractor: Extractor, folder: str | os.PathLike, finder: GarmentFinder, *,
                  progress: bool = False) -> PhotoFolder | None:
    """The annotated garments of ``folder`` as the finder crops them (:func:`garment_crops`), embedded; None
    where the folder annotates no garment."""
    root = Path(folder)
    table = root / "garments.csv"
    if not table.is_file():
        return None
    return _embedded(extractor, root, garment_crops(root, table, finder, progress=progress), progress=progress,
                     what="garments the finder cut")


def finder_recall(items: pd.DataFrame) -> dict:
    """The finder's recall per garment kind and in all, from :func:`garment_crops`' rows: kind -> {"n",
    "same_kind", "any_kind"} (a found box of the garment's kind, or of any kind, at IoU >= 0.5)."""
    looked_for = items[(items["kind"] != "") & (items["query_kind"] == FINDER_CROP)]
    return {kind: {"n": len(group), "same_kind": float(group["found_same"].mean()),
                   "any_kind": float(group["found_any"].mean())}
            for kind, group in [*looked_for.groupby("kind"), ("all", looked_for)]}


def _box_crops(root: Path, table: Path) -> tuple[list[Image.Image], pd.DataFrame, np.ndarray]:
    images, rows = [], []
    for photo_id, image, annotated in _annotated_photos(root, table):
        for number, garment in enumerate(annotated.itertuples(), start=1):
            box = _fraction_box(garment, image)
            images.append(crop(image, query_box(Garment(box, "top", 1.0, 0.0, np.zeros((1, 1), bool)))))
            rows.append(_garment_row(photo_id, number, garment.articleType))
    return images, pd.DataFrame(rows), np.stack([colour_signature(image) for image in images])


def _annotated_photos(root: Path, table: Path):
    for photo_id, annotated in annotated_garments(table).groupby("id", sort=True):
        try:
            yield photo_id, decode_image(root / "images" / f"{photo_id}.jpg"), annotated
        except ImageError:
            continue


def _fraction_box(garment, image: Image.Image) -> CropBox:
    return garment.x0 / image.width, garment.y0 / image.height, garment.x1 / image.width, garment.y1 / image.height


def _garment_row(photo_id: str, number: int, article_type: str) -> dict:
    return {column: "" for column in LABEL_COLUMNS} | {"id": f"{photo_id}-{number}", "image": "",
                                                       "articleType": article_type}


def _embedded(extractor: Extractor, root: Path, crops: tuple[list[Image.Image], pd.DataFrame, np.ndarray],
              kind: str | None = None, *, progress: bool = False, what: str = "crops") -> PhotoFolder:
    """Crops embedded as queries of ``kind`` (None: the rows say theirs); ``what`` names them on the bar."""
    images, rows, colours = crops
    step = extractor.batch_size
    vectors = [extractor.embed_images(images[start:start + step])
               for start in tqdm(range(0, len(images), step), desc=f"Embedding the {what}", unit="batch",
                                 disable=not progress)]
    return PhotoFolder(root, rows if kind is None else rows.assign(query_kind=kind),
                       np.concatenate(vectors) if vectors else extractor.embed_images([]), colours)


def worn_queries(items: pd.DataFrame) -> np.ndarray:
    """Which of a photo folder's queries (:func:`embed_folder`'s rows) are garments worn by a person, or their
    photo whole (:data:`WORN_KINDS`): a mask."""
    return items["query_kind"].isin(WORN_KINDS).to_numpy() if "query_kind" in items else np.zeros(len(items), bool)


def by_query_kind(result: dict, items: pd.DataFrame, *, seed: int = 0) -> dict:
    """articleType P@5 of each kind of query (:data:`QUERY_KINDS`) in an evaluation of ``items``' queries,
    with 95% bootstrap intervals: kind -> {"n", "articleType_p5", "interval"}."""
    hits = np.asarray(result["hits_at_5"]["articleType"], np.float64) / 5
    kinds = items["query_kind"].to_numpy() if "query_kind" in items else np.full(len(items), PHOTO)
    return {kind: {"n": int((kinds == kind).sum()), "articleType_p5": float(hits[kinds == kind].mean()),
                   "interval": bootstrap_interval(hits[kinds == kind], seed=seed)}
            for kind in QUERY_KINDS if (kinds == kind).any()}


def photo_queries_evaluation(artifacts: Artifacts, photos: PhotoFolder, *, space: str = BACKBONE_SPACE,
                             colour_weight: float = 0.0, type_first: bool = True, n_trees: int | None = None,
                             search_k: int | None = None) -> dict:
    """Evaluate a catalogue with embedded photos of other products as queries (see :func:`embed_folder`)."""
    vectors = photos.vectors
    if space != BACKBONE_SPACE:
        vectors = artifacts.head(space).transform(vectors, photos.colours)
    everything = np.arange(len(artifacts.metadata))
    kinds = None
    if "garment_kinds" in photos.items:  # garments the finder cut, searched within the kinds it read them as
        kinds = [value.split("|") if value else () for value in photos.items["garment_kinds"].fillna("").astype(str)]
    ranker, probabilities = space_ranking(artifacts, space, everything, vectors, colour_weight=colour_weight,
                                         type_first=type_first, kinds=kinds)
    settings = artifacts.manifest.index
    result = evaluate_vectors(np.asarray(artifacts.space_vectors(space)), artifacts.metadata, vectors, photos.items,
                              metric=settings.metric, n_trees=n_trees or settings.n_trees,
                              search_k=artifacts.tuned_search_k(space) if search_k is None else search_k,
                              ranker=ranker, query_colours=photos.colours, query_probabilities=probabilities)
    kinds = {kind: {**row, "space": space} for kind, row in by_query_kind(result, photos.items).items()}
    result.update(space=space, queries=str(photos.folder), colour_weight=colour_weight, type_first=type_first,
                  features=artifacts.manifest.features.to_json(), by_query_kind=kinds)
    return result


def query_folder_evaluation(root: str, query_dir: str, styles: str, *, space: str | None = None,
                            colour_weight: float = 0.0, type_first: bool = True, n_trees: int | None = None,
                            search_k: int | None = None, weights: str | None = None, progress: bool = False) -> dict:
    """Evaluate a built catalogue with photos of other products (embedded now, with bars on stderr where
    ``progress``), by kind of query.

    The folder's photos are searched whole, and the garments its ``garments.csv`` annotates cut to their
    boxes; where a garment finder is trained, those garments also as a shopper picks them among the finder's
    boxes (reported by kind, with the finder's recall, apart from the whole figures). ``space`` None: each kind
    of query in the space the product searches it in (:meth:`~recommender.store.manifest.Manifest.space_for`;
    the whole figures are the product photos' space's, each kind's row names its space).
    """
    recommender = Recommender.load(root, weights=weights)
    extractor, manifest = recommender.extractor, recommender.artifacts.manifest
    finder = load_finder(extractor.weights, extractor.runtime)
    photos = embed_folder(recommender.extractor, query_dir, styles=styles, garments=True, progress=progress)
    settings = dict(colour_weight=colour_weight, type_first=type_first, n_trees=n_trees, search_k=search_k)
    product_space, worn_space = space or manifest.searched_space, space or manifest.space_for(worn=True)
    result = photo_queries_evaluation(recommender.artifacts, photos, space=product_space, **settings)
    if worn_space != product_space:
        worn = photo_queries_evaluation(recommender.artifacts, photos, space=worn_space, **settings)
        result["by_query_kind"].update({kind: row for kind, row in worn["by_query_kind"].items() if kind in WORN_KINDS})
    crops = finder_folder(recommender.extractor, query_dir, finder, progress=progress) if finder is not None else None
    if crops is not None:
        found = photo_queries_evaluation(recommender.artifacts, crops, space=worn_space, **settings)
        result["by_query_kind"].update(found["by_query_kind"])
        result["finder_recall"] = finder_recall(crops.items)
    return result


def trained_on_warning(artifacts: Artifacts, space: str, fraction: float, seed: int) -> str | None:
    """Why held-out queries of ``fraction`` and ``seed`` may include products ``space`` was trained on, or None."""
    if space == BACKBONE_SPACE:
        return None
    trained = artifacts.manifest.spaces[space].training
    if trained["holdout"] < fraction or trained["seed"] != seed:
        return (f"warning: space {space!r} was trained with holdout {trained['holdout']} seed {trained['seed']}; "
                f"queries of holdout {fraction} seed {seed} may include training products")
    return None
