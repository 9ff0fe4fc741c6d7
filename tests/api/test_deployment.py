"""The API as a Ray Serve deployment on a local Ray: the standalone API's answers, and a replica killed under load."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from recommender import load_artifacts
from recommender.api.app import create_app
from tests.browser import free_port

pytestmark = pytest.mark.slow  # a local Ray cluster and two replicas, each with its own model


def _ask(client, photo: bytes | None = None, item: str | None = None) -> list[str]:
    files = {"photo": ("p.jpg", photo)} if photo is not None else None
    data = {"k": "5", **({"product_id": item} if item else {})}
    response = client.post("/v1/search", files=files, data=data)
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["results"]]


def test_ray_serve_answers_as_the_standalone_api_and_survives_a_killed_replica(synthetic_artifacts, random_weights):
    ray = pytest.importorskip("ray", reason="Ray is an optional install: pip install -r requirements-ray.txt")
    serve = pytest.importorskip("ray.serve", reason="Ray Serve is an optional install")
    from recommender.api.deployment import DEPLOYMENT, serve_application

    artifacts = load_artifacts(synthetic_artifacts)
    photos = [(artifacts.manifest.dataset / name).read_bytes() for name in artifacts.metadata["image"][:4]]
    items = artifacts.metadata["id"].iloc[4:8].tolist()
    with TestClient(create_app(synthetic_artifacts, weights=random_weights)) as local:
        expected = [_ask(local, photo=photo) for photo in photos] + [_ask(local, item=item) for item in items]

    port = free_port()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(serve_application(synthetic_artifacts, weights=random_weights.path, replicas=2,
                                    cpus_per_replica=0.5), name="recommender", route_prefix="/")
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        answers = [_ask(client, photo=photo) for photo in photos] + [_ask(client, item=item) for item in items]
        assert answers == expected

        wrong, failures, stop = [], [], threading.Event()

        def load() -> None:  # clients that retry a failed request, as a shop's front end would
            while not stop.is_set():
                for n, (photo, answer) in enumerate(zip(photos, expected)):
                    for _ in range(5):
                        try:
                            response = client.post("/v1/search", files={"photo": ("p.jpg", photo)}, data={"k": "5"})
                        except httpx.HTTPError:
                            response = None
                        if response is not None and response.status_code == 200:
                            if [row["id"] for row in response.json()["results"]] != answer:
                                wrong.append(n)
                            break
                        time.sleep(0.5)
                    else:
                        failures.append(n)

        workers = [threading.Thread(target=load) for _ in range(3)]
        for worker in workers:
            worker.start()
        time.sleep(3)
        replicas = [actor for actor in ray.util.list_named_actors(all_namespaces=True)
                    if actor["name"].startswith("SERVE_REPLICA::") and DEPLOYMENT in actor["name"]]
        assert len(replicas) == 2
        ray.kill(ray.get_actor(replicas[0]["name"], namespace=replicas[0]["namespace"]))
        time.sleep(8)  # requests go on while Serve replaces the killed replica
        stop.set()
        for worker in workers:
            worker.join(timeout=120)
        assert wrong == [] and failures == []
        assert _ask(client, item=items[0]) == expected[len(photos)]
    finally:
        serve.shutdown()
        ray.shutdown()
