"""What the first start leaves to the background: the models that make search better, trained one after another.

A first start builds a demo catalogue and starts the dashboard at once; the fashion model, the two models that
also learned from real photos and the garment finder are then trained here, by one worker for the whole
artifacts folder (whoever holds :func:`training_lock`), each committed as it is ready: the dashboard switches
to it at its next rerun without a restart (it loads the build by :func:`recommender.store.predictor.served_version`).
What is missing after an interrupted start is what the next start trains (:func:`pending_steps`).

The worker writes its state to ``training.json`` beside the build (:class:`TrainingStatus`: the app and the
CLI read it) and its detailed lines and progress bars to ``training.log``; the terminal hears one plain line
per model: what it learned from and what it now searches.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ..atomic import write_json_atomic
from ..config import PROJECT_ROOT, silent
from ..data.locate import real_photos
from ..evaluation.protocols import holdout_evaluation, query_folder_evaluation
from ..evaluation.results import load_saved_evaluations, save_evaluation
from ..evaluation.robustness import PERTURBATIONS, upload_robustness
from ..features.weights import Weights, resolve_weights
from ..garments.finder import finder_path
from ..store.artifacts import load_artifacts
from ..store.manifest import BACKBONE_SPACE, Manifest, NoCatalogue, read_manifest
from ..store.names import TRAINING_LOCK, TRAINING_LOG, TRAINING_STATUS
from ..training.finder import street_garment_photos, train_finder
from ..training.train import (
    DEFAULT_HOLDOUT,
    DEFAULT_SPACE,
    REAL_PHOTOS_SPACE,
    STREET_PHOTOS_SPACE,
    TooFewProducts,
    train_space,
)


@dataclass(frozen=True)
class Step:
    """One model the background trains.

    ``minutes`` is what it took on 2 shared cores of an AMD EPYC with the shared datasets
    (``benchmarks/first_start.py``), for the plan printed up front.
    """

    name: str
    title: str
    minutes: int


STEPS = (
    Step(DEFAULT_SPACE, "the fashion model, learned from the catalogue's own types and colours", 2),
    Step(REAL_PHOTOS_SPACE, "a fashion model that also learned from shoppers' phone photos", 9),
    Step(STREET_PHOTOS_SPACE, "a fashion model that also learned from garments worn in street photos", 6),
    Step("finder", "the garment finder, which finds each garment a person wears in a photo", 14),
    Step("evaluation", "the Evaluation page's figures: shoppers' photos by kind, and photos as shoppers take them", 4),
)
ROBUSTNESS_QUERIES = 40  # held-out products per perturbation on the Evaluation page (`evaluate --robustness`)


def pending_steps(root: str | os.PathLike, weights: Weights) -> list[Step]:
    """The steps this catalogue still lacks and this machine can take (the real-photo models and the finder
    need the shoppers' photos of :func:`recommender.data.locate.real_photos`), in order.

    A step that could not be taken for this build (too few products) is not pending again.
    """
    try:
        manifest = read_manifest(root)
    except NoCatalogue:  # the plan of a first start, before its build
        manifest = None
    last = read_status(root)
    skipped = {name for name, step in last.get("steps", {}).items()
               if manifest and step.get("state") == "skipped" and last.get("build_id") == manifest.build_id}
    phone, dev, street = real_photos("phone"), real_photos("dev"), real_photos("street")
    has_real = (phone / "images").is_dir() and (dev / "images").is_dir()
    has_street = (street / "labels.csv").is_file()
    possible = {DEFAULT_SPACE: True, REAL_PHOTOS_SPACE: has_real, STREET_PHOTOS_SPACE: has_real and has_street,
                "finder": has_street, "evaluation": True}
    done = {*(manifest.spaces if manifest else ()), *(["finder"] if finder_path(weights.sha256).is_file() else []),
            *(["evaluation"] if manifest and _evaluated(root, manifest, last) else [])}
    return [step for step in STEPS if possible[step.name] and step.name not in done and step.name not in skipped]


def plan_lines(steps: list[Step], *, building: str | None) -> list[str]:
    """The first start's plan, one line per stage: ``building`` (the demo build, said with its time) first
    where given, then each step, trained in the background while the dashboard runs."""
    stages = ([f"{building} ... then the dashboard"] if building else []) + [
        f"{step.title} (about {step.minutes} min, in the background)" for step in steps]
    return [f"  {number}/{len(stages)} {stage}" for number, stage in enumerate(stages, 1)]


def improve(root: str | os.PathLike, *, weights: Weights | str | os.PathLike | None = None, progress: bool = True,
            log: Callable[[str], None] = silent, say: Callable[[str], None] = silent) -> bool:
    """Train every pending step (:func:`pending_steps`) of the catalogue in ``root``, one after another.

    ``log`` hears the details (the trainings' own reports), ``say`` one plain line per model. A step that fails
    is recorded (its traceback in ``log``) and the next one is taken. Returns False where another worker holds
    the lock (nothing is done), True once every step was tried.
    """
    root = Path(root)
    weights = resolve_weights(weights, log=log)
    with training_lock(root) as held:
        if not held:
            say(f"Already training in the background for {root} (see {root / TRAINING_LOG}).")
            return False
        steps = pending_steps(root, weights)
        status = TrainingStatus(root, read_manifest(root).build_id, steps)
        for step in steps:
            status.start(step)
            try:
                _run_step(step, root, weights, progress=progress, log=log)
            except TooFewProducts as error:
                status.finish(step, "skipped", f"Not trained: {error}.")
            except Exception as error:  # noqa: BLE001 - one model failing must not stop the next
                log(traceback.format_exc())
                status.finish(step, "failed", f"Could not train {step.title}: {error}".splitlines()[0])
            else:
                status.finish(step, "done", model_line(step, read_manifest(root)))
            say(status.steps[step.name]["said"])
        return True


def _run_step(step: Step, root: Path, weights: Weights, *, progress: bool, log: Callable[[str], None]) -> None:
    phone, dev, street = real_photos("phone"), real_photos("dev"), real_photos("street")
    if step.name == DEFAULT_SPACE:
        train_space(root, progress=progress, log=log)
    elif step.name == REAL_PHOTOS_SPACE:
        train_space(root, space=REAL_PHOTOS_SPACE, extra_photos=[phone], dev_photos=dev, weights=weights,
                    progress=progress, log=log)
    elif step.name == STREET_PHOTOS_SPACE:
        garments = street_garment_photos(street, progress=progress, log=log)
        train_space(root, space=STREET_PHOTOS_SPACE, extra_photos=[phone, garments], dev_photos=dev,
                    weights=weights, progress=progress, log=log)
    elif step.name == "finder":
        train_finder(street, weights, progress=progress, log=log)
    else:
        evaluate_for_page(root, weights, dev if (dev / "images").is_dir() else None, progress=progress, log=log)


def evaluate_for_page(root: Path, weights: Weights, dev: Path | None, *, progress: bool,
                      log: Callable[[str], None]) -> None:
    """Save what the Evaluation page shows beyond the trainings' comparisons: the default model on held-out
    products with the robustness table (``evaluate --holdout H --robustness 40``), and the shoppers' photos of
    ``dev`` by kind of query (``evaluate --queries DEV``)."""
    artifacts = load_artifacts(root)
    manifest = artifacts.manifest
    holdout = manifest.trained_holdout or DEFAULT_HOLDOUT
    result = holdout_evaluation(artifacts, holdout, space=manifest.searched_space, log=log)
    try:
        with tqdm(total=len(PERTURBATIONS) + 1, unit="photo set", desc="Robustness", disable=not progress) as bar:
            result["robustness"] = upload_robustness(root, holdout, space=None, count=ROBUSTNESS_QUERIES,
                                                     weights=weights,
                                                     progress=lambda done, total: bar.update(done - bar.n))
    except ValueError as error:  # too few held-out products to perturb: the rest of the page still has its figures
        log(f"Robustness not measured: {error}")
    log(f"Saved {save_evaluation(root, manifest.build_id, result)}")
    if dev is not None:
        photos = query_folder_evaluation(str(root), str(dev), "styles.csv", weights=weights, progress=progress)
        log(f"Saved {save_evaluation(root, manifest.build_id, photos)}")


def _evaluated(root: Path, manifest: Manifest, last: dict) -> bool:
    """Whether the page's figures were made for this build: a saved evaluation with the robustness table, or the
    step done in the ``last`` worker's state (a catalogue too small to perturb has none)."""
    return (last.get("build_id") == manifest.build_id and last["steps"].get("evaluation", {}).get("state") == "done"
            or any("robustness" in result for result in load_saved_evaluations(root, manifest.build_id).values()))


def start_in_background(root: str | os.PathLike, weights: Weights) -> subprocess.Popen | None:
    """Start the worker (``python -m recommender improve --background``) for ``root``, unless nothing is pending
    or a worker already runs; returns its process (in this one's process group: Ctrl-C stops both)."""
    root = Path(root)
    if not pending_steps(root, weights) or read_status(root).get("running"):
        return None
    return subprocess.Popen([sys.executable, "-m", "recommender", "improve", "--artifacts", str(root),
                             "--weights", str(weights.path), "--background"],
                            cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL)


def model_line(step: Step, manifest: Manifest) -> str:
    """What a trained model now does, in a shopper's words (the numbers stay in ``evaluate``).

    >>> from types import SimpleNamespace as S
    >>> m = S(space_for=lambda worn: "fashion-street" if worn else "fashion")
    >>> model_line(STEPS[2], m).split("; ")[1]
    'it now searches garments people wear (photos of a product stay with fashion, measured better there).'
    >>> model_line(STEPS[3], m).split("; ")[1]
    'street photos are now searched garment by garment.'
    """
    if step.name == "finder":
        return f"Ready: {step.title}; street photos are now searched garment by garment."
    if step.name == "evaluation":
        return f"Ready: {step.title} (the dashboard's Evaluation page)."
    sides = {"photos of a product": manifest.space_for(worn=False), "garments people wear": manifest.space_for(True)}
    won = [side for side, space in sides.items() if space == step.name]
    kept: dict[str, list[str]] = {}
    for side, space in sides.items():
        if space != step.name:
            kept.setdefault("the ImageNet features" if space == BACKBONE_SPACE else space, []).append(side)
    kept_text = "; ".join(f"{' and '.join(them)} stay with {space}" for space, them in kept.items())
    if not won:
        return f"Ready: {step.title}; kept aside, as it did not search better ({kept_text})."
    return (f"Ready: {step.title}; it now searches {' and '.join(won)}"
            + (f" ({kept_text}, measured better there)." if kept else "."))


class TrainingStatus:
    """The worker's state in ``training.json`` (rewritten whole at each change), for the app and the CLI."""

    def __init__(self, root: Path, build_id: str, steps: list[Step]) -> None:
        self.path = root / TRAINING_STATUS
        self.record = {"build_id": build_id, "pid": os.getpid(), "started": time.time(),
                       "log": str(root / TRAINING_LOG), "order": [step.name for step in steps],
                       "steps": {step.name: {"title": step.title, "minutes": step.minutes, "state": "waiting"}
                                 for step in steps}}
        self._write()

    @property
    def steps(self) -> dict[str, dict]:
        return self.record["steps"]

    def start(self, step: Step) -> None:
        self.steps[step.name].update(state="running", started=time.time())
        self._write()

    def finish(self, step: Step, state: str, said: str) -> None:
        self.steps[step.name].update(state=state, finished=time.time(), said=said)
        self._write()

    def _write(self) -> None:
        write_json_atomic(self.path, self.record)


def read_status(root: str | os.PathLike) -> dict:
    """The last worker's ``training.json`` (empty where none ran), with ``running``: whether a worker holds the
    lock now (a worker that was stopped leaves its last state and no lock)."""
    try:
        record = json.loads((Path(root) / TRAINING_STATUS).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict):
        return {}
    try:
        with training_lock(Path(root)) as free:
            record["running"] = not free
    except OSError:  # a folder this process may not write to (a read-only deployment): no worker of its own
        record["running"] = False
    return record


def status_lines(record: dict) -> list[str]:
    """A worker's state in plain lines: what is ready, what is training now and what waits (the CLI's and the
    app's words).

    >>> status_lines({"running": True, "order": ["a", "b"], "steps": {"a": {"state": "done", "said": "Ready: A."},
    ...               "b": {"state": "running", "title": "model B", "started": 0.0, "minutes": 3}}})[-1]
    'Training now: model B (about 3 min).'
    """
    lines = []
    for name in record.get("order", []):
        step = record["steps"][name]
        if step["state"] in ("done", "skipped", "failed"):
            lines.append(step.get("said", ""))
        elif step["state"] == "running" and record.get("running"):
            lines.append(f"Training now: {step['title']} (about {step['minutes']} min).")
        elif record.get("running"):
            lines.append(f"Waiting: {step['title']} (about {step['minutes']} min).")
    if record.get("order") and not record.get("running") and any(
            record["steps"][name]["state"] in ("waiting", "running") for name in record["order"]):
        lines.append("Stopped before the end: the next `python -m recommender serve` (or `improve`) trains the rest.")
    return lines


def last_progress(root: str | os.PathLike, *, tail: int = 4096) -> str:
    """The last line (or progress bar) the worker wrote to ``training.log``, for the app's status box."""
    try:
        with open(Path(root) / TRAINING_LOG, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - tail))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    parts = [part.strip() for part in text.replace("\r", "\n").split("\n")]
    return next((part for part in reversed(parts) if part), "")


@contextmanager
def training_lock(root: Path) -> Iterator[bool]:
    """Hold the folder's training lock while inside (yields True), or yield False at once where another process
    holds it. The lock goes with the process: a killed worker frees it."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / TRAINING_LOCK, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
