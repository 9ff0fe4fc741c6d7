"""Catalogue parsing on the real file's quirks and on a catalogue that lies."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from recommender.data.catalogue import holdout_split, read_catalogue, read_styles, stratified_sample
from tests.factories import STYLES_HEADER, make_dataset, product_photo

pytestmark = pytest.mark.unit


def test_unquoted_commas_stay_in_the_product_name(tmp_path):
    root = make_dataset(tmp_path / "d", n=4)
    items = read_catalogue(root).items
    assert items["productDisplayName"].tolist() == [f"Product {i}, with comma" for i in range(4)]
    assert items["articleType"].tolist() == ["Tshirts", "Jeans", "Tshirts", "Jeans"]


def test_rows_without_image_are_skipped_and_images_without_row_kept(tmp_path):
    root = make_dataset(tmp_path / "d", n=4, styles_extra="9999,Men,Apparel,Topwear,Shirts,Blue,,,,Ghost\n")
    product_photo().save(root / "images" / "5555.jpg")
    catalogue = read_catalogue(root)
    assert catalogue.report.rows_without_image == ["9999"]
    assert catalogue.report.images_without_row == ["5555"]
    orphan = catalogue.items.set_index("id").loc["5555"]
    assert orphan["articleType"] == "" and orphan["image"] == "images/5555.jpg"
    assert len(catalogue.items) == 5
    assert "1 rows without an image skipped" in catalogue.report.summary()


def test_empty_fields_stay_empty_strings(tmp_path):
    root = make_dataset(tmp_path / "d", n=1)
    (root / "styles.csv").write_text(STYLES_HEADER + "1000,Men,Apparel,Topwear,Tshirts,,,,,Plain tee\n")
    row = read_catalogue(root).items.iloc[0]
    assert row["baseColour"] == "" and row["year"] == "" and row["productDisplayName"] == "Plain tee"


def test_malformed_duplicate_and_non_utf8_lines_are_reported(tmp_path):
    path = tmp_path / "styles.csv"
    path.write_bytes(
        STYLES_HEADER.encode()
        + b"1,Men,Apparel,Topwear,Tshirts,Red,Summer,2012,Casual,First\n"
        + b"2,Men,Apparel\n"
        + b"1,Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,Duplicate\n"
        + b"3,Women,Apparel,Topwear,Tops,Pink,Summer,2012,Casual,Caf\xe9 top\n"
        + b"\n"
    )
    rows, report = read_styles(path)
    assert rows["id"].tolist() == ["1", "3"]
    assert rows.set_index("id").loc["1", "productDisplayName"] == "First"  # first of the duplicates kept
    assert report.malformed_lines == ["line 3"]
    assert report.duplicate_ids == ["1"]
    assert report.undecodable_text_lines == [5]
    assert rows.set_index("id").loc["3", "productDisplayName"] == "Caf\ufffd top"


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "/etc/passwd", "..", "a/b", "x" * 100, ""])
def test_ids_that_try_to_leave_the_dataset_are_refused(tmp_path, bad_id):
    root = make_dataset(tmp_path / "d", n=2,
                        styles_extra=f"{bad_id},Men,Apparel,Topwear,Shirts,Blue,,,,Escape\n")
    catalogue = read_catalogue(root)
    assert bad_id not in set(catalogue.items["id"])
    assert all(not p.startswith("..") and "/" not in p[len("images/"):] for p in catalogue.items["image"])
    assert catalogue.report.unsafe_entries == [f"line 4: id {bad_id[:40]!r}"]
    assert len(catalogue.items) == 2


def test_links_out_of_the_dataset_are_refused(tmp_path):
    outside = tmp_path / "secret.jpg"
    product_photo().save(outside)
    root = make_dataset(tmp_path / "d", n=2)
    os.symlink(outside, root / "images" / "7777.jpg")
    os.symlink(root / "images" / "1000.jpg", root / "images" / "7778.jpg")  # a link inside is fine
    catalogue = read_catalogue(root)
    assert "7777" not in set(catalogue.items["id"]) and "7778" in set(catalogue.items["id"])
    assert any("7777" in entry for entry in catalogue.report.unsafe_entries)


def test_a_styles_file_linked_from_outside_is_refused(tmp_path):
    root = make_dataset(tmp_path / "d", n=2)
    outside = tmp_path / "other.csv"
    (root / "styles.csv").rename(outside)
    os.symlink(outside, root / "styles.csv")
    catalogue = read_catalogue(root)
    assert set(catalogue.items["articleType"]) == {""}
    assert any("styles.csv" in entry for entry in catalogue.report.unsafe_entries)


def test_missing_images_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="images/ subfolder"):
        read_catalogue(tmp_path)


def _labelled(n_per_type: dict[str, int]) -> pd.DataFrame:
    ids, types = [], []
    for name, count in n_per_type.items():
        for i in range(count):
            ids.append(f"{name}{i}")
            types.append(name)
    return pd.DataFrame({"id": ids, "articleType": types})


def test_stratified_sample_keeps_shares_and_every_type():
    items = _labelled({"Tshirts": 700, "Shoes": 250, "Ties": 49, "Rare": 1})
    sample = stratified_sample(items, 100, seed=3)
    counts = sample["articleType"].value_counts()
    assert len(sample) == 100
    assert counts["Tshirts"] == pytest.approx(70, abs=2) and counts["Shoes"] == pytest.approx(25, abs=2)
    assert counts["Rare"] == 1
    assert stratified_sample(items, 100, seed=3).equals(sample)  # seeded
    assert not stratified_sample(items, 100, seed=4).equals(sample)


def test_holdout_split_is_stratified_nested_and_seeded():
    items = _labelled({"Tshirts": 700, "Shoes": 250, "Rare": 1})
    small, large = holdout_split(items, 0.05), holdout_split(items, 0.1)
    assert small.sum() == pytest.approx(47, abs=2) and large.sum() == pytest.approx(95, abs=2)
    assert np.all(large[small])  # a smaller holdout is inside a larger one
    assert not small[items["articleType"] == "Rare"].any()  # a lone product stays in the catalogue
    np.testing.assert_array_equal(holdout_split(items, 0.1), large)


def test_real_styles_file_keeps_every_row_with_an_image(dataset_dir):
    catalogue = read_catalogue(dataset_dir)
    images = {p.stem for p in (dataset_dir / "images").glob("*.jpg")}
    assert set(catalogue.items["id"]) == images
    assert not catalogue.report.malformed_lines
    with_commas = catalogue.items[catalogue.items["productDisplayName"].str.contains(",")]
    assert len(with_commas) > 10
    assert set(with_commas["articleType"]) <= set(catalogue.items["articleType"])
    assert (catalogue.items["year"].str.fullmatch(r"\d{4}|") ).all()  # no name fragment slid into a column


def test_a_sample_is_not_the_holdout():
    items = _labelled({"Tshirts": 700, "Shoes": 300})
    sample_ids = set(stratified_sample(items, 150)["id"])
    held_out = set(items["id"][holdout_split(items, 0.1)])
    assert len(sample_ids & held_out) < 40  # independent draws: ~15 expected, not 100
