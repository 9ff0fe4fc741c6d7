"""Command line: ``python -m recommender {build,update,query,reindex,evaluate,train,serve}``.

Every command prints only the project's own lines (progress bars, reports,
one-line errors); ``--verbose`` (or ``RECOMMENDER_VERBOSE=1``) adds the
libraries' logs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence

from .artifacts import (
    BACKBONE_SPACE,
    ArtifactError,
    DatasetChanged,
    NoCatalogue,
    commit_manifest,
    index_file_name,
    load_artifacts,
)
from .build import CHUNK_SIZE, build_catalogue
from .distributed import ENGINES, RAY_INSTALL, EngineUnavailable, RayEngine, RayOptions
from .evaluate import add_evaluate_parser
from .features import (
    AUTO_PRECISION,
    DEFAULT_BATCH_SIZE,
    DEFAULT_INPUT_SIZE,
    DEFAULT_POOLING,
    DEFAULT_RESIZE,
    INPUT_SIZES,
    POOLINGS,
    PRECISIONS,
)
from .finetune import add_finetune_parser
from .hub import DatasetUnavailable, fetch_public_catalogue
from .images import RESIZE_MODES, ImageError, decode_image
from .index import DEFAULT_METRIC, DEFAULT_N_TREES, METRICS
from .quiet import VERBOSE_ENV
from .search import DEFAULT_K, MAX_K, Recommender
from .settings import DEMO_SAMPLE, PROJECT_ROOT, artifacts_dir, find_dataset
from .train import add_train_parser, train_space
from .update import format_update_report, update_catalogue
from .weights import Weights, WeightsUnavailable, resolve_weights

# The query table's columns, the image path last so that a narrow terminal cuts nothing useful.
QUERY_TABLE = ("rank", "id", "distance", "articleType", "baseColour", "productDisplayName", "image")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit status (0 ok, 1 user error, 2 usage)."""
    args = _parser().parse_args(argv)
    if args.verbose:
        os.environ[VERBOSE_ENV] = "1"
    try:
        return args.run(args)
    except (ArtifactError, ImageError, WeightsUnavailable, DatasetUnavailable, EngineUnavailable, FileNotFoundError,
            KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true",
                        help=f"also show TensorFlow's and other libraries' logs (or set {VERBOSE_ENV}=1)")
    parser = argparse.ArgumentParser(prog="python -m recommender",
                                     description="Visual fashion recommender: ResNet50 features + Annoy.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common])

    engine = argparse.ArgumentParser(add_help=False)
    group = engine.add_argument_group("embedding engine")
    group.add_argument("--engine", choices=ENGINES, default="local",
                       help=f"local: this process; ray: Ray Data actors (optional install: {RAY_INSTALL})")
    group.add_argument("--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)")
    group.add_argument("--workers", type=int, default=1, help="Ray actors, one model each")
    group.add_argument("--cpus-per-worker", type=float, default=1.0)
    group.add_argument("--gpus-per-worker", type=float, default=0.0)

    build = sub.add_parser("build", help="embed a dataset folder and build its index", parents=[common, engine])
    build.add_argument("dataset", help="folder with images/<id>.jpg and optional styles.csv")
    build.add_argument("--out", default=None, help="artifacts folder (default: artifacts/)")
    build.add_argument("--sample", type=int, default=None, help="keep N products, stratified by articleType")
    build.add_argument("--n-trees", type=int, default=DEFAULT_N_TREES)
    build.add_argument("--metric", choices=METRICS, default=DEFAULT_METRIC)
    build.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    build.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help="photos per resumable chunk")
    build.add_argument("--weights", default=None, help="explicit ResNet50 weights file")
    build.add_argument("--pooling", choices=POOLINGS, default=DEFAULT_POOLING, help="global pooling")
    build.add_argument("--resize", choices=RESIZE_MODES, default=DEFAULT_RESIZE,
                       help="fit photos into the network's square input by padding or squashing")
    build.add_argument("--precision", choices=(AUTO_PRECISION, *PRECISIONS), default=AUTO_PRECISION,
                       help="network compute precision; auto: bfloat16 only where this machine runs it faster "
                            "(AMX, a GPU) with the same vectors, else float32")
    build.add_argument("--input-size", type=int, choices=INPUT_SIZES, default=DEFAULT_INPUT_SIZE,
                       help="side of the square each photo is fitted into (smaller: faster, see the README)")
    build.add_argument("--no-progress", action="store_true")
    build.set_defaults(run=_build)

    query = command("query", "the k products most similar to a photo")
    query.add_argument("image", help="a photo, or --id to use a catalogue product")
    query.add_argument("--artifacts", default=None)
    query.add_argument("-k", type=int, default=DEFAULT_K, help=f"results, 1 to {MAX_K}")
    query.add_argument("--search-k", type=int, default=None, help="default: the value tuned for the catalogue")
    query.add_argument("--n-trees", type=int, default=None)
    query.add_argument("--space", default=None,
                       help=f"embedding space: {BACKBONE_SPACE} or a trained one (default: the catalogue's)")
    query.add_argument("--colour-weight", type=float, default=0.0)
    query.add_argument("--id", action="store_true", help="IMAGE is a catalogue product id")
    query.add_argument("--weights", default=None)
    query.add_argument("--paths", action="store_true", help="absolute image paths instead of dataset-relative")
    query.add_argument("--json", action="store_true", help="print a JSON list")
    query.set_defaults(run=_query)

    reindex = command("reindex", "rebuild the Annoy index from the stored vectors")
    reindex.add_argument("--artifacts", default=None)
    reindex.add_argument("--n-trees", type=int, required=True)
    reindex.add_argument("--metric", choices=METRICS, default=None)
    reindex.set_defaults(run=_reindex)

    update = sub.add_parser("update", help="bring the built catalogue level with its dataset, embedding only what "
                            "changed", parents=[common, engine])
    update.add_argument("dataset", nargs="?", default=None,
                        help="dataset folder (default: the one the catalogue was built from)")
    update.add_argument("--artifacts", default=None)
    update.add_argument("--allow-empty", action="store_true", help="allow removing every product")
    update.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    update.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help="photos per resumable chunk")
    update.add_argument("--weights", default=None)
    update.add_argument("--json", action="store_true", help="print the report as one JSON object")
    update.add_argument("--no-progress", action="store_true")
    update.set_defaults(run=_update)

    serve = command("serve", "build a demo catalogue if needed, then start the dashboard")
    serve.add_argument("--dataset", default=None)
    serve.add_argument("--artifacts", default=None)
    serve.add_argument("--sample", type=int, default=DEMO_SAMPLE)
    serve.add_argument("--port", type=int, default=8501)
    serve.add_argument("--address", default="127.0.0.1")
    serve.add_argument("--weights", default=None)
    serve.add_argument("--no-progress", action="store_true")
    serve.set_defaults(run=_serve)

    add_evaluate_parser(sub, parents=[common])
    add_train_parser(sub, parents=[common])
    add_finetune_parser(sub, parents=[common])
    return parser


def _weights(explicit: str | None) -> Weights:
    return resolve_weights(explicit, log=lambda line: print(line, file=sys.stderr))


def _build(args: argparse.Namespace) -> int:
    build_catalogue(args.dataset, artifacts_dir(args.out), sample=args.sample, n_trees=args.n_trees,
                    metric=args.metric, weights=args.weights, pooling=args.pooling, resize=args.resize,
                    precision=args.precision, input_size=args.input_size, batch_size=args.batch_size,
                    chunk_size=args.chunk_size,
                    engine=_engine(args), progress=not args.no_progress)
    return 0


def _engine(args: argparse.Namespace) -> RayEngine | None:
    if args.engine == "local":
        return None
    return RayEngine(RayOptions(address=args.address, workers=args.workers, cpus_per_worker=args.cpus_per_worker,
                                gpus_per_worker=args.gpus_per_worker))


def _query(args: argparse.Namespace) -> int:
    root = artifacts_dir(args.artifacts)
    if args.id:
        recommender = Recommender.load(root, with_model=False)
        query = recommender.query_from_id(args.image)
    else:
        # A bad photo or a missing catalogue is answered before TensorFlow starts (seconds).
        image = decode_image(args.image)
        # One photo: the network runs eagerly, skipping the trace that pays off from the second call.
        recommender = Recommender.load(root, weights=_weights(args.weights), compiled=False)
        query = recommender.query_from_image(image)
    results = recommender.search(query, k=args.k, search_k=args.search_k, n_trees=args.n_trees,
                                 space=args.space, colour_weight=args.colour_weight)
    if not args.paths:
        results["image_path"] = [os.path.relpath(path, recommender.dataset_root) for path in results["image_path"]]
    if args.json:
        print(json.dumps(results.to_dict(orient="records"), indent=2))
    else:
        table = results.rename(columns={"image_path": "image"})[list(QUERY_TABLE)]
        print(f"{len(table)} nearest of {len(recommender.metadata):,} products "
              f"(space {args.space or recommender.default_space}; images under {recommender.dataset_root}):")
        print(table.to_string(index=False, max_colwidth=40))
    return 0


def _reindex(args: argparse.Namespace) -> int:
    root = artifacts_dir(args.artifacts)
    artifacts = load_artifacts(root)
    manifest = dict(artifacts.manifest)
    metric = args.metric or manifest["index"]["metric"]
    started = time.perf_counter()
    manifest["index"] = {**manifest["index"], "n_trees": args.n_trees, "metric": metric,
                         "file": index_file_name(artifacts.build_id, BACKBONE_SPACE, metric, args.n_trees)}
    manifest["index"]["search_k"] = {space: artifacts.tune_index(space, n_trees=args.n_trees, metric=metric)
                                     for space in [BACKBONE_SPACE, *artifacts.spaces]}
    commit_manifest(root, manifest)
    tuned = ", ".join(f"{space} {entry['value']:,} (recall@5 {entry['recall_at_5']:.3f})"
                      for space, entry in manifest["index"]["search_k"].items())
    print(f"Reindexed {artifacts.vectors.shape[0]:,} vectors: {metric}, {args.n_trees} trees "
          f"in {time.perf_counter() - started:.1f} s; search_k tuned: {tuned}.")
    return 0


def _update(args: argparse.Namespace) -> int:
    root = artifacts_dir(args.artifacts)
    quiet_log = (lambda _: None) if args.json else print
    report = update_catalogue(args.dataset, root, allow_empty=args.allow_empty, weights=args.weights,
                              batch_size=args.batch_size, chunk_size=args.chunk_size, engine=_engine(args),
                              progress=not args.no_progress, log=quiet_log)
    print(json.dumps(report) if args.json else format_update_report(report))
    return 0


def _serve(args: argparse.Namespace) -> int:
    weights = _weights(args.weights)
    print(f"ResNet50 ImageNet weights: {weights.path}")
    root = artifacts_dir(args.artifacts)
    try:
        artifacts = load_artifacts(root, expect_dataset=True)
        print(f"Catalogue: {artifacts.manifest['count']:,} products in {root} "
              f"(build {artifacts.build_id}, made {artifacts.manifest['created']}).")
    except DatasetChanged:
        print(f"The dataset changed since the catalogue in {root} was built: updating it (only what changed "
              "is embedded).")
        print(format_update_report(update_catalogue(None, root, weights=weights,
                                                    progress=not args.no_progress)))
    except ArtifactError as error:
        dataset = find_dataset(args.dataset) or fetch_public_catalogue()
        if isinstance(error, NoCatalogue):
            print(f"No catalogue in {root} yet: building a demo of {args.sample:,} products from {dataset}, then "
                  "training the fashion head (a few minutes on 2 cores; later starts take seconds).")
        else:
            print(f"The catalogue in {root} cannot be used ({error}). Building a new demo of {args.sample:,} "
                  f"products from {dataset} in its place.")
        build_catalogue(dataset, root, sample=args.sample, weights=weights, progress=not args.no_progress)
        # The fashion head takes seconds on a demo catalogue; it becomes the default only if it wins.
        train_space(root, progress=not args.no_progress)
    env = {**os.environ, "RECOMMENDER_ARTIFACTS": str(root), "RECOMMENDER_WEIGHTS": str(weights.path)}
    command = [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "streamlit_app.py"),
               "--server.address", args.address, "--server.port", str(args.port)]
    print(f"Starting the dashboard on http://{args.address}:{args.port} (Ctrl-C stops it)...")
    return subprocess.call(command, cwd=PROJECT_ROOT, env=env)

