"""The command line's contract: help, usage errors, the console script."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from recommender.cli import main

PROJECT = Path(__file__).resolve().parents[1]


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


def test_console_script_points_at_main():
    scripts = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["recommender"].split(":")
    assert module == "recommender.cli" and function == "main"


def test_module_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "recommender", "--help"], capture_output=True, text=True,
                          cwd=PROJECT)
    assert done.returncode == 0 and "build" in done.stdout and "evaluate" in done.stdout
