"""Embedding on Ray Data: the same chunks as a local build, computed by a pool of actors.

The engine schedules, our files record.  The driver hands Ray only the
chunks that are not done yet, one dataset row per local batch (so every
forward pass sees exactly the images, in the same order and batch size, that
the local engine would give it: the vectors are bitwise the same).  Each
actor builds one :class:`~recommender.features.extractor.Extractor` from a weights path
(a Keras model cannot be pickled), with TensorFlow's threads set to the CPUs
Ray gave it.  The driver collects rows by their index and writes a chunk with
the local engine's atomic writers once all its rows are back: a chunk counts
as done only when its marker file exists, so a restarted actor or a retried
batch can never write a row twice, and a driver killed at any moment resumes
with the chunks it lacks.  Ray Data's own checkpointing is not used.

Ray is optional: ``pip install -r requirements-ray.txt``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import PROJECT_ROOT
from ..features.export import Calibration
from ..features.extractor import Extractor
from ..features.weights import Weights, file_sha256

RAY_INSTALL = "pip install -r requirements-ray.txt"
ENGINES = ("local", "ray")


class EngineUnavailable(RuntimeError):
    """The distributed engine cannot be used here; the message says how to fix it, in one line."""


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide the embedding runs.

    Attributes
    ----------
    address : str, optional
        A running cluster (``ray start --head`` prints it); else ``$RAY_ADDRESS``; else a
        Ray started on this machine for the job.
    workers : int, default 1
        Actors, each holding one model.
    cpus_per_worker : float, default 1
        CPUs Ray reserves per actor; TensorFlow's threads are set to match.
    gpus_per_worker : float, default 0
        GPUs per actor (1 puts each model on its own GPU).
    """

    address: str | None = None
    workers: int = 1
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"Expected workers >= 1, got {self.workers}")
        if self.cpus_per_worker <= 0 or self.gpus_per_worker < 0:
            raise ValueError(f"Expected cpus_per_worker > 0 and gpus_per_worker >= 0, got "
                             f"{self.cpus_per_worker} and {self.gpus_per_worker}")


class ChunkEmbedder:
    """The Ray actor: one extractor per actor, built from a weights path; one local batch per call."""

    def __init__(self, weights_path: str, weights_sha256: str, settings: dict, cpus: float,
                 calibration: dict | None = None) -> None:
        path = Path(weights_path)
        if not path.is_file() or file_sha256(path) != weights_sha256:
            raise EngineUnavailable(f"The weights file {path} is missing or differs on this node: every node needs "
                                    "the same file at the same path (or RECOMMENDER_WEIGHTS).")
        if calibration:
            calibration = Calibration(Path(calibration["root"]), tuple(calibration["images"]),
                                      tuple(calibration["sha256"]), calibration["resize"])
        # Ray does not limit a runtime's threads: two actors on two cores would each start two.
        self.extractor = Extractor(Weights(path, "explicit", weights_sha256), threads=max(1, int(cpus)),
                                   calibration=calibration, **settings)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        indexes, vectors, colours, errors = [], [], [], []
        for first, paths in zip(batch["first"], batch["paths"]):
            embedded = list(self.extractor.embed_files(list(paths)))
            indexes.append(np.arange(int(first), int(first) + len(paths)))
            vectors.append(np.concatenate([b.vectors for b in embedded]))
            colours.append(np.concatenate([b.colours for b in embedded]))
            errors.extend(error or "" for b in embedded for error in b.errors)
        return {"index": np.concatenate(indexes), "vector": np.concatenate(vectors),
                "colour": np.concatenate(colours), "error": np.array(errors, dtype=object)}


class RayEngine:
    """Embeds pending chunks on Ray Data; see the module's description.

    Parameters
    ----------
    options : RayOptions
    actor : type, default ChunkEmbedder
        The actor class (a subclass may add behaviour, e.g. in tests).
    """

    def __init__(self, options: RayOptions = RayOptions(), *, actor: type = ChunkEmbedder) -> None:
        try:
            import ray  # noqa: F401
            import ray.data  # noqa: F401
        except ImportError:
            raise EngineUnavailable(f"--engine ray needs Ray, an optional install: {RAY_INSTALL}") from None
        self.options = options
        self.actor = actor

    def _connect(self) -> None:
        import ray

        if ray.is_initialized():
            return
        runtime_env = {"env_vars": {"PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                               os.environ.get("PYTHONPATH")])),
                                    "TF_CPP_MIN_LOG_LEVEL": "3", "RECOMMENDER_VERBOSE":
                                    os.environ.get("RECOMMENDER_VERBOSE", "")}}
        if not os.environ.get("RECOMMENDER_VERBOSE"):
            os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # Ray's C++ warnings, read at init
        address = self.options.address or os.environ.get("RAY_ADDRESS")
        quiet = {"log_to_driver": bool(os.environ.get("RECOMMENDER_VERBOSE")), "logging_level": "ERROR",
                 "include_dashboard": False}
        if address:
            ray.init(address=address, runtime_env=runtime_env, **quiet)
        else:
            # One logical CPU more than the actors take: with none spare, Ray Data's read stage never
            # runs and the job hangs (ray issue 44687).
            cpus = int(np.ceil(self.options.workers * self.options.cpus_per_worker)) + 1
            ray.init(num_cpus=cpus, runtime_env=runtime_env, **quiet)
        from ray.data import DataContext

        context = DataContext.get_current()
        context.enable_progress_bars = False  # the build draws its own bar
        if not os.environ.get("RECOMMENDER_VERBOSE"):
            logging.getLogger("ray").setLevel(logging.ERROR)
            logging.getLogger("ray.data").setLevel(logging.ERROR)

    def embed_chunks(self, extractor: Extractor, paths: Sequence[Path], starts: Sequence[int], chunk_size: int,
                     save: Callable[[int, np.ndarray, np.ndarray, list[str | None]], None],
                     advance: Callable[[int], None]) -> None:
        """Embed the chunks beginning at ``starts``; ``save(start, vectors, colours, errors)`` each when whole."""
        if not starts:
            return
        if extractor.weights is None:
            raise ValueError("Expected an extractor with a weights file (actors load it by path), got random weights")
        import ray.data
        from ray.data import ActorPoolStrategy

        self._connect()
        batch = extractor.batch_size
        rows, expected = [], {}
        for start in starts:
            end = min(start + chunk_size, len(paths))
            expected[start] = end - start
            rows += [{"first": first, "paths": [str(p) for p in paths[first:min(first + batch, end)]]}
                     for first in range(start, end, batch)]
        settings = {**extractor.settings.knobs, "batch_size": batch, "runtime": extractor.runtime}
        calibration = extractor.calibration
        calibration = calibration and {"root": str(calibration.root), "images": list(calibration.images),
                                       "sha256": list(calibration.sha256), "resize": calibration.resize}
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            self.actor, batch_size=1,
            fn_constructor_kwargs={"weights_path": str(extractor.weights.path),
                                   "weights_sha256": extractor.weights.sha256, "settings": settings,
                                   "cpus": self.options.cpus_per_worker, "calibration": calibration},
            # Ray Data restarts a dead actor and retries its batch (max_restarts=-1 by default for actor pools).
            compute=ActorPoolStrategy(size=self.options.workers), num_cpus=self.options.cpus_per_worker,
            num_gpus=self.options.gpus_per_worker or None,
        )
        pending: dict[int, dict[int, tuple[np.ndarray, np.ndarray, str]]] = {start: {} for start in starts}
        chunk_of = {}
        for start in starts:
            for index in range(start, start + expected[start]):
                chunk_of[index] = start
        for out in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for index, vector, colour, error in zip(out["index"], out["vector"], out["colour"], out["error"]):
                start = chunk_of[int(index)]
                if start not in pending or int(index) in pending[start]:
                    continue  # a retried batch: each row is kept once
                pending[start][int(index)] = (vector, colour, str(error))
                advance(1)
                if len(pending[start]) == expected[start]:
                    got = pending.pop(start)
                    order = sorted(got)
                    save(start, np.stack([got[i][0] for i in order]), np.stack([got[i][1] for i in order]),
                         [got[i][2] or None for i in order])
        if pending:
            raise RuntimeError(f"Ray returned no rows for the chunks starting at {sorted(pending)[:5]}")
