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

from recommender.cli import COMMANDS, main, parser

PROJECT = Path(__file__).resolve().parents[2]
# Lines TensorFlow prints at start-up on a machine without a GPU (docs/operations.md, "Only the project's own lines").
LIBRARY_NOISE = ("cuInit", "cuda", "absl", "oneDNN", "E0000", "I0000", "W0000", "Downloading data")


def _cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recommender", *args], capture_output=True, text=True,
                          cwd=PROJECT, env={**os.environ, **(env or {})}, timeout=timeout)


@pytest.mark.parametrize("command", [command.NAME for command in COMMANDS])
def test_every_command_has_help_and_every_option_says_what_it_does(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0 and f"usage: python -m recommender {command}" in out
    options = [action for action in next(a for a in parser()._subparsers._group_actions[0].choices.items()
                                         if a[0] == command)[1]._actions if action.option_strings]
    assert all(action.help for action in options), [action.option_strings for action in options if not action.help]


def test_the_commands_are_the_cli_package_modules():
    modules = {path.stem for path in (PROJECT / "recommender" / "cli").glob("*.py")} - {"__init__", "options"}
    assert modules == {command.NAME.replace("-", "_") for command in COMMANDS}  # train-finder: train_finder.py


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
    (b"", "The file is empty (0 bytes)."),
    (b"just text", "This file is not an image that can be read; use JPEG, PNG or WebP."),
])
def test_a_bad_photo_is_answered_before_tensorflow_starts(tmp_path, content, message):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(content)
    code = ("import sys; from recommender.cli import main; "
            f"code = main(['query', {str(bad)!r}, '--artifacts', {str(tmp_path)!r}]); "
            "sys.exit(90 if 'tensorflow' in sys.modules else code)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT)
    assert done.returncode == 1 and done.stderr.strip() == f"error: {bad}: {message}" and done.stdout == ""


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


def test_a_photo_that_cannot_be_read_is_named_in_one_line(synthetic_env, tmp_path, capsys):
    missing = tmp_path / "nonexistent.jpg"
    assert main(["query", str(missing)]) == 1
    assert capsys.readouterr().err == f"error: {missing}: The file could not be read: No such file or directory.\n"


def test_query_paths_option_gives_absolute_paths(synthetic_env, capsys):
    photo = Path(os.environ["RECOMMENDER_DATASET"]) / "images" / "1001.jpg"
    assert main(["query", str(photo), "-k", "3", "--paths", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 3 and all(Path(row["image_path"]).is_file() for row in rows)


def test_query_garments_answers_each_part_and_says_when_no_finder_is_trained(synthetic_env, tmp_path, monkeypatch,
                                                                            capsys):
    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path))  # no finder trained in this cache
    photo = Path(os.environ["RECOMMENDER_DATASET"]) / "images" / "1001.jpg"
    assert main(["query", str(photo), "-k", "2", "--garments", "--json"]) == 0
    out = capsys.readouterr()
    assert "No garment finder trained yet (python -m recommender train-finder)" in out.err
    parts = json.loads(out.out)
    assert [(part["number"], part["label"], part["box"]) for part in parts] == [(1, "Whole photo", [0, 0, 1, 1])]
    assert len(parts[0]["results"]) == 2 and str(parts[0]["results"][0]["id"]) == "1001"  # the photo itself first
    assert main(["query", str(photo), "-k", "2", "--garments"]) == 0
    assert capsys.readouterr().out.startswith("1 Whole photo (box 0.00,0.00 to 1.00,1.00):\n2 nearest of 24")


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
    # start, type-first weights, trained, the comparison (a header and two labels), the default space, the words
    assert len(captured.out.splitlines()) == 8 and "Text model of space 'fashion'" in captured.out
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



@pytest.mark.slow  # a first start's build
def test_serve_says_its_plan_builds_starts_the_training_in_the_background_and_binds_loopback(
        tmp_path, monkeypatch, capsys, random_weights, synthetic_dataset):
    import recommender.cli.serve as serve

    calls, restarts, workers = [], [], []
    monkeypatch.setattr(serve, "run_forwarding_signals", lambda command, **kwargs: calls.append((command, kwargs)) or 0)
    monkeypatch.setattr(serve, "restart", restarts.append)  # this test process has TensorFlow loaded
    monkeypatch.setattr(serve, "start_in_background", lambda root, weights: workers.append(root) or None)
    monkeypatch.setenv("RECOMMENDER_WEIGHTS", str(random_weights.path))
    root = tmp_path / "artifacts"
    assert main(["serve", "--artifacts", str(root), "--dataset", str(synthetic_dataset), "--sample", "20",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    # The plan first (no shoppers' photos here: the fashion model and the Evaluation page's figures), then the build.
    plan = out.index("First start: the dashboard in about 2 minutes, then it gets better while it runs:")
    assert out.index("  1/3 building a demo catalogue of 20 products") > plan
    assert out.index(f"No catalogue in {root} yet: building a demo of 20 products") > out.index("  3/3 ")
    assert "Build one:" not in out and "default space:" not in out  # nothing trained before the dashboard
    assert workers == [root]
    # The network ran in this process: the dashboard is started from a fresh one, with the same settings.
    argv = restarts[0]
    assert argv[1:4] == ["-m", "recommender", "serve"] and argv[argv.index("--artifacts") + 1] == str(root)
    assert argv[argv.index("--address") + 1] == "127.0.0.1" and "--no-progress" in argv
    command, kwargs = calls[0]
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert kwargs["env"]["RECOMMENDER_ARTIFACTS"] == str(root)
    assert main(["serve", "--artifacts", str(root), "--no-progress"]) == 0  # a later start builds nothing
    later = capsys.readouterr().out
    assert "Catalogue: " in later and "First start" not in later and len(calls) == 2


@pytest.mark.slow  # starts the dashboard in a process of its own
@pytest.mark.parametrize("first_start", [False, True], ids=["built", "first start"])
def test_serve_stopped_with_sigterm_stops_the_dashboard_and_frees_its_port(synthetic_env, synthetic_dataset,
                                                                           random_weights, tmp_path, first_start):
    """Also after a first start, which runs the network in serve's own process (a forwarded SIGTERM crashed it
    with SIGSEGV and left the dashboard running before serve restarted itself clean)."""
    import signal
    import socket
    import time
    import urllib.request

    from tests.browser import free_port

    port = free_port()
    artifacts = tmp_path / "artifacts" if first_start else synthetic_env
    serve = subprocess.Popen([sys.executable, "-m", "recommender", "serve", "--artifacts", str(artifacts),
                              "--dataset", str(synthetic_dataset), "--sample", "20", "--port", str(port),
                              "--no-progress"], cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "RECOMMENDER_WEIGHTS": str(random_weights.path),
                                  "RECOMMENDER_REAL_PHOTOS": str(tmp_path / "none")})
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the dashboard did not start")
        serve.send_signal(signal.SIGTERM)  # as a service manager or `kill` stops it
        assert serve.wait(timeout=60) in (0, 128 + signal.SIGTERM, -signal.SIGTERM)
        with socket.socket() as sock:  # no one listens there any more (connections closed lately may linger)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen()
    finally:
        serve.kill()


def test_query_text_searches_words_and_says_how_it_read_them(synthetic_env, capsys):
    assert main(["query", "--text", "red tshirts, cheaper", "-k", "3", "--json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert len(rows) == 3 and {row["articleType"] for row in rows} == {"Tshirts"}
    assert "Read as: Tshirts · Red" in captured.err and "records no prices" in captured.err
    assert main(["query", "1001", "--id", "--text", "in blue", "--like", "1003", "-k", "2"]) == 0
    assert "2 nearest of 24 products" in capsys.readouterr().out
    assert main(["query", "--text", "velvet"]) == 1
    assert capsys.readouterr().err.startswith("error: Nothing to search: 'velvet' is not in this catalogue's words")
    assert main(["query"]) == 1
    assert "Expected a photo, a product id" in capsys.readouterr().err
