"""The HTTP API under load: real photos uploaded by 1, 4, 16 and 64 concurrent clients, batching on and off.

Starts `python -m recommender api` on 127.0.0.1 (one server per way, in its own process), then for each
client count uploads photos of the 225x300 shared set for a fixed time; each answer is checked (5 results).
Prints requests/s, p50/p99 latency, errors and the server's memory (resident, sampled through the run), and
the network's own time for one photo measured in this process, so p50 at one client can be read against it.
With --ray N the API runs as a Ray Serve deployment of N replicas instead (uploads/s per replica, and each
replica's proportional set size: the memory-mapped index is shared between replicas).

    python benchmarks/api_load.py --artifacts artifacts --seconds 20 [--clients 1,4,16,64] [--ray 2]

Writes benchmarks/results/api_load.json. Talks to 127.0.0.1 only; every run is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from tests.browser import free_port, rss_mb  # noqa: E402

RESULTS = PROJECT / "benchmarks" / "results" / "api_load.json"
PHOTOS = PROJECT.parent / "shared" / "datasets" / "fashion-product-images-225x300" / "images"


def start_api(artifacts: str, port: int, *extra: str) -> subprocess.Popen:
    """The API in a process of its own; returns once /readyz answers."""
    server = subprocess.Popen([sys.executable, "-m", "recommender", "api", "--artifacts", artifacts,
                               "--port", str(port), *extra], cwd=PROJECT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.kill()
    raise RuntimeError("the API did not become ready within 300 s")


async def clients(url: str, photos: list[bytes], count: int, seconds: float) -> dict:
    """``count`` clients uploading photos one after another for ``seconds``; latencies and errors."""
    latencies, errors = [], []
    deadline = time.monotonic() + seconds

    async def client(offset: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            n = offset
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    response = await http.post("/v1/search", files={"photo": ("p.jpg", photos[n % len(photos)])},
                                               data={"k": "5"})
                    ok = response.status_code == 200 and len(response.json()["results"]) == 5
                except httpx.HTTPError as error:
                    ok, response = False, error
                (latencies if ok else errors).append(time.perf_counter() - started)
                n += count

    started = time.monotonic()
    await asyncio.gather(*[client(i) for i in range(count)])
    elapsed = time.monotonic() - started
    ms = np.array(latencies) * 1000
    return {"clients": count, "requests": len(latencies), "errors": len(errors),
            "requests_per_s": round(len(latencies) / elapsed, 2),
            "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
            "p99_ms": round(float(np.percentile(ms, 99)), 1) if len(ms) else None}


def memory_of(pids: list[int]) -> dict:
    """Resident and proportional set size (MiB) of processes: PSS shares mapped pages among their users."""
    def pss(pid: int) -> float:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
        return float("nan")
    return {"rss_mb": round(sum(rss_mb(pid) for pid in pids), 1), "pss_mb": round(sum(pss(pid) for pid in pids), 1)}


def network_time(artifacts: str, photos: list[bytes]) -> float:
    """Milliseconds of one photo through the model and the search, in this process (the floor for p50)."""
    from recommender import Recommender

    recommender = Recommender.load(artifacts)
    times = []
    for photo in photos[:12]:
        started = time.perf_counter()
        recommender.search(recommender.queries.from_image(photo), k=5)
        times.append(time.perf_counter() - started)
    return round(1000 * float(np.median(times[2:])), 1)  # the first calls trace the network


def replica_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "ServeReplica"], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def run_way(name: str, artifacts: str, photos: list[bytes], counts: list[int], seconds: float, extra: list[str],
            ray: bool) -> dict:
    port = free_port()
    server = start_api(artifacts, port, *extra)
    url = f"http://127.0.0.1:{port}"
    samples, stop = [], threading.Event()
    pids = (lambda: replica_pids()) if ray else (lambda: [server.pid])

    def sample() -> None:
        while not stop.wait(1.0):
            samples.append(memory_of(pids()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        asyncio.run(clients(url, photos, 1, 3))  # warm-up: traces the network
        rows = [asyncio.run(clients(url, photos, count, seconds)) for count in counts]
    finally:
        stop.set()
        os.killpg(server.pid, 15)
        server.wait(timeout=120)
    rss = [s["rss_mb"] for s in samples]
    return {"way": name, "rows": rows, "memory_first_mb": rss[0] if rss else None,
            "memory_last_mb": rss[-1] if rss else None, "memory_max_mb": max(rss) if rss else None,
            "pss_last_mb": samples[-1]["pss_mb"] if samples else None,
            "processes": len(pids())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", default=str(PROJECT / "artifacts"))
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", default="1,4,16,64")
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--ray", type=int, default=0, metavar="N", help="also run as N Ray Serve replicas")
    args = parser.parse_args()
    photos = [path.read_bytes() for path in sorted(PHOTOS.glob("*.jpg"))[:args.photos]]
    counts = [int(count) for count in args.clients.split(",")]
    floor = network_time(args.artifacts, photos)
    ways = [("batching on", [], False), ("batching off", ["--no-batching"], False)]
    if args.ray:
        ways.append((f"Ray Serve, {args.ray} replicas", ["--ray", "--replicas", str(args.ray),
                                                         "--cpus-per-replica", str(2 / args.ray)], True))
    results = [run_way(name, args.artifacts, photos, counts, args.seconds, extra, ray) for name, extra, ray in ways]
    print(f"One photo through the model and the search in-process: {floor} ms (median of 10).")
    print("| way | clients | requests/s | p50 ms | p99 ms | errors | x 1 client |")
    print("|---|---|---|---|---|---|---|")
    for way in results:
        one = way["rows"][0]["requests_per_s"] or 1
        for row in way["rows"]:
            print(f"| {way['way']} | {row['clients']} | {row['requests_per_s']} | {row['p50_ms']} | {row['p99_ms']} "
                  f"| {row['errors']} | {row['requests_per_s'] / one:.2f} |")
    for way in results:
        print(f"{way['way']}: server memory {way['memory_first_mb']} -> {way['memory_last_mb']} MiB resident "
              f"(max {way['memory_max_mb']}; {way['processes']} process(es), proportional {way['pss_last_mb']} MiB)")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "machine": _machine(),
                                   "artifacts": args.artifacts, "seconds": args.seconds,
                                   "network_ms_one_photo": floor, "ways": results}, indent=2))
    print(f"wrote {RESULTS}")


def _machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores, {model}"


if __name__ == "__main__":
    main()
