"""The first start where shoppers' real photos are at hand: the demo build, then in the background a head taught
real photos too, one taught street garments too, and the garment finder, made once."""

from __future__ import annotations

import pytest

from recommender import load_artifacts
from recommender.pipeline.first_start import ensure_catalogue
from recommender.pipeline.improve import improve
from tests.factories import make_dataset
from tests.garments.test_finder import make_street_folder


@pytest.mark.slow  # a whole first start, twice the training
def test_a_first_start_with_real_photos_trains_both_real_photo_heads_and_the_finder(synthetic_dataset, random_weights,
                                                                                tmp_path, monkeypatch):
    from recommender.garments.finder import finder_path

    photos = tmp_path / "real"
    make_dataset(photos / "shopper-photos-train" / "phone", n=8)
    make_dataset(photos / "shopper-photos", n=6)
    make_street_folder(photos / "shopper-photos-train" / "street")
    monkeypatch.setenv("RECOMMENDER_REAL_PHOTOS", str(photos))
    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path / "cache"))
    lines = []
    ensure_catalogue(tmp_path / "artifacts", dataset=synthetic_dataset, sample=20, weights=random_weights,
                     progress=False, log=lines.append)
    assert not load_artifacts(tmp_path / "artifacts").manifest.spaces  # the dashboard comes first
    improve(tmp_path / "artifacts", weights=random_weights, progress=False, log=lines.append)
    artifacts = load_artifacts(tmp_path / "artifacts")
    assert {"fashion-real", "fashion-street"} <= set(artifacts.spaces)
    extra = {name: artifacts.manifest.spaces[name].training["extra_photos"]["count"]
             for name in ("fashion-real", "fashion-street")}
    assert extra == {"fashion-real": 8, "fashion-street": 8 + 8}  # phone photos; and the street photos' garments
    # Each kind of photo gets the head that won on it, among those trained (or the one before).
    assert {artifacts.manifest.space_for(worn=False), artifacts.manifest.space_for(worn=True)} <= {
        "imagenet", "fashion", "fashion-real", "fashion-street"}
    # The phone and development photos were embedded once, for both heads.
    assert len(list((tmp_path / "cache" / "embedded-folders").glob("*.npz"))) == 3
    assert finder_path(random_weights.sha256).is_file()
    assert any(line.startswith("Garment parser saved to") for line in lines)
