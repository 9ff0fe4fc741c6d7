"""Similar items for every product page: each product's k most similar, streamed to a parquet file.

What a shop loads into its own database or CDN for product-page carousels.
Products are ranked by the search engine
(:meth:`recommender.search.engine.SearchEngine.kneighbors`) as a product page's search ranks them (a
product is never its own neighbour), in catalogue order, a batch of queries at a time (one head pass per
batch): memory stays bounded by one batch whatever the catalogue's size, and the file is written to a
partial name and renamed when complete, so a file under the name is always whole. The same catalogue and
settings give the same file.
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
from ..search.engine import SearchEngine, check_k
from ..search.recommender import Recommender

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
    check_k(k)
    recommender = Recommender.load(root, with_model=False)
    engine, catalogue = recommender.engine, recommender.catalogue
    space = space or catalogue.default_space
    ids = catalogue.metadata["id"].to_numpy()
    types = catalogue.metadata["articleType"].to_numpy()
    out = Path(out)
    total = len(ids)

    def write(partial: Path) -> None:
        with pq.ParquetWriter(partial, SCHEMA, compression="zstd") as writer, \
                tqdm(total=total, unit="product", desc="Similar items", disable=not progress) as bar:
            for start in range(0, total, batch):
                rows = np.arange(start, min(start + batch, total))
                products = [recommender.queries.from_id(item) for item in ids[rows]]
                probabilities = engine.predict(products, space)  # one head pass: ranking and the predicted type
                found = engine.kneighbors(products, k=k, space=space, type_first=type_first,
                                          probabilities=probabilities or None)
                predicted = _predicted_types(engine, probabilities, space, len(products))
                counts = (found.rows >= 0).sum(axis=1)
                kept = found.rows >= 0
                writer.write_table(pa.table({
                    "id": np.repeat(ids[rows], counts),
                    "rank": np.concatenate([np.arange(1, n + 1) for n in counts]).astype(np.int16),
                    "similar_id": ids[found.rows[kept]],
                    "distance": found.distances[kept].astype(np.float32),
                    "passed_type_first": types[found.rows[kept]] == np.repeat(predicted, counts),
                }, schema=SCHEMA))
                bar.update(len(rows))

    write_atomic(out, write, suffix=".parquet")
    written = pq.ParquetFile(out).metadata.num_rows
    log(f"Wrote {written:,} rows ({k} per product, {total:,} products, space {space}) to {out}.")
    return {"products": total, "rows": written, "space": space, "k": k, "build_id": catalogue.build_id,
            "path": str(out)}


def _predicted_types(engine: SearchEngine, probabilities: dict[str, np.ndarray], space: str,
                     count: int) -> np.ndarray:
    """The articleType the space's head predicts for each of ``count`` products (None where it predicts none)."""
    if "articleType" not in probabilities:
        return np.full(count, None, object)
    return engine.head(space).classes["articleType"][probabilities["articleType"].argmax(axis=1)]
