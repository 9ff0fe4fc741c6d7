"""End to end in a real browser: Debian's Chromium driven by Playwright against `streamlit run`.

Screenshots are saved in the test's temporary folder, and also copied to
``$E2E_SCREENSHOTS`` when that is set (to look at them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PROJECT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(artifacts: Path, weights: Path, port: int) -> subprocess.Popen:
    """`streamlit run` on loopback; returns once its health endpoint answers."""
    env = {**os.environ, "RECOMMENDER_ARTIFACTS": str(artifacts), "RECOMMENDER_WEIGHTS": str(weights),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(PROJECT / "streamlit_app.py"),
                               "--server.port", str(port), "--server.address", "127.0.0.1"],
                              cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError("streamlit did not start within 60 s")


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
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=20)


def shoe_photo(real_artifacts) -> Path:
    from recommender.artifacts import load_artifacts

    artifacts = load_artifacts(real_artifacts)
    shoes = artifacts.metadata[artifacts.metadata["articleType"].isin(["Casual Shoes", "Sports Shoes"])]
    return Path(artifacts.manifest["catalogue"]["dataset"]) / shoes["image"].iloc[0]


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
    page.goto(server)
    page.get_by_text("Drag a photo").wait_for(timeout=90_000)
    upload_and_wait(page, shoe_photo(real_artifacts))
    expect(page.get_by_role("button", name="More like this")).to_have_count(5)
    assert page.locator('[data-testid="stImage"] img').count() == 6  # the photo and its 5 results
    assert save(page, tmp_path, "search-k5.png").stat().st_size > 10_000

    slider = page.locator('input[type="range"][aria-label="Number of results (k)"]')
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")
    page.get_by_text("10 most similar products").wait_for(timeout=60_000)
    expect(page.get_by_role("button", name="More like this")).to_have_count(10)
    save(page, tmp_path, "search-k10.png")

    page.get_by_role("link", name="Explorer").click()
    page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first.wait_for(
        timeout=90_000)
    page.wait_for_timeout(1500)  # let Vega draw every point
    save(page, tmp_path, "explorer.png")
    page.close()
