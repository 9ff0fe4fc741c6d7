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
    from recommender.search.look import first_query, garment_queries, garments_to_search
    from tests.garments.test_finder import colour_map, street_scene, worn_parser

    recommender = Recommender.load(synthetic_artifacts, weights=random_weights)
    finder = GarmentFinder(colour_map, worn_parser())
    street = Image.open(io.BytesIO(street_scene())).convert("RGB")
    garments = garments_to_search(recommender, finder, street)
    assert garments and garments[0].kind == "top"
    first = first_query(recommender, finder, street)
    [expected] = garment_queries(recommender, street, garments[:1])
    np.testing.assert_allclose(first.vector, expected.vector, atol=1e-5)
    np.testing.assert_allclose(first.colour, expected.colour, atol=1e-6)

    catalogue_photo = decode_image(recommender.dataset_root / recommender.metadata["image"].iloc[0])
    for with_finder in (finder, None):  # a catalogue shot, and any photo without a finder: whole
        whole = first_query(recommender, with_finder, catalogue_photo)
        np.testing.assert_allclose(whole.vector, recommender.query_from_image(catalogue_photo).vector, atol=1e-5)
    without_finder = first_query(recommender, None, street).vector
    np.testing.assert_array_equal(without_finder, recommender.query_from_image(street).vector)


def test_the_robustness_table_searches_each_photo_as_an_upload_where_a_finder_is_given(synthetic_env,
                                                                                     random_weights):
    from recommender import Recommender
    from recommender.evaluation.robustness import CLEAN, robustness_evaluation
    from recommender.garments.finder import GarmentFinder
    from tests.garments.test_finder import colour_map, worn_parser

    recommender = Recommender.load(synthetic_env, weights=random_weights)
    queries = np.arange(len(recommender.metadata)) < 6
    tables = [robustness_evaluation(recommender, queries, ~queries, space="fashion", count=4,
                                    finder=finder) for finder in (None, GarmentFinder(colour_map, worn_parser()))]
    assert list(tables[0]) == list(tables[1]) and tables[1][CLEAN]["drop_points"] == 0
    # Nobody wears the synthetic products: the finder leaves every photo whole, so both tables agree.
    assert tables[0] == tables[1]
    # Each photo in its kind's space (a product photo: the default) measures as the default space does.
    default = robustness_evaluation(recommender, queries, ~queries, space=recommender.default_space, count=4)
    assert robustness_evaluation(recommender, queries, ~queries, space=None, count=4) == default


def test_a_worn_garment_is_searched_in_the_worn_space_a_product_photo_in_the_default(synthetic_artifacts,
                                                                                     random_weights, tmp_path):
    import shutil

    from recommender import Recommender
    from recommender.data.images import decode_image
    from recommender.garments.finder import GarmentFinder
    from recommender.search.look import shop_the_look
    from recommender.store.manifest import commit_manifest, read_manifest
    from tests.garments.test_finder import colour_map, street_scene, worn_parser

    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, root)
    commit_manifest(root, read_manifest(root).with_default_space("fashion", worn="imagenet"))
    recommender = Recommender.load(root, weights=random_weights)
    assert (recommender.default_space, recommender.worn_space) == ("fashion", "imagenet")
    finder = GarmentFinder(colour_map, worn_parser())
    street = Image.open(io.BytesIO(street_scene())).convert("RGB")
    parts = shop_the_look(recommender, finder, street, k=3)
    assert len(parts) > 1 and all(part.query.worn for part in parts)  # each garment, and the look whole
    for part in parts:
        assert recommender.space_for(part.query) == "imagenet"
        assert part.results.equals(recommender.search(part.query, k=3, space="imagenet"))
        assert recommender.predictions(part.query) == {}  # the backbone space reads no type
    explicit = shop_the_look(recommender, finder, street, k=3, space="fashion")
    assert explicit[0].results.equals(recommender.search(parts[0].query, k=3, space="fashion"))

    catalogue_photo = decode_image(recommender.dataset_root / recommender.metadata["image"].iloc[0])
    [whole] = shop_the_look(recommender, finder, catalogue_photo, k=3)
    assert not whole.query.worn and recommender.space_for(whole.query) == "fashion"
    assert whole.results["id"].iloc[0] == recommender.metadata["id"].iloc[0]
    # A manifest naming no worn space searches every query in its one default.
    commit_manifest(root, read_manifest(root).with_default_space("fashion", worn="fashion"))
    assert read_manifest(root).worn_space is None and read_manifest(root).space_for(worn=True) == "fashion"


def test_a_garment_is_searched_within_the_kinds_the_finder_read_it_as(synthetic_artifacts, random_weights,
                                                                       tmp_path):
    """A garment named a bottom keeps its type within bottoms (the catalogue's Jeans), one named a top within
    tops (Tshirts), in the search and in what the app shows it was read as; the evaluation ranks the same."""
    import shutil
    from dataclasses import replace

    from recommender import Recommender
    from recommender.evaluation.protocols import space_ranking
    from recommender.store.manifest import commit_manifest, read_manifest

    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, root)
    manifest = read_manifest(root)
    ranked = replace(manifest.spaces["fashion"], ranking={"weights": {"articleType": 0.75}})  # as train may choose
    commit_manifest(root, manifest.with_space("fashion", ranked))
    recommender = Recommender.load(root, weights=random_weights)
    photo = recommender.dataset_root / recommender.metadata["image"].iloc[0]
    query = recommender.query_from_image(photo)
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
    vector = recommender.space_vector(query, "fashion")[None]
    everything = np.arange(len(recommender.metadata))
    _, read = space_ranking(recommender.artifacts, "fashion", everything, vector, kinds=[("bottom",)])
    classes = list(recommender.artifacts.head("fashion").classes["articleType"])
    assert read["articleType"][0, classes.index("Jeans")] == 1.0
