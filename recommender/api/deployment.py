"""The same API as a Ray Serve deployment: replicas on one machine or a cluster, batching by Ray Serve.

Each replica is the FastAPI app of :func:`recommender.api.app.create_app`
(``@serve.ingress``) holding its own model; the catalogue's vectors and
Annoy index are memory-mapped, so replicas on one machine share their pages.
Photos that reach a replica together are embedded in one batch by
``@serve.batch`` instead of the standalone server's micro-batcher.  Ray is
an optional install: ``pip install -r requirements-ray.txt``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..pipeline.engines import RAY_INSTALL, EngineUnavailable
from .app import create_app, embed_many
from .batching import DEFAULT_MAX_BATCH, DEFAULT_MAX_WAIT

DEPLOYMENT = "recommender-api"


def serve_application(root: str | os.PathLike, *, weights: str | os.PathLike, runtime: str = "auto",
                      replicas: int = 1,
                      max_batch: int = DEFAULT_MAX_BATCH, max_wait: float = DEFAULT_MAX_WAIT,
                      api_key: str | None = None, cors_origins: Sequence[str] = (),
                      cpus_per_replica: float = 1.0):
    """The bound Ray Serve application (``serve.run`` it): ``replicas`` copies of the API over ``root``.

    ``weights`` is a weights file path every replica can read (a shared path on a cluster).
    """
    try:
        from ray import serve
    except ImportError:
        raise EngineUnavailable(f"Ray Serve is an optional install: {RAY_INSTALL}") from None
    root, weights = str(Path(root).resolve()), str(Path(weights).resolve())
    app = create_app(root, weights=weights, runtime=runtime, api_key=api_key, cors_origins=cors_origins,
                     batching=False, threads=max(1, int(cpus_per_replica)))  # the CPUs Ray gives each replica

    @serve.deployment(name=DEPLOYMENT, num_replicas=replicas, ray_actor_options={"num_cpus": cpus_per_replica},
                      max_ongoing_requests=max(2 * max_batch, 8))
    @serve.ingress(app)
    class Replica:
        def __init__(self) -> None:
            app.state.embed = self.embed
            app.state.catalogue.current()  # the model and the index, before the first request

        @serve.batch(max_batch_size=max_batch, batch_wait_timeout_s=max_wait)
        async def embed(self, items: list) -> list:
            return embed_many(items)

    return Replica.bind()
