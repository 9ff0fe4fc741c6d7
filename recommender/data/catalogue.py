"""Read a product catalogue in the Kaggle "Fashion Product Images" layout.

``DATASET/images/<id>.jpg`` plus an optional ``DATASET/styles.csv`` with the
columns of :data:`STYLE_COLUMNS`.  The real file has product names with
unquoted commas, ids without an image and empty fields; every row that has an
image is kept with its fields right, every image without a row is kept with
empty labels, and everything skipped is counted in a :class:`CatalogueReport`.
Nothing outside the dataset folder is ever read: ids and file names that try
to leave it, and links pointing out of it, are refused and reported.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

STYLE_COLUMNS = ("id", "gender", "masterCategory", "subCategory", "articleType", "baseColour",
                 "season", "year", "usage", "productDisplayName")
LABEL_COLUMNS = ("articleType", "subCategory", "masterCategory", "baseColour", "gender")
# baseColour's 46 values grouped under Berlin and Kay's eleven basic colour terms (Basic Color
# Terms, 1969), plus Metallic and Multi: Navy Blue is a blue, Charcoal a grey, Cream a white.
_FAMILY_MEMBERS = {
    "Black": ("Black",),
    "White": ("White", "Off White", "Cream"),
    "Grey": ("Grey", "Charcoal", "Grey Melange"),
    "Blue": ("Blue", "Navy Blue", "Turquoise Blue", "Teal"),
    "Brown": ("Brown", "Coffee Brown", "Mushroom Brown", "Tan", "Khaki", "Taupe", "Beige", "Skin", "Nude"),
    "Red": ("Red", "Maroon", "Burgundy"),
    "Green": ("Green", "Olive", "Sea Green", "Lime Green", "Fluorescent Green"),
    "Yellow": ("Yellow", "Mustard"),
    "Orange": ("Orange", "Rust", "Peach"),
    "Pink": ("Pink", "Rose", "Magenta"),
    "Purple": ("Purple", "Lavender", "Mauve"),
    "Metallic": ("Silver", "Gold", "Bronze", "Copper", "Steel", "Metallic"),
    "Multi": ("Multi",),
}
COLOUR_FAMILIES = {member: family for family, members in _FAMILY_MEMBERS.items() for member in members}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_EXAMPLES = 5


@dataclass
class CatalogueReport:
    """What reading a catalogue kept and skipped, with a few examples of each."""

    rows_read: int = 0
    images_found: int = 0
    kept: int = 0
    malformed_lines: list[str] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)
    undecodable_text_lines: list[int] = field(default_factory=list)
    rows_without_image: list[str] = field(default_factory=list)
    images_without_row: list[str] = field(default_factory=list)
    unsafe_entries: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line per kind of problem, with counts and a few examples."""
        lines = [f"{self.kept:,} products kept ({self.images_found:,} images, {self.rows_read:,} styles rows)."]
        for label, values in (
            ("malformed styles.csv lines skipped", self.malformed_lines),
            ("duplicate ids (first row kept)", self.duplicate_ids),
            ("lines with non-UTF-8 bytes (replaced)", self.undecodable_text_lines),
            ("rows without an image skipped", self.rows_without_image),
            ("images without a styles row kept with empty labels", self.images_without_row),
            ("unsafe ids, names or links refused", self.unsafe_entries),
        ):
            if values:
                examples = ", ".join(str(v) for v in values[:_EXAMPLES])
                lines.append(f"  {len(values):,} {label}: {examples}{' ...' if len(values) > _EXAMPLES else ''}")
        return "\n".join(lines)


@dataclass
class Catalogue:
    """A dataset folder's products.

    Attributes
    ----------
    root : Path
        The dataset folder (resolved).
    items : DataFrame
        One row per product with an image: the :data:`STYLE_COLUMNS` as strings
        (empty where unknown) and ``image``, the path relative to ``root``.
    report : CatalogueReport
    """

    root: Path
    items: pd.DataFrame
    report: CatalogueReport

    def paths(self) -> list[Path]:
        """Absolute image paths, in ``items`` order."""
        return [self.root / rel for rel in self.items["image"]]



def dataset_fingerprint(root: str | os.PathLike, *, styles: str = "styles.csv") -> str:
    """sha256 over the image names and sizes and the styles file's bytes.

    It changes when the dataset does, and costs a directory listing, not a parse.
    """
    root = Path(root)
    digest = hashlib.sha256()
    with os.scandir(root / "images") as entries:
        for name, size in sorted((entry.name, entry.stat().st_size) for entry in entries if entry.is_file()):
            digest.update(f"{name}:{size}\n".encode())
    styles_path = root / styles
    if styles_path.is_file():
        digest.update(hashlib.sha256(styles_path.read_bytes()).digest())
    return digest.hexdigest()


def read_catalogue(root: str | os.PathLike, *, styles: str | os.PathLike = "styles.csv") -> Catalogue:
    """Read ``root/images/`` and, where present, ``root/styles.csv``.

    Raises
    ------
    FileNotFoundError
        When ``root`` or ``root/images`` does not exist.
    """
    root = Path(root).resolve()
    images_dir = root / "images"
    if not images_dir.is_dir():
        raise FileNotFoundError(f"Expected a dataset folder with an images/ subfolder. Received: {str(root)!r}")
    report = CatalogueReport()
    if not _inside(images_dir.resolve(), root):
        report.unsafe_entries.append("images/ (a link out of the dataset)")
        images: dict[str, str] = {}
    else:
        images = _list_images(root, images_dir, report)
    report.images_found = len(images)
    # A styles name is looked up inside the dataset (a link out of it is refused);
    # an absolute path is the caller's explicit choice.
    styles_path = root / styles
    trusted = Path(styles).is_absolute() or _inside(styles_path.resolve(), root)
    if styles_path.is_file() and not trusted:
        report.unsafe_entries.append(f"{styles} (a link out of the dataset)")
    rows = _read_styles(styles_path, report) if styles_path.is_file() and trusted \
        else pd.DataFrame(columns=list(STYLE_COLUMNS))
    has_image = rows["id"].isin(images.keys())
    report.rows_without_image = rows.loc[~has_image, "id"].tolist()
    rows = rows[has_image]
    unlabeled = sorted(set(images) - set(rows["id"]), key=_id_sort_key)
    report.images_without_row = unlabeled
    extra = pd.DataFrame({column: [""] * len(unlabeled) for column in STYLE_COLUMNS})
    extra["id"] = unlabeled
    items = pd.concat([rows, extra], ignore_index=True)
    items["image"] = items["id"].map(images)
    items = items.sort_values("id", key=lambda s: s.map(_id_sort_key)).reset_index(drop=True)
    report.kept = len(items)
    return Catalogue(root, items, report)


def read_styles(path: str | os.PathLike) -> tuple[pd.DataFrame, CatalogueReport]:
    """Parse a Kaggle ``styles.csv`` with its quirks.

    Extra commas belong to the last column, ``productDisplayName``; lines
    with fewer than 10 fields or an unsafe id are skipped; duplicate ids keep
    the first row; bytes that are not UTF-8 are replaced.  All are reported.
    """
    report = CatalogueReport()
    return _read_styles(Path(path), report), report


def _read_styles(path: Path, report: CatalogueReport) -> pd.DataFrame:
    raw = path.read_bytes()
    records: list[list[str]] = []
    seen: set[str] = set()
    for number, line in enumerate(raw.splitlines(), start=1):
        try:
            text = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            text = line.decode("utf-8", errors="replace")
            report.undecodable_text_lines.append(number)
        if number == 1:
            _check_header(path, text)
            continue
        if not text.strip():
            continue
        fields = next(csv.reader(io.StringIO(text)), [])
        if len(fields) < len(STYLE_COLUMNS):
            report.malformed_lines.append(f"line {number}")
            continue
        fields = fields[:9] + [",".join(fields[9:])]
        fields = [value.strip() for value in fields]
        item_id = fields[0]
        if not _SAFE_ID.match(item_id):
            report.unsafe_entries.append(f"line {number}: id {item_id[:40]!r}")
            continue
        if item_id in seen:
            report.duplicate_ids.append(item_id)
            continue
        seen.add(item_id)
        records.append(fields)
    report.rows_read = len(records)
    return pd.DataFrame(records, columns=list(STYLE_COLUMNS), dtype=str)


def _check_header(path: Path, line: str) -> None:
    # A file that lost its header would silently drop its first product and could shift every column.
    names = [name.strip().lower() for name in next(csv.reader(io.StringIO(line)), [])]
    if names[:len(STYLE_COLUMNS)] != [name.lower() for name in STYLE_COLUMNS]:
        raise ValueError(f"{path.name} has no header line (its first line is {line[:60]!r}); expected "
                         f"{','.join(STYLE_COLUMNS)}")


def _list_images(root: Path, images_dir: Path, report: CatalogueReport) -> dict[str, str]:
    found: dict[str, str] = {}
    with os.scandir(images_dir) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            stem, ext = os.path.splitext(entry.name)
            if ext.lower() not in IMAGE_EXTENSIONS:
                continue
            if not _SAFE_ID.match(stem):
                report.unsafe_entries.append(f"images/{entry.name[:60]}")
                continue
            if entry.is_symlink() and not _inside(Path(entry.path).resolve(), root):
                report.unsafe_entries.append(f"images/{entry.name} (a link out of the dataset)")
                continue
            if not entry.is_file():
                continue
            if stem in found:
                report.duplicate_ids.append(f"images/{entry.name}")
                continue
            found[stem] = f"images/{entry.name}"
    return found


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _id_sort_key(item_id: str) -> tuple[int, int | str]:
    return (0, int(item_id)) if item_id.isdigit() else (1, item_id)


def stratified_sample(items: pd.DataFrame, n: int, *, by: str = "articleType", seed: int = 0) -> pd.DataFrame:
    """About ``n`` rows keeping each ``by`` group's share (each group at least one row).

    Rows keep their original order; the choice depends only on ``seed`` and the ids.
    """
    if n < 1:
        raise ValueError(f"Expected n >= 1, got {n}")
    if n >= len(items):
        return items
    shares = items.groupby(by, sort=True)[by].transform("size") / len(items)
    order = _seeded_order(items["id"], f"sample:{seed}")
    ranked = pd.Series(order, index=items.index).groupby(items[by]).rank(method="first") - 1
    quota = np.maximum(1, np.round(shares * n)).astype(int)
    chosen = items[ranked < quota]
    if len(chosen) > n:  # rounding up of small groups: trim the largest groups' extra rows
        surplus = len(chosen) - n
        drop = chosen.assign(_r=ranked[chosen.index]).sort_values("_r", ascending=False).index[:surplus]
        chosen = chosen.drop(drop)
    return chosen


def holdout_split(items: pd.DataFrame, fraction: float, *, by: str = "articleType",
                  seed: int = 0) -> np.ndarray:
    """Boolean mask of query rows: a ``fraction`` of each ``by`` group, chosen by seeded id hash.

    Groups with a single row stay in the catalogue.  The split depends only on
    ids, ``by`` labels and ``seed``, so training and evaluation agree on it.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"Expected 0 < fraction < 1, got {fraction}")
    order = pd.Series(_seeded_order(items["id"], seed), index=items.index)
    rank = order.groupby(items[by]).rank(method="first") - 1
    size = items.groupby(by)[by].transform("size")
    quota = np.where(size >= 2, np.floor(size * fraction + 0.5), 0)
    return (rank < quota).to_numpy()


def _seeded_order(ids: pd.Series, seed: int | str) -> np.ndarray:
    # Sample and holdout hash with different salts: were they the same, a demo sample
    # would hold exactly the products a holdout keeps out.
    return np.array([int.from_bytes(hashlib.sha256(f"{seed}:{i}".encode()).digest()[:8], "big")
                     for i in ids], dtype=np.uint64)
