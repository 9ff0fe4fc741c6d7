"""A search asked in words, a photo refined by words, and results moved by a shopper's likes.

The rules, in one place (docs/decisions/0014-words-beside-the-photo.md):

* Words that name a catalogue label (:func:`recommender.search.words.read_words`) keep the products that carry
  it: "navy shirt for men" searches navy blue men's shirts only.
* With a photo, the words change what they name and keep the rest: the photo's predicted type stays (unless the
  words name a type), its look is the vector searched. "in red" finds the red products of its type nearest to it.
* Without a photo, the words are the vector searched: the space's text model
  (:class:`recommender.features.text.TextModel`) puts them where products with those words in their names and
  labels lie, so "floral summer dress" finds floral dresses whose names never say floral. Other known words also
  keep the products whose names say them, where at least ``k`` do.
* Likes and dislikes move the query toward the liked products and away from the disliked ones in the space
  (Rocchio); the labels every liked product shares are kept; a disliked product is not shown again.
* Where the labels asked for leave no product, those the photo or the likes implied are let go first, then the
  least telling of the words', each said.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..data.colour import COLOUR_DIM
from ..features.extractor import l2_normalise
from ..features.text import TextModel
from ..store.artifacts import Artifacts
from ..store.manifest import BACKBONE_SPACE
from .catalogue import CatalogueView
from .engine import Query, SearchEngine
from .words import WORD_LABELS, Vocabulary, WordsRead, label_mask, names_mask, read_words

# Rocchio: the query kept whole, moved toward the mean liked product and away from the mean disliked one.
LIKE_WEIGHT, DISLIKE_WEIGHT = 0.75, 0.25
# Labels let go first where the labels asked for leave no product.
RELAX_ORDER = ("season", "usage", "masterCategory", "subCategory", "gender", "baseColour", "articleType")
# Labels a photo keeps unless the words name them.
PHOTO_KEEPS = ("articleType",)
_TYPE_LABELS = ("articleType", "subCategory", "masterCategory")


class NothingToSearch(ValueError):
    """A search with no photo, no product, no word this catalogue knows and no like."""


@dataclass(frozen=True)
class Asked:
    """What a search asks for: the query searched (its vector given in the space where words or likes made or
    moved it), the labels every result carries, the rows it may show (None: any), how the words were read,
    and what the shopper should know."""

    query: Query
    space: str
    labels: dict[str, str]
    allowed: np.ndarray | None
    reading: WordsRead | None
    notes: tuple[str, ...]

    @property
    def chips(self) -> list[str]:
        """The labels every result carries, as a shopper reads them ("Dresses · Pink · Women")."""
        return [self.labels[label] for label in WORD_LABELS if label in self.labels]


class Asker:
    """Words, a photo and likes made into one search of a catalogue (see the module's rules).

    Parameters
    ----------
    artifacts : Artifacts
        The catalogue (its text models and stored vectors).
    catalogue : CatalogueView
    engine : SearchEngine
    """

    def __init__(self, artifacts: Artifacts, catalogue: CatalogueView, engine: SearchEngine) -> None:
        self._artifacts, self._catalogue, self._engine = artifacts, catalogue, engine
        self._vocabulary: Vocabulary | None = None
        self._models: dict[str, TextModel | None] = {}
        self._lock = threading.Lock()

    @property
    def vocabulary(self) -> Vocabulary:
        """The catalogue's words (made once)."""
        with self._lock:
            if self._vocabulary is None:
                self._vocabulary = Vocabulary.of(self._catalogue.metadata)
            return self._vocabulary

    def text_model(self, space: str) -> TextModel | None:
        """The space's text model, read once (None where the space has none)."""
        with self._lock:
            if space not in self._models:
                self._models[space] = None if space == BACKBONE_SPACE else self._artifacts.words(space)
            return self._models[space]

    def read(self, text: str) -> WordsRead:
        """How the catalogue reads a text (:func:`recommender.search.words.read_words`)."""
        return read_words(text, self.vocabulary)

    def ask(self, *, text: str = "", query: Query | None = None, like: Sequence[str] = (),
            dislike: Sequence[str] = (), drop: Sequence[str] = (), space: str | None = None,
            k: int = 5) -> Asked:
        """The search that words, a photo (or product) ``query`` and liked or disliked product ids ask for.

        ``drop``: label values of the reading the shopper removed (its chips). Raises :class:`NothingToSearch`
        where nothing can be searched, ``KeyError`` for a product id the catalogue lacks.
        """
        reading = self.read(text) if text.strip() else None
        if reading is not None and drop:
            reading = replace(reading, labels={label: value for label, value in reading.labels.items()
                                               if value not in drop})
        liked = [self._catalogue.row_of(item) for item in like]
        disliked = [self._catalogue.row_of(item) for item in dislike]
        if query is None and (reading is None or reading.empty) and not liked:
            why = "; ".join(reading.notes) if reading is not None and reading.notes else "the words are empty"
            raise NothingToSearch(f"Nothing to search: {why} (type a product's type, colour or name, or add a "
                                  "photo)")
        space = self._space(query, space)
        labels = dict(reading.labels) if reading is not None else {}
        notes = list(reading.notes) if reading is not None else []
        implied = self._kept_by_photo(query, space, labels) if query is not None and reading is not None else {}
        labels |= implied
        vector = self._vector(query, reading, labels, space)
        if liked or disliked:
            vector = self._moved(vector, liked, disliked, space)
            shared = self._shared(liked)
            implied |= {label: value for label, value in shared.items() if label not in labels}
            labels = shared | labels
        labels, relaxed = self._relaxed(labels, [*implied, *RELAX_ORDER], excluded=disliked)
        notes += relaxed
        given = {space: vector}
        searched = Query(None, np.zeros(COLOUR_DIM, np.float32), given=given) if query is None \
            else replace(query, given=given)
        allowed = self._allowed(labels, reading.words if reading is not None and query is None else (), disliked,
                                k=k, notes=notes)
        return Asked(searched, space, labels, allowed, reading, tuple(notes))

    def _allowed(self, labels: dict[str, str], words: Sequence[str], excluded: Sequence[int], *, k: int,
                 notes: list[str]) -> np.ndarray | None:
        """The rows a search may show: the products carrying its ``labels``, the ``excluded`` (disliked) left
        out, and the products whose names say all of ``words`` (a search of words alone), where at least ``k``
        do; else ``notes`` hears that they are ranked by look."""
        metadata = self._catalogue.metadata
        mask = label_mask(metadata, labels).to_numpy().copy() if labels else None
        if words:
            named = names_mask(metadata, words).to_numpy()
            narrowed = named if mask is None else mask & named
            if narrowed.sum() >= k:
                mask = narrowed
            else:
                quoted = " ".join(f"'{word}'" for word in words)
                notes.append(f"Few products' names say {quoted}: ranked by how they look instead.")
        if excluded:
            mask = np.ones(len(metadata), bool) if mask is None else mask.copy()
            mask[list(excluded)] = False
        return mask

    def _space(self, query: Query | None, space: str | None) -> str:
        """The space searched: a photo's kind's (or the one asked for); words in a trained space, one with a
        text model first, since the ImageNet space reads no words."""
        if query is not None:
            return self._engine.space_for(query, space)
        space = space or self._catalogue.default_space
        return self._trained(space) or space

    def _trained(self, space: str) -> str | None:
        """``space`` where trained, else a trained space (one with a text model first), else None."""
        if space != BACKBONE_SPACE:
            return space
        trained = self._catalogue.spaces[1:]
        return next((name for name in trained if self.text_model(name) is not None), trained[0] if trained else None)

    def _kept_by_photo(self, query: Query, space: str, named: dict[str, str]) -> dict[str, str]:
        """The labels a photo keeps while its words change others: a catalogue product's own type, a photo's
        predicted type (read by a trained space's head, the searched one where trained), unless the words name
        one."""
        reader = self._trained(space)
        if any(label in named for label in _TYPE_LABELS):
            return {}
        if query.row is not None:
            return {label: str(self._catalogue.metadata[label].iloc[query.row]) for label in PHOTO_KEEPS}
        if reader is None:
            return {}
        predicted = self._engine.predict([query], reader)
        classes = self._engine.head(reader).classes
        return {label: str(classes[label][int(np.argmax(predicted[label][0]))])
                for label in PHOTO_KEEPS if label in predicted}

    def _vector(self, query: Query | None, reading: WordsRead | None, labels: dict[str, str],
                space: str) -> np.ndarray:
        """The vector searched: the photo's, else the words' (the text model), else the labelled products' mean."""
        if query is not None:
            return self._engine.space_vectors([query], space)[0]
        model = self.text_model(space)
        if model is not None and reading is not None:
            words = [*reading.words, *(word for value in reading.labels.values() for word in value.lower().split())]
            embedded = model.embed(words)
            if embedded is not None:
                return embedded
        vectors = np.asarray(self._artifacts.space_vectors(space))
        rows = label_mask(self._catalogue.metadata, labels).to_numpy() if labels else slice(None)
        mean = vectors[rows].mean(axis=0) if np.any(rows) else vectors.mean(axis=0)
        return l2_normalise(mean[None])[0]

    def _moved(self, vector: np.ndarray, liked: list[int], disliked: list[int], space: str) -> np.ndarray:
        stored = np.asarray(self._artifacts.space_vectors(space))
        moved = vector.astype(np.float64).copy()
        if liked:
            moved += LIKE_WEIGHT * stored[liked].mean(axis=0)
        if disliked:
            moved -= DISLIKE_WEIGHT * stored[disliked].mean(axis=0)
        return l2_normalise(moved.astype(np.float32)[None])[0]

    def _shared(self, liked: list[int]) -> dict[str, str]:
        """The type and colour every liked product shares."""
        if not liked:
            return {}
        rows = self._catalogue.metadata.iloc[liked]
        return {label: str(rows[label].iloc[0]) for label in ("articleType", "baseColour")
                if rows[label].nunique() == 1 and rows[label].iloc[0]}

    def _relaxed(self, labels: dict[str, str], order: Sequence[str], *,
                 excluded: Sequence[int]) -> tuple[dict[str, str], list[str]]:
        """The labels let go in ``order`` (those the photo or the likes implied first, then the least telling of
        the words') until some product carries them all, each said."""
        metadata, labels, notes = self._catalogue.metadata, dict(labels), []
        for label in order:
            matching = label_mask(metadata, labels).to_numpy().copy()
            matching[list(excluded)] = False
            if matching.any():
                break
            if label in labels:
                notes.append(f"No product is {' · '.join(labels.values())}: searched without '{labels.pop(label)}'.")
        return labels, notes
