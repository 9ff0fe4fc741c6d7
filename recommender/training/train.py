"""Transfer learning: a fashion embedding learned on top of frozen ImageNet features.

The backbone stays frozen, so training needs no image: a small head maps each
stored 2048-d ResNet50 vector (plus its 64-d colour signature) to a 256-d
unit vector, trained with one cosine-softmax classifier per catalogue label
(articleType, subCategory, masterCategory, baseColour, gender).  A cosine
classifier pulls products of one class together on the unit sphere, which is
what Euclidean nearest-neighbour search rewards.  It trains in minutes on two
CPU cores, and the catalogue's new vectors are the head applied to the stored
ones, so nothing is re-embedded.

The head is saved as ``head-<build>-<space>.npz`` (plain arrays) and its
vectors as ``vectors-<build>-<space>.npy``; the manifest's ``spaces`` records
both, the training settings and the split it never saw.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..atomic import save_npy_atomic
from ..config import silent
from ..data.catalogue import LABEL_COLUMNS
from ..evaluation.comparison import compare_models, format_comparison
from ..evaluation.protocols import holdout_evaluation, photo_queries_evaluation
from ..evaluation.query_folders import PhotoFolder, embed_folder, worn_queries
from ..evaluation.results import save_evaluation
from ..evaluation.splits import Splits, make_splits, read_splits, save_splits
from ..features import quiet
from ..features.extractor import Extractor
from ..features.head import Head, class_ids
from ..features.weights import Weights
from ..goals import COMPARED_LABELS
from ..store.artifacts import Artifacts, forget_space, load_artifacts
from ..store.manifest import BACKBONE_SPACE, FileEntry, SpaceEntry, commit_manifest, frozen
from ..store.names import space_files
from ..store.predictor import catalogue_extractor
from .augment import background_patches, embed_phone_like
from .label_weights import choose_label_weights
from .words import train_words

EMBEDDING_DIM = 256
HIDDEN_DIM = 1024
DEFAULT_SPACE = "fashion"
REAL_PHOTOS_SPACE = "fashion-real"  # the space a head taught real photos too is trained under by default
STREET_PHOTOS_SPACE = "fashion-street"  # ... and the garments worn in street photos too (the first start's names)
DEFAULT_HOLDOUT = 0.1
# The kinds of query a space is the default for, each judged on its own real photos: photos of a product alone
# (the catalogue's, a shirt on a bed) and garments worn by a person (docs/decisions/0010-a-space-per-kind-of-photo.md).
PRODUCT_SIDE, WORN_SIDE = "product photos", "worn garments"
QUERY_SIDES = (PRODUCT_SIDE, WORN_SIDE)
# 60: the best held-out P@5 of 15, 30 and 60 epochs on the full catalogue (docs/decisions/0005-fashion-head.md).
DEFAULT_EPOCHS = 60
# Weight of each label's loss: what a shopper means by "similar", type first.  baseColour 0.5 rather
# than 1: +0.3 / +2.8 points of articleType P@5 on the grouped split of the 10k / demo catalogues,
# +1.7 / -1.6 of baseColour (docs/decisions/0005-fashion-head.md).
LABEL_WEIGHTS = {"articleType": 1.0, "subCategory": 0.5, "masterCategory": 0.25, "baseColour": 0.5, "gender": 0.5}


class TooFewProducts(ValueError):
    """A catalogue too small to train a head on some products and measure it on others."""


def train_head(vectors: np.ndarray, colours: np.ndarray, labels: dict[str, np.ndarray], *,
               epochs: int = DEFAULT_EPOCHS,
               batch_size: int = 256, learning_rate: float = 1e-3, seed: int = 0,
               progress: bool = False) -> Head:
    """Fit a projection head with one cosine-softmax classifier per label.

    Parameters
    ----------
    vectors : (n, 2048) float32
    colours : (n, 64) float32
    labels : dict label -> (n,) str values ("" for unknown: ignored)
    epochs, batch_size, learning_rate, seed : training settings
    progress : bool, default False
        Show one progress bar on stderr (epoch, loss, time left).

    Returns
    -------
    Head
    """
    quiet.tensorflow()
    import keras

    from .head_model import head_from_model, head_model

    keras.utils.set_random_seed(seed)
    classes = {name: np.array(sorted(set(values) - {""}), str) for name, values in labels.items()}
    ids = {name: class_ids(values, classes[name]) for name, values in labels.items()}
    model = head_model(vectors.shape[1] + colours.shape[1], {name: len(names) for name, names in classes.items()},
                       hidden_dim=HIDDEN_DIM, embedding_dim=EMBEDDING_DIM)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss={name: keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
              for name in labels},
        loss_weights={name: LABEL_WEIGHTS.get(name, 1.0) for name in labels},
    )
    x = np.concatenate([vectors, colours], axis=1).astype(np.float32)
    callbacks = [_epoch_bar(epochs)] if progress else []
    model.fit(x, ids, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0, callbacks=callbacks)
    return head_from_model(model, classes)


def train_space(root: str | Path, *, space: str = DEFAULT_SPACE, holdout: float = DEFAULT_HOLDOUT,
                seed: int = 0, epochs: int = DEFAULT_EPOCHS, split: str | Path | None = None,
                extra_photos: Sequence[str | Path] = (), dev_photos: str | Path | None = None,
                phone_like: int = 0, backgrounds: str | Path | None = None,
                weights: Weights | str | Path | None = None,
                progress: bool = True, log: Callable[[str], None] = silent) -> SpaceEntry:
    """Train a head on a built catalogue, leaving ``holdout`` out, and commit the new space.

    ``split`` names an earlier split file (``split-<build>-<space>.json``): the same products
    are held out, so two builds of one catalogue (another input size, other weights) are
    measured on the same queries; its fraction and seed replace ``holdout`` and ``seed``.

    ``extra_photos`` are folders of real photos in the Kaggle layout (shoppers' photos, say): they
    are embedded as the catalogue was and teach the head too (a label they lack contributes no
    loss); they never enter the index. Such a space becomes the default only where it also beats
    the current default space on ``dev_photos`` (other real photos, required with it) beyond noise
    without losing studio P@5 beyond noise (:func:`judge_on_real_photos`); ``weights`` embeds them.

    ``phone_like`` copies of each training product's photo (:mod:`recommender.training.augment`:
    tilted, cropped, relit, blurred, compressed, and laid on patches of the street photos in
    ``backgrounds`` where given) teach the head too, and are judged the same way.

    Returns
    -------
    SpaceEntry
        The space's manifest entry, with its comparison against the frozen backbone.
    """
    if space == BACKBONE_SPACE:
        raise ValueError(f"Expected a new space name, got {space!r} (the frozen backbone's space)")
    artifacts = load_artifacts(root)
    current = {side: artifacts.manifest.space_for(worn=side == WORN_SIDE) for side in QUERY_SIDES}
    real = copies = dev = extractor = None
    if extra_photos or phone_like:
        if dev_photos is None:
            raise ValueError("Training on extra or phone-like photos needs --dev-photos: other real photos to "
                             "judge the result on")
        if space in current.values():
            raise ValueError(f"{space!r} is a default space that a space trained on extra photos is judged "
                             f"against: name the new one otherwise (--space {space}-real)")
        extractor = catalogue_extractor(artifacts.root, artifacts.manifest, weights=weights, log=log)
        dev = embed_folder(extractor, dev_photos, garments=True, progress=progress)
    if extra_photos:
        folders = [embed_folder(extractor, folder, labelled_only=False, progress=progress) for folder in extra_photos]
        real = PhotoFolder.joined(folders)
        log(f"{len(real.items):,} extra photos from {', '.join(str(f.folder) for f in folders)} teach the head; "
            f"{len(dev.items):,} real photos and annotated garments from {dev.folder} judge it.")
    splits, holdout, seed = _splits(artifacts, holdout, seed, split)
    if phone_like:
        copies = phone_like_copies(artifacts, extractor, np.flatnonzero(splits.train), phone_like,
                                   backgrounds=backgrounds, seed=seed, progress=progress, log=log)
    log(f"Training space {space!r} on {int(splits.train.sum()):,} products (held out: {holdout:.0%} random, "
        f"{holdout:.0%} in near-duplicate groups, {int(splits.validation.sum()):,} for validation; seed {seed}), "
        f"{epochs} epochs...")
    started = time.perf_counter()
    head = train_head(*_training_set(artifacts, splits.train, [f for f in (real, copies) if f is not None]),
                      epochs=epochs, seed=seed, progress=progress)
    seconds = time.perf_counter() - started
    space_vectors, files = _save_space(artifacts, space, head, splits, holdout=holdout, seed=seed)
    ranking = choose_label_weights(space_vectors, artifacts.metadata, head, splits)
    log("Type-first ranking weights (validation split): "
        + ", ".join(f"{label} {weight:g}" for label, weight in ranking["weights"].items()))
    entry = SpaceEntry(EMBEDDING_DIM, *files, frozen(ranking), frozen({
        "holdout": holdout, "seed": seed, "epochs": epochs, "labels": LABEL_WEIGHTS,
        "classes": {label: len(names) for label, names in head.classes.items()},
        "loss": "cosine softmax per label", "seconds": round(seconds, 1),
        "backbone_weights_sha256": artifacts.manifest.features.weights_sha256,
        **({"extra_photos": {"folders": [str(folder) for folder in extra_photos], "count": len(real.items),
                             "with_articleType": int((real.items["articleType"] != "").sum())}}
           if real is not None else {}),
        **({"phone_like": {"copies": phone_like, "count": len(copies.items),
                           "backgrounds": str(backgrounds) if backgrounds else None}}
           if copies is not None else {})}))
    _judge_and_commit(root, artifacts, space, entry, space_vectors, current, dev, holdout=holdout, seed=seed, log=log)
    return train_words(root, space=space, log=log)


def _splits(artifacts: Artifacts, holdout: float, seed: int, split: str | Path | None) -> tuple[Splits, float, int]:
    """The held-out, validation and training products (those of an earlier ``split`` file where given, whose
    fraction and seed then replace ``holdout`` and ``seed``); :class:`TooFewProducts` where none can be held out."""
    metadata = artifacts.metadata
    if split is None:
        splits = make_splits(metadata, np.asarray(artifacts.vectors), holdout, seed=seed)
    else:
        splits, made = read_splits(Path(split), metadata)
        holdout, seed = made["fraction"], made["seed"]
    if not (splits.test("random").any() and splits.train.any()):
        raise TooFewProducts(f"{len(metadata):,} products are too few to hold {holdout:.0%} out and still train: "
                             f"search this catalogue with the {BACKBONE_SPACE} features")
    return splits, holdout, seed


def _training_set(artifacts: Artifacts, train_rows: np.ndarray,
                  taught: Sequence[PhotoFolder]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The training products' vectors, colours and labels, then those of the photos in ``taught`` (a label they
    lack is "", which contributes no loss)."""
    labels = {column: artifacts.metadata[column].to_numpy()[train_rows] for column in LABEL_COLUMNS}
    vectors, colours = np.asarray(artifacts.vectors)[train_rows], np.asarray(artifacts.colours)[train_rows]
    if not taught:
        return vectors, colours, labels
    extra = PhotoFolder.joined(taught)
    labels = {column: np.concatenate([values, extra.items[column].fillna("").astype(str).to_numpy()])
              for column, values in labels.items()}
    return np.concatenate([vectors, extra.vectors]), np.concatenate([colours, extra.colours]), labels


def _save_space(artifacts: Artifacts, space: str, head: Head, splits: Splits, *, holdout: float,
                seed: int) -> tuple[np.ndarray, tuple[FileEntry, FileEntry, FileEntry]]:
    """Write the space's head, split and vectors (what was derived from its old vectors removed first): the
    catalogue's vectors in the space, and the three files' entries (head, vectors, split)."""
    names = space_files(artifacts.build_id, space)
    head_path, vectors_path, split_path = (artifacts.root / names[kind] for kind in ("head", "vectors", "split"))
    forget_space(artifacts.root, artifacts.build_id, space)
    head.save(head_path)
    save_splits(split_path, artifacts.metadata, splits, fraction=holdout, seed=seed)
    space_vectors = head.transform(np.asarray(artifacts.vectors), np.asarray(artifacts.colours))
    save_npy_atomic(vectors_path, space_vectors)
    return space_vectors, (FileEntry.of(head_path), FileEntry.of(vectors_path), FileEntry.of(split_path))


def _judge_and_commit(root: str | Path, artifacts: Artifacts, space: str, entry: SpaceEntry,
                      space_vectors: np.ndarray, current: dict[str, str], dev: PhotoFolder | None, *,
                      holdout: float, seed: int, log: Callable[[str], None]) -> None:
    """Measure a trained space before anything is committed (its index tuned, judged against the backbone on
    held-out products and, with ``dev``, against each kind's current default on real photos), then commit it
    with each kind of query's default: readers see the new space once, whole, with its verdict."""
    candidate = replace(artifacts, manifest=artifacts.manifest.with_space(space, entry),
                        spaces={**artifacts.spaces, space: space_vectors})
    tuned = candidate.tune_index(space)  # builds the space's index now, not on the first query
    log(f"Trained in {entry.training['seconds']:.0f} s (search_k {tuned['value']:,}: recall@5 "
        f"{tuned['recall_at_5']:.3f}).")
    candidate = replace(candidate, manifest=candidate.manifest.with_search_k(space, tuned))  # measured with it
    entry, default = choose_default_space(candidate, space, holdout=holdout, seed=seed, log=log)
    wins = None
    if dev is not None:
        judged, wins = judge_on_real_photos(replace(candidate, manifest=candidate.manifest.with_space(space, entry)),
                                            space, current, dev, holdout=holdout, seed=seed, log=log)
        entry = replace(entry, comparison=frozen({**entry.comparison, "real_photos": judged}))
    defaults = default_spaces(space, default, current, wins)
    commit_manifest(root, candidate.manifest.with_space(space, entry).with_default_space(defaults[PRODUCT_SIDE],
                                                                                        worn=defaults[WORN_SIDE]))
    judged_on = "held-out products and real photos" if dev is not None else "held-out products"
    verdicts = ", ".join(f"{name!r} for {side}" for side, name in defaults.items())
    log(f"Space {space!r} committed to {root}; default space: {verdicts} (a space becomes a default where it wins "
        f"beyond noise on {judged_on}).")


def phone_like_copies(artifacts: Artifacts, extractor: Extractor, rows: np.ndarray, copies: int, *,
                      backgrounds: str | Path | None, seed: int, progress: bool,
                      log: Callable[[str], None] = silent) -> PhotoFolder:
    """``copies`` phone-like copies of the photos of catalogue ``rows``, embedded, with their products' labels."""
    patches = background_patches(backgrounds, seed=seed) if backgrounds else []
    paths = [artifacts.manifest.dataset / image for image in artifacts.metadata["image"].to_numpy()[rows]]
    log(f"Making {copies} phone-like {'copy' if copies == 1 else 'copies'} of each of {len(rows):,} training "
        f"photos ({len(patches):,} real backgrounds{f' from {backgrounds}' if backgrounds else ''})...")
    vectors, colours, sources = embed_phone_like(extractor, paths, copies, backgrounds=patches, seed=seed,
                                                 progress=progress)
    items = artifacts.metadata.iloc[rows[sources]].reset_index(drop=True)
    return PhotoFolder(artifacts.manifest.dataset, items, vectors, colours)


def default_spaces(space: str, default: str, current: dict[str, str],
                   wins: dict[str, bool] | None) -> dict[str, str]:
    """The default space of each kind of query (:data:`QUERY_SIDES`) once ``space`` is trained.

    ``default`` is :func:`choose_default_space`'s verdict against the frozen backbone, ``current`` each kind's
    default before, ``wins`` :func:`judge_on_real_photos`' verdicts (None: no real photos judged it). Judged on
    real photos, ``space`` becomes the default of each kind it wins on; judged on held-out products alone it is
    judged for product photos, and worn garments keep their own space (where they had one but ``space``).

    >>> current = {PRODUCT_SIDE: "fashion-real", WORN_SIDE: "fashion-real"}
    >>> default_spaces("fashion-street", "fashion-street", current, {PRODUCT_SIDE: False, WORN_SIDE: True})
    {'product photos': 'fashion-real', 'worn garments': 'fashion-street'}
    >>> default_spaces("fashion-street", BACKBONE_SPACE, current, {PRODUCT_SIDE: True, WORN_SIDE: True})
    {'product photos': 'fashion-real', 'worn garments': 'fashion-real'}
    >>> default_spaces("fashion", "fashion", {PRODUCT_SIDE: "fashion-real", WORN_SIDE: "fashion-street"}, None)
    {'product photos': 'fashion', 'worn garments': 'fashion-street'}
    >>> default_spaces("fashion", "fashion", {PRODUCT_SIDE: BACKBONE_SPACE, WORN_SIDE: BACKBONE_SPACE}, None)
    {'product photos': 'fashion', 'worn garments': 'fashion'}
    """
    if wins is None:
        own = current[WORN_SIDE] not in (current[PRODUCT_SIDE], space)
        return {PRODUCT_SIDE: default, WORN_SIDE: current[WORN_SIDE] if own else default}
    return {side: space if default == space and wins[side] else current[side] for side in QUERY_SIDES}


def judge_on_real_photos(artifacts: Artifacts, space: str, current: dict[str, str], dev: PhotoFolder, *,
                         holdout: float, seed: int,
                         log: Callable[[str], None] = silent) -> tuple[dict, dict[str, bool]]:
    """For each side of :data:`QUERY_SIDES`, whether ``space`` beats its ``current`` default (side -> space) on
    real photos of that side without losing studio P@5 (the rule).

    A side's real photos are ``dev``'s queries of that kind (:func:`recommender.evaluation.query_folders.worn_queries`:
    garments worn by a person and their photos whole; the rest are product photos). ``space`` wins a side when the
    paired 95% interval of its articleType P@5 gain there lies above 0, and on the catalogue's held-out products
    (grouped split) neither its articleType nor its baseColour P@5 change lies below 0 beyond noise.
    Returns the comparison (side -> its figures) and side -> verdict.
    """
    names = [*dict.fromkeys([*current.values(), space])]
    real = {name: photo_queries_evaluation(artifacts, dev, space=name) for name in names}
    studio = {name: holdout_evaluation(artifacts, holdout, space=name, seed=seed) for name in names}
    worn = worn_queries(dev.items)
    judged, wins = {"dev_photos": str(dev.folder)}, {}
    for side, queries in ((PRODUCT_SIDE, ~worn), (WORN_SIDE, worn)):
        against = current[side]
        if not queries.any():  # nothing of this kind to judge on: the side keeps its space
            wins[side] = False
            continue
        on_real = compare_models(real[against], real[space], queries=queries, seed=seed)["articleType"]
        on_studio = compare_models(studio[against], studio[space], seed=seed)
        wins[side] = real_photos_win(on_real, on_studio)
        log(f"Real photos, {side} ({int(queries.sum()):,}), {against} vs {space}: articleType P@5 "
            f"{on_real['before']:.3f} -> {on_real['after']:.3f} ({100 * on_real['change']:+.1f} points, 95% interval "
            f"{100 * on_real['interval'][0]:+.1f} to {100 * on_real['interval'][1]:+.1f}); studio, grouped split:\n"
            + format_comparison(on_studio, against, space))
        judged[side] = {"against": against, "queries": int(queries.sum()), "real_articleType": on_real,
                        "studio": {label: on_studio[label] for label in COMPARED_LABELS}, "wins": wins[side]}
    return judged, wins


def real_photos_win(on_real: dict, on_studio: dict) -> bool:
    """The rule: articleType P@5 on real photos up beyond noise, studio P@5 not down beyond noise.

    ``on_real`` is a :func:`compare_models` row (``interval`` of the change), ``on_studio`` a whole report.

    >>> studio = {"articleType": {"interval": (-0.01, 0.01)}, "baseColour": {"interval": (-0.02, 0.0)}}
    >>> real_photos_win({"interval": (0.02, 0.09)}, studio), real_photos_win({"interval": (-0.01, 0.09)}, studio)
    (True, False)
    >>> real_photos_win({"interval": (0.02, 0.09)}, {**studio, "baseColour": {"interval": (-0.03, -0.01)}})
    False
    """
    return on_real["interval"][0] > 0 and all(on_studio[label]["interval"][1] >= 0 for label in COMPARED_LABELS)


def choose_default_space(artifacts: Artifacts, space: str, *, holdout: float, seed: int,
                         log: Callable[[str], None] = silent) -> tuple[SpaceEntry, str]:
    """The space to search by default: ``space`` only where it wins on the held-out products.

    It must beat the frozen ImageNet features on articleType P@5 without
    losing baseColour P@5, beyond noise (:func:`recommender.evaluation.comparison.compare_models`),
    on the near-duplicate-grouped split (the one a twin cannot flatter).  Both
    evaluations are saved beside the build (the dashboard's Evaluation page
    shows them).  Returns the space's entry with the comparison, and the default space.
    """
    results = {}
    for name in (BACKBONE_SPACE, space):
        results[name] = holdout_evaluation(artifacts, holdout, space=name, seed=seed, log=log)
        save_evaluation(artifacts.root, artifacts.build_id, results[name])
    comparison = compare_models(results[BACKBONE_SPACE], results[space], seed=seed)
    log(f"Grouped split, {BACKBONE_SPACE} vs {space}:\n" + format_comparison(comparison, BACKBONE_SPACE, space))
    return (replace(artifacts.manifest.spaces[space], comparison=frozen(comparison)),
            space if comparison["wins"] else BACKBONE_SPACE)


def _epoch_bar(epochs: int):
    """A Keras callback drawing one tqdm bar: epoch, loss, time left."""
    import keras
    from tqdm import tqdm

    class EpochBar(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=epochs, unit="epoch", desc="Training", file=sys.stderr, dynamic_ncols=True)

        def on_epoch_end(self, epoch, logs=None):
            self.bar.set_postfix(loss=f"{(logs or {}).get('loss', float('nan')):.3f}")
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return EpochBar()
