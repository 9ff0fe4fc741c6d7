"""``serve``: make sure there is a catalogue (a demo one on a first start), then run the dashboard."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from typing import NoReturn

from ..config import ARTIFACTS_ENV, DEMO_SAMPLE, PROJECT_ROOT, RUNTIME_ENV, WEIGHTS_ENV, artifacts_dir
from ..pipeline.first_start import demo_minutes, ensure_catalogue
from ..pipeline.improve import pending_steps, plan_lines, start_in_background
from ..store.names import MANIFEST, TRAINING_LOG
from . import options

NAME = "serve"
HELP = ("build a demo catalogue if there is none, start the dashboard, and train what it still lacks in the "
        "background")
# Signals passed on to the dashboard's process, so that stopping `serve` stops it and frees its port.
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
RESTARTED_ENV = "RECOMMENDER_SERVE_RESTARTED"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default=None, metavar="DIR",
                        help="dataset for a first demo build (default: $RECOMMENDER_DATASET, else the shared copy, "
                             "else the public copy from the hub)")
    options.artifacts(parser)
    parser.add_argument("--sample", type=int, default=DEMO_SAMPLE,
                        help=f"products in a first demo build (default {DEMO_SAMPLE:,})")
    parser.add_argument("--port", type=int, default=8501, help="dashboard port (default 8501)")
    parser.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine)")
    options.weights(parser)
    options.runtime(parser)
    options.progress(parser)


def run(args: argparse.Namespace) -> int:
    weights = options.weights_of(args)
    print(f"ResNet50 ImageNet weights: {weights.path}")
    root = artifacts_dir(args.artifacts)
    if not (root / MANIFEST).is_file():
        print(f"First start: the dashboard in about {demo_minutes(args.sample)} minutes, then it gets better while it "
              "runs:\n" + "\n".join(plan_lines(pending_steps(root, weights), building=(
                  f"building a demo catalogue of {args.sample:,} products (about {demo_minutes(args.sample)} min)"))),
              flush=True)
    ensure_catalogue(root, dataset=args.dataset, sample=args.sample, weights=weights, progress=not args.no_progress,
                     log=print)
    if not clean_process() and not os.environ.get(RESTARTED_ENV):
        # The first start ran the network here, and the threads TensorFlow and OpenVINO leave behind may be the
        # ones a signal meant for the dashboard lands on: a forwarded SIGTERM or a Ctrl-C crashed this process
        # (SIGSEGV) and left the dashboard running. The dashboard is started from a fresh process instead.
        restart([sys.executable, "-m", "recommender", "serve", "--artifacts", str(root), "--port", str(args.port),
                 "--address", args.address, "--weights", str(weights.path), "--runtime", args.runtime,
                 *(["--no-progress"] if args.no_progress else [])])
    env = {**os.environ, ARTIFACTS_ENV: str(root), WEIGHTS_ENV: str(weights.path), RUNTIME_ENV: args.runtime}
    command = [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "streamlit_app.py"),
               "--server.address", args.address, "--server.port", str(args.port)]
    print(f"Starting the dashboard on http://{args.address}:{args.port} (Ctrl-C stops it)...", flush=True)
    worker = start_in_background(root, weights)
    if worker is not None:
        print("Training in the background: " + "; ".join(step.title for step in pending_steps(root, weights))
              + f". The dashboard's sidebar shows how far it is (details in {root / TRAINING_LOG}); each model is "
              "used as soon as it is ready.", flush=True)
    return run_forwarding_signals(command, companions=[worker] if worker else [], cwd=PROJECT_ROOT, env=env)


def clean_process() -> bool:
    """Whether no inference runtime (and its native threads) has been loaded into this process."""
    return not any(name in sys.modules for name in ("tensorflow", "openvino", "onnxruntime"))


def restart(argv: list[str]) -> NoReturn:
    """Replace this process with ``argv`` (same pid, same terminal, none of this process's threads)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.environ[RESTARTED_ENV] = "1"  # once: the fresh process starts the dashboard whatever it loads
    os.execv(argv[0], argv)


def run_forwarding_signals(command: list[str], *, companions: list[subprocess.Popen] = (), **popen) -> int:
    """Run ``command`` as a child, pass SIGTERM, SIGINT and SIGHUP on to it (and to the ``companions``, processes
    that live as long as it: the background training), and wait for it to end; the companions are then stopped.

    Returns its exit status (128 + N where a signal N ended it, as a shell reports).
    """
    child = subprocess.Popen(command, **popen)

    def forward(number: int, _frame) -> None:
        for process in (child, *companions):
            if process.poll() is None:
                process.send_signal(number)

    previous = {number: signal.signal(number, forward) for number in FORWARDED}
    try:
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:  # the terminal's Ctrl-C reaches both; wait for the child to stop
                continue
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for process in companions:  # an interrupted training resumes at the next start
            if process.poll() is None:
                process.terminate()
            process.wait()
    return 128 - code if code < 0 else code
