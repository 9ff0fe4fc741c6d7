"""The manifest: what a build holds and how it was made, as one typed, immutable record with one writer.

``manifest.json`` names every file of the current build with its size and
digest.  It is written by :func:`commit_manifest` alone, in one
``os.replace``: a reader sees the old build or the new one, never a mix.
Every change (a trained space, a new index, a chosen default) is a new
:class:`Manifest` made by one of its ``with_*`` methods and committed; the
loaded one never changes under its readers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..atomic import write_json_atomic
from ..features.settings import FeatureSettings
from .names import MANIFEST

FORMAT_VERSION = 1
# The space of the frozen backbone's own vectors; trained spaces add others.
BACKBONE_SPACE = "imagenet"
# Files of a build that was replaced stay this long: a running dashboard may still map them or finish a
# search with them, and it switches to the new build on its next rerun.
GRACE_SECONDS = 600
SUPERSEDED = "superseded.json"
BUILD_FILE_PREFIXES = ("vectors", "colours", "metadata", "annoy", "head", "split", "map", "evaluation", "words")
_BUILD_ID = re.compile(r"\d{8}T\d{6}-[0-9a-f]{6}")


class ArtifactError(RuntimeError):
    """Artifacts that cannot be used; the message names the file and the fix."""


class NoCatalogue(ArtifactError):
    """No catalogue was ever built in this folder (as opposed to a broken one)."""


def frozen(value: Any) -> Any:
    """A JSON value made read-only all the way down (mappings as proxies, lists as tuples)."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: frozen(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(frozen(item) for item in value)
    return value


def thawed(value: Any) -> Any:
    """The plain JSON value of a :func:`frozen` one."""
    if isinstance(value, Mapping):
        return {key: thawed(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thawed(item) for item in value]
    return value


def quick_digest(path: Path) -> str:
    """sha256 of a file's size, first and last MiB: catches truncation and swaps cheaply."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(1 << 20))
        if size > 1 << 20:
            handle.seek(max(size - (1 << 20), 1 << 20))
            digest.update(handle.read())
    return digest.hexdigest()


@dataclass(frozen=True)
class FileEntry:
    """A file of a build: its name in the artifacts folder, size and quick digest."""

    name: str
    bytes: int
    digest: str

    @classmethod
    def of(cls, path: Path) -> FileEntry:
        """The entry of a file as it is now."""
        return cls(path.name, path.stat().st_size, quick_digest(path))

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> FileEntry:
        return cls(str(record["name"]), int(record["bytes"]), str(record["digest"]))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "bytes": self.bytes, "digest": self.digest}

    def check(self, root: Path) -> Path:
        """The file's path, after checking it is there whole.

        Raises
        ------
        ArtifactError
            Missing, or its size or digest differs from this entry.
        """
        path = root / self.name
        if not path.is_file():
            raise ArtifactError(f"{path} is missing; rebuild the catalogue.")
        if path.stat().st_size != self.bytes or quick_digest(path) != self.digest:
            raise ArtifactError(f"{path} is truncated or corrupt (size or checksum differs from the manifest); "
                                "rebuild the catalogue.")
        return path


@dataclass(frozen=True)
class IndexSettings:
    """The default Annoy index of a build, and the search_k measured per space.

    ``search_k`` maps a space to how its value was measured
    (:func:`recommender.index.tuning.tune_search_k`: ``value``, ``recall_at_5``, ...).
    """

    metric: str
    n_trees: int
    seed: int
    file: str
    search_k: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> IndexSettings:
        return cls(str(record["metric"]), int(record["n_trees"]), int(record.get("seed", 0)), str(record["file"]),
                   frozen(record.get("search_k", {})))

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "n_trees": self.n_trees, "seed": self.seed, "file": self.file,
                "search_k": thawed(self.search_k)}


@dataclass(frozen=True)
class SpaceEntry:
    """A trained embedding space: its head, vectors and held-out split, how it ranks and how it was trained.

    Attributes
    ----------
    dimension : int
    head, vectors : FileEntry
    split : FileEntry, optional
        The products its head never trained on.
    ranking : mapping
        The type-first weights chosen on the validation split (``weights``, ``validation``).
    training : mapping
        Training settings and what happened since (``products_never_seen``, ``fine_tune_rejected``).
    comparison : mapping, optional
        How it measured against the frozen backbone (:func:`recommender.evaluation.comparison.compare_models`).
    words : FileEntry, optional
        Its text model: a shopper's words into the space (:class:`recommender.features.text.TextModel`).
    """

    dimension: int
    head: FileEntry
    vectors: FileEntry
    split: FileEntry | None = None
    ranking: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] = field(default_factory=dict)
    comparison: Mapping[str, Any] | None = None
    words: FileEntry | None = None

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> SpaceEntry:
        return cls(int(record["dimension"]), FileEntry.from_json(record["head"]),
                   FileEntry.from_json(record["vectors"]),
                   FileEntry.from_json(record["split"]) if record.get("split") else None,
                   frozen(record.get("ranking", {})), frozen(record.get("training", {})),
                   frozen(record["comparison"]) if record.get("comparison") is not None else None,
                   FileEntry.from_json(record["words"]) if record.get("words") else None)

    def to_json(self) -> dict[str, Any]:
        record = {"dimension": self.dimension, "head": self.head.to_json(), "vectors": self.vectors.to_json(),
                  "ranking": thawed(self.ranking), "training": thawed(self.training)}
        if self.split is not None:
            record["split"] = self.split.to_json()
        if self.comparison is not None:
            record["comparison"] = thawed(self.comparison)
        if self.words is not None:
            record["words"] = self.words.to_json()
        return record

    def with_training(self, **changes: Any) -> SpaceEntry:
        """The same entry with these training records added or replaced."""
        return replace(self, training=frozen({**thawed(self.training), **changes}))

    @property
    def type_first_weights(self) -> dict[str, float]:
        """The type-first penalty weights ``train`` chose (label -> weight > 0; empty where none)."""
        return {label: float(w) for label, w in self.ranking.get("weights", {}).items() if w > 0}


@dataclass(frozen=True)
class Manifest:
    """What a build holds and how it was made (``manifest.json``).

    Attributes
    ----------
    build_id : str
        Carried by every file of the build.
    created : str
        UTC time, ISO 8601.
    features : FeatureSettings
        What decides the vectors.
    catalogue : mapping
        The dataset it was built from (``dataset``, ``fingerprint``, ``size``, ``sample``, ``sample_seed``,
        ``report``, ``skipped_images``).
    count : int
        Products (rows of every array).
    files : mapping
        ``vectors``, ``colours``, ``metadata`` -> :class:`FileEntry`.
    index : IndexSettings
    spaces : mapping
        Trained space name -> :class:`SpaceEntry`.
    default_space : str, optional
        The space searched by default (a trained one only where it measured better): product photos, the
        catalogue's own and a shopper's garment on its own.
    worn_space : str, optional
        The space garments worn by a person are searched in, each cut from its photo, and their photo whole
        (:attr:`searched_space` where None: a space measured better on them, docs/decisions/0010).
    """

    build_id: str
    created: str
    features: FeatureSettings
    catalogue: Mapping[str, Any]
    count: int
    files: Mapping[str, FileEntry]
    index: IndexSettings
    spaces: Mapping[str, SpaceEntry] = field(default_factory=dict)
    default_space: str | None = None
    worn_space: str | None = None
    format_version: int = FORMAT_VERSION

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Manifest:
        """Read a manifest record (as :meth:`to_json` writes it)."""
        return cls(str(record["build_id"]), str(record["created"]), FeatureSettings.from_json(record["features"]),
                   frozen(record["catalogue"]), int(record["count"]),
                   MappingProxyType({kind: FileEntry.from_json(entry) for kind, entry in record["files"].items()}),
                   IndexSettings.from_json(record["index"]),
                   MappingProxyType({name: SpaceEntry.from_json(entry)
                                     for name, entry in record.get("spaces", {}).items()}),
                   record.get("default_space"), record.get("worn_space"), int(record["format_version"]))

    def to_json(self) -> dict[str, Any]:
        """The JSON record written to ``manifest.json``."""
        record = {"format_version": self.format_version, "build_id": self.build_id, "created": self.created,
                  "features": self.features.to_json(), "catalogue": thawed(self.catalogue), "count": self.count,
                  "files": {kind: entry.to_json() for kind, entry in self.files.items()},
                  "index": self.index.to_json(),
                  "spaces": {name: entry.to_json() for name, entry in self.spaces.items()}}
        if self.default_space is not None:
            record["default_space"] = self.default_space
        if self.worn_space is not None:
            record["worn_space"] = self.worn_space
        return record

    @property
    def dataset(self) -> Path:
        """The dataset folder the catalogue was built from (image paths are relative to it)."""
        return Path(self.catalogue["dataset"])

    @property
    def searched_space(self) -> str:
        """The space searched by default (product photos)."""
        return self.default_space or BACKBONE_SPACE

    @property
    def trained_holdout(self) -> float | None:
        """The smallest share of products any trained space held out (the split none of them saw), or None."""
        return min((space.training["holdout"] for space in self.spaces.values()), default=None)

    def space_for(self, worn: bool) -> str:
        """The space a query is searched in by default: :attr:`searched_space`, or for a garment worn by a
        person (and its photo whole) :attr:`worn_space` where one measured better on those."""
        return (self.worn_space if worn else None) or self.searched_space

    def tuned_search_k(self, space: str) -> int | None:
        """The search_k measured for the index of ``space``, or None where it was not measured."""
        tuned = self.index.search_k.get(space)
        return int(tuned["value"]) if tuned else None

    def with_space(self, name: str, entry: SpaceEntry) -> Manifest:
        """This build with the space ``name`` added or replaced."""
        return replace(self, spaces=MappingProxyType({**self.spaces, name: entry}))

    def with_search_k(self, space: str, tuned: Mapping[str, Any]) -> Manifest:
        """This build with the search_k measured for ``space``'s index."""
        return replace(self, index=replace(self.index, search_k=frozen({**thawed(self.index.search_k),
                                                                         space: thawed(tuned)})))

    def with_index(self, index: IndexSettings) -> Manifest:
        """This build with another default index."""
        return replace(self, index=index)

    def with_default_space(self, space: str, *, worn: str | None = None) -> Manifest:
        """This build searching ``space`` by default, and worn garments in ``worn`` (None: in ``space``)."""
        return replace(self, default_space=space, worn_space=None if worn == space else worn)

    def with_catalogue(self, **changes: Any) -> Manifest:
        """This build with these catalogue records changed (a dataset's new fingerprint, say)."""
        return replace(self, catalogue=frozen({**thawed(self.catalogue), **changes}))


def read_manifest(root: str | os.PathLike) -> Manifest:
    """The manifest of an artifacts folder, checked for format.

    Raises
    ------
    NoCatalogue
        No manifest: nothing was ever built here.
    ArtifactError
        Unreadable, or of another format version.
    """
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise NoCatalogue(f"No catalogue is built in {Path(root)} ({MANIFEST} is missing). "
                          "Build one: python -m recommender build DATASET_DIR")
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{path} is corrupt ({error}); rebuild the catalogue.") from None
    if not isinstance(record, dict) or record.get("format_version") != FORMAT_VERSION:
        found = record.get("format_version") if isinstance(record, dict) else None
        raise ArtifactError(f"{path} has format version {found!r}, expected {FORMAT_VERSION}; rebuild the catalogue.")
    try:
        return Manifest.from_json(record)
    except (KeyError, TypeError, ValueError) as error:
        raise ArtifactError(f"{path} is corrupt ({type(error).__name__}: {error}); rebuild the catalogue.") from None


def commit_manifest(root: str | os.PathLike, manifest: Manifest) -> None:
    """Atomically make ``manifest`` current: the one writer of ``manifest.json``.

    Files of replaced builds are removed once their grace period (:data:`GRACE_SECONDS`) is over.
    """
    root = Path(root)
    previous = None
    if (root / MANIFEST).is_file():
        try:
            previous = json.loads((root / MANIFEST).read_text()).get("build_id")
        except (OSError, ValueError, AttributeError):
            previous = None  # a corrupt manifest names no build to keep
    write_json_atomic(root / MANIFEST, manifest.to_json())
    _remove_stale(root, manifest.build_id, previous)


def _remove_stale(root: Path, build_id: str, previous: str | None) -> None:
    now = time.time()
    try:
        superseded = json.loads((root / SUPERSEDED).read_text())
    except (OSError, ValueError):
        superseded = {}
    if previous and previous != build_id:
        superseded.setdefault(previous, now)
    superseded = {old: since for old, since in superseded.items() if old != build_id and now - since < GRACE_SECONDS}
    write_json_atomic(root / SUPERSEDED, superseded)
    for path in root.iterdir():
        if not path.is_file() or path.name.split("-")[0] not in BUILD_FILE_PREFIXES:
            continue
        found = _BUILD_ID.search(path.name)
        if found and found.group() not in (build_id, *superseded):
            path.unlink(missing_ok=True)
