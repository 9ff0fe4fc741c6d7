"""The command line as a user meets it: help, one-line errors, quiet output, tables that fit, serve."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from recommender.cli import main

PROJECT = Path(__file__).resolve().parents[1]
# Lines TensorFlow prints at start-up on a machine without a GPU (README, "Command line").
LIBRARY_NOISE = ("cuInit", "cuda", "absl", "oneDNN", "E0000", "I0000", "W0000", "Downloading data")


def _cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recommender", *args], capture_output=True, text=True,
                          cwd=PROJECT, env={**os.environ, **(env or {})}, timeout=timeout)


@pytest.mark.parametrize("command", ["build", "query", "reindex", "evaluate", "train", "serve"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0 and "usage: python -m recommender" in capsys.readouterr().out


def test_missing_catalogue_is_one_clear_line(tmp_path, capsys):
    assert main(["query", "x.jpg", "--id", "--artifacts", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: No catalogue is built in {tmp_path} (manifest.json is missing). "
        "Build one: python -m recommender build DATASET_DIR")


def test_missing_dataset_is_one_clear_line(tmp_path, capsys):
    assert main(["build", str(tmp_path / "nowhere"), "--out", str(tmp_path / "a")]) == 1
    assert "images/ subfolder" in capsys.readouterr().err


def test_the_console_script_runs_the_cli(capsys):
    target = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["scripts"]["recommender"]
    module, function = target.split(":")
    entry = getattr(importlib.import_module(module), function)
    with pytest.raises(SystemExit) as done:
        entry(["--help"])
    assert done.value.code == 0 and "query" in capsys.readouterr().out


@pytest.mark.parametrize("content, message", [
    (b"", "error: The file is empty (0 bytes)."),
    (b"just text", "error: This file is not an image that can be read; use JPEG, PNG or WebP."),
])
def test_a_bad_photo_is_answered_before_tensorflow_starts(tmp_path, content, message):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(content)
    code = ("import sys; from recommender.cli import main; "
            f"code = main(['query', {str(bad)!r}, '--artifacts', {str(tmp_path)!r}]); "
            "sys.exit(90 if 'tensorflow' in sys.modules else code)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT)
    assert done.returncode == 1 and done.stderr.strip() == message and done.stdout == ""


@pytest.mark.slow  # a process of its own: TensorFlow's start-up is what it checks
def test_query_prints_only_its_own_lines_and_a_table_that_fits(synthetic_env):
    photo = Path(os.environ["RECOMMENDER_DATASET"]) / "images" / "1001.jpg"
    done = _cli("query", str(photo), "-k", "3")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("3 nearest of 24 products") and len(lines) == 5
    assert lines[1].split() == ["rank", "id", "distance", "articleType", "baseColour", "productDisplayName", "image"]
    assert all(line.rstrip().endswith(".jpg") for line in lines[2:])
    assert all(" images/" in line for line in lines[2:]) and max(map(len, lines[1:])) <= 100


def test_query_paths_option_gives_absolute_paths(synthetic_env, capsys):
    photo = Path(os.environ["RECOMMENDER_DATASET"]) / "images" / "1001.jpg"
    assert main(["query", str(photo), "-k", "3", "--paths", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 3 and all(Path(row["image_path"]).is_file() for row in rows)


@pytest.mark.slow
def test_verbose_shows_the_libraries_logs(synthetic_env):
    photo = Path(os.environ["RECOMMENDER_DATASET"]) / "images" / "1001.jpg"
    done = _cli("query", str(photo), "-k", "1", "--verbose", env={"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert done.returncode == 0 and any(noise in done.stderr for noise in LIBRARY_NOISE)


def test_train_draws_one_progress_bar_and_a_summary(synthetic_artifacts, tmp_path, capsys):
    import shutil

    copy = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, copy)
    assert main(["train", "--artifacts", str(copy), "--holdout", "0.2", "--epochs", "2"]) == 0
    captured = capsys.readouterr()
    assert "Training" in captured.err and "2/2" in captured.err  # the bar, not lines of Keras' log
    assert "Epoch" not in captured.out + captured.err
    # start, type-first weights, trained, the comparison (a header and two labels), the default space
    assert len(captured.out.splitlines()) == 7
    assert list(copy.glob("evaluation-*-fashion-c0-holdout0.2.json"))

def test_train_with_an_earlier_split_holds_out_the_same_products(synthetic_artifacts, tmp_path):
    import json
    import shutil

    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(synthetic_artifacts, first)
    shutil.copytree(synthetic_artifacts, second)
    quiet = ["--epochs", "1", "--no-progress"]
    assert main(["train", "--artifacts", str(first), "--holdout", "0.3", "--seed", "4", *quiet]) == 0
    split = next(first.glob("split-*-fashion.json"))
    assert main(["train", "--artifacts", str(second), "--split", str(split), *quiet]) == 0
    again = json.loads(next(second.glob("split-*-fashion.json")).read_text())
    assert again == json.loads(split.read_text())  # same products, fraction and seed
    assert list(second.glob("evaluation-*-fashion-c0-holdout0.3.json"))



@pytest.mark.slow  # a whole first start: build, train, evaluate
def test_serve_says_what_it_does_builds_trains_and_binds_loopback(tmp_path, monkeypatch, capsys, random_weights,
                                                                  synthetic_dataset):
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda command, **kwargs: calls.append((command, kwargs)) or 0)
    monkeypatch.setenv("RECOMMENDER_WEIGHTS", str(random_weights.path))
    root = tmp_path / "artifacts"
    assert main(["serve", "--artifacts", str(root), "--dataset", str(synthetic_dataset), "--sample", "20",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"No catalogue in {root} yet: building a demo of 20 products" in out
    assert "Build one:" not in out and "Default space:" in out
    assert len(list(root.glob("evaluation-*.json"))) == 2  # the Evaluation page shows the comparison
    command, kwargs = calls[0]
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert kwargs["env"]["RECOMMENDER_ARTIFACTS"] == str(root)
    assert main(["serve", "--artifacts", str(root), "--no-progress"]) == 0  # a later start builds nothing
    assert "Catalogue: " in capsys.readouterr().out and len(calls) == 2
