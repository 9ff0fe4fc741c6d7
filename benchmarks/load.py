"""Many users at once: concurrent browser sessions uploading photos to one `streamlit run` server.

Each session (a Playwright browser context in Debian's Chromium) uploads
catalogue photos one after another and waits for the result grid; a grid is
correct when its first result is the uploaded product itself.  Runs are
bounded in count and time and only ever talk to 127.0.0.1.

    python benchmarks/load.py --sessions 16 --seconds 120 [--artifacts artifacts]

prints upload-to-grid p50/p95, errors, and the server's resident memory
sampled across the run (it must stay flat: the model and index are shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser import CHROMIUM, CHROMIUM_ARGS, free_port, rss_mb, start_server  # noqa: E402


async def _session(browser, url: str, photos: list[tuple[Path, str]], deadline: float, max_uploads: int,
                   offset: int, log: dict) -> None:
    context = await browser.new_context(viewport={"width": 1300, "height": 1000})
    page = await context.new_page()
    try:
        await page.goto(url)
        await page.get_by_text("Drag a photo").wait_for(timeout=120_000)
        uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
        for i in range(max_uploads):
            if time.monotonic() > deadline:
                break
            photo, expected_id = photos[(offset + i) % len(photos)]
            started = time.perf_counter()
            await uploader.set_input_files(str(photo))
            try:
                # The first result names the product; its "More like this" key carries the id.
                await page.locator(f'[class*="st-key-search-more-{expected_id}"]').wait_for(timeout=60_000)
                log["latencies"].append(time.perf_counter() - started)
                first = await page.locator('[class*="st-key-search-more-"]').first.get_attribute("class")
                if f"st-key-search-more-{expected_id}" not in first.split():
                    log["errors"].append(f"{photo.name}: first result is not the product itself")
            except Exception as error:  # a timeout or a page error: counted, the session goes on
                log["errors"].append(f"{photo.name}: {type(error).__name__}")
            if await page.locator('[data-testid="stException"]').count():
                log["errors"].append(f"{photo.name}: exception shown")
    finally:
        await context.close()


async def run_load_async(url: str, photos: list[tuple[Path, str]], *, sessions: int, seconds: float,
                         max_uploads: int, server_pid: int | None = None) -> dict:
    """Drive ``sessions`` concurrent browser sessions; returns latencies, errors and memory samples."""
    from playwright.async_api import async_playwright

    log: dict = {"latencies": [], "errors": [], "rss_mb": []}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # One upload per session first, all at once, so that the model and the per-thread buffers of
        # concurrent inference exist before memory is sampled: what grows after that grows per query.
        warm = {"latencies": [], "errors": []}
        await asyncio.gather(*(_session(browser, url, photos, time.monotonic() + 300, 1, i * 7 + 3, warm)
                               for i in range(sessions)))
        deadline = time.monotonic() + seconds

        async def sample_memory():
            while time.monotonic() < deadline + 5 and server_pid:
                log["rss_mb"].append(rss_mb(server_pid))
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample_memory())
        await asyncio.gather(*(_session(browser, url, photos, deadline, max_uploads, i * 7, log)
                               for i in range(sessions)))
        sampler.cancel()
        await browser.close()
    return log


def run_load(url: str, photos: list[tuple[Path, str]], *, sessions: int, seconds: float, max_uploads: int,
             server_pid: int | None = None) -> dict:
    """Synchronous wrapper of :func:`run_load_async` (in its own thread: callers may hold an event loop)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run_load_async(url, photos, sessions=sessions, seconds=seconds,
                                                       max_uploads=max_uploads, server_pid=server_pid)).result()


def catalogue_photos(artifacts: Path, count: int = 64) -> list[tuple[Path, str]]:
    """(photo path, id) of catalogue products, spread over the catalogue."""
    from recommender.store.artifacts import load_artifacts

    loaded = load_artifacts(artifacts)
    root = loaded.manifest.dataset
    rows = np.linspace(0, len(loaded.metadata) - 1, min(count, len(loaded.metadata))).astype(int)
    return [(root / loaded.metadata["image"].iloc[r], loaded.metadata["id"].iloc[r]) for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", default="artifacts")
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--max-uploads", type=int, default=200, help="per session")
    parser.add_argument("--photos", type=int, default=64, help="catalogue photos to upload, spread over it")
    parser.add_argument("--json", action="store_true", help="print the raw log (latencies, errors, RSS) as JSON")
    args = parser.parse_args()
    from recommender.features.weights import resolve_weights

    port = free_port()
    server = start_server(Path(args.artifacts), resolve_weights().path, port)
    try:
        log = run_load(f"http://127.0.0.1:{port}", catalogue_photos(Path(args.artifacts), args.photos),
                       sessions=args.sessions,
                       seconds=args.seconds, max_uploads=args.max_uploads, server_pid=server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.json:
        print(json.dumps(log))
        return
    latencies = np.array(log["latencies"])
    rss = log["rss_mb"]
    third = max(1, len(rss) // 3)
    print("| sessions | uploads | errors | p50 s | p95 s | RSS first third MB | RSS last third MB |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.sessions} | {len(latencies)} | {len(log['errors'])} | {np.percentile(latencies, 50):.2f} | "
          f"{np.percentile(latencies, 95):.2f} | {np.mean(rss[:third]):.0f} | {np.mean(rss[-third:]):.0f} |")
    for error in log["errors"][:10]:
        print("error:", error)


if __name__ == "__main__":
    main()
