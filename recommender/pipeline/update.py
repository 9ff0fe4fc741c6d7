"""Bring a built catalogue up to date with its dataset, in time proportional to what changed.

A shop's catalogue changes every day.  :func:`update_catalogue` compares the
dataset with the built catalogue by id, by a content hash of each photo and by
its ``styles.csv`` row (never by timestamps), then:

* embeds only new photos and photos whose bytes changed (resumable chunks, as
  a build; a photo that became unreadable is dropped and reported, its old
  vector is not kept as if the photo were fine);
* drops products that are gone, takes metadata edits without re-embedding;
* applies every trained head to the new vectors (no retraining) and records
  how many products each head never saw;
* rebuilds the Annoy indexes from the stored vectors and commits a new build
  atomically, exactly as :func:`recommender.pipeline.build.build_catalogue` does.

The result equals a from-scratch build of the same dataset: same products in
the same order, the same vectors (within float tolerance), the same answers.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import silent
from ..data.catalogue import STYLE_COLUMNS, dataset_fingerprint
from ..features.extractor import DEFAULT_BATCH_SIZE, Extractor
from ..features.runtimes import AUTO_RUNTIME
from ..features.weights import Weights
from ..store.artifacts import (
    Artifacts,
    CarriedSpace,
    check_features,
    load_artifacts,
    write_artifacts,
)
from ..store.manifest import ArtifactError, commit_manifest
from ..store.predictor import catalogue_extractor
from .build import CHUNK_SIZE, catalogue_items, embed_items
from .engines import RayEngine

# Share of a trained space's products it never saw above which a retrain is advised.
RETRAIN_SHARE = 0.10


@dataclass
class CatalogueDiff:
    """How a dataset differs from a built catalogue, by product id (sorted lists)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # the photo's bytes differ
    removed: list[str] = field(default_factory=list)
    relabelled: list[str] = field(default_factory=list)  # same photo, another styles.csv row
    unchanged: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Number of products of each kind."""
        return {name: len(ids) for name, ids in asdict(self).items()}


def diff_catalogue(built: pd.DataFrame, current: pd.DataFrame) -> CatalogueDiff:
    """Compare two catalogue tables (each with ``id``, ``sha256`` and the style columns).

    >>> old = pd.DataFrame({"id": ["1", "2", "3"], "sha256": ["a", "b", "c"], "articleType": ["T", "T", "J"]})
    >>> new = pd.DataFrame({"id": ["2", "3", "4"], "sha256": ["b", "x", "d"], "articleType": ["J", "J", "T"]})
    >>> diff_catalogue(old, new).counts()
    {'added': 1, 'changed': 1, 'removed': 1, 'relabelled': 1, 'unchanged': 0}
    """
    columns = [c for c in STYLE_COLUMNS if c in built.columns and c in current.columns and c != "id"]
    old = built.set_index("id")
    new = current.set_index("id")
    diff = CatalogueDiff(added=sorted(set(new.index) - set(old.index)),
                         removed=sorted(set(old.index) - set(new.index)))
    both = new.index[new.index.isin(old.index)]
    same_photo = old.loc[both, "sha256"].to_numpy() == new.loc[both, "sha256"].to_numpy()
    same_row = (old.loc[both, columns].to_numpy() == new.loc[both, columns].to_numpy()).all(axis=1) \
        if columns else np.ones(len(both), bool)
    diff.changed = sorted(both[~same_photo])
    diff.relabelled = sorted(both[same_photo & ~same_row])
    diff.unchanged = sorted(both[same_photo & same_row])
    return diff


def update_catalogue(dataset: str | Path | None, out: str | Path = "artifacts", *, allow_empty: bool = False,
                     weights: Weights | str | Path | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                     chunk_size: int = CHUNK_SIZE, extractor: Extractor | None = None,
                     runtime: str = AUTO_RUNTIME, engine: RayEngine | None = None,
                     progress: bool | Callable[[int, int], None] = True,
                     log: Callable[[str], None] = silent) -> dict:
    """Update the catalogue built in ``out`` to the dataset's current content, and commit it.

    Parameters
    ----------
    dataset : path or None
        The dataset folder (Kaggle layout); ``None``: the one the catalogue was built from.
    out : path, default "artifacts"
        Artifacts folder holding a build made with content hashes.
    allow_empty : bool, default False
        Allow a dataset with no photo, which removes every product (refused otherwise).
    weights, batch_size, chunk_size, extractor, engine, progress, log :
        As for :func:`recommender.pipeline.build.build_catalogue`; the extractor must make the very
        vectors the catalogue holds (same weights, resize, pooling, precision).
    runtime : str, default "auto"
        Where the network runs (see :func:`recommender.features.runtimes.runtime_for`; auto: the build's).

    Returns
    -------
    dict
        The report: ``added``, ``changed``, ``removed``, ``relabelled``, ``unchanged``, ``unreadable``
        (integers), ``build_id``, ``previous_build_id``, ``seconds`` (per stage and ``total``),
        ``spaces`` (per trained space: products it never saw, and whether a retrain is due).

    Raises
    ------
    ArtifactError
        No build in ``out``, or one that predates content hashes (build it once again).
    FileNotFoundError, ValueError
        A missing or empty dataset, a ``styles.csv`` without its header; nothing is changed.
    """
    seconds: dict[str, float] = {}
    started = clock = time.perf_counter()
    out = Path(out)
    artifacts = load_artifacts(out)
    built, recorded = artifacts.metadata, artifacts.manifest.catalogue
    dataset = dataset or recorded["dataset"]
    if "sha256" not in built.columns:
        raise ArtifactError(f"The catalogue in {out} was built before content hashes were recorded: build it "
                            f"once more (python -m recommender build {dataset}); later changes can then be updates.")
    catalogue, items = catalogue_items(dataset, sample=recorded.get("sample"), seed=recorded.get("sample_seed", 0),
                                       log=log)
    if items.empty and not allow_empty:
        raise ValueError(f"{catalogue.root} holds no product photo: updating would remove all "
                         f"{len(built):,} products. Pass --allow-empty if that is what you want.")
    diff = diff_catalogue(built, items)
    seconds["diff"] = time.perf_counter() - clock
    if not (diff.added or diff.changed or diff.removed or diff.relabelled):
        # Nothing a reader would see changed: keep the build (readers need not reload), record the
        # dataset's new fingerprint (a stray file or an orphan styles row may have moved it).
        commit_manifest(out, artifacts.manifest.with_catalogue(dataset=str(catalogue.root),
                                                               fingerprint=dataset_fingerprint(catalogue.root)))
        never_seen = {space: int(entry.training.get("products_never_seen", 0))
                      for space, entry in artifacts.manifest.spaces.items()}
        return _report(diff, [], artifacts.build_id, artifacts.build_id, len(built), never_seen, seconds, started)

    clock = time.perf_counter()
    to_embed = items[items["id"].isin(set(diff.added) | set(diff.changed))]
    features = artifacts.manifest.features
    if extractor is None and len(to_embed):
        extractor = catalogue_extractor(out, artifacts.manifest, weights=weights, runtime=runtime,
                                        batch_size=batch_size, log=log)
    if extractor is not None:
        check_features(features, extractor.settings, out)  # an update cannot mix vectors
    new_vectors, new_colours, errors, work = embed_items(extractor, catalogue.root, to_embed, out,
                                                         chunk_size=chunk_size, progress=progress, engine=engine) \
        if len(to_embed) else (None, None, [], None)
    unreadable = [item_id for item_id, error in zip(to_embed["id"], errors) if error]
    for error in [e for e in errors if e][:5]:
        log(f"  skipped unreadable image {error}")
    seconds["embed"] = time.perf_counter() - clock

    clock = time.perf_counter()
    keep = ~items["id"].isin(unreadable).to_numpy()
    items = items[keep].reset_index(drop=True)
    vectors, colours, source = _assemble(artifacts, items, to_embed["id"].tolist(), new_vectors, new_colours)
    carried = _carried_spaces(artifacts, vectors, colours, source)
    never_seen = {space: int(entry.entry.training["products_never_seen"]) for space, entry in carried.items()}
    seconds["heads"] = time.perf_counter() - clock

    manifest = write_artifacts(
        out, vectors=vectors, colours=colours, metadata=items, features=features,
        n_trees=artifacts.manifest.index.n_trees, metric=artifacts.manifest.index.metric,
        seed=artifacts.manifest.index.seed,
        catalogue={**artifacts.manifest.catalogue, "dataset": str(catalogue.root), "size": len(items),
                   "fingerprint": dataset_fingerprint(catalogue.root), "report": catalogue.report.summary(),
                   "skipped_images": [e for e in errors if e][:100]},
        spaces=carried,
        default_space=artifacts.manifest.searched_space, worn_space=artifacts.manifest.worn_space,
        index_spaces=True, timings=seconds,
    )
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)  # only now: a crash before the commit resumes from the chunks
    return _report(diff, unreadable, manifest.build_id, artifacts.build_id, len(items), never_seen, seconds,
                   started)


def _carried_spaces(artifacts: Artifacts, vectors: np.ndarray, colours: np.ndarray,
                    source: np.ndarray) -> dict[str, CarriedSpace]:
    """Each trained space carried into the updated rows: a kept product's stored vector (``source``: its old
    row, -1 for one embedded now), a new one's through the space's head; each counts the products it never
    saw."""
    carried = {}
    fresh = source < 0
    for space, entry in artifacts.manifest.spaces.items():
        stored = artifacts.space_vectors(space)
        rows = np.empty((len(source), stored.shape[1]), np.float32)
        rows[~fresh] = stored[source[~fresh]]
        if fresh.any():
            rows[fresh] = artifacts.head(space).transform(vectors[fresh], colours[fresh])
        never_seen = int(entry.training.get("products_never_seen", 0)) + int(fresh.sum())
        carried[space] = CarriedSpace(artifacts.root / entry.head.name,
                                      entry.with_training(products_never_seen=never_seen), rows,
                                      artifacts.root / entry.split.name if entry.split else None,
                                      artifacts.root / entry.words.name if entry.words else None)
    return carried


def _report(diff: CatalogueDiff, unreadable: list[str], build_id: str, previous: str, products: int,
            never_seen: dict[str, int], seconds: dict[str, float], started: float) -> dict:
    seconds["total"] = time.perf_counter() - started
    return {**diff.counts(), "unreadable": len(unreadable), "unreadable_ids": unreadable[:100],
            "build_id": build_id, "previous_build_id": previous, "products": products,
            "seconds": {k: round(v, 3) for k, v in seconds.items()},
            "spaces": {space: {"products_never_seen": count, "retrain_due": count > RETRAIN_SHARE * max(products, 1)}
                       for space, count in never_seen.items()}}


def format_update_report(report: dict) -> str:
    """The update report as a few lines for a terminal."""
    counts = "  ".join(f"{name} {report[name]:,}" for name in
                       ("added", "changed", "removed", "relabelled", "unchanged", "unreadable"))
    stages = "  ".join(f"{name} {value:.1f} s" for name, value in report["seconds"].items())
    head = f"Updated to build {report['build_id']}" if report["build_id"] != report["previous_build_id"] else \
        f"Nothing to update: build {report['build_id']} is current"
    lines = [f"{head} ({report['products']:,} products).", f"  {counts}", f"  {stages}"]
    for space, info in report["spaces"].items():
        advice = "retrain advised: python -m recommender train" if info["retrain_due"] else "no retrain needed yet"
        lines.append(f"  space {space!r}: {info['products_never_seen']:,} products its head never saw; {advice}")
    return "\n".join(lines)


def _assemble(artifacts: Artifacts, items: pd.DataFrame, embedded_ids: list[str], new_vectors: np.ndarray | None,
              new_colours: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectors and colours in the new catalogue order, and each row's source row in the old build (-1: new)."""
    old_row = {item_id: row for row, item_id in enumerate(artifacts.metadata["id"])}
    new_row = {item_id: row for row, item_id in enumerate(embedded_ids)}
    source = np.array([-1 if i in new_row else old_row[i] for i in items["id"]], np.int64)
    fresh = source < 0
    vectors = np.empty((len(items), artifacts.vectors.shape[1]), np.float32)
    colours = np.empty((len(items), artifacts.colours.shape[1]), np.float32)
    vectors[~fresh] = artifacts.vectors[source[~fresh]]
    colours[~fresh] = artifacts.colours[source[~fresh]]
    if fresh.any():
        rows = [new_row[i] for i in items["id"][fresh]]
        vectors[fresh] = new_vectors[rows]
        colours[fresh] = new_colours[rows]
    return vectors, colours, source
