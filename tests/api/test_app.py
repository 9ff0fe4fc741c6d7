"""The HTTP API on the synthetic catalogue: answers, every bad input as a status and one line of JSON, safety."""

from __future__ import annotations

import asyncio
import json
import shutil

import httpx
import pytest
from fastapi.testclient import TestClient

from recommender import load_artifacts
from recommender.api.app import create_app
from recommender.cli.query import QUERY_TABLE
from recommender.search.catalogue import RESULT_COLUMNS
from tests.factories import BAD, GOOD, SYNTHETIC_SIZE


@pytest.fixture(scope="module")
def app(synthetic_artifacts, random_weights):
    return create_app(synthetic_artifacts, weights=random_weights)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as client:  # runs the lifespan: the model is loaded before the first request
        yield client


def _photo(root) -> bytes:
    artifacts = load_artifacts(root)
    return (artifacts.manifest.dataset / artifacts.metadata["image"].iloc[3]).read_bytes()


def _error(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


def test_a_photo_returns_k_products_in_the_columns_of_query_json(client, synthetic_artifacts):
    response = client.post("/v1/search", files={"photo": ("shirt.jpg", _photo(synthetic_artifacts), "image/jpeg")},
                           data={"k": "5", "space": "fashion"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["build_id"] == load_artifacts(synthetic_artifacts).build_id and body["space"] == "fashion"
    assert len(body["results"]) == 5 and [row["rank"] for row in body["results"]] == [1, 2, 3, 4, 5]
    assert set(body["results"][0]) == set(RESULT_COLUMNS) >= set(QUERY_TABLE) - {"image"}
    assert body["results"][0]["image_path"].startswith("images/")  # relative to the dataset, as query --json
    assert set(body["read_as"]) == {"articleType", "baseColour"}
    assert body["read_as"]["articleType"][0]["probability"] > 0
    assert body["warning"] is None  # the catalogue's own photo is no stranger


def test_a_product_id_searches_without_the_product_itself_and_filters_apply(client, synthetic_artifacts):
    item = load_artifacts(synthetic_artifacts).metadata["id"].iloc[0]
    found = client.post("/v1/search", data={"product_id": item, "k": "4", "articleType": "Jeans"}).json()
    assert item not in [row["id"] for row in found["results"]]
    assert {row["articleType"] for row in found["results"]} == {"Jeans"}
    similar = client.get(f"/v1/products/{item}/similar", params={"k": 3, "type_first": "false"}).json()
    assert len(similar["results"]) == 3 and item not in [row["id"] for row in similar["results"]]
    product = client.get(f"/v1/products/{item}").json()
    assert product["id"] == item and product["image_path"].endswith(f"{item}.jpg")


def test_the_photo_endpoint_serves_the_file_with_caching_headers(client, synthetic_artifacts):
    item = load_artifacts(synthetic_artifacts).metadata["id"].iloc[2]
    response = client.get(f"/v1/products/{item}/image")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert "max-age" in response.headers["cache-control"] and response.headers["etag"]
    assert response.content[:2] == b"\xff\xd8"


def test_catalogue_health_and_readiness(client, synthetic_artifacts):
    info = client.get("/v1/catalogue").json()
    assert info["products"] == SYNTHETIC_SIZE and info["spaces"] == ["imagenet", "fashion"]
    assert info["filters"]["articleType"] == ["Jeans", "Tshirts"]
    assert client.get("/healthz").json() == {"status": "alive", "build_id": None}
    assert client.get("/readyz").json()["build_id"] == info["build_id"]


@pytest.mark.parametrize("name", sorted(GOOD))
def test_every_readable_photo_of_the_hostile_corpus_is_answered(client, name):
    response = client.post("/v1/search", files={"photo": ("x", GOOD[name], "application/octet-stream")})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("name", sorted(BAD))
def test_every_unreadable_input_of_the_hostile_corpus_is_a_status_and_one_line(client, name):
    data, fragment = BAD[name]
    response = client.post("/v1/search", files={"photo": ("evil.jpg", data, "image/jpeg")})
    assert fragment.lower() in _error(response, 413 if name == "decompression bomb" else 422).lower()


@pytest.mark.parametrize(("request_args", "status", "fragment"), [
    ({"data": {"product_id": "nope"}}, 404, "No product"),
    ({"data": {"product_id": "1000", "k": "0"}}, 422, "1 <= k <= 50"),
    ({"data": {"product_id": "1000", "k": "five"}}, 422, "whole number"),
    ({"data": {"product_id": "1000", "gender": "Martians"}}, 422, "Unknown gender"),
    ({"data": {"product_id": "1000", "space": "psychic"}}, 422, "Expected space"),
    ({"data": {"k": "3"}}, 422, "Expected a photo"),
    ({"content": b"not a form", "headers": {"content-type": "text/plain"}}, 422, "multipart"),
    ({"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=x"}}, 422, ""),
])
def test_bad_search_requests_are_a_status_and_one_line(client, request_args, status, fragment):
    assert fragment in _error(client.post("/v1/search", **request_args), status)


@pytest.mark.parametrize(("path", "status"), [("/v1/products/nope", 404), ("/v1/products/nope/similar", 404),
                                              ("/v1/products/nope/image", 404), ("/v1/products/1000/similar?k=99", 422),
                                              ("/v1/products/1000/similar?k=x", 422), ("/v2/anything", 404)])
def test_bad_product_requests_are_a_status_and_one_line(client, path, status):
    _error(client.get(path), status)


def test_an_upload_over_the_limit_is_refused_while_it_is_read(synthetic_artifacts, random_weights):
    from recommender.api import forms

    small = create_app(synthetic_artifacts, weights=random_weights, max_bytes=20_000)
    chunks = [b"x" * 50_000] * 100  # 5 MB, streamed without a content length

    def body():
        yield from chunks

    with TestClient(small) as client:
        response = client.post("/v1/search", content=body(),
                               headers={"content-type": "multipart/form-data; boundary=x"})
        assert "limit" in _error(response, 413)
        declared = client.post("/v1/search", content=b"x" * (20_000 + forms.FORM_OVERHEAD + 1),
                               headers={"content-type": "multipart/form-data; boundary=x"})
        assert "limit" in _error(declared, 413)


def test_an_api_key_is_asked_for_where_set_and_compared_in_full(synthetic_artifacts, random_weights):
    guarded = create_app(synthetic_artifacts, weights=random_weights, api_key="s3cret",
                         cors_origins=["https://shop.example"])
    with TestClient(guarded) as client:
        assert "API key" in _error(client.get("/v1/catalogue"), 401)
        assert _error(client.get("/v1/catalogue", headers={"X-API-Key": "s3cre"}), 401)
        assert client.get("/v1/catalogue", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert client.get("/v1/catalogue", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert client.get("/healthz").status_code == 200  # health stays open for the load balancer
        allowed = client.options("/v1/catalogue", headers={"Origin": "https://shop.example",
                                                           "Access-Control-Request-Method": "GET"})
        assert allowed.headers.get("access-control-allow-origin") == "https://shop.example"
        other = client.options("/v1/catalogue", headers={"Origin": "https://evil.example",
                                                         "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in other.headers


def test_concurrent_uploads_share_batches_and_get_the_answers_they_would_alone(synthetic_artifacts, random_weights):
    root = synthetic_artifacts
    metadata = load_artifacts(root).metadata
    photos = [(load_artifacts(root).manifest.dataset / name).read_bytes() for name in metadata["image"][:8]]

    async def ask(app) -> list[list[str]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            responses = await asyncio.gather(*[client.post("/v1/search", files={"photo": ("p.jpg", photo)},
                                                           data={"k": "5"}) for photo in photos])
        return [[row["id"] for row in response.json()["results"]] for response in responses]

    batched, alone = create_app(root, weights=random_weights), create_app(root, weights=random_weights,
                                                                          batching=False)
    assert asyncio.run(ask(batched)) == asyncio.run(ask(alone))
    assert max(batched.state.batcher.batches) > 1 and max(alone.state.batcher.batches) == 1


def test_a_new_build_is_served_from_the_next_request_without_a_restart(synthetic_artifacts, synthetic_dataset,
                                                                       random_weights, random_extractor, tmp_path,
                                                                       monkeypatch):
    import recommender.api.service as service
    from recommender.pipeline.build import build_catalogue

    monkeypatch.setattr(service, "BUILD_CHECK_SECONDS", 0.0)
    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, root)
    with TestClient(create_app(root, weights=random_weights)) as client:
        before = client.get("/v1/catalogue").json()["build_id"]
        build_catalogue(synthetic_dataset, root, extractor=random_extractor, n_trees=5, progress=False)
        after = client.get("/v1/catalogue").json()["build_id"]
    assert after != before and after == load_artifacts(root).build_id


def test_the_schema_page_documents_every_field_with_an_example(client):
    schema = client.get("/openapi.json").json()
    search = schema["paths"]["/v1/search"]["post"]
    fields = search["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"photo", "product_id", "k", "space", "type_first", "box", "gender", "articleType"} <= set(fields)
    result = schema["components"]["schemas"]["Result"]["properties"]
    assert all("examples" in spec for spec in result.values())
    assert {"401", "404", "413", "422"} <= set(search["responses"])


def test_the_schema_pages_load_their_scripts_from_this_server_not_a_cdn(client):
    """On a machine without internet the pages drew nothing: their scripts came from a CDN."""
    import re

    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
        assert sources and all(source.startswith("/") for source in sources), (page, sources)
        assert all(client.get(source).status_code == 200 for source in sources)


def test_no_request_value_reaches_the_file_system_except_through_an_id(client):
    for path in ("/v1/products/..%2F..%2Fmanifest.json/image", "/v1/products/%2Fetc%2Fpasswd/image"):
        assert client.get(path).status_code == 404
    assert json.loads(client.get("/v1/products/..%2Fx").text)["error"]


@pytest.mark.slow  # the command a user runs, in a process of its own
def test_the_api_command_answers_a_curl_of_a_photo_with_five_products(synthetic_env, random_weights):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tests.browser import free_port

    port = free_port()
    project = Path(__file__).resolve().parents[2]
    server = subprocess.Popen([sys.executable, "-m", "recommender", "api", "--port", str(port)], cwd=project,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "RECOMMENDER_WEIGHTS": str(random_weights.path)})
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("the API did not become ready")
        photo = _photo(synthetic_env)
        curl = subprocess.run(["curl", "-s", "-F", "photo=@-;filename=shoe.jpg", f"http://127.0.0.1:{port}/v1/search"],
                              input=photo, capture_output=True, timeout=60)
        assert len(json.loads(curl.stdout)["results"]) == 5
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=60)
    assert out.startswith(f"API on http://127.0.0.1:{port} (open") and "/docs" in out and "Ready: build " in out
    assert "Traceback" not in err and "INFO" not in err


def test_look_answers_the_whole_photo_alone_where_no_finder_is_trained(client, synthetic_artifacts, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path))  # no finder trained in this cache
    response = client.post("/v1/look", files={"photo": ("look.jpg", _photo(synthetic_artifacts), "image/jpeg")},
                           data={"k": "3", "space": "fashion"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["finder"] is False and body["space"] == "fashion"
    assert body["build_id"] == load_artifacts(synthetic_artifacts).build_id
    [part] = body["parts"]
    assert (part["number"], part["label"], part["kind"], part["box"]) == (1, "Whole photo", None, [0, 0, 1, 1])
    assert len(part["results"]) == 3 and set(part["read_as"]) == {"articleType", "baseColour"}


def test_look_searches_each_garment_then_the_whole_photo(synthetic_artifacts, random_weights, monkeypatch):
    from recommender.garments.finder import GarmentFinder
    from recommender.search import recommender as facade
    from tests.garments.test_finder import colour_map, street_scene, worn_parser

    monkeypatch.setattr(facade, "catalogue_finder", lambda *args, **kwargs: GarmentFinder(colour_map, worn_parser()))
    with TestClient(create_app(synthetic_artifacts, weights=random_weights)) as client:
        body = client.post("/v1/look", files={"photo": ("street.png", street_scene(), "image/png")},
                           data={"k": "2", "articleType": "Jeans"}).json()
    assert body["finder"] is True
    assert [(part["number"], part["kind"]) for part in body["parts"]] == [(1, "top"), (2, "bottom"), (3, None)]
    top = body["parts"][0]
    assert top["label"] == "Top" and 0.5 < top["score"] <= 1 and top["other_kinds"] == []
    assert top["box"] == pytest.approx([0.27, 0.15, 0.73, 0.525], abs=0.06)
    assert all(len(part["results"]) == 2 and {row["articleType"] for row in part["results"]} == {"Jeans"}
               for part in body["parts"])  # the filters apply to every part
    default = load_artifacts(synthetic_artifacts).manifest.searched_space  # the one default: every part in it
    assert body["space"] == default and {part["space"] for part in body["parts"]} == {default}


def test_look_names_the_space_each_part_was_searched_in(synthetic_artifacts, random_weights, monkeypatch, tmp_path):
    import shutil

    from recommender.garments.finder import GarmentFinder
    from recommender.search import recommender as facade
    from recommender.store.manifest import commit_manifest, read_manifest
    from tests.garments.test_finder import colour_map, street_scene, worn_parser

    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, root)
    commit_manifest(root, read_manifest(root).with_default_space("fashion", worn="imagenet"))
    monkeypatch.setattr(facade, "catalogue_finder", lambda *args, **kwargs: GarmentFinder(colour_map, worn_parser()))
    with TestClient(create_app(root, weights=random_weights)) as client:
        look = client.post("/v1/look", files={"photo": ("street.png", street_scene(), "image/png")}).json()
        chosen = client.post("/v1/look", files={"photo": ("street.png", street_scene(), "image/png")},
                             data={"space": "fashion"}).json()
        product = client.post("/v1/search", files={"photo": ("shoe.jpg", _photo(root), "image/jpeg")}).json()
        info = client.get("/v1/catalogue").json()
    assert look["space"] == "imagenet" and {part["space"] for part in look["parts"]} == {"imagenet"}
    assert all(part["read_as"] == {} for part in look["parts"])
    assert {part["space"] for part in chosen["parts"]} == {"fashion"}
    assert product["space"] == "fashion" and (info["default_space"], info["worn_space"]) == ("fashion", "imagenet")


@pytest.mark.parametrize(("request_args", "status", "fragment"), [
    ({"data": {"k": "3"}}, 422, "Expected a photo"),
    ({"data": {"k": "0"}, "files": {"photo": ("a.jpg", b"not a photo", "image/jpeg")}}, 422, "1 <= k"),
    ({"files": {"photo": ("a.jpg", b"not a photo", "image/jpeg")}}, 422, "not an image"),
])
def test_bad_look_requests_are_a_status_and_one_line(client, request_args, status, fragment):
    assert fragment in _error(client.post("/v1/look", **request_args), status)


def test_words_alone_with_a_photo_and_with_likes_are_searched(client, synthetic_artifacts):
    words = client.post("/v1/search", data={"text": "red tshirts for men", "k": "3"})
    assert words.status_code == 200, words.text
    body = words.json()
    assert body["words"]["labels"] == {"baseColour": "Red", "articleType": "Tshirts", "gender": "Men"}
    assert {row["articleType"] for row in body["results"]} == {"Tshirts"} and len(body["results"]) == 3
    refined = client.post("/v1/search", files={"photo": ("p.jpg", _photo(synthetic_artifacts), "image/jpeg")},
                          data={"text": "in blue", "k": "3"}).json()
    assert {row["baseColour"] for row in refined["results"]} == {"Blue"} and refined["words"]["labels"]
    item, other = load_artifacts(synthetic_artifacts).metadata["id"].iloc[[0, 1]]
    liked = client.post("/v1/search", data={"product_id": item, "like": [other], "dislike": [item], "k": "3"}).json()
    assert liked["words"] == {"labels": {"articleType": "Jeans", "baseColour": "Blue"}, "words": [], "notes": []}
    plain = client.post("/v1/search", data={"product_id": item, "k": "3"}).json()
    assert plain["words"] is None


def test_words_with_nothing_to_search_and_hostile_text_get_a_one_line_answer(client):
    assert "Expected a photo field" in _error(client.post("/v1/search", data={"text": "  "}), 422)
    assert "Nothing to search" in _error(client.post("/v1/search", data={"text": "velvet"}), 422)
    assert "No product with id" in _error(client.post("/v1/search", data={"text": "jeans", "like": "nope"}), 404)
    long = client.post("/v1/search", data={"text": "jeans " + "ü👗" * 5_000, "k": "2"})
    assert long.status_code == 200 and any("first 500 characters" in note for note in long.json()["words"]["notes"])
