"""The artifacts folder: vectors, metadata and Annoy index, committed atomically.

Layout (default ``artifacts/``)::

    manifest.json                       what was built, how, and which files
    vectors-<build>.npy                 (n, 2048) float32, L2-normalised
    colours-<build>.npy                 (n, 64) float32 colour signatures
    metadata-<build>.csv                one row per vector, same order
    annoy-<build>-<space>-<metric>-t<n_trees>.ann
    .work-<key>/                        resumable build chunks (removed when done)

Every data file carries the build id in its name and is complete before the
manifest names it.  ``manifest.json`` is replaced in one ``os.replace``: a
reader sees the old build or the new one, never a mix, and a crashed build
leaves only files that no manifest names.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import save_csv_atomic, save_npy_atomic, write_atomic, write_json_atomic
from .catalogue import dataset_fingerprint
from .features import DEFAULT_PRECISION
from .index import DEFAULT_METRIC, DEFAULT_N_TREES, DEFAULT_SEARCH_K, VectorIndex, tune_search_k
from .weights import Weights, resolve_weights

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# The space of the frozen backbone's own vectors; trained spaces add others.
BACKBONE_SPACE = "imagenet"
# Settings whose change makes stored vectors incomparable with new queries.
FEATURE_KEYS = ("weights_sha256", "input_size", "resize", "pooling", "precision", "dimension", "normalisation")
# Values of keys added after format 1 was first written, for manifests that predate them.
_FEATURE_DEFAULTS = {"precision": DEFAULT_PRECISION}


def feature_defaults(features: dict) -> dict:
    """A manifest's feature settings with the values of keys it predates filled in."""
    return {**_FEATURE_DEFAULTS, **features}


class ArtifactError(RuntimeError):
    """Artifacts that cannot be used; the message names the file and the fix."""


class NoCatalogue(ArtifactError):
    """No catalogue was ever built in this folder (as opposed to a broken one)."""


class DatasetChanged(ArtifactError):
    """The catalogue is whole but its dataset changed since: an update brings it level."""


@dataclass
class Artifacts:
    """A loaded, checked artifacts folder.

    Attributes
    ----------
    root : Path
    manifest : dict
    vectors : ndarray (n, d), memory-mapped
    colours : ndarray (n, 64), memory-mapped
    metadata : DataFrame, n rows, strings
    """

    root: Path
    manifest: dict
    vectors: np.ndarray
    colours: np.ndarray
    metadata: pd.DataFrame
    spaces: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def build_id(self) -> str:
        """The id carried by every file of this build."""
        return self.manifest["build_id"]

    def space_vectors(self, space: str) -> np.ndarray:
        """Vectors of an embedding space (:data:`BACKBONE_SPACE` or one added by training)."""
        if space == BACKBONE_SPACE:
            return self.vectors
        if space not in self.spaces:
            known = [BACKBONE_SPACE, *self.spaces]
            raise ArtifactError(f"Expected space in {known}, got {space!r}")
        return self.spaces[space]

    def type_first_weights(self, space: str) -> dict[str, float]:
        """The type-first penalty weights ``train`` chose for a space (label -> weight > 0; empty where none)."""
        entry = self.manifest.get("spaces", {}).get(space, {})
        return {label: w for label, w in entry.get("ranking", {}).get("weights", {}).items() if w > 0}

    def tuned_search_k(self, space: str = BACKBONE_SPACE) -> int:
        """The search_k measured for this catalogue's index of ``space`` (recall@5 >= 0.99), else the default."""
        tuned = self.manifest["index"].get("search_k", {}).get(space)
        return int(tuned["value"]) if tuned else DEFAULT_SEARCH_K

    def tune_index(self, space: str = BACKBONE_SPACE, *, n_trees: int | None = None, metric: str | None = None) -> dict:
        """Measure the smallest search_k reaching recall@5 0.99 on an index of ``space`` (a manifest entry).

        The index (of these settings, by default the manifest's) is built first if missing.
        """
        return tune_search_k(self.index(space=space, n_trees=n_trees, metric=metric), self.space_vectors(space),
                             seed=self.manifest["index"].get("seed", 0))

    def index(self, *, space: str = BACKBONE_SPACE, n_trees: int | None = None,
              metric: str | None = None) -> VectorIndex:
        """The Annoy index for these settings, built from the stored vectors if missing."""
        settings = self.manifest["index"]
        n_trees = n_trees or settings["n_trees"]
        metric = metric or settings["metric"]
        vectors = self.space_vectors(space)
        path = self.root / index_file_name(self.build_id, space, metric, n_trees)
        index = VectorIndex(vectors.shape[1], metric=metric, n_trees=n_trees, seed=settings.get("seed", 0))
        if path.is_file():
            try:
                return index.load(path, expected_items=len(vectors))
            except ValueError as error:
                raise ArtifactError(f"{error}. Delete it to rebuild, or run `python -m recommender reindex`.") \
                    from None
        return index.build(vectors, path)


def index_file_name(build_id: str, space: str, metric: str, n_trees: int) -> str:
    """File name of an Annoy index of one build."""
    return f"annoy-{build_id}-{space}-{metric}-t{n_trees}.ann"


def new_build_id() -> str:
    """A sortable, unique build id: UTC time plus random bits."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


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


def file_entry(path: Path) -> dict:
    """Name, size and quick digest of a file, as the manifest records it."""
    return {"name": path.name, "bytes": path.stat().st_size, "digest": quick_digest(path)}


def write_artifacts(root: str | os.PathLike, *, vectors: np.ndarray, colours: np.ndarray,
                    metadata: pd.DataFrame, features: dict, catalogue: dict,
                    n_trees: int = DEFAULT_N_TREES, metric: str = DEFAULT_METRIC, seed: int = 0,
                    spaces: Mapping[str, tuple[Path, dict, np.ndarray]] | None = None,
                    default_space: str | None = None, index_spaces: bool = False,
                    timings: dict[str, float] | None = None) -> dict:
    """Write a complete build and commit it by replacing ``manifest.json``.

    Files of the previous build are removed after a grace period (see :func:`commit_manifest`).

    Parameters
    ----------
    spaces : mapping, optional
        Trained spaces carried into this build: name -> (head file, manifest entry, vectors); a split file
        the entry names is taken from the head file's folder.
    default_space : str, optional
        The space searched by default (a trained one only where it measured better).
    index_spaces : bool, default False
        Also build the trained spaces' Annoy indexes now (else on their first query).
    timings : dict, optional
        Filled with the seconds spent on ``"index"`` (Annoy builds) and ``"commit"`` (files, manifest).

    Returns
    -------
    dict
        The new manifest.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if not (len(vectors) == len(colours) == len(metadata)):
        raise ValueError(f"Expected as many vectors, colours and rows, got {len(vectors)}, {len(colours)}, "
                         f"{len(metadata)}")
    clock = time.perf_counter()
    build_id = new_build_id()
    files = {
        "vectors": root / f"vectors-{build_id}.npy",
        "colours": root / f"colours-{build_id}.npy",
        "metadata": root / f"metadata-{build_id}.csv",
    }
    save_npy_atomic(files["vectors"], np.asarray(vectors, np.float32))  # no copy of a float32 memory map
    save_npy_atomic(files["colours"], np.asarray(colours, np.float32))
    save_csv_atomic(files["metadata"], metadata)
    space_entries = {}
    for name, (head, entry, space_vectors) in (spaces or {}).items():
        head_path, vectors_path = root / f"head-{build_id}-{name}.npz", root / f"vectors-{build_id}-{name}.npy"
        write_atomic(head_path, lambda partial, head=head: shutil.copyfile(head, partial))
        save_npy_atomic(vectors_path, np.asarray(space_vectors, np.float32))
        space_entries[name] = {**entry, "head": file_entry(head_path), "vectors": file_entry(vectors_path)}
        if "split" in entry:  # the products this head never trained on, kept with it
            split_path = root / f"split-{build_id}-{name}.json"
            source = Path(head).parent / entry["split"]["name"]
            write_atomic(split_path, lambda partial, source=source: shutil.copyfile(source, partial))
            space_entries[name]["split"] = file_entry(split_path)
    written = time.perf_counter() - clock
    clock = time.perf_counter()
    index_path = root / index_file_name(build_id, BACKBONE_SPACE, metric, n_trees)
    index = VectorIndex(vectors.shape[1], metric=metric, n_trees=n_trees, seed=seed).build(vectors, index_path)
    tuned = {BACKBONE_SPACE: tune_search_k(index, vectors, seed=seed)}
    for name, (_, _, space_vectors) in (spaces or {}).items() if index_spaces else ():
        index = VectorIndex(space_vectors.shape[1], metric=metric, n_trees=n_trees, seed=seed).build(
            space_vectors, root / index_file_name(build_id, name, metric, n_trees))
        tuned[name] = tune_search_k(index, space_vectors, seed=seed)
    indexed = time.perf_counter() - clock
    clock = time.perf_counter()
    manifest = {
        "format_version": FORMAT_VERSION,
        "build_id": build_id,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "features": features,
        "catalogue": catalogue,
        "count": len(vectors),
        "files": {name: file_entry(path) for name, path in files.items()},
        "index": {"metric": metric, "n_trees": n_trees, "seed": seed, "file": index_path.name, "search_k": tuned},
        "spaces": space_entries,
    }
    if default_space is not None:
        manifest["default_space"] = default_space
    commit_manifest(root, manifest)
    if timings is not None:
        timings.update(index=indexed, commit=written + time.perf_counter() - clock)
    return manifest


# Files of a build that was replaced stay this long: a running dashboard may still map them or finish a
# search with them, and it switches to the new build on its next rerun.
GRACE_SECONDS = 600
SUPERSEDED = "superseded.json"
_BUILD_ID = re.compile(r"\d{8}T\d{6}-[0-9a-f]{6}")


def commit_manifest(root: Path, manifest: dict) -> None:
    """Atomically make ``manifest`` current; files of replaced builds go once their grace period is over."""
    root = Path(root)
    previous = None
    if (root / MANIFEST).is_file():
        try:
            previous = json.loads((root / MANIFEST).read_text()).get("build_id")
        except (OSError, ValueError, AttributeError):
            previous = None  # a corrupt manifest names no build to keep
    write_json_atomic(root / MANIFEST, manifest)
    _remove_stale(root, manifest["build_id"], previous)


_BUILD_FILE_PREFIXES = ("vectors", "colours", "metadata", "annoy", "head", "split", "map", "evaluation")


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
        if not path.is_file() or path.name.split("-")[0] not in _BUILD_FILE_PREFIXES:
            continue
        found = _BUILD_ID.search(path.name)
        if found and found.group() not in (build_id, *superseded):
            path.unlink(missing_ok=True)


def read_manifest(root: str | os.PathLike) -> dict:
    """The manifest of an artifacts folder, checked for format.

    Raises
    ------
    ArtifactError
        Missing, unreadable or of another format version.
    """
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise NoCatalogue(f"No catalogue is built in {Path(root)} ({MANIFEST} is missing). "
                            "Build one: python -m recommender build DATASET_DIR")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{path} is corrupt ({error}); rebuild the catalogue.") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        found = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise ArtifactError(f"{path} has format version {found!r}, expected {FORMAT_VERSION}; rebuild the catalogue.")
    return manifest


def check_features(built: dict, expected: dict, root: str | os.PathLike) -> None:
    """Refuse vectors made with other weights or preprocessing than ``expected`` (:data:`FEATURE_KEYS`).

    Raises
    ------
    ArtifactError
        Naming each setting that differs and the fix.
    """
    built = feature_defaults(built)
    stale = [key for key in FEATURE_KEYS if built.get(key) != expected.get(key)]
    if stale:
        details = ", ".join(f"{key}: built {built.get(key)!r}, now {expected.get(key)!r}" for key in stale)
        raise ArtifactError(f"The catalogue in {root} was built with other settings ({details}); "
                            "rebuild it: python -m recommender build DATASET_DIR")


def backbone_weights(root: str | os.PathLike, features: dict, explicit: Weights | str | os.PathLike | None = None,
                     *, log=None) -> Weights:
    """The weights that made a catalogue's vectors.

    A catalogue whose backbone was fine-tuned (``python -m recommender finetune``)
    keeps that network's weights file beside its vectors; any other was made
    with the ImageNet weights (see :func:`recommender.weights.resolve_weights`).
    """
    backbone = features.get("backbone")
    if backbone is None:
        return resolve_weights(explicit, log=log)
    path = Path(root) / backbone["name"]
    if not path.is_file() or quick_digest(path) != backbone["digest"]:
        raise ArtifactError(f"The fine-tuned backbone {path} is missing or damaged; rebuild the catalogue: "
                            "python -m recommender build DATASET_DIR")
    return Weights(path.resolve(), "fine-tuned", features["weights_sha256"])


def forget_space(root: str | os.PathLike, build_id: str, space: str) -> None:
    """Remove what was derived from a space's old vectors (its Annoy indexes and 2-D maps) before they change.

    Training a space again keeps the build id, so these files' names would otherwise be reused.
    """
    for pattern in (f"annoy-{build_id}-{space}-*.ann", f"map-{build_id}-{space}-*.npy"):
        for path in Path(root).glob(pattern):
            path.unlink(missing_ok=True)


def current_build_id(root: str | os.PathLike) -> str:
    """The id of the build an artifacts folder holds now (a cheap read: a reader reloads when it changes)."""
    return read_manifest(root)["build_id"]


def check_dataset(manifest: dict) -> None:
    """Refuse a build whose dataset folder changed since (images or styles.csv).

    A dataset folder that is no longer there is not an error: search works
    without it, only the result images are missing.
    """
    dataset = Path(manifest["catalogue"]["dataset"])
    if (dataset / "images").is_dir() and dataset_fingerprint(dataset) != manifest["catalogue"]["fingerprint"]:
        raise DatasetChanged(f"The dataset {dataset} changed since this catalogue was built; update it: "
                             f"python -m recommender update {dataset}")


def load_artifacts(root: str | os.PathLike = "artifacts", *, expect_features: dict | None = None,
                   expect_dataset: bool = False) -> Artifacts:
    """Open an artifacts folder, refusing anything incomplete, corrupt or stale.

    Parameters
    ----------
    root : path, default "artifacts"
    expect_features : dict, optional
        The querying extractor's :attr:`~recommender.features.Extractor.settings`;
        a difference in any of :data:`FEATURE_KEYS` is refused (vectors made with
        other weights or preprocessing cannot be compared with its queries).
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
        check_features(manifest["features"], expect_features, root)
    if expect_dataset:
        check_dataset(manifest)
    for entry in manifest["files"].values():
        _check_file(root, entry)
    count = manifest["count"]
    vectors = _load_npy(root / manifest["files"]["vectors"]["name"], (count, manifest["features"]["dimension"]))
    colours = _load_npy(root / manifest["files"]["colours"]["name"], (count, None))
    metadata_path = root / manifest["files"]["metadata"]["name"]
    try:
        metadata = pd.read_csv(metadata_path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise ArtifactError(f"{metadata_path} is corrupt ({error}); rebuild the catalogue.") from None
    if len(metadata) != count:
        raise ArtifactError(f"{metadata_path} has {len(metadata)} rows, expected {count}; rebuild the catalogue.")
    spaces = {}
    for name, space in manifest.get("spaces", {}).items():
        _check_file(root, space["vectors"])
        spaces[name] = _load_npy(root / space["vectors"]["name"], (count, space["dimension"]))
    return Artifacts(root, manifest, vectors, colours, metadata, spaces)


def _check_file(root: Path, entry: dict) -> None:
    path = root / entry["name"]
    if not path.is_file():
        raise ArtifactError(f"{path} is missing; rebuild the catalogue.")
    if path.stat().st_size != entry["bytes"] or quick_digest(path) != entry["digest"]:
        raise ArtifactError(f"{path} is truncated or corrupt (size or checksum differs from the manifest); "
                            "rebuild the catalogue.")


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
