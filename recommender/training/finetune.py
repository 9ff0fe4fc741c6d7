"""Fine-tune the backbone: ResNet50's last stage (conv5) learns fashion with the head.

``train`` teaches a small head on frozen ImageNet vectors.  This goes one step
further within what a CPU allows: the network up to conv4 stays frozen, so its
activations are computed once per photo (a memory-mapped float16 cache, in
resumable chunks), and conv5 (15M weights, a fifth of the network's work) is
trained together with the head on the catalogue's labels, starting from the
ImageNet weights and the trained head.  Batch-norm statistics stay frozen.

A fine-tuned conv5 changes every vector, so the catalogue is re-embedded from
the cache (conv5 only), the head's vectors and type-first weights are redone,
and the result is measured on the same held-out products as the current
build.  It becomes the catalogue (a new build whose manifest names the
fine-tuned weights file, so queries and updates use the same network) only
where it wins on the near-duplicate-grouped split; otherwise nothing changes.

Each epoch ends with a checkpoint: an interrupted run resumes at the last
finished epoch (the optimiser restarts its moment estimates).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..atomic import write_json_atomic
from ..config import silent
from ..data.images import decode_image, to_model_input
from ..evaluation.comparison import compare_models, format_comparison
from ..evaluation.protocols import evaluation_splits, holdout_evaluation
from ..evaluation.results import save_evaluation
from ..features import quiet
from ..features.extractor import l2_normalise
from ..features.head import class_ids
from ..features.network import resnet50
from ..features.settings import DEFAULT_INPUT_SIZE, FEATURE_DIM
from ..features.weights import Weights, file_sha256
from ..store.artifacts import ArtifactError, CarriedSpace, backbone_weights, load_artifacts, write_artifacts
from ..store.manifest import FileEntry, commit_manifest, frozen, read_manifest
from ..store.names import finetune_folder, space_files
from .label_weights import choose_label_weights
from .train import DEFAULT_HOLDOUT, DEFAULT_SPACE, EMBEDDING_DIM, HIDDEN_DIM, LABEL_WEIGHTS

DEFAULT_FINETUNE_EPOCHS = 3
# 1e-4 took the warm-started training loss from 0.14 to 0.47 within the first epoch (Adam's first
# steps move every conv5 weight by about the learning rate); 1e-5 keeps what the head had learned.
LEARNING_RATE = 1e-5
BATCH_SIZE = 32
CONV4_STRIDE, CONV4_CHANNELS = 16, 1024  # conv4_block6_out: 14x14x1024 at a 224x224 input
_CHUNK = 256


def fine_tune(root: str | Path, *, space: str = DEFAULT_SPACE, holdout: float = DEFAULT_HOLDOUT, seed: int = 0,
              epochs: int = DEFAULT_FINETUNE_EPOCHS, weights: Weights | str | Path | None = None,
              keep_regardless: bool = False, progress: bool = True, log: Callable[[str], None] = silent) -> dict:
    """Fine-tune conv5 with the head of ``space``; keep it as the catalogue only where it wins.

    ``weights`` names the file the catalogue was built with where it is not
    the default one; ``keep_regardless`` keeps the result even where it does
    not win (to inspect it; the report still says how it measured).

    Returns
    -------
    dict
        ``kept`` and ``wins`` (bool), ``seconds`` per stage, and the ``comparison`` of the current and
        the fine-tuned catalogue on the grouped split (:func:`recommender.evaluation.comparison.compare_models`).
    """
    root = Path(root)
    artifacts = load_artifacts(root)
    if space not in artifacts.spaces:
        raise ValueError(f"No trained space {space!r} in {root}: run python -m recommender train first")
    features = artifacts.manifest.features
    if features.pooling != "avg":
        raise ValueError("Fine-tuning expects a catalogue built with average pooling")
    options = features.knobs
    metadata = artifacts.metadata
    splits = evaluation_splits(artifacts, holdout, seed=seed, space=space)
    head = artifacts.head(space)
    weights = backbone_weights(root, features, weights)
    if weights.sha256 != features.weights_sha256:
        raise ArtifactError(f"The catalogue in {root} was built with other weights than {weights.path}; "
                            "name its file with --weights")
    work = root / finetune_folder(artifacts.build_id)
    work.mkdir(exist_ok=True)
    seconds: dict[str, float] = {}

    clock = time.perf_counter()
    paths = [artifacts.manifest.dataset / name for name in metadata["image"]]
    conv4 = conv4_cache(work, paths, weights, resize=options["resize"], input_size=options["input_size"],
                        progress=progress, log=log)
    seconds["conv4 cache"] = time.perf_counter() - clock

    clock = time.perf_counter()
    train_rows = np.flatnonzero(splits.train)
    labels = {label: class_ids(metadata[label].to_numpy()[train_rows], head.classes[label]) for label in head.classes}
    network, model, projector = _training_model(weights, head, conv4.shape[1:])
    log(f"Fine-tuning conv5 with the {space!r} head on {len(train_rows):,} products, {epochs} epochs "
        f"(checkpoints in {work})...")
    _fit(model, work, conv4, np.asarray(artifacts.colours), train_rows, labels, epochs=epochs, seed=seed,
         progress=progress)
    seconds["training"] = time.perf_counter() - clock

    clock = time.perf_counter()
    from .head_model import head_from_model

    new_head = head_from_model(projector, head.classes)
    backbone = _save_backbone(network, work)
    vectors = _pooled(network, conv4)
    colours = np.asarray(artifacts.colours)
    space_vectors = new_head.transform(vectors, colours)
    seconds["re-embedding"] = time.perf_counter() - clock

    current = artifacts.manifest.spaces[space]
    head_path = work / space_files("finetune", space)["head"]
    new_head.save(head_path)
    seconds_total = round(sum(seconds.values()), 1)
    entry = replace(current.with_training(fine_tuned={"stage": "conv5", "epochs": epochs,
                                                      "learning_rate": LEARNING_RATE, "seconds": seconds_total}),
                    ranking=frozen(choose_label_weights(space_vectors, metadata, new_head, splits)))
    new_features = features.with_weights(backbone, backbone={
        "name": backbone.path.name, "digest": FileEntry.of(backbone.path).digest,
        "fine_tuned_from": features.weights_sha256, "stage": "conv5", "labels": list(LABEL_WEIGHTS)})
    candidate_root = work / "candidate"  # measured before it is kept
    index = artifacts.manifest.index
    options = dict(vectors=vectors, colours=colours, metadata=metadata, catalogue=artifacts.manifest.catalogue,
                   n_trees=index.n_trees, metric=index.metric, default_space=space, index_spaces=True,
                   spaces={space: CarriedSpace(head_path, replace(entry, words=None), space_vectors,
                                               root / current.split.name if current.split else None)})
    write_artifacts(candidate_root, features=new_features, **options)  # measured before it is kept
    clock = time.perf_counter()
    before = holdout_evaluation(artifacts, holdout, space=space, seed=seed)
    after = holdout_evaluation(load_artifacts(candidate_root), holdout, space=space, seed=seed)
    seconds["evaluation"] = time.perf_counter() - clock
    comparison = compare_models(before, after, seed=seed)
    log("Grouped split, head on frozen features vs fine-tuned:\n" + format_comparison(comparison, "before", "after"))
    report = {"kept": comparison["wins"] or keep_regardless, "wins": comparison["wins"],
              "seconds": {k: round(v, 1) for k, v in seconds.items()}, "comparison": comparison}
    _keep_or_reject(root, work, space, report, backbone, after, {**options, "features": new_features},
                    seconds_total, log=log)
    return report


def _keep_or_reject(root: Path, work: Path, space: str, report: dict, backbone: Weights, after: dict,
                    build: dict, seconds_total: float, *, log: Callable[[str], None]) -> None:
    """Commit the fine-tuned build where ``report`` says it is kept (its backbone copied beside it, its
    evaluation saved), else record the rejection on the space and drop the candidate (the conv4 cache stays)."""
    if report["kept"]:
        target = root / backbone.path.name
        shutil.copyfile(backbone.path, target)
        manifest = write_artifacts(root, **build)
        save_evaluation(root, manifest.build_id, after)  # the candidate's vectors are the new build's
        shutil.rmtree(work, ignore_errors=True)
        why = "it wins" if report["wins"] else "as asked, though it does not win"
        log(f"Fine-tuned backbone kept ({why}): build {manifest.build_id} "
            f"({seconds_total / 60:.0f} min of CPU time).")
    else:
        manifest = read_manifest(root)
        commit_manifest(root, manifest.with_space(space, manifest.spaces[space].with_training(
            fine_tune_rejected=report)))
        shutil.rmtree(work / "candidate", ignore_errors=True)
        log(f"Fine-tuned backbone not kept: it does not win on the held-out products "
            f"beyond noise ({seconds_total / 60:.0f} min of CPU time; the conv4 cache stays in {work} for another "
            "try).")


def conv4_cache(work: Path, paths: Sequence[Path], weights: Weights, *, resize: str,
                input_size: int = DEFAULT_INPUT_SIZE, progress: bool = True,
                log: Callable[[str], None] = silent) -> np.ndarray:
    """conv4_block6_out activations of every photo, float16, memory-mapped; resumable by chunk.

    A chunk is listed as done in ``conv4-done.json`` only after it was flushed,
    so an interrupted run recomputes at most the chunk it was writing.
    """
    from tqdm import tqdm

    path, done_path = work / "conv4.npy", work / "conv4-done.json"
    side = input_size // CONV4_STRIDE
    shape = (len(paths), side, side, CONV4_CHANNELS)
    if path.is_file():
        cache = np.load(path, mmap_mode="r+")
        if cache.shape != shape:
            raise ValueError(f"{path} holds {cache.shape}, expected {shape}: delete {work} and run again")
    else:
        cache = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=shape)
    done = set(json.loads(done_path.read_text())) if done_path.is_file() else set()
    starts = [start for start in range(0, len(paths), _CHUNK) if start not in done]
    if starts and done:
        log(f"Resuming the conv4 cache: {len(done)} of {len(done) + len(starts)} chunks already done.")
    trunk = _trunk(weights, input_size) if starts else None
    with ThreadPoolExecutor(2) as pool, tqdm(total=len(paths), initial=len(paths) - sum(
            min(_CHUNK, len(paths) - start) for start in starts), unit="img", desc="conv4 activations",
            file=sys.stderr, disable=not progress or not starts, dynamic_ncols=True) as bar:
        for start in starts:
            chunk = paths[start:start + _CHUNK]
            inputs = list(pool.map(lambda p: to_model_input(decode_image(p), mode=resize, size=input_size), chunk))
            for offset in range(0, len(chunk), BATCH_SIZE):
                batch = np.stack(inputs[offset:offset + BATCH_SIZE])
                cache[start + offset:start + offset + len(batch)] = trunk(batch).numpy().astype(np.float16)
                bar.update(len(batch))
            cache.flush()
            done.add(start)
            write_json_atomic(done_path, sorted(done))
    return np.load(path, mmap_mode="r")


def _trunk(weights: Weights, input_size: int):
    """uint8 batch -> conv4_block6_out, float32 (the frozen part of the network)."""
    tf = quiet.tensorflow()
    import keras

    network, _ = resnet50(weights, input_size)
    model = keras.Model(network.inputs, network.get_layer("conv4_block6_out").output)
    preprocess = keras.applications.resnet50.preprocess_input

    @tf.function(input_signature=[tf.TensorSpec([None, input_size, input_size, 3], tf.uint8)])
    def forward(batch):
        return model(preprocess(tf.cast(batch, tf.float32)), training=False)

    return forward


def _conv5(network, x):
    """Apply ResNet50's conv5 stage (the layers of ``network``, so training updates them) to ``x``."""
    for block in (1, 2, 3):
        name = f"conv5_block{block}_"
        shortcut = x
        if block == 1:
            shortcut = network.get_layer(name + "0_bn")(network.get_layer(name + "0_conv")(x), training=False)
        y = x
        for step in ("1", "2"):
            y = network.get_layer(name + step + "_conv")(y)
            y = network.get_layer(name + step + "_relu")(network.get_layer(name + step + "_bn")(y, training=False))
        y = network.get_layer(name + "3_bn")(network.get_layer(name + "3_conv")(y), training=False)
        x = network.get_layer(name + "out")(network.get_layer(name + "add")([shortcut, y]))
    return x


def _training_model(weights, head, conv4_shape: tuple[int, ...]):
    """(full ResNet50, model: [conv4 activations, colour signature] -> each label's logits, its head part)."""
    quiet.tensorflow()
    import keras

    from .head_model import head_model, load_into

    network = keras.applications.ResNet50(weights=str(weights.path))
    for layer in network.layers:
        layer.trainable = layer.name.startswith("conv5_") and not layer.name.endswith("_bn")
    conv4 = keras.Input(conv4_shape, name="conv4")
    colour = keras.Input((head.w1.shape[0] - FEATURE_DIM,), name="colour")
    pooled = keras.layers.UnitNormalization()(keras.layers.GlobalAveragePooling2D()(_conv5(network, conv4)))
    projector = head_model(head.w1.shape[0], {name: len(names) for name, names in head.classes.items()},
                           hidden_dim=HIDDEN_DIM, embedding_dim=EMBEDDING_DIM)
    load_into(projector, head)
    outputs = projector(keras.layers.Concatenate()([pooled, colour]))
    model = keras.Model([conv4, colour], outputs)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                  loss={name: keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
                        for name in head.classes},
                  loss_weights={name: LABEL_WEIGHTS.get(name, 1.0) for name in head.classes})
    return network, model, projector


def _fit(model, work: Path, conv4: np.ndarray, colours: np.ndarray, rows: np.ndarray, labels: dict[str, np.ndarray],
         *, epochs: int, seed: int, progress: bool) -> None:
    """Train with one checkpoint per epoch; resume after the last finished one."""
    import keras
    from tqdm import tqdm

    checkpoint, state_path = work / "checkpoint.weights.h5", work / "checkpoint.json"
    start = 0
    if state_path.is_file() and checkpoint.is_file():
        start = int(json.loads(state_path.read_text())["epochs_done"])
        with warnings.catch_warnings():  # Keras warns that the optimizer's moments are not restored: known, said above
            warnings.simplefilter("ignore", UserWarning)
            model.load_weights(checkpoint)
    if start >= epochs:
        return
    steps = -(-len(rows) // BATCH_SIZE)

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.order, self.epoch = rows, start

        def __len__(self):
            return steps

        def __getitem__(self, i):
            picked = np.sort(self.order[i * BATCH_SIZE:(i + 1) * BATCH_SIZE])  # sorted: sequential reads
            where = np.searchsorted(rows, picked)
            return ({"conv4": conv4[picked].astype(np.float32), "colour": colours[picked]},
                    {name: ids[where] for name, ids in labels.items()})

        def on_epoch_end(self):
            self.order = np.random.default_rng([seed, self.epoch]).permutation(rows)
            self.epoch += 1

    class Checkpoint(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=epochs * steps, initial=start * steps, unit="batch", desc="Fine-tuning",
                            file=sys.stderr, disable=not progress, dynamic_ncols=True)

        def on_train_batch_end(self, batch, logs=None):
            self.bar.update(1)
            if batch % 10 == 0:
                self.bar.set_postfix(loss=f"{(logs or {}).get('loss', float('nan')):.3f}")

        def on_epoch_end(self, epoch, logs=None):
            partial = checkpoint.with_name("checkpoint.partial.weights.h5")
            self.model.save_weights(partial)
            partial.replace(checkpoint)
            write_json_atomic(state_path, {"epochs_done": epoch + 1})

        def on_train_end(self, logs=None):
            self.bar.close()

    batches = Batches()
    batches.on_epoch_end()
    model.fit(batches, epochs=epochs, initial_epoch=start, verbose=0, callbacks=[Checkpoint()])


def _pooled(network, conv4: np.ndarray) -> np.ndarray:
    """The fine-tuned network's average-pooled, L2-normalised vectors, from the cached activations."""
    tf = quiet.tensorflow()
    import keras

    inputs = keras.Input(conv4.shape[1:])
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(_conv5(network, inputs)))

    @tf.function
    def forward(batch):
        return model(batch, training=False)

    vectors = np.zeros((len(conv4), FEATURE_DIM), np.float32)
    for start in range(0, len(conv4), 128):
        vectors[start:start + 128] = forward(np.asarray(conv4[start:start + 128], np.float32)).numpy()
    return l2_normalise(vectors)


def _save_backbone(network, work: Path) -> Weights:
    """The whole fine-tuned ResNet50 as one weights file (loadable like the ImageNet one)."""
    path = work / "backbone.weights.h5"
    network.save_weights(path)
    digest = file_sha256(path)
    named = work / f"backbone-{digest[:12]}.weights.h5"
    path.replace(named)
    return Weights(named, "fine-tuned", digest)
