"""Fetching the public catalogue: the real conversion code on parquet files in the hub's schema."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recommender import DatasetUnavailable, read_catalogue
from recommender.cli import main
from recommender.data.hub import COMPLETE, convert_parquet, fetch_public_catalogue, is_complete
from tests.factories import product_photo

# The schema of ashraq/fashion-product-images-small: the styles.csv columns, year as float64, the photo as a struct.
SCHEMA = pa.schema([("id", pa.int64()), ("gender", pa.string()), ("masterCategory", pa.string()),
                    ("subCategory", pa.string()), ("articleType", pa.string()), ("baseColour", pa.string()),
                    ("season", pa.string()), ("year", pa.float64()), ("usage", pa.string()),
                    ("productDisplayName", pa.string()),
                    ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())]))])


def _jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    product_photo(seed=seed).save(buffer, "JPEG")
    return buffer.getvalue()


def _parquet(path, ids, *, broken=()) -> None:
    rows = [{"id": i, "gender": "Men", "masterCategory": "Apparel", "subCategory": "Topwear",
             "articleType": "Tshirts" if i % 2 else "Shirts", "baseColour": None if i == 3 else "Red",
             "season": "Summer", "year": 2012.0, "usage": "Casual",
             "productDisplayName": f"Tee {i}, cotton\nslim",
             "image": {"bytes": b"not a photo" if i in broken else _jpeg(i), "path": f"{i}.jpg"}} for i in ids]
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)


def test_parquet_files_become_a_dataset_the_catalogue_reader_takes(tmp_path):
    files = [tmp_path / "train-0.parquet", tmp_path / "train-1.parquet"]
    _parquet(files[0], range(1, 6))
    _parquet(files[1], range(6, 10))
    lines = []
    target = convert_parquet(files, tmp_path / "dataset", progress=False, log=lines.append)
    assert is_complete(target) and "9 products" in lines[-1]
    catalogue = read_catalogue(target)
    assert len(catalogue.items) == 9 and not catalogue.report.malformed_lines
    row = catalogue.items.set_index("id").loc["3"]
    assert row["productDisplayName"] == "Tee 3, cotton slim" and row["year"] == "2012" and row["baseColour"] == ""


def test_a_broken_photo_is_left_out_and_too_many_are_refused(tmp_path):
    _parquet(tmp_path / "a.parquet", range(1, 201), broken={7})
    target = convert_parquet([tmp_path / "a.parquet"], tmp_path / "ok", progress=False, log=lambda _: None)
    assert not (target / "images" / "7.jpg").exists() and len(read_catalogue(target).items) == 199
    _parquet(tmp_path / "b.parquet", range(1, 11), broken={2, 3})
    with pytest.raises(DatasetUnavailable, match="do not decode"):
        convert_parquet([tmp_path / "b.parquet"], tmp_path / "bad", progress=False, log=lambda _: None)
    assert not is_complete(tmp_path / "bad")  # never taken for a dataset


def test_an_interrupted_conversion_resumes_with_the_missing_photos_only(tmp_path):
    _parquet(tmp_path / "a.parquet", range(1, 9))
    target = convert_parquet([tmp_path / "a.parquet"], tmp_path / "d", progress=False, log=lambda _: None)
    (target / COMPLETE).unlink()
    (target / "images" / "4.jpg").unlink()
    lines = []
    convert_parquet([tmp_path / "a.parquet"], target, progress=False, log=lines.append)
    assert "(1 photos written now)" in lines[-1] and is_complete(target)


def test_offline_the_fetch_is_one_line_naming_the_setting(tmp_path, monkeypatch):
    monkeypatch.setattr("recommender.data.hub.HUB_HOST", "hub.invalid")
    with pytest.raises(DatasetUnavailable) as caught:
        fetch_public_catalogue(tmp_path / "d", progress=False)
    message = str(caught.value)
    assert "\n" not in message and "RECOMMENDER_DATASET" in message and "cannot be reached" in message


def test_serve_without_any_dataset_says_so_in_one_line(tmp_path, monkeypatch, capsys, random_weights):
    monkeypatch.setattr("recommender.data.hub.HUB_HOST", "hub.invalid")
    monkeypatch.setattr("recommender.data.locate.SHARED_DATASET", tmp_path / "no-shared")
    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RECOMMENDER_WEIGHTS", str(random_weights.path))
    monkeypatch.delenv("RECOMMENDER_DATASET", raising=False)
    assert main(["serve", "--artifacts", str(tmp_path / "a"), "--no-progress"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: No dataset found and the Hugging Face hub cannot be reached")
    assert len(error.splitlines()) == 1
