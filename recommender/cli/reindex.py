"""``reindex --n-trees N``: a new Annoy index from the stored vectors (seconds, no re-embedding)."""

from __future__ import annotations

import argparse
import time

from ..config import artifacts_dir
from ..index.annoy import METRICS
from ..store.artifacts import load_artifacts
from ..store.manifest import commit_manifest
from . import options

NAME = "reindex"
HELP = "rebuild the Annoy index from the stored vectors and measure the search_k it needs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.artifacts(parser)
    parser.add_argument("--n-trees", type=int, required=True, help="Annoy trees of the new index")
    parser.add_argument("--metric", choices=METRICS, default=None, help="Annoy distance (default: the catalogue's)")


def run(args: argparse.Namespace) -> int:
    root = artifacts_dir(args.artifacts)
    artifacts = load_artifacts(root)
    started = time.perf_counter()
    manifest = artifacts.reindexed(n_trees=args.n_trees, metric=args.metric)
    commit_manifest(root, manifest)
    tuned = ", ".join(f"{space} {entry['value']:,} (recall@5 {entry['recall_at_5']:.3f})"
                      for space, entry in manifest.index.search_k.items())
    print(f"Reindexed {artifacts.vectors.shape[0]:,} vectors: {manifest.index.metric}, {args.n_trees} trees "
          f"in {time.perf_counter() - started:.1f} s; search_k tuned: {tuned}.")
    return 0
