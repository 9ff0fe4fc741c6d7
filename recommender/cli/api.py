"""``api``: the HTTP API for a shop's site (FastAPI on uvicorn), on this machine or as a Ray Serve deployment."""

from __future__ import annotations

import argparse
import logging
import os
import signal

from ..api.app import API_KEY_ENV, create_app
from ..config import artifacts_dir, is_verbose
from . import options

NAME = "api"
HELP = "serve the HTTP API (search by photo or product, similar items, product photos)"
CORS_ENV = "RECOMMENDER_CORS_ORIGINS"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    options.artifacts(parser)
    options.weights(parser)
    options.runtime(parser)
    parser.add_argument("--cors-origin", action="append", default=None, metavar="URL",
                        help=f"a shop front end allowed to call from a browser (repeatable; default ${CORS_ENV}, "
                             "comma-separated, else none)")
    parser.add_argument("--no-batching", action="store_true",
                        help="embed each uploaded photo alone instead of batching those arriving together")
    group = parser.add_argument_group("past one machine (Ray Serve; optional install: "
                                      "pip install -r requirements-ray.txt)")
    group.add_argument("--ray", action="store_true", help="run as a Ray Serve deployment instead of one process")
    group.add_argument("--replicas", type=int, default=1, help="API replicas, each with its own model (default 1)")
    group.add_argument("--address", default=None,
                       help="Ray cluster address (default: $RAY_ADDRESS, else a Ray started on this machine)")
    group.add_argument("--cpus-per-replica", type=float, default=1.0, help="CPUs per replica (default 1)")


def run(args: argparse.Namespace) -> int:
    origins = args.cors_origin or [origin for origin in os.environ.get(CORS_ENV, "").split(",") if origin]
    root, weights = artifacts_dir(args.artifacts), options.weights_of(args)
    key = "with an API key" if os.environ.get(API_KEY_ENV) else f"open (set {API_KEY_ENV} to require a key)"
    where = f"http://{args.host}:{args.port}"
    if args.ray:
        return _run_on_ray(args, root, weights.path, origins, f"API on {where} ({key}, {args.replicas} Ray Serve "
                                                              f"replica(s)); its schema: {where}/docs")
    import uvicorn

    cores = len(os.sched_getaffinity(0))  # one call per core, one thread each (docs/performance.md)
    app = create_app(root, weights=weights, runtime=args.runtime, cors_origins=origins,
                     batching=not args.no_batching, concurrency=cores, threads=1,
                     log=lambda line: print(line, flush=True))
    print(f"API on {where} ({key}); its schema: {where}/docs. Loading the model...", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _run_on_ray(args: argparse.Namespace, root, weights, origins: list[str], banner: str) -> int:
    from ..api.deployment import serve_application

    application = serve_application(root, weights=weights, runtime=args.runtime, replicas=args.replicas,
                                    cors_origins=origins,
                                    api_key=os.environ.get(API_KEY_ENV), cpus_per_replica=args.cpus_per_replica)
    import ray
    from ray import serve

    verbose = is_verbose()
    if not verbose:  # Ray's and Serve's own lines only with --verbose
        for name in ("ray", "ray.serve"):
            logging.getLogger(name).setLevel(logging.ERROR)
    ray.init(address=args.address or os.environ.get("RAY_ADDRESS"), include_dashboard=False,
             logging_level="INFO" if verbose else "ERROR", log_to_driver=verbose)
    serve.start(http_options={"host": args.host, "port": args.port},
                logging_config={"log_level": "INFO" if verbose else "ERROR"})
    serve.run(application, name="recommender", route_prefix="/",
              logging_config={"log_level": "INFO" if verbose else "ERROR"})
    print(banner, flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a service manager's stop shuts Serve down too
    try:
        signal.pause()  # serve until stopped (Ctrl-C or SIGTERM)
    except KeyboardInterrupt:
        print("Stopping the API...", flush=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not break the shutdown
    serve.shutdown()
    ray.shutdown()
    return 0
