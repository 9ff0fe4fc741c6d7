"""Words beside the photo: reading a shopper's words, the text model, text search, a photo refined by words,
likes and dislikes, and hostile text (unit tests first, then the synthetic catalogue)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.features.text import TextModel, terms
from recommender.search.words import MAX_TEXT, Vocabulary, read_words, tokens

CATALOGUE = pd.DataFrame({
    "articleType": ["Shirts", "Trousers", "Casual Shoes", "Tshirts", "Dresses", "Kurtas"],
    "baseColour": ["Navy Blue", "Black", "White", "Red", "Pink", "Off White"],
    "gender": ["Men", "Men", "Women", "Men", "Women", "Women"],
    "usage": ["Formal", "Formal", "Casual", "Casual", "Party", "Ethnic"],
    "season": ["Fall", "Winter", "Summer", "Summer", "Summer", "Fall"],
    "subCategory": ["Topwear", "Bottomwear", "Shoes", "Topwear", "Dress", "Topwear"],
    "masterCategory": ["Apparel", "Apparel", "Footwear", "Apparel", "Apparel", "Apparel"],
    "productDisplayName": ["Turtle Check Men Navy Blue Shirt", "Arrow Men Black Trousers", "Vans Women White Shoes",
                           "Nike Men Red Tshirt", "Femella Women Floral Pink Dress", "Biba Women Off White Kurta"]})


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.of(CATALOGUE)


@pytest.mark.unit
@pytest.mark.parametrize(("text", "labels"), [
    ("navy check shirt for men", {"baseColour": "Navy Blue", "articleType": "Shirts", "gender": "Men"}),
    ("Navy Blue SHIRTS", {"baseColour": "Navy Blue", "articleType": "Shirts"}),
    ("black pants", {"baseColour": "Black", "articleType": "Trousers"}),
    ("white sneakers for women", {"baseColour": "White", "articleType": "Casual Shoes", "gender": "Women"}),
    ("red tee", {"baseColour": "Red", "articleType": "Tshirts"}),
    ("women's pink dress", {"gender": "Women", "baseColour": "Pink", "articleType": "Dresses"}),
    ("off-white kurta", {"baseColour": "Off White", "articleType": "Kurtas"}),
    ("formal summer wear", {"usage": "Formal", "season": "Summer"}),
])
def test_words_that_name_a_label_are_read_as_it_in_any_form(vocabulary, text, labels):
    assert read_words(text, vocabulary).labels == labels


@pytest.mark.unit
def test_other_words_are_kept_for_names_or_said_unknown_and_prices_said_unrecorded(vocabulary):
    read = read_words("a floral velvet dress, cheaper please", vocabulary)
    assert read.labels == {"articleType": "Dresses"} and read.words == ("floral",)
    assert read.unknown == ("velvet",) and read.unrecorded == ("prices",)
    assert read.notes == ["'velvet' is not in this catalogue's words: searched by the rest.",
                          "This catalogue records no prices: that part of the words is not searched."]
    assert read_words("like this, but in red", vocabulary).chips == ["Red"]


@pytest.mark.unit
@pytest.mark.parametrize("text", ["", "   ", "x" * 10_000, "👗👠" * 500, "\u200b\u202eshirt\u0000", "ünïcödé çhëck",
                                  "'; DROP TABLE styles; --", "a" * 30 + " shirt"])
def test_hostile_text_is_read_without_failing(vocabulary, text):
    read = read_words(text, vocabulary)
    assert read.cut == (len(text) > MAX_TEXT)
    assert all(len(line) < 400 for line in read.notes)


@pytest.mark.unit
def test_the_text_models_numpy_weighing_is_scikit_learns():
    from sklearn.feature_extraction.text import TfidfVectorizer

    documents = [tokens(name) for name in CATALOGUE["productDisplayName"]] * 2
    vectorizer = TfidfVectorizer(analyzer=terms, min_df=2, sublinear_tf=True, norm="l2").fit(documents)
    model = TextModel(vectorizer.vocabulary_, vectorizer.idf_.astype(np.float32),
                      np.eye(len(vectorizer.idf_), 3, dtype=np.float32))
    words = tokens("Men Navy Blue Shirt shirt")
    np.testing.assert_allclose(model.weigh(words), vectorizer.transform([words]).toarray()[0], atol=1e-6)
    assert model.embed(["nothing-known"]) is None


@pytest.mark.unit
def test_a_text_model_is_saved_and_read_back_without_pickle(tmp_path):
    model = TextModel({"navy": 0, "navy shirt": 1}, np.array([1.5, 2.0], np.float32),
                      np.arange(6, dtype=np.float32).reshape(2, 3))
    model.save(tmp_path / "words.npz")
    back = TextModel.read(tmp_path / "words.npz")
    assert dict(back.vocabulary) == {"navy": 0, "navy shirt": 1}
    np.testing.assert_array_equal(back.weights, model.weights)
    np.testing.assert_allclose(back.embed(["navy", "shirt"]), model.embed(["navy", "shirt"]))


def test_train_records_a_text_model_with_the_space(synthetic_artifacts):
    from recommender.store.artifacts import load_artifacts

    artifacts = load_artifacts(synthetic_artifacts)
    entry = artifacts.manifest.spaces["fashion"]
    assert entry.words is not None and entry.training["words"]["terms"] > 0
    assert artifacts.words("fashion").dimension == entry.dimension


def test_words_alone_find_the_products_that_carry_what_they_name(synthetic_artifacts):
    from recommender import NothingToSearch, Recommender

    recommender = Recommender.load(synthetic_artifacts, with_model=False)
    answer = recommender.answer(text="red tshirts for men", k=5)
    assert answer.asked.labels == {"baseColour": "Red", "articleType": "Tshirts", "gender": "Men"}
    assert len(answer.results) == 5 and set(answer.results["articleType"]) == {"Tshirts"}
    assert set(answer.results["baseColour"]) == {"Red"} and answer.space == "fashion"
    for hopeless in ("", "velvet", "x" * 10_000):
        with pytest.raises(NothingToSearch, match="Nothing to search"):
            recommender.answer(text=hopeless)
    odd = recommender.answer(text="👗 ünïcödé jeans " + "y" * 10_000, k=3)  # answered, not crashed
    assert set(odd.results["articleType"]) == {"Jeans"}


def test_a_photo_refined_by_words_keeps_its_type_and_changes_what_they_name(synthetic_artifacts):
    from recommender import Recommender

    recommender = Recommender.load(synthetic_artifacts, with_model=False)
    jeans = recommender.queries.from_id("1001")  # blue jeans
    answer = recommender.answer(jeans, text="in blue for men", k=3)
    assert set(answer.results["articleType"]) == {"Jeans"} and "1001" not in set(answer.results["id"])
    # No red jeans here: the type the photo implied is let go, the colour asked for is kept, and that is said.
    red = recommender.answer(jeans, text="in red", k=3)
    assert set(red.results["baseColour"]) == {"Red"}
    assert any("searched without 'Jeans'" in note for note in red.asked.notes)


def test_likes_and_dislikes_move_the_results(synthetic_artifacts):
    from recommender import Recommender

    recommender = Recommender.load(synthetic_artifacts, with_model=False)
    query = recommender.queries.from_id("1000")
    first = recommender.answer(query, k=10, type_first=False).results
    liked = first[first["articleType"] == "Jeans"]["id"].tolist()[:2] or ["1001"]
    disliked = first[first["articleType"] == "Tshirts"]["id"].tolist()[:2]
    moved = recommender.answer(query, like=liked, dislike=disliked, k=5, type_first=False)
    assert set(moved.results["articleType"]) == {"Jeans"}  # the type every liked product shares
    assert not set(disliked) & set(moved.results["id"])  # a disliked product is not shown again
    with pytest.raises(KeyError, match="No product with id"):
        recommender.answer(query, like=["no-such-id"])
