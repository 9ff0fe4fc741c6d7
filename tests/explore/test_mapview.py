"""Map views: every product when few are in view, a density grid and a stable sample when many."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from recommender.explore.mapview import full_bounds, map_view, photo_uri, sample_order, zoomed
from tests.factories import product_photo

pytestmark = pytest.mark.unit


def _two_clusters(n: int = 20_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Label 0 around (-5, 0), label 1 around (5, 0)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n // 2)
    points = rng.normal(size=(n, 2)) + np.where(labels[:, None] == 0, [-5, 0], [5, 0])
    return points.astype(np.float32), labels


def test_a_crowded_view_is_a_density_grid_with_each_bins_most_common_label():
    points, labels = _two_clusters()
    bounds = full_bounds(points)
    view = map_view(points, labels, sample_order(len(points)), bounds, max_points=1_000, sample=500, grid=40)
    assert view.inside == len(points) and view.density is not None and not view.photos
    assert view.density["count"].sum() == len(points)
    centre = (view.density["x0"] + view.density["x1"]) / 2
    assert (view.density.loc[centre < -1, "label"] == 0).all() and (view.density.loc[centre > 1, "label"] == 1).all()
    assert len(view.rows) == 500 and len(np.unique(view.rows)) == 500


def test_zooming_in_keeps_the_sampled_products_and_ends_with_every_product_then_photos():
    points, labels = _two_clusters()
    order = sample_order(len(points))
    outer = map_view(points, labels, order, full_bounds(points), max_points=1_000, sample=500)
    closer = zoomed(outer.bounds, (5.0, 0.0), 0.25)
    inner = map_view(points, labels, order, closer, max_points=1_000, sample=500)
    x0, x1, y0, y1 = closer
    kept = [row for row in outer.rows if x0 <= points[row, 0] <= x1 and y0 <= points[row, 1] <= y1]
    assert set(kept) <= set(inner.rows)  # what was drawn stays drawn
    closest = map_view(points, labels, order, zoomed(closer, (5.0, 0.0), 0.1), max_points=1_000, max_photos=200)
    assert closest.density is None and closest.inside == len(closest.rows)
    assert closest.photos == (closest.inside <= 200)


def test_photo_uris_are_small_jpegs_and_unreadable_files_give_none(tmp_path):
    path = tmp_path / "1.jpg"
    product_photo(size=(300, 400)).save(path)
    uri = photo_uri(path, side=48)
    assert uri.startswith("data:image/jpeg;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert max(image.size) == 48
    (tmp_path / "2.jpg").write_bytes(b"garbage")
    assert photo_uri(tmp_path / "2.jpg") is None and photo_uri(tmp_path / "missing.jpg") is None


def test_pca_of_a_memory_map_read_in_blocks_matches_the_svd(tmp_path):
    from recommender.explore.projection import pca

    rng = np.random.default_rng(1)
    vectors = (rng.normal(size=(70_000, 6)) * np.arange(1, 7)).astype(np.float32)  # two blocks
    np.save(tmp_path / "v.npy", vectors)
    points = pca(np.load(tmp_path / "v.npy", mmap_mode="r"))
    centred = vectors - vectors.mean(axis=0)
    reference = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
    for axis in range(2):
        assert abs(np.corrcoef(points[:, axis], reference[:, axis])[0, 1]) > 0.9999
