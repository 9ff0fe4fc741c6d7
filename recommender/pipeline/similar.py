"""Similar items for every product page: each product's k most similar, streamed to a parquet file.

What a shop loads into its own database or CDN for product-page carousels.
Products are ranked exactly as :meth:`recommender.search.recommender.Recommender.search`
ranks a catalogue product (it is never its own neighbour), in catalogue
order, batch by batch: memory stays bounded by one batch whatever the
catalogue's size, and the file is written to a partial name and renamed
when complete, so a file under the name is always whole.  The same
catalogue and settings give the same file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from ..atomic import write_atomic
from ..config import silent
from ..search.recommender import Recommender
from ..store.manifest import BACKBONE_SPACE

SCHEMA = pa.schema([("id", pa.string()), ("rank", pa.int16()), ("similar_id", pa.string()),
                    ("distance", pa.float32()), ("passed_type_first", pa.bool_())])
BATCH = 2048


def export_similar(root: str | os.PathLike, out: str | os.PathLike, *, k: int = 20, space: str | None = None,
                   type_first: bool = True, batch: int = BATCH, progress: bool = True,
                   log: Callable[[str], None] = silent) -> dict:
    """Write every product's ``k`` most similar products to the parquet file ``out``.

    Columns: ``id``, ``rank`` (1 = most similar), ``similar_id``, ``distance``, and ``passed_type_first``:
    whether the similar product is of the type the space's head predicts for the product (the products type
    first puts ahead; always false in the ImageNet space, which predicts nothing).

    Returns
    -------
    dict
        ``products``, ``rows``, ``space``, ``k``, ``build_id`` and ``path``.
    """
    if not 1 <= k <= 50:
        raise ValueError(f"Expected 1 <= k <= 50, got {k}")
    recommender = Recommender.load(root, with_model=False)
    space = space or recommender.default_space
    metadata = recommender.metadata
    ids = metadata["id"].to_numpy()
    types = metadata["articleType"].to_numpy()
    head = None if space == BACKBONE_SPACE else recommender.artifacts.head(space)
    out = Path(out)
    total = len(metadata)

    def write(partial: Path) -> None:
        with pq.ParquetWriter(partial, SCHEMA, compression="zstd") as writer, \
                tqdm(total=total, unit="product", desc="Similar items", disable=not progress) as bar:
            for start in range(0, total, batch):
                rows = range(start, min(start + batch, total))
                answers = [recommender.neighbours(recommender.query_from_id(ids[row]), k=k, space=space,
                                                  type_first=type_first) for row in rows]
                predicted = _predicted_types(head, recommender.artifacts.space_vectors(space), rows)
                writer.write_table(pa.table({
                    "id": np.repeat(ids[list(rows)], [len(found) for found, _ in answers]),
                    "rank": np.concatenate([np.arange(1, len(found) + 1) for found, _ in answers]).astype(np.int16),
                    "similar_id": np.concatenate([ids[found] for found, _ in answers]),
                    "distance": np.concatenate([distances for _, distances in answers]).astype(np.float32),
                    "passed_type_first": np.concatenate([types[found] == kind for (found, _), kind
                                                         in zip(answers, predicted)]),
                }, schema=SCHEMA))
                bar.update(len(rows))

    write_atomic(out, write, suffix=".parquet")
    written = pq.ParquetFile(out).metadata.num_rows
    log(f"Wrote {written:,} rows ({k} per product, {total:,} products, space {space}) to {out}.")
    return {"products": total, "rows": written, "space": space, "k": k, "build_id": recommender.build_id,
            "path": str(out)}


def _predicted_types(head, space_vectors: np.ndarray, rows: range) -> list[str | None]:
    """The articleType the head predicts for each product of ``rows`` (None where the space predicts nothing)."""
    if head is None or "articleType" not in head.classes:
        return [None] * len(rows)
    probabilities = head.predict(np.asarray(space_vectors[rows.start:rows.stop]))["articleType"]
    return list(head.classes["articleType"][probabilities.argmax(axis=1)])
