"""Build a catalogue: read the dataset, embed every photo, index, commit.

Embedding is the long part (about an hour for 42k photos on 2 cores), so it
is cut into chunks of :data:`CHUNK_SIZE` photos, each saved atomically under
``ARTIFACTS/.work-<key>/`` as soon as it is done.  A build that is interrupted
(Ctrl-C, SIGKILL, power cut) resumes at the first missing chunk when run
again with the same dataset, sample and feature settings.  The result is
committed by :func:`recommender.store.artifacts.write_artifacts`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..atomic import save_npy_atomic, write_json_atomic
from ..config import silent
from ..data.catalogue import Catalogue, dataset_fingerprint, read_catalogue, stratified_sample
from ..features.extractor import DEFAULT_BATCH_SIZE, Extractor
from ..features.precision import AUTO_PRECISION
from ..features.runtimes import AUTO_RUNTIME
from ..features.settings import DEFAULT_INPUT_SIZE, DEFAULT_POOLING, DEFAULT_RESIZE, FeatureSettings
from ..features.tuning import measured_extractor
from ..features.weights import Weights, resolve_weights
from ..index.annoy import DEFAULT_METRIC, DEFAULT_N_TREES
from ..store.artifacts import write_artifacts
from ..store.manifest import Manifest
from ..store.names import work_folder
from .engines import RayEngine

CHUNK_SIZE = 512


def build_catalogue(dataset: str | os.PathLike, out: str | os.PathLike = "artifacts", *,
                    sample: int | None = None, n_trees: int = DEFAULT_N_TREES, metric: str = DEFAULT_METRIC,
                    batch_size: int = DEFAULT_BATCH_SIZE, weights: Weights | str | os.PathLike | None = None,
                    pooling: str = DEFAULT_POOLING, resize: str = DEFAULT_RESIZE,
                    precision: str = AUTO_PRECISION, input_size: int = DEFAULT_INPUT_SIZE,
                    runtime: str = AUTO_RUNTIME, extractor: Extractor | None = None, seed: int = 0,
                    chunk_size: int = CHUNK_SIZE, engine: RayEngine | None = None,
                    progress: bool | Callable[[int, int], None] = True,
                    log: Callable[[str], None] = silent) -> Manifest:
    """Embed a dataset folder and commit its artifacts.

    Parameters
    ----------
    dataset : path
        Folder in the Kaggle layout (``images/`` and optional ``styles.csv``).
    out : path, default "artifacts"
    sample : int, optional
        Keep about this many products, stratified by articleType (a demo catalogue).
    n_trees, metric : Annoy settings of the default index.
    batch_size : int, default 32
    weights : path, optional
        Explicit weights file (see :func:`recommender.features.weights.resolve_weights`).
    pooling, resize, precision, input_size : feature settings of the extractor made here (see :class:`Extractor`);
        precision ``"auto"`` is chosen on the first photos (:func:`recommender.features.tuning.measured_extractor`).
    runtime : {"auto", "tensorflow", "openvino", "onnxruntime"}, default "auto"
        Where the network runs; ``"auto"``: the fastest installed runtime whose vectors agree with
        TensorFlow's (:func:`recommender.features.runtimes.choose_runtime`), said in one line.
    extractor : Extractor, optional
        A ready extractor (its settings win over ``batch_size``, ``weights`` and the feature settings).
    seed : int, default 0
        Seed of the sample and of Annoy.
    chunk_size : int, default 512
        Photos per saved chunk: an interrupted build loses at most one chunk.
    engine : RayEngine, optional
        Embed on Ray Data (:mod:`recommender.pipeline.engines`) instead of in this process.
    progress : bool or callable, default True
        Show a progress bar (count, rate, time left) on stderr; a callable
        receives ``(done, total)`` after each batch instead.
    log : callable
        Receives the catalogue report and the summary lines.

    Returns
    -------
    Manifest
        The committed manifest.
    """
    catalogue, items = catalogue_items(dataset, sample=sample, seed=seed, log=log)
    if items.empty:
        raise ValueError(f"No images to embed in {catalogue.root}/images")
    # The network is made after the dataset is read: a wrong folder is answered in a second.
    out = Path(out)
    if extractor is None:
        weights = resolve_weights(weights, log=log)
        extractor = measured_extractor(
            weights, catalogue.root, items, runtime=runtime, precision=precision, pooling=pooling, resize=resize,
            input_size=input_size, batch_size=batch_size, seed=seed, log=log,
            started=lambda settings: _work_dir(out, items, catalogue.root, settings, chunk_size).is_dir())
    vectors, colours, errors, work = embed_items(extractor, catalogue.root, items, out, chunk_size=chunk_size,
                                                 progress=progress, engine=engine)
    failed = [i for i, error in enumerate(errors) if error]
    for i in failed[:5]:
        log(f"  skipped unreadable image {errors[i]}")
    if failed:
        log(f"  {len(failed):,} unreadable images skipped in all.")
    keep = np.setdiff1d(np.arange(len(items)), failed)
    if failed:  # else the memory-mapped arrays are written as they are, never copied into RAM
        vectors, colours = vectors[keep], colours[keep]
    manifest = write_artifacts(
        out, vectors=vectors, colours=colours, metadata=items.iloc[keep].reset_index(drop=True),
        features=extractor.settings, n_trees=n_trees, metric=metric, seed=seed,
        catalogue={
            "dataset": str(catalogue.root),
            "size": int(len(keep)),
            "fingerprint": dataset_fingerprint(catalogue.root),
            "sample": sample,
            "sample_seed": seed,
            "skipped_images": [errors[i] for i in failed[:100]],
            "report": catalogue.report.summary(),
        },
    )
    shutil.rmtree(work, ignore_errors=True)  # only now: a crash before the commit resumes from the chunks
    log(f"Built {manifest.count:,} products into {out}/ (build {manifest.build_id}, "
        f"{metric} Annoy index, {n_trees} trees).")
    return manifest


def catalogue_items(dataset: str | os.PathLike, *, sample: int | None = None, seed: int = 0,
                    log: Callable[[str], None] = silent) -> tuple[Catalogue, pd.DataFrame]:
    """The products a build of ``dataset`` holds, in catalogue order, each with the sha256 of its photo.

    The same rules serve a build and an update, so an updated catalogue holds the products
    a new build would, in the same order.
    """
    catalogue = read_catalogue(dataset)
    log(catalogue.report.summary())
    items = catalogue.items
    if sample is not None:
        items = stratified_sample(items, sample, seed=seed).reset_index(drop=True)
        log(f"Sampled {len(items):,} products, stratified by articleType (seed {seed}).")
    items = items.assign(sha256=[content_hash(catalogue.root / rel) for rel in items["image"]])
    return catalogue, items


def content_hash(path: Path) -> str:
    """sha256 of a file's bytes ("" when it cannot be read: it is then reported by the embedding)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def embed_items(extractor: Extractor, root: Path, items: pd.DataFrame, out: Path, *, chunk_size: int = CHUNK_SIZE,
                progress: bool | Callable[[int, int], None] = True, engine: RayEngine | None = None
                ) -> tuple[np.ndarray, np.ndarray, list[str | None], Path]:
    """Embed the photos of ``items`` in resumable chunks under ``out/.work-<key>/``.

    The key covers the photos (names and content hashes), the feature settings and the
    chunk size: a run interrupted at any moment resumes with the chunks it lacks, and
    nothing else is ever mixed in.  The caller removes the work folder once its result is committed.
    ``engine`` (a :class:`~recommender.pipeline.engines.RayEngine`) embeds the pending chunks on Ray
    instead of in this process; the chunk files, their order and the result are the same.

    Returns
    -------
    vectors (n, 2048), colours (n, 64), errors (n; a message where a photo was unreadable, its rows NaN),
    and the work folder
    """
    out.mkdir(parents=True, exist_ok=True)
    work = _work_dir(out, items, root, extractor.settings, chunk_size)
    paths = [root / rel for rel in items["image"]]
    vectors, colours, errors = _embed_resumable(extractor, paths, work, chunk_size=chunk_size, progress=progress,
                                                engine=engine)
    return vectors, colours, errors, work


def _work_dir(out: Path, items: pd.DataFrame, root: Path, settings: FeatureSettings, chunk_size: int) -> Path:
    """The folder of a build's resumable chunks: one per dataset, photos and feature settings."""
    return out / work_folder(_work_key(items, root, settings, chunk_size))


def _work_key(items: pd.DataFrame, root: Path, settings: FeatureSettings, chunk_size: int) -> str:
    # Resuming is only safe for the very same photos embedded the very same way.
    # The runtime is left out: runtimes' vectors agree (recommender.features.runtimes).
    record = {key: value for key, value in settings.to_json().items() if key != "runtime"}
    digest = hashlib.sha256(json.dumps({**record, "chunk_size": chunk_size}, sort_keys=True).encode())
    digest.update(str(root).encode())
    for rel, sha in zip(items["image"], items["sha256"]):
        digest.update(f"{rel}:{sha}\n".encode())
    return digest.hexdigest()[:16]


def _embed_resumable(extractor: Extractor, paths: list[Path], work: Path, *, chunk_size: int,
                     progress: bool | Callable[[int, int], None], engine: RayEngine | None = None
                     ) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    work.mkdir(parents=True, exist_ok=True)
    starts = list(range(0, len(paths), chunk_size))
    pending = [start for start in starts if not (work / f"chunk-{start:08d}.json").is_file()]
    done = len(paths) - sum(min(chunk_size, len(paths) - s) for s in pending)
    bar = tqdm(total=len(paths), initial=done, unit="img", desc="Embedding", disable=progress is not True,
               file=sys.stderr, dynamic_ncols=True)

    def advance(count: int) -> None:
        bar.update(count)
        if callable(progress):
            progress(bar.n, len(paths))

    with bar:
        if engine is not None:
            engine.embed_chunks(extractor, paths, pending, chunk_size,
                                lambda start, *arrays: _save_chunk(work, start, *arrays), advance)
        for start in pending if engine is None else ():
            batches = list(_advancing(extractor.embed_files(paths[start:start + chunk_size]), advance))
            _save_chunk(work, start, np.concatenate([b.vectors for b in batches]),
                        np.concatenate([b.colours for b in batches]), [e for b in batches for e in b.errors])
    return _read_chunks(work, starts, len(paths))


def _advancing(batches, advance: Callable[[int], None]):
    for batch in batches:
        advance(len(batch.errors))
        yield batch


def _save_chunk(work: Path, start: int, vectors: np.ndarray, colours: np.ndarray, errors: list[str | None]) -> None:
    save_npy_atomic(work / f"chunk-{start:08d}.vectors.npy", vectors)
    save_npy_atomic(work / f"chunk-{start:08d}.colours.npy", colours)
    # The JSON is written last: its presence marks the chunk complete.
    write_json_atomic(work / f"chunk-{start:08d}.json", {"start": start, "errors": errors})


def _read_chunks(work: Path, starts: list[int], total: int) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    # Streamed into memory-mapped files: a million 2048-d vectors (8 GB) never sit in RAM twice.
    vectors = colours = None
    errors: list[str | None] = []
    for start in starts:
        chunk_vectors = np.load(work / f"chunk-{start:08d}.vectors.npy", allow_pickle=False)
        chunk_colours = np.load(work / f"chunk-{start:08d}.colours.npy", allow_pickle=False)
        if vectors is None:
            vectors = np.lib.format.open_memmap(work / "all.vectors.npy", "w+", np.float32,
                                                (total, chunk_vectors.shape[1]))
            colours = np.lib.format.open_memmap(work / "all.colours.npy", "w+", np.float32,
                                                (total, chunk_colours.shape[1]))
        vectors[start:start + len(chunk_vectors)] = chunk_vectors
        colours[start:start + len(chunk_colours)] = chunk_colours
        errors.extend(json.loads((work / f"chunk-{start:08d}.json").read_text())["errors"])
    return vectors, colours, errors
