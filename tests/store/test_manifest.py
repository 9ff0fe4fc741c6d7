"""The typed manifest: read and written losslessly, never changed in place, one writer."""

from __future__ import annotations

import ast
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from recommender.features.settings import FeatureSettings
from recommender.store.manifest import FileEntry, IndexSettings, Manifest, SpaceEntry, frozen

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[2] / "recommender"


def _manifest() -> Manifest:
    entry = FileEntry("vectors-x.npy", 10, "d" * 64)
    return Manifest("20260101T000000-abcdef", "2026-01-01T00:00:00Z", FeatureSettings("a" * 64, "npm"),
                    frozen({"dataset": "/data", "fingerprint": "f", "size": 2}), 2,
                    {"vectors": entry, "colours": entry, "metadata": entry},
                    IndexSettings("euclidean", 50, 0, "annoy.ann", frozen({"imagenet": {"value": 500}})),
                    {"fashion": SpaceEntry(256, entry, entry, entry, frozen({"weights": {"articleType": 0.2}}),
                                           frozen({"holdout": 0.1, "seed": 0}))}, "fashion")


def test_a_manifest_round_trips_through_its_json_record():
    manifest = _manifest()
    assert Manifest.from_json(manifest.to_json()) == manifest
    assert manifest.to_json()["features"]["precision"] == "float32"
    assert manifest.tuned_search_k("imagenet") == 500 and manifest.tuned_search_k("fashion") is None


def test_a_manifest_cannot_be_changed_in_place_only_replaced():
    manifest = _manifest()
    with pytest.raises(FrozenInstanceError):
        manifest.default_space = "imagenet"
    with pytest.raises(TypeError):
        manifest.spaces["fashion"].training["holdout"] = 0.5
    changed = manifest.with_default_space("imagenet").with_search_k("fashion", {"value": 250})
    assert (manifest.default_space, manifest.tuned_search_k("fashion")) == ("fashion", None)
    assert (changed.default_space, changed.tuned_search_k("fashion")) == ("imagenet", 250)
    retrained = manifest.spaces["fashion"].with_training(products_never_seen=3)
    assert retrained.training == {"holdout": 0.1, "seed": 0, "products_never_seen": 3}
    assert "products_never_seen" not in manifest.spaces["fashion"].training


def test_only_the_manifest_module_writes_the_manifest_file():
    writers = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            called = node.func.attr if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else \
                node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else None
            if called == "write_json_atomic" and "MANIFEST" in ast.unparse(node):
                writers.append(path.relative_to(PACKAGE).as_posix())
    assert writers == ["store/manifest.py"]
    callers = sorted({path.relative_to(PACKAGE).parts[0] for path in PACKAGE.rglob("*.py")
                      if "commit_manifest(" in path.read_text()})
    assert callers == ["cli", "pipeline", "store", "training"]  # they commit a Manifest made by its with_* methods
