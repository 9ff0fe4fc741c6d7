"""Command line: ``python -m recommender {build,query,reindex,evaluate,train,serve}``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence

from .artifacts import ArtifactError, commit_manifest, load_artifacts
from .features import DEFAULT_POOLING, DEFAULT_PRECISION, DEFAULT_RESIZE, POOLINGS, PRECISIONS
from .images import RESIZE_MODES, ImageError
from .index import DEFAULT_METRIC, DEFAULT_N_TREES, DEFAULT_SEARCH_K, METRICS
from .settings import DATASET_HELP, DEMO_SAMPLE, PROJECT_ROOT, artifacts_dir, find_dataset
from .weights import WeightsUnavailable


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit status (0 ok, 1 user error, 2 usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        return args.run(args)
    except (ArtifactError, ImageError, WeightsUnavailable, FileNotFoundError, KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m recommender",
                                     description="Visual fashion recommender: ResNet50 features + Annoy.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    build = sub.add_parser("build", help="embed a dataset folder and build its index")
    build.add_argument("dataset", help="folder with images/<id>.jpg and optional styles.csv")
    build.add_argument("--out", default=None, help="artifacts folder (default: artifacts/)")
    build.add_argument("--sample", type=int, default=None, help="keep N products, stratified by articleType")
    build.add_argument("--n-trees", type=int, default=DEFAULT_N_TREES)
    build.add_argument("--metric", choices=METRICS, default=DEFAULT_METRIC)
    build.add_argument("--batch-size", type=int, default=32)
    build.add_argument("--chunk-size", type=int, default=512, help="photos per resumable chunk")
    build.add_argument("--weights", default=None, help="explicit ResNet50 weights file")
    build.add_argument("--pooling", choices=POOLINGS, default=DEFAULT_POOLING, help="global pooling")
    build.add_argument("--resize", choices=RESIZE_MODES, default=DEFAULT_RESIZE,
                       help="fit photos into 224x224 by padding or squashing")
    build.add_argument("--precision", choices=PRECISIONS, default=DEFAULT_PRECISION,
                       help="network compute precision (bfloat16: faster on CPUs with AMX/AVX512-BF16)")
    build.add_argument("--no-progress", action="store_true")
    build.set_defaults(run=_build)

    query = sub.add_parser("query", help="the k products most similar to a photo")
    query.add_argument("image", help="a photo, or --id to use a catalogue product")
    query.add_argument("--artifacts", default=None)
    query.add_argument("-k", type=int, default=5)
    query.add_argument("--search-k", type=int, default=DEFAULT_SEARCH_K)
    query.add_argument("--n-trees", type=int, default=None)
    query.add_argument("--space", default=None,
                       help="embedding space: imagenet or a trained one (default: the catalogue's)")
    query.add_argument("--colour-weight", type=float, default=0.0)
    query.add_argument("--id", action="store_true", help="IMAGE is a catalogue product id")
    query.add_argument("--weights", default=None)
    query.add_argument("--json", action="store_true", help="print a JSON list")
    query.set_defaults(run=_query)

    reindex = sub.add_parser("reindex", help="rebuild the Annoy index from the stored vectors")
    reindex.add_argument("--artifacts", default=None)
    reindex.add_argument("--n-trees", type=int, required=True)
    reindex.add_argument("--metric", choices=METRICS, default=None)
    reindex.set_defaults(run=_reindex)

    serve = sub.add_parser("serve", help="build a demo catalogue if needed, then start the dashboard")
    serve.add_argument("--dataset", default=None)
    serve.add_argument("--artifacts", default=None)
    serve.add_argument("--sample", type=int, default=DEMO_SAMPLE)
    serve.add_argument("--port", type=int, default=8501)
    serve.add_argument("--address", default="127.0.0.1")
    serve.add_argument("--weights", default=None)
    serve.set_defaults(run=_serve)

    from .evaluate import add_evaluate_parser
    from .train import add_train_parser

    add_evaluate_parser(sub)
    add_train_parser(sub)
    return parser


def _build(args: argparse.Namespace) -> int:
    from .build import build_catalogue
    from .features import Extractor
    from .weights import resolve_weights

    extractor = Extractor(resolve_weights(args.weights), pooling=args.pooling, resize=args.resize,
                          batch_size=args.batch_size, precision=args.precision)
    build_catalogue(args.dataset, artifacts_dir(args.out), sample=args.sample, n_trees=args.n_trees,
                    metric=args.metric, extractor=extractor, chunk_size=args.chunk_size,
                    progress=not args.no_progress)
    return 0


def _query(args: argparse.Namespace) -> int:
    from .search import Recommender

    recommender = Recommender.load(artifacts_dir(args.artifacts), weights=args.weights, with_model=not args.id)
    query = recommender.query_from_id(args.image) if args.id else recommender.query_from_image(args.image)
    results = recommender.search(query, k=args.k, search_k=args.search_k, n_trees=args.n_trees,
                                 space=args.space, colour_weight=args.colour_weight)
    if args.json:
        print(json.dumps(results.to_dict(orient="records"), indent=2))
    else:
        with_names = results.drop(columns=["masterCategory", "subCategory", "gender"])
        print(with_names.to_string(index=False, max_colwidth=48))
    return 0


def _reindex(args: argparse.Namespace) -> int:
    import time

    root = artifacts_dir(args.artifacts)
    artifacts = load_artifacts(root)
    manifest = dict(artifacts.manifest)
    metric = args.metric or manifest["index"]["metric"]
    started = time.perf_counter()
    for space in ["imagenet", *artifacts.spaces]:
        artifacts.index(space=space, n_trees=args.n_trees, metric=metric)
    manifest["index"] = {**manifest["index"], "n_trees": args.n_trees, "metric": metric,
                         "file": f"annoy-{artifacts.build_id}-imagenet-{metric}-t{args.n_trees}.ann"}
    commit_manifest(root, manifest)
    print(f"Reindexed {artifacts.vectors.shape[0]:,} vectors: {metric}, {args.n_trees} trees "
          f"in {time.perf_counter() - started:.1f} s.")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .weights import resolve_weights

    weights = resolve_weights(args.weights)
    print(f"ResNet50 ImageNet weights: {weights.path} (from {weights.source})")
    root = artifacts_dir(args.artifacts)
    try:
        load_artifacts(root, expect_dataset=True)
    except ArtifactError as error:
        print(error)
        dataset = find_dataset(args.dataset)
        if dataset is None:
            print(DATASET_HELP, file=sys.stderr)
        else:
            from .build import build_catalogue
            from .train import train_space

            print(f"Building a demo catalogue of {args.sample:,} products from {dataset}")
            build_catalogue(dataset, root, sample=args.sample, weights=args.weights)
            # The fashion head takes seconds on a demo catalogue; it becomes the default only if it wins.
            train_space(root, log=print)
    env = {**os.environ, "RECOMMENDER_ARTIFACTS": str(root)}
    if args.weights:
        env["RECOMMENDER_WEIGHTS"] = str(args.weights)
    command = [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "streamlit_app.py"),
               "--server.address", args.address, "--server.port", str(args.port)]
    print("Starting:", " ".join(command))
    return subprocess.call(command, cwd=PROJECT_ROOT, env=env)
