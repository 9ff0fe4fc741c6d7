"""Training a space: what it commits is what a later evaluation measures."""

from __future__ import annotations

import json

from recommender import load_artifacts
from recommender.evaluation.protocols import holdout_evaluation


def test_the_evaluation_train_judged_by_is_what_evaluate_measures_later(synthetic_artifacts):
    artifacts = load_artifacts(synthetic_artifacts)
    saved = json.loads(next(synthetic_artifacts.glob(f"evaluation-{artifacts.build_id}-fashion-c0-holdout0.2.json"))
                       .read_text())
    later = holdout_evaluation(artifacts, 0.2, space="fashion")
    assert saved["annoy"]["search_k"] == later["annoy"]["search_k"] == artifacts.tuned_search_k("fashion")
    assert saved["precision_at_k"] == later["precision_at_k"] and saved["grouped"] == later["grouped"]


def test_extra_real_photos_teach_the_head_are_recorded_and_never_enter_the_index(synthetic_artifacts,
                                                                                random_weights, tmp_path):
    import shutil

    from recommender.training.train import train_space
    from tests.factories import make_dataset

    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, root)
    before = load_artifacts(root)
    current = before.manifest.searched_space
    extra, dev = make_dataset(tmp_path / "extra", n=8), make_dataset(tmp_path / "dev", n=6)
    # Two garments a shopper might pick in one of the development photos judge the head too.
    (dev / "garments.csv").write_text("id,articleType,source_label,area_fraction,x0,y0,x1,y1\n"
                                      "1000,Tshirts,shirt,0.3,2,2,20,14\n1000,Jeans,jeans,0.2,4,10,22,23\n")
    lines = []
    entry = train_space(root, space="fashion-real", holdout=0.2, epochs=1, extra_photos=[extra], dev_photos=dev,
                        weights=random_weights, progress=False, log=lines.append)
    record = entry.training["extra_photos"]
    assert list(record["folders"]) == [str(extra)] and record["count"] == 8 and record["with_articleType"] == 8
    judged = entry.comparison["real_photos"]
    assert judged["dev_photos"] == str(dev)
    # Each kind of query judged on its own photos: the 6 photos, and the 2 garments worn in one of them with it.
    product, worn = judged["product photos"], judged["worn garments"]
    assert (product["against"], product["queries"], worn["against"], worn["queries"]) == (current, 5, current, 3)
    assert any(line.startswith(f"Real photos, product photos (5), {current} vs fashion-real: articleType P@5")
               for line in lines)
    assert any(line.startswith(f"Real photos, worn garments (3), {current} vs fashion-real") for line in lines)
    after = load_artifacts(root)
    assert len(after.metadata) == len(before.metadata)  # real photos teach, they are never results
    assert after.space_vectors("fashion-real").shape[0] == len(before.metadata)
    won = entry.comparison["wins"]  # and against the frozen backbone on held-out products
    for side, worn_side in (("product photos", False), ("worn garments", True)):
        expected = "fashion-real" if won and judged[side]["wins"] else current
        assert after.manifest.space_for(worn=worn_side) == expected


def test_extra_photos_need_photos_to_judge_them_and_a_name_of_their_own(synthetic_artifacts, tmp_path):
    import pytest

    from recommender.training.train import train_space
    from tests.factories import make_dataset

    extra = make_dataset(tmp_path / "extra", n=4)
    with pytest.raises(ValueError, match="needs --dev-photos"):
        train_space(synthetic_artifacts, space="fashion-real", extra_photos=[extra], progress=False)
    with pytest.raises(ValueError, match="needs --dev-photos"):
        train_space(synthetic_artifacts, space="fashion-phone", phone_like=1, progress=False)
    current = load_artifacts(synthetic_artifacts).manifest.searched_space
    if current != "imagenet":
        with pytest.raises(ValueError, match="name the new one otherwise"):
            train_space(synthetic_artifacts, space=current, extra_photos=[extra], dev_photos=extra, progress=False)


def test_phone_like_copies_of_the_training_photos_teach_the_head_and_are_recorded(synthetic_artifacts,
                                                                                 random_weights, tmp_path):
    import shutil

    from recommender.training.train import train_space
    from tests.factories import make_dataset
    from tests.garments.test_finder import make_street_folder

    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, root)
    before = load_artifacts(root)
    dev, street = make_dataset(tmp_path / "dev", n=6), make_street_folder(tmp_path / "street")
    lines = []
    entry = train_space(root, space="fashion-phone", holdout=0.2, epochs=1, phone_like=2, backgrounds=street,
                        dev_photos=dev, weights=random_weights, progress=False, log=lines.append)
    record = entry.training["phone_like"]
    assert record["copies"] == 2 and record["backgrounds"] == str(street) and "extra_photos" not in entry.training
    # Two copies of each training product's photo (over half the catalogue: the rest is held out).
    assert record["count"] % 2 == 0 and len(before.metadata) <= record["count"] < 2 * len(before.metadata)
    assert any(line.startswith("Making 2 phone-like copies of each of") and "real backgrounds" in line
               for line in lines)
    assert "real_photos" in entry.comparison
    assert len(load_artifacts(root).metadata) == len(before.metadata)  # copies teach, they are never results
