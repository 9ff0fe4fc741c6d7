"""Similar items for every product: the search's own answers, streamed to parquet, deterministic, whole or absent."""

from __future__ import annotations

import pyarrow.parquet as pq

from recommender import Recommender
from recommender.cli import main
from recommender.pipeline.similar import export_similar


def test_every_product_gets_its_k_most_similar_as_search_ranks_them(synthetic_artifacts, tmp_path):
    out = tmp_path / "similar.parquet"
    report = export_similar(synthetic_artifacts, out, k=4, batch=5, progress=False)
    table = pq.read_table(out).to_pandas()
    recommender = Recommender.load(synthetic_artifacts, with_model=False)
    assert report["rows"] == len(table) == 4 * len(recommender.catalogue.metadata)
    assert list(table.columns) == ["id", "rank", "similar_id", "distance", "passed_type_first"]
    assert not (table["id"] == table["similar_id"]).any()
    for item in recommender.catalogue.metadata["id"].iloc[[0, 7, 23]]:
        searched = recommender.search(recommender.queries.from_id(item), k=4)
        rows = table[table["id"] == item]
        assert rows["similar_id"].tolist() == searched["id"].tolist() and rows["rank"].tolist() == [1, 2, 3, 4]
    head = recommender.engine.head("fashion")
    first = recommender.catalogue.metadata["id"].iloc[0]
    predicted = recommender.predictions(recommender.queries.from_id(first), space="fashion")["articleType"][0][0]
    kinds = recommender.catalogue.metadata.set_index("id").loc[table[table["id"] == first]["similar_id"], "articleType"]
    assert table[table["id"] == first]["passed_type_first"].tolist() == (kinds == predicted).tolist()
    assert head.classes["articleType"].size == 2


def test_the_same_catalogue_gives_the_same_file_whatever_the_batch(synthetic_artifacts, tmp_path):
    export_similar(synthetic_artifacts, tmp_path / "a.parquet", k=3, batch=1000, progress=False)
    export_similar(synthetic_artifacts, tmp_path / "b.parquet", k=3, batch=7, progress=False)
    a, b = (pq.read_table(tmp_path / name).to_pandas() for name in ("a.parquet", "b.parquet"))
    assert a.equals(b)


def test_the_command_writes_the_file_and_says_so(synthetic_artifacts, tmp_path, capsys):
    out = tmp_path / "carousels.parquet"
    assert main(["similar", "--artifacts", str(synthetic_artifacts), "--k", "2", "--out", str(out),
                 "--space", "imagenet", "--no-progress"]) == 0
    assert f"to {out}" in capsys.readouterr().out and pq.ParquetFile(out).metadata.num_rows == 48
    assert not list(tmp_path.glob(".*partial*"))  # written to a partial name, renamed whole
    assert main(["similar", "--artifacts", str(synthetic_artifacts), "--k", "99", "--out", str(out)]) == 1
