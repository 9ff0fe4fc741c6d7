"""What an uploaded photo is searched with first (fast: the synthetic catalogue, a finder written by hand)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image


def test_an_upload_is_searched_first_by_its_most_prominent_garment_else_whole(synthetic_artifacts, random_weights):
    from recommender import Recommender
    from recommender.data.images import decode_image
    from recommender.garments.finder import GarmentFinder
    from tests.garments.test_finder import colour_map, street_scene, worn_parser

    recommender = Recommender.load(synthetic_artifacts, weights=random_weights,
                                   finder=GarmentFinder(colour_map, worn_parser()))
    plain = Recommender.load(synthetic_artifacts, weights=random_weights)  # no finder trained in this cache
    street = Image.open(io.BytesIO(street_scene())).convert("RGB")
    photo = recommender.queries.photo(street)
    assert photo.garments and photo.garments[0].kind == "top" and photo.whole.worn
    first = recommender.queries.photo(street, first_only=True).first
    [expected] = recommender.queries.of_garments(street, photo.garments[:1])
    assert first.worn and first.kinds == photo.garments[0].kinds
    np.testing.assert_allclose(first.vector, expected.vector, atol=1e-5)
    np.testing.assert_allclose(first.colour, expected.colour, atol=1e-6)

    catalogue_photo = decode_image(recommender.catalogue.dataset_root / recommender.catalogue.metadata["image"].iloc[0])
    for each in (recommender, plain):  # a catalogue shot, and any photo without a finder: whole
        whole = each.queries.photo(catalogue_photo).first
        assert not whole.worn
        np.testing.assert_allclose(whole.vector, recommender.queries.from_image(catalogue_photo).vector, atol=1e-5)
    without_finder = plain.queries.photo(street).first.vector
    np.testing.assert_array_equal(without_finder, recommender.queries.from_image(street).vector)


def test_the_robustness_table_searches_each_photo_as_an_upload_where_a_finder_is_given(synthetic_env,
                                                                                     random_weights):
    from recommender import Recommender, load_artifacts
    from recommender.evaluation.robustness import CLEAN, robustness_evaluation
    from recommender.garments.finder import GarmentFinder
    from tests.garments.test_finder import colour_map, worn_parser

    artifacts = load_artifacts(synthetic_env)
    recommender = Recommender.load(synthetic_env, weights=random_weights,
                                   finder=GarmentFinder(colour_map, worn_parser()))
    queries = np.arange(len(recommender.catalogue.metadata)) < 6
    tables = [robustness_evaluation(artifacts, recommender.queries, queries, ~queries, space="fashion", count=4,
                                    as_upload=as_upload) for as_upload in (False, True)]
    assert list(tables[0]) == list(tables[1]) and tables[1][CLEAN]["drop_points"] == 0
    # Nobody wears the synthetic products: the finder leaves every photo whole, so both tables agree.
    assert tables[0] == tables[1]
    # Each photo in its kind's space (a product photo: the default) measures as the default space does.
    default = robustness_evaluation(artifacts, recommender.queries, queries, ~queries,
                                    space=recommender.catalogue.default_space, count=4)
    assert robustness_evaluation(artifacts, recommender.queries, queries, ~queries, space=None, count=4) == default


def test_a_worn_garment_is_searched_in_the_worn_space_a_product_photo_in_the_default(synthetic_artifacts,
                                                                                     random_weights, tmp_path):
    import shutil

    from recommender import Recommender
    from recommender.data.images import decode_image
    from recommender.garments.finder import GarmentFinder
    from recommender.store.manifest import commit_manifest, read_manifest
    from tests.garments.test_finder import colour_map, street_scene, worn_parser

    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, root)
    commit_manifest(root, read_manifest(root).with_default_space("fashion", worn="imagenet"))
    recommender = Recommender.load(root, weights=random_weights, finder=GarmentFinder(colour_map, worn_parser()))
    assert (recommender.catalogue.default_space, recommender.catalogue.worn_space) == ("fashion", "imagenet")
    street = Image.open(io.BytesIO(street_scene())).convert("RGB")
    parts = recommender.look(street, k=3)
    assert len(parts) > 1 and all(part.query.worn for part in parts)  # each garment, and the look whole
    for part in parts:
        assert recommender.engine.space_for(part.query) == part.space == "imagenet"
        assert part.results.equals(recommender.search(part.query, k=3, space="imagenet"))
        assert recommender.predictions(part.query) == {}  # the backbone space reads no type
    explicit = recommender.look(street, k=3, space="fashion")
    assert explicit[0].results.equals(recommender.search(parts[0].query, k=3, space="fashion"))

    catalogue_photo = decode_image(recommender.catalogue.dataset_root / recommender.catalogue.metadata["image"].iloc[0])
    [whole] = recommender.look(catalogue_photo, k=3)
    assert not whole.query.worn and recommender.engine.space_for(whole.query) == "fashion"
    assert whole.results["id"].iloc[0] == recommender.catalogue.metadata["id"].iloc[0]
    # A manifest naming no worn space searches every query in its one default.
    commit_manifest(root, read_manifest(root).with_default_space("fashion", worn="fashion"))
    assert read_manifest(root).worn_space is None and read_manifest(root).space_for(worn=True) == "fashion"


def test_a_garment_is_searched_within_the_kinds_the_finder_read_it_as(synthetic_artifacts, random_weights,
                                                                       tmp_path):
    """A garment named a bottom keeps its type within bottoms (the catalogue's Jeans), one named a top within
    tops (Tshirts), in the search and in what the app shows it was read as; the evaluation ranks the same."""
    import shutil
    from dataclasses import replace

    from recommender import Recommender, load_artifacts
    from recommender.evaluation.protocols import space_ranking
    from recommender.store.manifest import commit_manifest, read_manifest

    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, root)
    manifest = read_manifest(root)
    ranked = replace(manifest.spaces["fashion"], ranking={"weights": {"articleType": 0.75}})  # as train may choose
    commit_manifest(root, manifest.with_space("fashion", ranked))
    recommender = Recommender.load(root, weights=random_weights)
    photo = recommender.catalogue.dataset_root / recommender.catalogue.metadata["image"].iloc[0]
    query = recommender.queries.from_image(photo)
    for kinds, article_type in ((("bottom",), "Jeans"), (("top",), "Tshirts"), (("top", "bottom"), None)):
        garment = replace(query, kinds=kinds)
        predicted = dict(recommender.predictions(garment, space="fashion")["articleType"])
        if article_type is None:  # both kinds allowed: the head's own reading
            assert predicted == pytest.approx(dict(recommender.predictions(query, space="fashion")["articleType"]))
            continue
        assert predicted == {article_type: 1.0}  # the other kind's type is no alternative offered
        results = recommender.search(garment, k=5, space="fashion")
        others = results[results["distance"] > 1e-3]  # the photo's own product stays first, whatever its type
        assert len(others) >= 4 and (others["articleType"] == article_type).all()
    vector = recommender.engine.space_vectors([query], "fashion")
    everything = np.arange(len(recommender.catalogue.metadata))
    _, read = space_ranking(load_artifacts(root), "fashion", everything, vector, kinds=[("bottom",)])
    classes = list(recommender.engine.head("fashion").classes["articleType"])
    assert read["articleType"][0, classes.index("Jeans")] == 1.0
