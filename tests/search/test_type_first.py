"""Type first on real photos: a purple hoodie finds hoodies, not purple kurtas.

A real catalogue of garments whose colours overlap across types (purple
hoodies, kurtas and T-shirts; navy sweaters and kurtas; red jackets) is built
and trained on; hand-picked photos kept out of it, where the nearest colour
and the right type disagree, are the queries.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from recommender import Recommender
from recommender.data.catalogue import read_catalogue
from recommender.pipeline.build import build_catalogue
from recommender.training.train import train_space

TYPES = ("Sweatshirts", "Kurtas", "Tshirts", "Jackets", "Sweaters", "Tops")
COLOURS = ("Purple", "Navy Blue", "Red", "Pink")
# (id, articleType) of query photos, none of them in the catalogue: the purple Nike hoodie first,
# then garments whose colour is shared by other types (purple and pink sweatshirts, red jackets, navy
# sweaters, purple and navy kurtas).
QUERIES = (("15623", "Sweatshirts"), ("19473", "Sweatshirts"), ("12531", "Sweatshirts"), ("1609", "Sweatshirts"),
           ("16196", "Jackets"), ("28540", "Jackets"), ("19522", "Sweaters"), ("17196", "Sweaters"),
           ("39176", "Kurtas"), ("50325", "Kurtas"))


@pytest.fixture(scope="module")
def garments(dataset_dir, extractor, tmp_path_factory):
    """About 500 garments of six types, half of them in the colours the queries share across types."""
    items = read_catalogue(dataset_dir).items
    query_ids = {item_id for item_id, _ in QUERIES}
    pool = items[items["articleType"].isin(TYPES) & ~items["id"].isin(query_ids)]
    rng = np.random.default_rng(0)
    picked = []
    for name in TYPES:
        of_type = pool[pool["articleType"] == name]
        coloured = of_type[of_type["baseColour"].isin(COLOURS)]
        picked += list(rng.permutation(coloured["id"].to_numpy())[:45])
        picked += list(rng.permutation(of_type[~of_type["id"].isin(picked)]["id"].to_numpy())[:40])
    dataset = tmp_path_factory.mktemp("garments")
    (dataset / "images").mkdir()
    chosen = items[items["id"].isin(set(picked))]
    for relative in chosen["image"]:
        shutil.copy(dataset_dir / relative, dataset / relative)
    styles = (dataset_dir / "styles.csv").read_text().splitlines()
    keep = set(chosen["id"])
    (dataset / "styles.csv").write_text("\n".join([styles[0], *(line for line in styles[1:]
                                                                if line.split(",", 1)[0] in keep)]) + "\n")
    out = tmp_path_factory.mktemp("garments-artifacts")
    build_catalogue(dataset, out, extractor=extractor, progress=False, log=lambda _: None)
    train_space(out, holdout=0.1, progress=False, log=lambda _: None)
    return Recommender.load(out)


def test_the_purple_hoodie_gets_hoodies_and_every_query_its_type_at_most_one_click_away(garments, dataset_dir):
    assert garments.catalogue.type_first_weights("fashion"), "validation chose no type-first weight on this catalogue"
    problems = []
    for item_id, article_type in QUERIES:
        query = garments.queries.from_image(dataset_dir / "images" / f"{item_id}.jpg")
        predicted = [name for name, _ in garments.predictions(query, space="fashion")["articleType"]]
        types = garments.search(query, k=5, space="fashion")["articleType"].tolist()
        colours = garments.search(query, k=5, space="fashion")["baseColour"].tolist()
        # Type first: most results are of the type the photo is read as (or of its own type, where the reading
        # between two is close: a sweatshirt read as a top by a hair, on some CPUs' vectors), not colour matches
        # of other kinds.
        if sum(t in (predicted[0], article_type) for t in types) < 3:
            problems.append((item_id, "mixed types", predicted, types))
        if item_id == "15623" and (types != [article_type] * 5 or colours.count("Purple") < 3):
            problems.append((item_id, "the issue's hoodie", types, colours))  # five hoodies, not purple kurtas
        # Where the reading is wrong (a zip hoodie read as a jacket), the right type is one of the offered
        # alternatives, and searching within it returns that type only.
        if article_type not in predicted[:3]:
            problems.append((item_id, "not offered", article_type, predicted))
        within = garments.search(query, k=5, space="fashion", filters={"articleType": [article_type]})
        if not (within["articleType"] == article_type).all():
            problems.append((item_id, "within", within["articleType"].tolist()))
    assert not problems, problems
