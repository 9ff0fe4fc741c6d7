"""The search engine, batch first: queries in, each query's ranked catalogue rows and distances out.

:func:`kneighbors` is the one neighbour search of the product, as scikit-learn's ``kneighbors(X)`` is: (m, d)
query vectors in, (m, k) rows and distances out, a single query being a batch of one. The app, the CLI, the
API, the ``similar`` export, every evaluation protocol and the robustness table rank through it, so an
evaluation measures the search shoppers get. :class:`SearchEngine` serves it over a built catalogue: it
keeps the Annoy indexes and heads of each space, puts each query in its space (one head pass per batch), and
predicts the labels that type-first ranking steers by (:func:`predicted_labels`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..features.head import Head
from ..index.annoy import VectorIndex
from ..index.exact import exact_search
from ..store.artifacts import Artifacts
from ..store.manifest import BACKBONE_SPACE
from .ranking import EXACT_MATCH_DISTANCE, Ranker, within_kinds

DEFAULT_K = 5
MAX_K = 50
# Below this many allowed products an exact scan beats asking Annoy for more.
EXACT_SCAN_LIMIT = 20_000


def check_k(k: int) -> int:
    """``k`` where it is a number of results the product answers (1 to :data:`MAX_K`), else ``ValueError``.

    >>> check_k(5)
    5
    """
    if not 1 <= k <= MAX_K:
        raise ValueError(f"Expected 1 <= k <= {MAX_K}, got {k}")
    return k


@dataclass(frozen=True)
class Query:
    """What a search needs of a photo: its backbone vector and colour signature.

    A query made of words, or moved by a shopper's likes, has no photo of its own: it carries its vector in the
    space it is searched in (``given``; ``vector`` None where it has no backbone vector).
    """

    vector: np.ndarray | None
    colour: np.ndarray
    row: int | None = None  # set when the query is a catalogue product
    # A garment worn by a person, cut from its photo, or that photo whole: searched in the manifest's worn space.
    worn: bool = False
    # The garment kinds the finder read it as (a garment cut from a photo): its type is kept within them.
    kinds: tuple[str, ...] = ()
    given: Mapping[str, np.ndarray] = field(default_factory=dict)  # space -> its vector there, where known


@dataclass(frozen=True)
class Neighbours:
    """A batch's answer: each query's rows, best first, padded with -1 (distances NaN) where fewer were found.

    Attributes
    ----------
    rows : (m, k) int64
    distances : (m, k) float32
        Index distances (never the ranking's penalised scores).
    unranked : (m, k) int64
        The index's own nearest rows before any re-ranking (for recall against exact search).
    spaces : tuple of str
        The space each query was searched in.
    """

    rows: np.ndarray
    distances: np.ndarray
    unranked: np.ndarray
    spaces: tuple[str, ...] = ()

    def of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Query ``i``'s rows and distances without the padding."""
        found = self.rows[i] >= 0
        return self.rows[i][found], self.distances[i][found]


def kneighbors(index: VectorIndex, vectors: np.ndarray, ranker: Ranker, *, k: int, search_k: int,
               colours: np.ndarray | None = None, probabilities: Mapping[str, np.ndarray] | None = None,
               exclude: np.ndarray | None = None, allowed: np.ndarray | None = None,
               catalogue_vectors: np.ndarray | None = None) -> Neighbours:
    """Each query's ``k`` best catalogue rows under the ranking rules of ``ranker``.

    Parameters
    ----------
    index : VectorIndex
        Over the catalogue's n vectors of the queries' space.
    vectors : (m, d) array
        The queries, in that space.
    ranker : Ranker
        The ranking rules over the n catalogue rows.
    k : int
    search_k : int
        Annoy nodes inspected per query.
    colours : (m, 64) array, optional
        Needed where the ranker blends in colour.
    probabilities : label -> (m, C), optional
        The queries' predicted labels (:func:`predicted_labels`), needed where the ranker ranks type first.
    exclude : (m,) int, optional
        Each query's own catalogue row, or -1 (nothing is its own neighbour).
    allowed : (n,) bool, optional
        The catalogue rows a filter keeps: still ``k`` results where ``k`` match (a small subset is scanned
        exactly in ``catalogue_vectors``, a large one asked of the index until enough are found).

    Returns
    -------
    Neighbours
    """
    m = len(vectors)
    rows = np.full((m, k), -1, np.int64)
    distances = np.full((m, k), np.nan, np.float32)
    unranked = rows.copy()
    for q in range(m):
        own = None if exclude is None or exclude[q] < 0 else int(exclude[q])
        found, near = _candidates(index, vectors[q], ranker.pool(k, exclude_self=own is not None), allowed,
                                  search_k=search_k, catalogue_vectors=catalogue_vectors)
        unranked[q, :min(k, len(found))] = found[:k]
        found, near = ranker.rank(found, near, exclude=own, query_colour=None if colours is None else colours[q],
                                  probabilities=None if probabilities is None else
                                  {label: p[q] for label, p in probabilities.items()})
        rows[q, :min(k, len(found))], distances[q, :min(k, len(found))] = found[:k], near[:k]
    return Neighbours(rows, distances, unranked)


def _candidates(index: VectorIndex, vector: np.ndarray, count: int, allowed: np.ndarray | None, *, search_k: int,
                catalogue_vectors: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    if allowed is None:
        return index.query(vector, count, search_k=search_k)
    n_allowed, total = int(allowed.sum()), index.n_items
    if n_allowed == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    if n_allowed <= EXACT_SCAN_LIMIT and catalogue_vectors is not None:
        # A filtered subset this small is scanned exactly: fast, and never short of results.
        subset = np.flatnonzero(allowed)
        rows, distances = exact_search(catalogue_vectors[subset], vector, count, metric=index.metric)
        return subset[rows[0]], distances[0]
    wanted = min(total, int(count * total / n_allowed * 2) + count)
    while True:
        rows, distances = index.query(vector, wanted, search_k=max(search_k, index.n_trees * wanted))
        keep = allowed[rows]
        if keep.sum() >= count or wanted >= total:
            return rows[keep][:count], distances[keep][:count]
        wanted = min(total, wanted * 4)


def predicted_labels(head: Head, space_vectors: np.ndarray,
                     kinds: Sequence[Sequence[str]] | None = None) -> dict[str, np.ndarray]:
    """What ``head`` takes queries for: label -> (m, C) probabilities over its classes, each query's
    articleType kept within the garment ``kinds`` the finder read it as (:func:`within_kinds`; empty: as it is)."""
    probabilities = head.predict(np.asarray(space_vectors))
    if kinds is not None and any(kinds) and "articleType" in probabilities:
        probabilities["articleType"] = within_kinds(probabilities["articleType"], head.classes["articleType"],
                                                    kinds).astype(np.float32)
    return probabilities


def space_ranker(artifacts: Artifacts, space: str, rows: np.ndarray | None = None, *, colour_weight: float = 0.0,
                 type_first: bool = True, head: Head | None = None,
                 classes: Mapping[str, np.ndarray] | None = None) -> Ranker:
    """The ranking rules of ``space`` over the catalogue's ``rows`` (a mask or row numbers; all by default):
    the one place that decides which type-first weights apply (a trained space's, where asked for).

    ``classes`` may give every catalogue product's class per weighted label (a cache, whole catalogue only).
    """
    weights = artifacts.type_first_weights(space) if type_first and space != BACKBONE_SPACE else {}
    colours = artifacts.colours if rows is None else np.asarray(artifacts.colours)[rows]
    if not weights:
        return Ranker(colours, colour_weight=colour_weight)
    if classes is None or rows is not None:
        head = head or artifacts.head(space)
        labels = artifacts.metadata if rows is None else artifacts.metadata[rows] if np.asarray(rows).dtype == bool \
            else artifacts.metadata.iloc[rows]
        classes = {label: head.class_index(label, labels[label].to_numpy()) for label in weights}
    return Ranker(colours, colour_weight=colour_weight, label_weights=weights, classes=classes)


class SearchEngine:
    """:func:`kneighbors` over a built catalogue: its indexes, heads and search_k per space, loaded once.

    Shared by every session of a process (the index of a setting is built once, under a lock).

    Parameters
    ----------
    artifacts : Artifacts
        From :func:`recommender.store.artifacts.load_artifacts`.
    """

    def __init__(self, artifacts: Artifacts) -> None:
        self._artifacts = artifacts
        self._indexes: dict[tuple[str, str, int], VectorIndex] = {}
        self._heads: dict[str, Head] = {}
        self._classes: dict[str, dict[str, np.ndarray]] = {}
        self._lock = threading.Lock()

    def space_for(self, query: Query, space: str | None = None) -> str:
        """The space ``query`` is searched in: ``space`` where given, else its kind's default (the worn space
        for a worn garment, the default space otherwise)."""
        return space or self._artifacts.manifest.space_for(query.worn)

    def index(self, *, space: str = BACKBONE_SPACE, n_trees: int | None = None,
              metric: str | None = None) -> VectorIndex:
        """The Annoy index for these settings (built once from stored vectors, then cached)."""
        key = self._index_key(space, n_trees, metric)
        with self._lock:
            if key not in self._indexes:
                self._indexes[key] = self._artifacts.index(space=space, metric=key[1], n_trees=key[2])
            return self._indexes[key]

    def has_index(self, *, space: str = BACKBONE_SPACE, n_trees: int | None = None, metric: str | None = None) -> bool:
        """Whether :meth:`index` for these settings is already loaded (so returns at once)."""
        return self._index_key(space, n_trees, metric) in self._indexes

    def _index_key(self, space: str, n_trees: int | None, metric: str | None) -> tuple[str, str, int]:
        settings = self._artifacts.manifest.index
        return space, metric or settings.metric, n_trees or settings.n_trees

    def head(self, space: str) -> Head:
        """The head of a trained space (read once)."""
        if space not in self._heads:
            self._heads[space] = self._artifacts.head(space)
        return self._heads[space]

    def tuned_search_k(self, space: str) -> int:
        """The search_k measured at build time for this catalogue's index of ``space`` (recall@5 >= 0.99)."""
        return self._artifacts.tuned_search_k(space)

    def ranker(self, space: str, *, colour_weight: float = 0.0, type_first: bool = True) -> Ranker:
        """The ranking rules of ``space`` over the whole catalogue (:func:`space_ranker`; classes computed once)."""
        ranker = space_ranker(self._artifacts, space, colour_weight=colour_weight, type_first=type_first,
                              head=None if space == BACKBONE_SPACE else self.head(space),
                              classes=self._classes.get(space))
        if ranker.label_weights:
            self._classes.setdefault(space, dict(ranker.classes))
        return ranker

    def space_vectors(self, queries: Sequence[Query], space: str) -> np.ndarray:
        """The queries' (m, d) vectors in ``space``: one given with the query, a catalogue product's stored one,
        else the head's, in one pass."""
        if any(query.vector is None and space not in query.given for query in queries):
            raise ValueError(f"A query of words or likes has no vector in the {space!r} space: search it in "
                             f"{sorted({name for query in queries for name in query.given})}")
        if space == BACKBONE_SPACE:
            return np.stack([query.given.get(space, query.vector) for query in queries])
        stored = self._artifacts.space_vectors(space)
        vectors = np.zeros((len(queries), stored.shape[1]), np.float32)
        made = [i for i, query in enumerate(queries) if query.row is None and space not in query.given]
        for i, query in enumerate(queries):
            if space in query.given:
                vectors[i] = query.given[space]
            elif query.row is not None:
                vectors[i] = stored[query.row]
        if made:
            vectors[made] = self.head(space).transform(np.stack([queries[i].vector for i in made]),
                                                        np.stack([queries[i].colour for i in made]))
        return vectors

    def predict(self, queries: Sequence[Query], space: str,
                vectors: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """What the space's head takes each query for: label -> (m, C), within each query's garment kinds
        (:func:`predicted_labels`); empty for the backbone space. ``vectors``: the queries' space vectors."""
        if space == BACKBONE_SPACE:
            return {}
        vectors = self.space_vectors(queries, space) if vectors is None else vectors
        return predicted_labels(self.head(space), vectors, [query.kinds for query in queries])

    def kneighbors(self, queries: Sequence[Query], *, k: int = DEFAULT_K, space: str | None = None,
                   search_k: int | None = None, n_trees: int | None = None, allowed: np.ndarray | None = None,
                   colour_weight: float = 0.0, type_first: bool = True,
                   probabilities: Mapping[str, np.ndarray] | None = None) -> Neighbours:
        """Each query's ``k`` nearest products, ranked (see :func:`kneighbors`).

        Parameters
        ----------
        queries : sequence of Query
        k : int, default 5
            1 to :data:`MAX_K`.
        space : str, optional
            Embedding space; by default each query's kind's (:meth:`space_for`).
        search_k : int, optional
            Annoy nodes to inspect; -1 is ``n_trees * k``. Defaults to the value measured for the space.
        n_trees : int, optional
            Annoy trees; defaults to the manifest's (an index for a new value is built once).
        allowed : (n,) bool, optional
            The rows a filter keeps.
        colour_weight : float, default 0
            Blend in [0, 1]: ranking distance^2 is ``(1 - w) * cnn^2 + w * colour^2``.
        type_first : bool, default True
            In a trained space, rank by distance plus a penalty for types and colours its head finds unlikely
            for the query (weights chosen at training).
        probabilities : label -> (m, C), optional
            The queries' predictions (:meth:`predict`) where the caller made them already, all in ``space``.
        """
        check_k(k)
        spaces = [self.space_for(query, space) for query in queries]
        rows = np.full((len(queries), k), -1, np.int64)
        distances, unranked = np.full((len(queries), k), np.nan, np.float32), rows.copy()
        for name in dict.fromkeys(spaces):
            mine = [i for i, searched in enumerate(spaces) if searched == name]
            batch = [queries[i] for i in mine]
            vectors = self.space_vectors(batch, name)
            ranker = self.ranker(name, colour_weight=colour_weight, type_first=type_first)
            found = kneighbors(
                self.index(space=name, n_trees=n_trees), vectors, ranker, k=k,
                search_k=self.tuned_search_k(name) if search_k is None else search_k,
                colours=np.stack([query.colour for query in batch]),
                probabilities=None if not ranker.label_weights else
                probabilities if probabilities is not None else self.predict(batch, name, vectors),
                exclude=np.array([-1 if query.row is None else query.row for query in batch]),
                allowed=allowed, catalogue_vectors=self._artifacts.space_vectors(name))
            rows[mine], distances[mine], unranked[mine] = found.rows, found.distances, found.unranked
        return Neighbours(rows, distances, unranked, tuple(spaces))

    def nearest(self, vector: np.ndarray) -> tuple[int | None, float]:
        """The catalogue row nearest a backbone ``vector`` and its distance (unit vectors: 0 the same photo, about
        1.4 an unrelated one), or (None, inf) in an empty catalogue."""
        rows, distances = self.index().query(vector, 1, search_k=self.tuned_search_k(BACKBONE_SPACE))
        return (int(rows[0]), float(distances[0])) if len(rows) else (None, float("inf"))

    def exact_row(self, vector: np.ndarray) -> int | None:
        """The catalogue row whose very photo a backbone ``vector`` is (within :data:`EXACT_MATCH_DISTANCE`)."""
        row, distance = self.nearest(vector)
        return row if distance <= EXACT_MATCH_DISTANCE else None
