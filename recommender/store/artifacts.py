"""The artifacts folder: vectors, metadata and Annoy indexes of a build, written whole and checked on load.

Layout (default ``artifacts/``)::

    manifest.json                       what was built, how, and which files (recommender.store.manifest)
    vectors-<build>.npy                 (n, 2048) float32, L2-normalised
    colours-<build>.npy                 (n, 64) float32 colour signatures
    metadata-<build>.csv                one row per vector, same order
    annoy-<build>-<space>-<metric>-t<n_trees>.ann
    head-<build>-<space>.npz, vectors-<build>-<space>.npy, split-<build>-<space>.json   (trained spaces)
    .work-<key>/                        resumable build chunks (removed when done)

Every data file carries the build id in its name and is complete before the
manifest names it; a crashed build leaves only files that no manifest names.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import save_csv_atomic, save_npy_atomic, write_atomic
from ..data.catalogue import dataset_fingerprint
from ..features.head import Head
from ..features.settings import FeatureSettings
from ..features.text import TextModel
from ..features.weights import Weights, resolve_weights
from ..index.annoy import DEFAULT_METRIC, DEFAULT_N_TREES, DEFAULT_SEARCH_K, VectorIndex
from ..index.tuning import tune_search_k
from .manifest import (
    BACKBONE_SPACE,
    ArtifactError,
    FileEntry,
    IndexSettings,
    Manifest,
    SpaceEntry,
    commit_manifest,
    quick_digest,
    read_manifest,
)
from .names import annoy_file, catalogue_files, derived_patterns, space_files, words_file


class DatasetChanged(ArtifactError):
    """The catalogue is whole but its dataset changed since: an update brings it level."""


@dataclass(frozen=True)
class CarriedSpace:
    """A trained space carried into a new build: its head file, its entry and its vectors in the new row order."""

    head: Path
    entry: SpaceEntry
    vectors: np.ndarray
    split: Path | None = None
    words: Path | None = None


@dataclass
class Artifacts:
    """A loaded, checked artifacts folder.

    Attributes
    ----------
    root : Path
    manifest : Manifest
    vectors : ndarray (n, d), memory-mapped
    colours : ndarray (n, 64), memory-mapped
    metadata : DataFrame, n rows, strings
    spaces : dict of trained space -> ndarray (n, dimension), memory-mapped
    """

    root: Path
    manifest: Manifest
    vectors: np.ndarray
    colours: np.ndarray
    metadata: pd.DataFrame
    spaces: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def build_id(self) -> str:
        """The id carried by every file of this build."""
        return self.manifest.build_id

    def space_vectors(self, space: str) -> np.ndarray:
        """Vectors of an embedding space (:data:`BACKBONE_SPACE` or one added by training)."""
        if space == BACKBONE_SPACE:
            return self.vectors
        if space not in self.spaces:
            known = [BACKBONE_SPACE, *self.spaces]
            raise ArtifactError(f"Expected space in {known}, got {space!r}")
        return self.spaces[space]

    def head(self, space: str) -> Head:
        """The head of a trained space.

        Raises
        ------
        ArtifactError
            When the space is not trained, or its file is corrupt.
        """
        trained = self.manifest.spaces
        if space not in trained:
            raise ArtifactError(f"Expected a trained space in {list(trained)}, got {space!r}")
        path = self.root / trained[space].head.name
        try:
            return Head.read(path)
        except (OSError, ValueError, KeyError) as error:
            raise ArtifactError(f"{path} is corrupt ({error}); retrain: python -m recommender train") from None

    def words(self, space: str) -> TextModel | None:
        """The text model of a trained space (None where it has none: ``train-words``).

        Raises
        ------
        ArtifactError
            When its file is missing or corrupt.
        """
        entry = self.manifest.spaces.get(space)
        if entry is None or entry.words is None:
            return None
        path = entry.words.check(self.root)
        try:
            return TextModel.read(path)
        except (OSError, ValueError, KeyError) as error:
            raise ArtifactError(f"{path} is corrupt ({error}); train it again: python -m recommender "
                                "train-words") from None

    def type_first_weights(self, space: str) -> dict[str, float]:
        """The type-first penalty weights ``train`` chose for a space (label -> weight > 0; empty where none)."""
        entry = self.manifest.spaces.get(space)
        return entry.type_first_weights if entry else {}

    def tuned_search_k(self, space: str = BACKBONE_SPACE) -> int:
        """The search_k measured for this catalogue's index of ``space`` (recall@5 >= 0.99), else the default."""
        return self.manifest.tuned_search_k(space) or DEFAULT_SEARCH_K

    def tune_index(self, space: str = BACKBONE_SPACE, *, n_trees: int | None = None, metric: str | None = None) -> dict:
        """Measure the smallest search_k reaching recall@5 0.99 on an index of ``space`` (a manifest record).

        The index (of these settings, by default the manifest's) is built first if missing.
        """
        return tune_search_k(self.index(space=space, n_trees=n_trees, metric=metric), self.space_vectors(space),
                             seed=self.manifest.index.seed)

    def index(self, *, space: str = BACKBONE_SPACE, n_trees: int | None = None,
              metric: str | None = None) -> VectorIndex:
        """The Annoy index for these settings, built from the stored vectors if missing."""
        settings = self.manifest.index
        n_trees = n_trees or settings.n_trees
        metric = metric or settings.metric
        vectors = self.space_vectors(space)
        path = self.root / annoy_file(self.build_id, space, metric, n_trees)
        index = VectorIndex(vectors.shape[1], metric=metric, n_trees=n_trees, seed=settings.seed)
        if path.is_file():
            try:
                return index.load(path, expected_items=len(vectors))
            except ValueError as error:
                raise ArtifactError(f"{error}. Delete it to rebuild, or run `python -m recommender reindex`.") \
                    from None
        return index.build(vectors, path)

    def reindexed(self, *, n_trees: int, metric: str | None = None) -> Manifest:
        """This build's manifest with a new default index (built now) and search_k measured for every space."""
        metric = metric or self.manifest.index.metric
        index = IndexSettings(metric, n_trees, self.manifest.index.seed,
                              annoy_file(self.build_id, BACKBONE_SPACE, metric, n_trees),
                              {space: self.tune_index(space, n_trees=n_trees, metric=metric)
                               for space in [BACKBONE_SPACE, *self.spaces]})
        return self.manifest.with_index(index)


def new_build_id() -> str:
    """A sortable, unique build id: UTC time plus random bits."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def write_artifacts(root: str | os.PathLike, *, vectors: np.ndarray, colours: np.ndarray,
                    metadata: pd.DataFrame, features: FeatureSettings, catalogue: Mapping,
                    n_trees: int = DEFAULT_N_TREES, metric: str = DEFAULT_METRIC, seed: int = 0,
                    spaces: Mapping[str, CarriedSpace] | None = None,
                    default_space: str | None = None, worn_space: str | None = None, index_spaces: bool = False,
                    timings: dict[str, float] | None = None) -> Manifest:
    """Write a complete build and commit it (:func:`recommender.store.manifest.commit_manifest`).

    Files of the previous build are removed after a grace period.

    Parameters
    ----------
    spaces : mapping, optional
        Trained spaces carried into this build (:class:`CarriedSpace`).
    default_space, worn_space : str, optional
        The space searched by default, and the one worn garments are searched in
        (:class:`~recommender.store.manifest.Manifest`).
    index_spaces : bool, default False
        Also build the trained spaces' Annoy indexes now (else on their first query).
    timings : dict, optional
        Filled with the seconds spent on ``"index"`` (Annoy builds) and ``"commit"`` (files, manifest).

    Returns
    -------
    Manifest
        The new build's.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if not (len(vectors) == len(colours) == len(metadata)):
        raise ValueError(f"Expected as many vectors, colours and rows, got {len(vectors)}, {len(colours)}, "
                         f"{len(metadata)}")
    clock = time.perf_counter()
    build_id = new_build_id()
    files = {name: root / file for name, file in catalogue_files(build_id).items()}
    save_npy_atomic(files["vectors"], np.asarray(vectors, np.float32))  # no copy of a float32 memory map
    save_npy_atomic(files["colours"], np.asarray(colours, np.float32))
    save_csv_atomic(files["metadata"], metadata)
    entries = {}
    for name, carried in (spaces or {}).items():
        names = space_files(build_id, name)
        head_path, vectors_path = root / names["head"], root / names["vectors"]
        write_atomic(head_path, lambda partial, head=carried.head: shutil.copyfile(head, partial))
        save_npy_atomic(vectors_path, np.asarray(carried.vectors, np.float32))
        split = None
        if carried.split is not None:  # the products this head never trained on, kept with it
            split_path = root / names["split"]
            write_atomic(split_path, lambda partial, source=carried.split: shutil.copyfile(source, partial))
            split = FileEntry.of(split_path)
        words = None
        if carried.words is not None:  # the space's text model: words into its vectors, whatever the rows
            words_path = root / words_file(build_id, name)
            write_atomic(words_path, lambda partial, source=carried.words: shutil.copyfile(source, partial))
            words = FileEntry.of(words_path)
        entries[name] = SpaceEntry(carried.entry.dimension, FileEntry.of(head_path), FileEntry.of(vectors_path),
                                   split, carried.entry.ranking, carried.entry.training, carried.entry.comparison,
                                   words)
    written = time.perf_counter() - clock
    clock = time.perf_counter()
    index_path = root / annoy_file(build_id, BACKBONE_SPACE, metric, n_trees)
    index = VectorIndex(vectors.shape[1], metric=metric, n_trees=n_trees, seed=seed).build(vectors, index_path)
    tuned = {BACKBONE_SPACE: tune_search_k(index, vectors, seed=seed)}
    for name, carried in (spaces or {}).items() if index_spaces else ():
        index = VectorIndex(carried.vectors.shape[1], metric=metric, n_trees=n_trees, seed=seed).build(
            carried.vectors, root / annoy_file(build_id, name, metric, n_trees))
        tuned[name] = tune_search_k(index, carried.vectors, seed=seed)
    indexed = time.perf_counter() - clock
    clock = time.perf_counter()
    manifest = Manifest.from_json({
        "format_version": 1, "build_id": build_id, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "features": features.to_json(), "catalogue": dict(catalogue), "count": len(vectors),
        "files": {name: FileEntry.of(path).to_json() for name, path in files.items()},
        "index": {"metric": metric, "n_trees": n_trees, "seed": seed, "file": index_path.name, "search_k": tuned},
        "spaces": {name: entry.to_json() for name, entry in entries.items()},
        **({"default_space": default_space} if default_space is not None else {}),
        **({"worn_space": worn_space} if worn_space is not None else {}),
    })
    commit_manifest(root, manifest)
    if timings is not None:
        timings.update(index=indexed, commit=written + time.perf_counter() - clock)
    return manifest


def check_features(built: FeatureSettings, expected: FeatureSettings, root: str | os.PathLike) -> None:
    """Refuse vectors made with other weights or preprocessing than ``expected``.

    Raises
    ------
    ArtifactError
        Naming each setting that differs and the fix.
    """
    stale = built.differences(expected)
    if stale:
        raise ArtifactError(f"The catalogue in {root} was built with other settings ({', '.join(stale)}); "
                            "rebuild it: python -m recommender build DATASET_DIR")


def backbone_weights(root: str | os.PathLike, features: FeatureSettings,
                     explicit: Weights | str | os.PathLike | None = None, *, log=None) -> Weights:
    """The weights that made a catalogue's vectors.

    A catalogue whose backbone was fine-tuned (``python -m recommender finetune``)
    keeps that network's weights file beside its vectors; any other was made
    with the ImageNet weights (see :func:`recommender.features.weights.resolve_weights`).
    """
    if features.backbone is None:
        return resolve_weights(explicit, log=log)
    path = Path(root) / features.backbone["name"]
    if not path.is_file() or quick_digest(path) != features.backbone["digest"]:
        raise ArtifactError(f"The fine-tuned backbone {path} is missing or damaged; rebuild the catalogue: "
                            "python -m recommender build DATASET_DIR")
    return Weights(path.resolve(), "fine-tuned", features.weights_sha256)


def forget_space(root: str | os.PathLike, build_id: str, space: str) -> None:
    """Remove what was derived from a space's old vectors (its Annoy indexes and 2-D maps) before they change.

    Training a space again keeps the build id, so these files' names would otherwise be reused.
    """
    for pattern in derived_patterns(build_id, space):
        for path in Path(root).glob(pattern):
            path.unlink(missing_ok=True)


def current_build_id(root: str | os.PathLike) -> str:
    """The id of the build an artifacts folder holds now (a cheap read: a reader reloads when it changes)."""
    return read_manifest(root).build_id


def check_dataset(manifest: Manifest) -> None:
    """Refuse a build whose dataset folder changed since (images or styles.csv).

    A dataset folder that is no longer there is not an error: search works
    without it, only the result images are missing.
    """
    dataset = manifest.dataset
    if (dataset / "images").is_dir() and dataset_fingerprint(dataset) != manifest.catalogue["fingerprint"]:
        raise DatasetChanged(f"The dataset {dataset} changed since this catalogue was built; update it: "
                             f"python -m recommender update {dataset}")


def load_artifacts(root: str | os.PathLike = "artifacts", *, expect_features: FeatureSettings | None = None,
                   expect_dataset: bool = False) -> Artifacts:
    """Open an artifacts folder, refusing anything incomplete, corrupt or stale.

    Parameters
    ----------
    root : path, default "artifacts"
    expect_features : FeatureSettings, optional
        The querying extractor's settings; vectors made with other weights or
        preprocessing (:meth:`FeatureSettings.differences`) are refused.
    expect_dataset : bool, default False
        Also refuse a build whose dataset changed since (see :func:`check_dataset`).

    Raises
    ------
    ArtifactError
        With a message naming the file at fault and how to fix it.
    """
    root = Path(root)
    manifest = read_manifest(root)
    if expect_features is not None:
        check_features(manifest.features, expect_features, root)
    if expect_dataset:
        check_dataset(manifest)
    paths = {kind: entry.check(root) for kind, entry in manifest.files.items()}
    count = manifest.count
    vectors = _load_npy(paths["vectors"], (count, manifest.features.dimension))
    colours = _load_npy(paths["colours"], (count, None))
    try:
        metadata = pd.read_csv(paths["metadata"], dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise ArtifactError(f"{paths['metadata']} is corrupt ({error}); rebuild the catalogue.") from None
    if len(metadata) != count:
        raise ArtifactError(f"{paths['metadata']} has {len(metadata)} rows, expected {count}; rebuild the catalogue.")
    spaces = {name: _load_npy(entry.vectors.check(root), (count, entry.dimension))
              for name, entry in manifest.spaces.items()}
    return Artifacts(root, manifest, vectors, colours, metadata, spaces)


def _load_npy(path: Path, shape: tuple[int, int | None]) -> np.ndarray:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ArtifactError(f"{path} is corrupt ({error}); rebuild the catalogue.") from None
    if array.dtype != np.float32 or array.ndim != 2 or array.shape[0] != shape[0] or \
            (shape[1] is not None and array.shape[1] != shape[1]):
        raise ArtifactError(f"{path} holds {array.dtype} {array.shape}, expected float32 {shape}; "
                            "rebuild the catalogue.")
    return array
