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

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .artifacts import ArtifactError, Artifacts, commit_manifest, file_entry, load_artifacts
from .atomic import save_npy_atomic, write_atomic
from .catalogue import LABEL_COLUMNS, holdout_split
from .features import l2_normalise

EMBEDDING_DIM = 256
HIDDEN_DIM = 1024
DEFAULT_SPACE = "fashion"
DEFAULT_HOLDOUT = 0.1
# Weight of each label's loss: what a shopper means by "similar", type first.
LABEL_WEIGHTS = {"articleType": 1.0, "subCategory": 0.5, "masterCategory": 0.25, "baseColour": 1.0, "gender": 0.5}


@dataclass
class Head:
    """A trained projection: ``transform`` maps backbone vectors into the fashion space."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray

    def transform(self, vectors: np.ndarray, colours: np.ndarray) -> np.ndarray:
        """(n, 2048) vectors and (n, 64) colour signatures -> (n, 256) unit vectors."""
        inputs = np.concatenate([np.asarray(vectors, np.float32), np.asarray(colours, np.float32)], axis=1)
        hidden = np.maximum(inputs @ self.w1 + self.b1, 0.0)
        return l2_normalise(hidden @ self.w2 + self.b2)

    def save(self, path: Path) -> None:
        """Write the arrays as ``.npz`` (no pickle), atomically."""
        write_atomic(path, lambda partial: np.savez(partial, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2),
                     suffix=".npz")

    @classmethod
    def read(cls, path: Path) -> "Head":
        """Read a head saved by :meth:`save`."""
        with np.load(path, allow_pickle=False) as arrays:
            return cls(*(arrays[name].astype(np.float32) for name in ("w1", "b1", "w2", "b2")))


def load_head(artifacts: Artifacts, space: str) -> Head:
    """The head of a trained space of these artifacts."""
    if space not in artifacts.manifest.get("spaces", {}):
        raise ArtifactError(f"Expected a trained space in {list(artifacts.manifest.get('spaces', {}))}, got {space!r}")
    path = artifacts.root / artifacts.manifest["spaces"][space]["head"]["name"]
    try:
        return Head.read(path)
    except (OSError, ValueError, KeyError) as error:
        raise ArtifactError(f"{path} is corrupt ({error}); retrain: python -m recommender train") from None


def train_head(vectors: np.ndarray, colours: np.ndarray, labels: dict[str, np.ndarray], *, epochs: int = 60,
               batch_size: int = 256, learning_rate: float = 1e-3, seed: int = 0,
               verbose: int = 0) -> Head:
    """Fit a projection head with one cosine-softmax classifier per label.

    Parameters
    ----------
    vectors : (n, 2048) float32
    colours : (n, 64) float32
    labels : dict label -> (n,) integer class ids (-1 for unknown: ignored)
    epochs, batch_size, learning_rate, seed : training settings

    Returns
    -------
    Head
    """
    import keras

    from .head_model import head_model

    keras.utils.set_random_seed(seed)
    model = head_model(vectors.shape[1] + colours.shape[1], {name: int(ids.max()) + 1 for name, ids in labels.items()},
                       hidden_dim=HIDDEN_DIM, embedding_dim=EMBEDDING_DIM)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss={name: keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
              for name in labels},
        loss_weights={name: LABEL_WEIGHTS.get(name, 1.0) for name in labels},
    )
    x = np.concatenate([vectors, colours], axis=1).astype(np.float32)
    model.fit(x, labels, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose)
    hidden_layer, embedding_layer = model.get_layer("hidden"), model.get_layer("embedding")
    w1, b1 = (np.asarray(w) for w in hidden_layer.get_weights())
    w2, b2 = (np.asarray(w) for w in embedding_layer.get_weights())
    return Head(w1, b1, w2, b2)


def train_space(root: str | Path, *, space: str = DEFAULT_SPACE, holdout: float = DEFAULT_HOLDOUT,
                seed: int = 0, epochs: int = 60, log=print) -> dict:
    """Train a head on a built catalogue, leaving ``holdout`` out, and commit the new space.

    Returns
    -------
    dict
        The space's manifest entry.
    """
    if space == "imagenet":
        raise ValueError("Expected a new space name, got 'imagenet' (the frozen backbone's space)")
    artifacts = load_artifacts(root)
    metadata = artifacts.metadata
    train_rows = ~holdout_split(metadata, holdout, seed=seed)
    labels, vocabularies = {}, {}
    for column in LABEL_COLUMNS:
        values = metadata[column].to_numpy()
        vocabulary = sorted(set(values[train_rows]) - {""})
        lookup = {value: i for i, value in enumerate(vocabulary)}
        labels[column] = np.array([lookup.get(v, -1) for v in values[train_rows]], np.int64)
        vocabularies[column] = len(vocabulary)
    vectors, colours = np.asarray(artifacts.vectors), np.asarray(artifacts.colours)
    log(f"Training space {space!r} on {int(train_rows.sum()):,} products ({holdout:.0%} held out, seed {seed}), "
        f"{epochs} epochs...")
    started = time.perf_counter()
    head = train_head(vectors[train_rows], colours[train_rows], labels, epochs=epochs, seed=seed,
                      verbose=2 if log is print else 0)
    seconds = time.perf_counter() - started
    build_id = artifacts.build_id
    head_path = artifacts.root / f"head-{build_id}-{space}.npz"
    vectors_path = artifacts.root / f"vectors-{build_id}-{space}.npy"
    head.save(head_path)
    save_npy_atomic(vectors_path, head.transform(vectors, colours))
    entry = {
        "dimension": EMBEDDING_DIM,
        "head": file_entry(head_path),
        "vectors": file_entry(vectors_path),
        "training": {"holdout": holdout, "seed": seed, "epochs": epochs, "labels": LABEL_WEIGHTS,
                     "classes": vocabularies, "loss": "cosine softmax per label", "seconds": round(seconds, 1),
                     "backbone_weights_sha256": artifacts.manifest["features"]["weights_sha256"]},
    }
    manifest = dict(artifacts.manifest)
    manifest["spaces"] = {**manifest.get("spaces", {}), space: entry}
    commit_manifest(Path(root), manifest)
    log(f"Trained in {seconds:.0f} s; space {space!r} committed to {root}.")
    entry["comparison"] = choose_default_space(Path(root), space, holdout=holdout, seed=seed, log=log)
    return entry


def choose_default_space(root: Path, space: str, *, holdout: float, seed: int, log=print) -> dict:
    """Make ``space`` the catalogue's default only where it wins on the held-out products.

    It must beat the frozen ImageNet features on articleType P@5 without
    losing baseColour P@5.  Returns both evaluations' P@5 figures.
    """
    from .evaluate import holdout_evaluation

    artifacts = load_artifacts(root)
    scores = {}
    for name in ("imagenet", space):
        result = holdout_evaluation(artifacts, holdout, space=name, seed=seed)
        scores[name] = {label: result["precision_at_k"][label]["5"] for label in LABEL_COLUMNS}
        log(f"  {name:<10} P@5 " + "  ".join(f"{k} {v:.3f}" for k, v in scores[name].items()))
    wins = scores[space]["articleType"] > scores["imagenet"]["articleType"] and \
        scores[space]["baseColour"] >= scores["imagenet"]["baseColour"]
    manifest = dict(artifacts.manifest)
    manifest["default_space"] = space if wins else "imagenet"
    manifest["spaces"][space]["comparison"] = scores
    commit_manifest(root, manifest)
    log(f"Default space: {manifest['default_space']!r} ({'wins' if wins else 'does not win'} on held-out products).")
    return scores


def add_train_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``train`` on the CLI."""
    parser = sub.add_parser("train", help="learn a fashion embedding on the catalogue's labels")
    parser.add_argument("--artifacts", default=None)
    parser.add_argument("--space", default=DEFAULT_SPACE)
    parser.add_argument("--holdout", type=float, default=DEFAULT_HOLDOUT,
                        help="fraction kept out of training (evaluate with the same --holdout)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=60, help="60: best held-out P@5 of 15, 30, 60 (README)")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from .settings import artifacts_dir

    train_space(artifacts_dir(args.artifacts), space=args.space, holdout=args.holdout, seed=args.seed,
                epochs=args.epochs)
    return 0
