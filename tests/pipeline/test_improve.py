"""What the first start leaves to the background: the models trained one after another by one worker, each said in
a plain line, its state readable by the app and the CLI, and what an interrupted start left resumed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recommender import load_artifacts
from recommender.cli import main
from recommender.pipeline.improve import (
    STEPS,
    improve,
    last_progress,
    pending_steps,
    plan_lines,
    read_status,
    status_lines,
    training_lock,
)
from recommender.store.names import TRAINING_LOG
from tests.factories import make_dataset
from tests.garments.test_finder import make_street_folder

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def untrained(synthetic_artifacts, random_weights, tmp_path, monkeypatch) -> Path:
    """A built catalogue with no trained space, and no shoppers' photos on this machine."""
    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, root)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest.update(spaces={}, default_space=None, worn_space=None)
    (root / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path / "cache"))
    return root


def test_without_real_photos_the_background_trains_the_fashion_model_and_the_evaluation(untrained, random_weights):
    assert [step.name for step in pending_steps(untrained, random_weights)] == ["fashion", "evaluation"]
    said, details = [], []
    assert improve(untrained, weights=random_weights, progress=False, log=details.append, say=said.append)
    # Random weights on 24 products: it may win or be kept aside; either is said in plain words.
    assert said[0].startswith("Ready: the fashion model, learned from the catalogue's own types and colours; ")
    assert ("it now searches" in said[0]) != ("kept aside" in said[0])
    assert said[1].startswith("Ready: the Evaluation page's figures")
    assert all(not line[:1].isdigit() and "P@5" not in line for line in said)  # the numbers stay in the details
    assert any("P@5" in line for line in details)
    assert "fashion" in load_artifacts(untrained).spaces and pending_steps(untrained, random_weights) == []
    record = read_status(untrained)
    assert record["running"] is False and [record["steps"][name]["state"] for name in record["order"]] == ["done"] * 2
    assert status_lines(record) == said


def test_with_real_photos_every_model_and_the_finder_are_pending_in_order(untrained, random_weights, tmp_path,
                                                                          monkeypatch):
    photos = tmp_path / "real"
    make_dataset(photos / "shopper-photos-train" / "phone", n=4)
    make_dataset(photos / "shopper-photos", n=4)
    make_street_folder(photos / "shopper-photos-train" / "street")
    monkeypatch.setenv("RECOMMENDER_REAL_PHOTOS", str(photos))
    assert [step.name for step in pending_steps(untrained, random_weights)] == [step.name for step in STEPS]
    plan = plan_lines(pending_steps(untrained, random_weights), building="building a demo (about 3 min)")
    assert plan[0] == "  1/6 building a demo (about 3 min) ... then the dashboard"
    assert plan[-1].startswith("  6/6 the Evaluation page's figures") and plan[-1].endswith("in the background)")


def test_one_worker_at_a_time_and_a_stopped_one_is_said_to_resume(untrained, random_weights):
    with training_lock(untrained) as held:
        assert held
        said = []
        assert improve(untrained, weights=random_weights, progress=False, say=said.append) is False
        assert said[0].startswith("Already training in the background")
        assert read_status(untrained) == {}  # the first worker had not written its state yet
    # A worker that was killed leaves its last state and no lock: the next start trains the rest.
    (untrained / "training.json").write_text(json.dumps({
        "build_id": "b", "order": ["fashion"], "steps": {"fashion": {"state": "running", "title": "the fashion model",
                                                                     "minutes": 2}}}))
    record = read_status(untrained)
    assert record["running"] is False
    assert status_lines(record) == ["Stopped before the end: the next `python -m recommender serve` (or `improve`) "
                                    "trains the rest."]


def test_the_app_reads_the_last_progress_bar_of_the_log(tmp_path):
    (tmp_path / TRAINING_LOG).write_text("Training space 'fashion'...\nTraining:  10%|#  | 6/60\rTraining:  20%|## | "
                                         "12/60\r")
    assert last_progress(tmp_path) == "Training:  20%|## | 12/60"
    assert last_progress(tmp_path / "nowhere") == ""


def test_improve_status_says_what_is_trained_and_what_is_left(untrained, random_weights, capsys, monkeypatch):
    monkeypatch.setenv("RECOMMENDER_WEIGHTS", str(random_weights.path))
    assert main(["improve", "--artifacts", str(untrained), "--status"]) == 0
    out = capsys.readouterr().out
    assert "Nothing trained in the background yet." in out and "Still to train: the fashion model" in out


@pytest.mark.slow  # serve, the dashboard and the background worker, each a process
def test_serve_answers_at_once_and_switches_to_each_model_as_the_background_commits_it(untrained, random_weights,
                                                                                       tmp_path):
    from tests.browser import free_port

    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "recommender", "serve", "--artifacts", str(untrained),
                              "--port", str(port), "--no-progress"], cwd=PROJECT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             env={**__import__("os").environ, "RECOMMENDER_WEIGHTS": str(random_weights.path)})
    try:
        deadline, lines = time.monotonic() + 300, []
        while time.monotonic() < deadline and not any(line.startswith("Ready: the Evaluation") for line in lines):
            lines.append(serve.stdout.readline().strip())
        assert any(line.startswith("Training in the background: the fashion model") for line in lines), lines
        starting = next(i for i, line in enumerate(lines) if line.startswith("Starting the dashboard"))
        ready = next(i for i, line in enumerate(lines) if line.startswith("Ready: the fashion model"))
        assert starting < ready  # the dashboard first, the model after
        assert (untrained / TRAINING_LOG).is_file() and "Training space 'fashion'" in (untrained / TRAINING_LOG
                                                                                      ).read_text()
    finally:
        serve.terminate()
        serve.wait(timeout=60)
    assert read_status(untrained)["running"] is False  # stopping serve stopped the worker too
