"""The Explorer's map at 42k and a million products, timed in Chromium.

    python benchmarks/explorer.py --artifacts artifacts [--items 42243,1000000] [--work DIR]

For each size, a catalogue is generated the way ``benchmarks/million.py`` generates its
vectors: product i is the source catalogue's product (i mod n) (its labels and photo) with
its 2048-d vector plus Gaussian noise of half the median nearest-neighbour distance,
normalised, written in chunks; the source's trained head gives the default space's vectors,
as an update would.  The Annoy indexes get ``--n-trees`` trees (10: the map does not use
them, picking does).  The PCA map of the default space is computed once and saved, as the
app does for any build, then Chromium times:

* cold: a fresh ``streamlit run``, its first page, then "Explorer" until the map is drawn
  (catalogue, model and map loaded on the way);
* warm: a new tab, its first page, then from the click on "Explorer" until the map is drawn
  (everything cached: the page's own work and the drawing);
* zoom: dragging a rectangle and "Zoom in to the rectangle" until the closer map is drawn.

"Drawn" means the chart's canvas has painted pixels.  The generated catalogues stay in
``--work`` (a second run reuses them; about 20 GB at a million).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.million import CHUNK, _chunks  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, free_port, start_server  # noqa: E402

CHART = '[data-testid="stVegaLiteChart"]'
# The Explorer's chart (its caption is on the page) with marks: Streamlit draws on a canvas or, for small
# data, as SVG.
PAINTED = """() => {
  const chart = document.querySelector('%s');
  if (!chart || !document.body.innerText.includes('products here')) return false;
  if (chart.querySelector('svg g[class*="mark-"] path, svg g[class*="mark-"] image')) return true;
  const canvas = chart.querySelector('canvas');
  if (!canvas || !canvas.width) return false;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < data.length; i += 4 * 97) if (data[i] > 0) return true;
  return false;
}""" % CHART  # noqa: UP031 (JavaScript braces)


def generate(source_root: Path, items: int, out: Path, *, n_trees: int) -> float:
    """Write a generated catalogue of ``items`` products into ``out``; returns the seconds spent."""
    from dataclasses import replace

    from recommender.index.exact import exact_search
    from recommender.store.artifacts import BACKBONE_SPACE, CarriedSpace, load_artifacts, write_artifacts

    manifest = out / "manifest.json"
    if manifest.is_file() and json.loads(manifest.read_text())["count"] == items:
        return 0.0
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    source = load_artifacts(source_root)
    base = np.asarray(source.vectors, np.float32)
    sample = base[np.random.default_rng(0).choice(len(base), min(500, len(base)), replace=False)]
    sigma = 0.5 * float(np.median(exact_search(base, sample, 2)[1][:, 1])) / np.sqrt(base.shape[1])
    rows = np.arange(items) % len(base)
    colours = np.asarray(source.colours)[rows]
    scratch = out.with_name(out.name + ".scratch")
    scratch.mkdir(parents=True, exist_ok=True)
    vectors = np.lib.format.open_memmap(scratch / "vectors.npy", mode="w+", dtype=np.float32,
                                        shape=(items, base.shape[1]))
    for start, chunk in _chunks(base, items, sigma):
        vectors[start:start + CHUNK] = chunk
    space = source.manifest.searched_space
    spaces = {}
    if space != BACKBONE_SPACE:  # the trained head applied to the generated vectors, as update would
        head, entry = source.head(space), source.manifest.spaces[space]
        space_vectors = np.lib.format.open_memmap(scratch / "space.npy", mode="w+", dtype=np.float32,
                                                  shape=(items, entry.dimension))
        for start in range(0, items, CHUNK):
            space_vectors[start:start + CHUNK] = head.transform(vectors[start:start + CHUNK],
                                                                colours[start:start + CHUNK])
        # Without its split: its ids are the source's.
        spaces = {space: CarriedSpace(source.root / entry.head.name, replace(entry, split=None), space_vectors)}
    metadata = source.metadata.iloc[rows].reset_index(drop=True)
    metadata["id"] = [str(i + 1) for i in range(items)]
    catalogue = {**source.manifest.catalogue, "generated": {"from": str(source_root), "items": items,
                                                                "noise_sigma": sigma}}
    write_artifacts(out, vectors=vectors, colours=colours, metadata=metadata, features=source.manifest.features,
                    catalogue=catalogue, n_trees=n_trees, spaces=spaces, default_space=space,
                    index_spaces=True)
    shutil.rmtree(scratch)
    return time.perf_counter() - started


def time_explorer(root: Path) -> dict:
    """Cold, warm and zoom times of the Explorer's map in Chromium, in seconds."""
    from playwright.sync_api import sync_playwright

    from recommender.features.weights import resolve_weights

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    server = start_server(root, resolve_weights().path, port)
    times = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1300, "height": 1000})

            def open_map():
                """A new tab on the app's first page, then a click on "Explorer": (tab, seconds from the click)."""
                page = context.new_page()
                page.goto(url)
                link = page.get_by_role("link", name="Explorer")
                link.wait_for(timeout=600_000)
                t0 = time.perf_counter()
                link.click()
                page.wait_for_function(PAINTED, timeout=600_000, polling=50)
                return page, time.perf_counter() - t0

            page, _ = open_map()
            times["cold"] = time.perf_counter() - started
            page.close()
            page, times["warm"] = open_map()
            chart = page.locator(CHART).first.bounding_box()
            page.mouse.move(chart["x"] + chart["width"] * 0.45, chart["y"] + chart["height"] * 0.45)
            page.mouse.down()
            page.mouse.move(chart["x"] + chart["width"] * 0.55, chart["y"] + chart["height"] * 0.55, steps=5)
            page.mouse.up()
            button = page.get_by_role("button", name="Zoom in to the rectangle")
            button.and_(page.locator(":enabled")).wait_for(timeout=120_000)
            t0 = time.perf_counter()
            button.click()
            page.get_by_role("button", name="Whole map").and_(page.locator(":enabled")).wait_for(timeout=120_000)
            page.wait_for_function(PAINTED, timeout=120_000, polling=50)
            times["zoom"] = time.perf_counter() - t0
            times["caption"] = page.get_by_text("products here").first.inner_text()
            page.screenshot(path=str(root / "explorer-zoomed.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return times


def main() -> None:
    from recommender.explore.projection import catalogue_map
    from recommender.store.artifacts import load_artifacts

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", default="artifacts", help="the source catalogue")
    parser.add_argument("--items", default="42243,1000000", help="catalogue sizes, comma-separated")
    parser.add_argument("--work", default="artifacts/generated",
                        help="where the generated catalogues are kept (git ignores artifacts/)")
    parser.add_argument("--n-trees", type=int, default=10)
    args = parser.parse_args()
    rows = []
    for items in map(int, args.items.split(",")):
        root = Path(args.work) / f"generated-{items}"
        generated = generate(Path(args.artifacts), items, root, n_trees=args.n_trees)
        t0 = time.perf_counter()
        artifacts = load_artifacts(root)
        catalogue_map(artifacts, space=artifacts.manifest.searched_space, method="pca")
        mapped = time.perf_counter() - t0
        rows.append((items, generated, mapped, time_explorer(root)))
        print(f"{items:,} products: {rows[-1][3]}", file=sys.stderr)
    print("| products | generated in s | PCA map (once per build) s | cold: `streamlit run` to map drawn s | "
          "warm: map drawn s | zoom in: map drawn s |")
    print("|---|---|---|---|---|---|")
    for items, generated, mapped, times in rows:
        print(f"| {items:,} | {generated:.0f} | {mapped:.1f} | {times['cold']:.1f} | {times['warm']:.2f} | "
              f"{times['zoom']:.2f} |")


if __name__ == "__main__":
    main()
