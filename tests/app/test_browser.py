"""End to end in a real browser: Debian's Chromium driven by Playwright against `streamlit run`.

Screenshots are saved in the test's temporary folder, and also copied to
``$E2E_SCREENSHOTS`` when that is set (to look at them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, PROJECT, free_port, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(real_artifacts, weights):
    port = free_port()
    process = start_server(real_artifacts, weights.path, port)
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}", pid=process.pid)
    process.terminate()
    process.wait(timeout=20)


FOOTWEAR = ("Shoes", "Sandals", "Heels", "Flats", "Flip Flops", "Booties")


def shoe_photo(real_artifacts) -> Path:
    from recommender.store.artifacts import load_artifacts

    artifacts = load_artifacts(real_artifacts)
    shoes = artifacts.metadata[artifacts.metadata["articleType"].isin(["Casual Shoes", "Sports Shoes"])]
    return artifacts.manifest.dataset / shoes["image"].iloc[0]


def save(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("E2E_SCREENSHOTS"):
        Path(os.environ["E2E_SCREENSHOTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(os.environ["E2E_SCREENSHOTS"]) / name)
    return path


def upload_and_wait(page, photo: Path, k: int = 5) -> None:
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(photo))
    page.get_by_text(f"{k} most similar products").wait_for(timeout=90_000)
    page.wait_for_function(
        f"document.querySelectorAll('[data-testid=\"stImage\"] img').length >= {k + 1}", timeout=30_000)


def test_upload_a_shoe_see_similar_products(browser, server, real_artifacts, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1700})
    page.goto(server.url)
    page.get_by_text("Drag a photo").wait_for(timeout=90_000)
    upload_and_wait(page, shoe_photo(real_artifacts))
    expect(page.get_by_role("button", name="More like this")).to_have_count(5)
    images = page.locator('[data-testid="stImage"] img').count()
    in_sidebar = page.locator('[data-testid="stSidebar"] [data-testid="stImage"] img').count()
    assert images - in_sidebar == 6  # the photo and its 5 results
    captions = page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
    footwear = [c for c in captions if any(kind in c for kind in FOOTWEAR)]
    assert len(footwear) >= 4, captions  # a shoe finds shoes
    assert save(page, tmp_path, "search-k5.png").stat().st_size > 10_000

    slider = page.locator('input[type="range"][aria-label="Number of results (k)"]')
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")
    page.get_by_text("10 most similar products").wait_for(timeout=60_000)
    expect(page.get_by_role("button", name="More like this")).to_have_count(10)
    save(page, tmp_path, "search-k10.png")

    trees = page.locator('input[type="range"][aria-label="Annoy trees (n_trees)"]')
    trees.focus()
    trees.press("ArrowLeft")  # 50 -> 25 trees: a new index, built from the stored vectors
    for _ in range(300):  # the search reruns with a new index, built from the stored vectors
        if list(real_artifacts.glob("annoy-*-t25.ann")):
            break
        page.wait_for_timeout(200)
    assert list(real_artifacts.glob("annoy-*-t25.ann"))
    expect(page.get_by_text("Building the Annoy index")).to_have_count(0, timeout=60_000)
    expect(page.get_by_role("button", name="More like this")).to_have_count(10)
    save(page, tmp_path, "search-25-trees.png")

    page.get_by_role("link", name="Explorer").click()
    page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first.wait_for(
        timeout=90_000)
    page.wait_for_timeout(1500)  # let Vega draw every point
    save(page, tmp_path, "explorer.png")
    page.close()


def test_four_sessions_at_once_all_correct_and_memory_flat(real_artifacts, weights):
    """Four concurrent sessions, bounded uploads each (benchmarks/load.py, run as a user would run it):
    no error, every grid right, one shared model."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)")
    pytest.importorskip("playwright.async_api")
    env = {**os.environ, "RECOMMENDER_WEIGHTS": str(weights.path)}
    done = subprocess.run([sys.executable, str(PROJECT / "benchmarks" / "load.py"), "--artifacts", str(real_artifacts),
                           "--sessions", "4", "--seconds", "240", "--max-uploads", "4", "--photos", "24", "--json"],
                          capture_output=True, text=True, env=env, timeout=600, cwd=PROJECT)
    assert done.returncode == 0, done.stderr[-2000:]
    log = json.loads(done.stdout.strip().splitlines()[-1])
    assert log["errors"] == [] and len(log["latencies"]) == 16
    # Four sessions sharing one model: memory does not grow by a model (~100 MB) per session.
    assert max(log["rss_mb"]) - min(log["rss_mb"]) < 200, log["rss_mb"]
    assert max(log["rss_mb"]) < 3000
