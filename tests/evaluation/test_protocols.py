"""Evaluation metrics on hand-made cases, the evaluate command's JSON, and training end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from recommender.evaluation.protocols import evaluate_vectors

LABELS = ("articleType", "subCategory", "masterCategory", "baseColour", "gender")


def _frame(types: list[str], colours: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"articleType": types, "subCategory": types, "masterCategory": ["Apparel"] * len(types),
                         "baseColour": colours, "gender": ["Men"] * len(types)})


def test_known_answers_on_a_hand_made_catalogue():
    # 12 catalogue points: shirts near (1, 0), shoes near (0, 1); one query of each.
    angles = np.concatenate([np.linspace(-0.2, 0.2, 6), np.pi / 2 + np.linspace(-0.2, 0.2, 6)])
    catalogue = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    labels = _frame(["Shirts"] * 6 + ["Shoes"] * 6, ["Red", "Red", "Red", "Blue", "Blue", "Blue"] * 2)
    tilt = np.array([0.01, np.pi / 2 + 0.01])  # off the symmetry axis: no ties between neighbours
    queries = np.stack([np.cos(tilt), np.sin(tilt)], axis=1).astype(np.float32)
    result = evaluate_vectors(catalogue, labels, queries, _frame(["Shirts", "Shoes"], ["Red", "Red"]), n_trees=5)
    assert result["precision_at_k"]["articleType"] == {"1": 1.0, "5": 1.0, "10": 0.6}
    assert result["map_at_10"]["articleType"] == pytest.approx(1.0)  # all 6 relevant items ranked first
    assert result["precision_at_k"]["masterCategory"]["10"] == 1.0
    assert result["annoy_recall_at_k"] == {"1": 1.0, "5": 1.0, "10": 1.0}
    assert result["per_article_type"]["Shoes"]["n"] == 1 and result["n_queries"] == 2


@pytest.mark.unit
def test_a_label_the_queries_do_not_carry_is_not_measured_and_the_report_says_so():
    from recommender.evaluation.results import format_report

    angles = np.concatenate([np.linspace(-0.2, 0.2, 6), np.pi / 2 + np.linspace(-0.2, 0.2, 6)])
    catalogue = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    labels = _frame(["Shirts"] * 6 + ["Shoes"] * 6, ["Red"] * 12)
    tilt = np.array([0.01, np.pi / 2 + 0.01, 0.02])
    queries = np.stack([np.cos(tilt), np.sin(tilt)], axis=1).astype(np.float32)
    # Shoppers' photos labelled with their type alone; one of them with its subCategory too.
    shoppers = _frame(["Shirts", "Shoes", "Shirts"], ["", "", ""]).assign(gender="", masterCategory="",
                                                                         subCategory=["Shirts", "", ""])
    result = evaluate_vectors(catalogue, labels, queries, shoppers, n_trees=5)
    assert set(result["precision_at_k"]) == {"articleType", "subCategory"}  # not 0.000 for the missing labels
    assert result["precision_at_k"]["subCategory"]["5"] == 1.0 and result["n_labelled"]["subCategory"] == 1
    assert result["hits_at_5"]["baseColour"] == [0, 0, 0]  # a paired comparison still lines the queries up
    assert result["per_article_type"]["Shoes"]["baseColour_p5"] is None
    report = format_report({**result, "space": "fashion", "colour_weight": 0.0})
    assert "not measured (no query carries the label): masterCategory, baseColour, gender, colourFamily" in report
    assert "(1 of the queries carry it)" in report


@pytest.fixture
def artifacts_copy(real_artifacts, tmp_path):
    copy = tmp_path / "artifacts"
    shutil.copytree(real_artifacts, copy)
    return copy


def test_evaluate_json_has_the_documented_keys(artifacts_copy):
    done = subprocess.run([sys.executable, "-m", "recommender", "evaluate", "--artifacts", str(artifacts_copy),
                           "--holdout", "0.2", "--json"], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    assert {"precision_at_k", "map_at_10", "annoy_recall_at_k", "per_article_type", "n_queries", "grouped",
            "p5_interval", "robustness"} <= set(result)
    assert set(result["precision_at_k"]) == {*LABELS, "colourFamily"}
    assert set(result["precision_at_k"]["articleType"]) == {"1", "5", "10"}
    assert 30 <= result["n_queries"] <= 80 and result["n_queries"] + result["n_catalogue"] == 300
    # Both splits, each figure with its bootstrap interval around it.
    for figures in (result, result["grouped"]):
        low, high = figures["p5_interval"]["articleType"]
        assert low <= figures["precision_at_k"]["articleType"]["5"] <= high
    # A shade of a family counts as that family: family precision is never below the raw colour's.
    assert result["precision_at_k"]["colourFamily"]["5"] >= result["precision_at_k"]["baseColour"]["5"]
    from recommender.evaluation.robustness import CLEAN, PERTURBATIONS

    assert list(result["robustness"]) == [CLEAN, *PERTURBATIONS]
    assert result["robustness"][CLEAN]["drop_points"] == 0
    assert all(0 <= row["articleType"] <= 1 for row in result["robustness"].values())
    assert list(artifacts_copy.glob("evaluation-*-imagenet-c0-holdout0.2.json"))


def _with_space(root, space_vectors: np.ndarray, backbone: np.ndarray, types: list[str]) -> None:
    """A catalogue whose backbone vectors and trained-space vectors are given, as train would commit them."""
    from recommender.atomic import save_npy_atomic
    from recommender.features.head import Head
    from recommender.features.settings import FeatureSettings
    from recommender.store.artifacts import load_artifacts, write_artifacts
    from recommender.store.manifest import FileEntry, SpaceEntry, commit_manifest, frozen

    n = len(types)
    metadata = pd.DataFrame({"id": [str(i) for i in range(n)], "articleType": types, "subCategory": types,
                             "masterCategory": "Apparel", "baseColour": "Red", "gender": "Men",
                             "image": [f"images/{i}.jpg" for i in range(n)]})
    write_artifacts(root, vectors=backbone, colours=np.ones((n, 64), np.float32) / 8, metadata=metadata,
                    features=FeatureSettings("x", "explicit", dimension=backbone.shape[1]), n_trees=5,
                    catalogue={"dataset": str(root), "size": n, "fingerprint": "f"})
    manifest = load_artifacts(root).manifest
    build_id = manifest.build_id
    save_npy_atomic(root / f"vectors-{build_id}-fashion.npy", space_vectors)
    Head(*(np.zeros(shape, np.float32) for shape in [(1, 1), (1,), (1, 1), (1,)])).save(
        root / f"head-{build_id}-fashion.npz")
    commit_manifest(root, manifest.with_space("fashion", SpaceEntry(
        space_vectors.shape[1], FileEntry.of(root / f"head-{build_id}-fashion.npz"),
        FileEntry.of(root / f"vectors-{build_id}-fashion.npy"), training=frozen({"holdout": 0.2, "seed": 0}))))


@pytest.mark.parametrize("winner", ["fashion", "imagenet"])
def test_the_trained_space_becomes_the_default_only_where_it_wins(tmp_path, winner):
    """Separable vectors in one space, label-blind noise in the other: the separable one must be chosen."""
    from recommender.features.extractor import l2_normalise
    from recommender.store.artifacts import load_artifacts
    from recommender.training.train import choose_default_space

    rng = np.random.default_rng(0)
    types = ["Shirts", "Shoes", "Bags"] * 30
    centres = {name: rng.normal(size=8) * 5 for name in set(types)}
    separable = l2_normalise(np.stack([centres[t] + rng.normal(size=8) for t in types]))
    noise = l2_normalise(rng.normal(size=(len(types), 8)))
    fashion, imagenet = (separable, noise) if winner == "fashion" else (noise, separable)
    _with_space(tmp_path, fashion, imagenet, types)
    entry, default = choose_default_space(load_artifacts(tmp_path), "fashion", holdout=0.2, seed=0)
    assert default == winner
    comparison = entry.comparison
    figures = comparison["articleType"]  # "before": imagenet, "after": fashion
    won, lost = ("after", "before") if winner == "fashion" else ("before", "after")
    assert figures[won] > 0.9 > figures[lost]
    assert comparison["wins"] == (winner == "fashion")
    assert len(list(tmp_path.glob("evaluation-*.json"))) == 2


def test_a_gain_within_noise_is_not_a_win():
    """The same queries, one model a single hit better: the paired interval includes 0, so no win."""
    from recommender.evaluation.comparison import compare_models

    def result(type_hits: list[int]) -> dict:
        return {"n_queries": len(type_hits), "hits_at_5": {"articleType": type_hits, "baseColour": [3] * 100}}

    rng = np.random.default_rng(0)
    before = rng.integers(0, 6, 100).tolist()
    slightly = list(before)
    slightly[0] = min(5, slightly[0] + 1)
    clearly = [min(5, h + 2) for h in before]
    assert not compare_models(result(before), result(slightly))["wins"]
    assert compare_models(result(before), result(clearly))["wins"]
    assert not compare_models(result(clearly), result(before))["wins"]


def test_training_on_real_vectors_commits_a_searchable_space(artifacts_copy):
    from recommender.search.recommender import Recommender
    from recommender.store.artifacts import load_artifacts
    from recommender.training.train import train_space

    lines = []
    entry = train_space(artifacts_copy, holdout=0.2, epochs=8, progress=False, log=lines.append)
    manifest = json.loads((artifacts_copy / "manifest.json").read_text())
    assert manifest["spaces"]["fashion"]["dimension"] == 256 and entry.training["holdout"] == 0.2
    recommender = Recommender.load(artifacts_copy, with_model=False)
    # The stored space is the head applied to the stored backbone vectors (what a photo query gets).

    artifacts = load_artifacts(artifacts_copy)
    np.testing.assert_allclose(artifacts.head("fashion").transform(artifacts.vectors, artifacts.colours),
                               artifacts.space_vectors("fashion"), atol=1e-5)
    results = recommender.search(recommender.queries.from_id(recommender.catalogue.metadata["id"].iloc[0]), k=5,
                                 space="fashion")
    assert len(results) == 5
    assert any("default space" in line for line in lines)


def test_evaluate_embeds_a_folder_of_unseen_photos(artifacts_copy, dataset_dir, tmp_path):
    from recommender.data.catalogue import read_catalogue
    from recommender.store.artifacts import load_artifacts

    items = read_catalogue(dataset_dir).items
    unseen = items[~items["id"].isin(set(load_artifacts(artifacts_copy).metadata["id"]))].iloc[::997].head(20)
    queries = tmp_path / "queries"
    (queries / "images").mkdir(parents=True)
    lines = ["id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n"]
    for row in unseen.itertuples():
        shutil.copy(dataset_dir / row.image, queries / "images" / f"{row.id}.jpg")
        lines.append(f"{row.id},{row.gender},{row.masterCategory},{row.subCategory},{row.articleType},"
                     f"{row.baseColour},{row.season},{row.year},{row.usage},{row.productDisplayName}\n")
    (queries / "styles.csv").write_text("".join(lines))
    done = subprocess.run([sys.executable, "-m", "recommender", "evaluate", "--artifacts", str(artifacts_copy),
                           "--queries", str(queries), "--json"], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    assert result["n_queries"] == 20 and result["n_catalogue"] == 300
    assert result["precision_at_k"]["masterCategory"]["5"] > 0.5


def test_training_again_replaces_the_space_index_instead_of_reusing_it(synthetic_artifacts, tmp_path):
    from recommender.store.artifacts import load_artifacts
    from recommender.training.train import train_space

    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, root)
    train_space(root, holdout=0.2, epochs=1, seed=1, progress=False, log=lambda _: None)
    artifacts = load_artifacts(root)
    # The index answers for the new vectors: each product finds itself first.
    index, vectors = artifacts.index(space="fashion"), np.asarray(artifacts.space_vectors("fashion"))
    assert all(index.query(vectors[row], 1)[0][0] == row for row in range(len(vectors)))
    assert artifacts.manifest.index.search_k["fashion"]["recall_at_5"] >= 0.99


def test_evaluate_without_the_photos_still_reports_and_says_why_robustness_is_missing(synthetic_env, tmp_path,
                                                                                      capsys):
    from recommender.cli import main

    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_env, root)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["catalogue"]["dataset"] = str(tmp_path / "gone")  # the dataset folder was moved away
    (root / "manifest.json").write_text(json.dumps(manifest))
    assert main(["evaluate", "--artifacts", str(root), "--holdout", "0.2", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert "precision_at_k" in result and "robustness" not in result
    assert "warning: robustness not measured: None of the held-out photos could be read" in captured.err


def _worn_folder(root, synthetic_dataset):
    """A query folder in the Kaggle layout: two catalogue-like photos and one made-up street photo whose two
    garments garments.csv annotates."""
    from tests.garments.test_finder import street_scene

    (root / "images").mkdir(parents=True)
    for item in ("1001", "1002"):
        shutil.copy(synthetic_dataset / "images" / f"{item}.jpg", root / "images" / f"{item}.jpg")
    (root / "images" / "2001.jpg").write_bytes(street_scene())  # PNG bytes: decoded by content
    header = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n"
    (root / "styles.csv").write_text(header + "".join(f"{item},,,,{kind},,,,,x\n" for item, kind in (
        ("1001", "Tshirts"), ("1002", "Jeans"), ("2001", "Tshirts"))))
    (root / "garments.csv").write_text("id,articleType,x0,y0,x1,y1\n2001,Tshirts,80,60,220,210\n"
                                       "2001,Jeans,100,210,200,380\n")
    return root


def test_a_folder_of_photos_is_measured_by_kind_of_query_and_the_finder_by_recall(synthetic_artifacts,
                                                                                  synthetic_dataset, random_weights,
                                                                                  tmp_path, monkeypatch):
    from recommender.evaluation import protocols, query_folders
    from recommender.evaluation.results import format_report
    from recommender.garments.finder import GarmentFinder
    from tests.garments.test_finder import colour_map, worn_parser

    queries = _worn_folder(tmp_path / "queries", synthetic_dataset)
    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path / "cache"))  # no finder trained: no finder rows
    plain = protocols.query_folder_evaluation(str(synthetic_artifacts), str(queries), "styles.csv", space="fashion",
                                              weights=str(random_weights.path))
    assert {kind: row["n"] for kind, row in plain["by_query_kind"].items()} == {
        query_folders.PHOTO: 2, query_folders.WORN: 1, query_folders.GARMENT_BOX: 2}
    assert plain["n_queries"] == 5 and "finder_recall" not in plain
    monkeypatch.setattr(protocols, "catalogue_finder", lambda *args, **kwargs: GarmentFinder(colour_map, worn_parser()))
    found = protocols.query_folder_evaluation(str(synthetic_artifacts), str(queries), "styles.csv", space="fashion",
                                              weights=str(random_weights.path))
    kinds = found["by_query_kind"]
    assert kinds[query_folders.FINDER_CROP]["n"] == kinds[query_folders.FINDER_PICK]["n"] == 2
    assert found["n_queries"] == 5  # the whole figures: photos and annotated boxes, as train judges
    assert found["finder_recall"]["all"] == {"n": 2, "same_kind": 1.0, "any_kind": 1.0}
    report = format_report(found)
    assert query_folders.FINDER_PICK in report and "garment finder recall" in report


def test_without_a_space_each_kind_of_query_is_measured_in_the_space_the_product_searches_it_in(
        synthetic_artifacts, synthetic_dataset, random_weights, tmp_path, monkeypatch):
    from recommender.evaluation import protocols, query_folders
    from recommender.evaluation.results import format_report
    from recommender.garments.finder import GarmentFinder
    from recommender.store.manifest import commit_manifest, read_manifest
    from tests.garments.test_finder import colour_map, worn_parser

    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, root)
    commit_manifest(root, read_manifest(root).with_default_space("fashion", worn="imagenet"))
    queries = _worn_folder(tmp_path / "queries", synthetic_dataset)
    monkeypatch.setattr(protocols, "catalogue_finder", lambda *args, **kwargs: GarmentFinder(colour_map, worn_parser()))
    evaluate = lambda space: protocols.query_folder_evaluation(  # noqa: E731
        str(root), str(queries), "styles.csv", space=space, weights=str(random_weights.path))
    auto, fashion, imagenet = evaluate(None), evaluate("fashion"), evaluate("imagenet")
    assert auto["space"] == "fashion" and auto["precision_at_k"] == fashion["precision_at_k"]
    for kind, row in auto["by_query_kind"].items():
        expected = imagenet if kind in query_folders.WORN_KINDS else fashion
        assert row == expected["by_query_kind"][kind] and row["space"] == expected["space"]
    assert any(line.startswith(query_folders.GARMENT_BOX) and line.endswith("imagenet")
               for line in format_report(auto).splitlines())


def test_a_folder_of_photos_is_embedded_once_and_again_when_a_photo_or_a_setting_changes(
        synthetic_dataset, random_extractor, tmp_path, monkeypatch):
    from dataclasses import replace

    from recommender.evaluation import folder_cache, query_folders

    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path / "cache"))
    queries = _worn_folder(tmp_path / "queries", synthetic_dataset)
    first = query_folders.embed_folder(random_extractor, queries, garments=True)
    embedded = []
    monkeypatch.setattr(query_folders, "_embed_photos", lambda *args, **kwargs: embedded.append(args) or first)
    again = query_folders.embed_folder(random_extractor, queries, garments=True)
    assert embedded == [] and again.folder == first.folder
    pd.testing.assert_frame_equal(again.items, first.items)
    np.testing.assert_array_equal(again.vectors, first.vectors)
    np.testing.assert_array_equal(again.colours, first.colours)
    assert len(list((tmp_path / "cache" / folder_cache.FOLDER).glob("*.npz"))) == 1
    query_folders.embed_folder(random_extractor, queries)  # read otherwise: without the garments
    assert len(embedded) == 1
    with monkeypatch.context() as patch:  # another extractor's vectors
        patch.setattr(random_extractor, "settings", replace(random_extractor.settings, input_size=160))
        query_folders.embed_folder(random_extractor, queries, garments=True)
    assert len(embedded) == 2
    (queries / "images" / "1001.jpg").write_bytes((queries / "images" / "2001.jpg").read_bytes())  # a photo changed
    query_folders.embed_folder(random_extractor, queries, garments=True)
    assert len(embedded) == 3
    for kept in (tmp_path / "cache" / folder_cache.FOLDER).glob("*.npz"):
        kept.write_bytes(b"damaged")  # an unreadable file is embedded anew, never read
    query_folders.embed_folder(random_extractor, queries, garments=True)
    assert len(embedded) == 4
