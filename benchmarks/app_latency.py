"""Dashboard responsiveness in a real browser (Debian's Chromium via Playwright).

    python benchmarks/app_latency.py [--artifacts artifacts] [--uploads 20] [--runtimes tensorflow,openvino]
                                     [--street ../shared/datasets/shopper-photos]

For each runtime in turn (``RECOMMENDER_RUNTIME``; the network's export cached):

* cold: from starting `streamlit run` to the first result grid of a first upload (weights cached);
* warm: upload-to-grid for the next uploads (each a different photo, so the CNN runs each time; with
  ``--street``, street photos: the finder cuts each into garments and the first garment is searched);
* k change: from moving the k slider to the new grid (the photo's vector is cached: no CNN).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.load import catalogue_photos  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, free_port, start_server  # noqa: E402


def measure(artifacts: Path, photos: list, weights: Path, runtime: str) -> tuple[float, list, list]:
    """One dashboard run on ``runtime``: cold start to first grid, warm uploads, k changes (seconds)."""
    from playwright.sync_api import sync_playwright

    os.environ["RECOMMENDER_RUNTIME"] = runtime  # the server inherits it
    port = free_port()
    started = time.perf_counter()
    server = start_server(artifacts, weights, port)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}")
            uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')

            def upload(photo: Path, item_id: str) -> float:
                t0 = time.perf_counter()
                uploader.set_input_files(str(photo))
                page.locator(f'[class*="st-key-search-more-{item_id}"]').wait_for(timeout=120_000)
                return time.perf_counter() - t0

            upload(*photos[0])
            cold = time.perf_counter() - started
            warm = [upload(*photo) for photo in photos[1:]]
            slider = page.locator('input[type="range"][aria-label="Number of results (k)"]')
            k_changes = []
            for step in range(5):
                t0 = time.perf_counter()
                slider.focus()
                slider.press("ArrowRight")
                page.get_by_text(f"{6 + step} most similar products").wait_for(timeout=60_000)
                k_changes.append(time.perf_counter() - t0)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return cold, warm, k_changes


def street_photos(artifacts: Path, folder: Path, count: int) -> list[tuple[Path, str]]:
    """(photo path, id of the first result the dashboard shows for it) of street photos the finder cuts into
    garments, each first result unlike the one before (so each upload's grid is told from the last)."""
    import pandas as pd

    from recommender.data.images import decode_image
    from recommender.search.recommender import Recommender

    recommender = Recommender.load(artifacts)
    chosen: list[tuple[Path, str]] = []
    for item in sorted(pd.read_csv(folder / "garments.csv", dtype={"id": str})["id"].unique()):
        path = folder / "images" / f"{item}.jpg"
        parts = recommender.look(decode_image(path), k=5)
        first = str(parts[0].results["id"].iloc[0])
        if len(parts) > 1 and (not chosen or chosen[-1][1] != first):  # cut into garments, a new first result
            chosen.append((path, first))
        if len(chosen) == count:
            break
    return chosen


def main() -> None:
    from recommender.features.weights import resolve_weights

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", default="artifacts")
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--runtimes", default="tensorflow,openvino")
    parser.add_argument("--street", default=None, metavar="DIR",
                        help="upload street photos of DIR (Kaggle layout with garments.csv) instead of catalogue "
                             "photos: each is cut into garments and its first garment searched")
    args = parser.parse_args()
    photos = (street_photos(Path(args.artifacts), Path(args.street), args.uploads + 1) if args.street
              else catalogue_photos(Path(args.artifacts), args.uploads + 1))
    print("| runtime | measure | p50 s | max s |")
    print("|---|---|---|---|")
    for runtime in args.runtimes.split(","):
        cold, warm, k_changes = measure(Path(args.artifacts), photos, resolve_weights().path, runtime)
        print(f"| {runtime} | cold: `streamlit run` to first grid | {cold:.2f} | {cold:.2f} |")
        print(f"| {runtime} | warm: upload to grid ({len(warm)} photos) | {np.median(warm):.2f} | {max(warm):.2f} |")
        print(f"| {runtime} | k change to new grid (no CNN) | {np.median(k_changes):.2f} | {max(k_changes):.2f} |")


if __name__ == "__main__":
    main()
