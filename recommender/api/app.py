"""The HTTP API: the catalogue's search for a shop's own site (FastAPI, versioned JSON under ``/v1``).

Read-only: no endpoint builds, updates or deletes anything.  Every error is a
status and one line of JSON (``{"error": "..."}``), never a traceback.  A
request value never becomes a file path except through the product id lookup.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi_offline import FastAPIOffline
from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..config import silent
from ..data.images import FULL_FRAME, MAX_BYTES, CropBox, ImageError, ImageTooLarge, decode_image
from ..features.weights import Weights, WeightsUnavailable
from ..search.ask import NothingToSearch
from ..search.catalogue import FILTER_COLUMNS, result_records
from ..search.engine import DEFAULT_K, MAX_K
from ..search.look import part_record
from ..search.recommender import Recommender
from ..store.manifest import ArtifactError
from .batching import DEFAULT_MAX_BATCH, DEFAULT_MAX_WAIT, MicroBatcher
from .forms import FORM_OVERHEAD, BadForm, BodyTooLarge, Form, parse_form, read_body
from .schemas import CatalogueInfo, Error, Health, LookResponse, Product, SearchResponse
from .service import BadRequest, NotFound, SearchRequest, ServedBuild, check_request, embed_photos, product_id, read_as

API_KEY_ENV = "RECOMMENDER_API_KEY"
VERSION = "1"
ERRORS = {status: {"model": Error, "description": text} for status, text in (
    (401, "A missing or wrong API key"), (404, "No such product"), (413, "An upload over the size limit"),
    (422, "A photo that cannot be read, or a value out of range"), (503, "No catalogue is loaded"))}
SEARCH_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object",
    "properties": {
        "photo": {"type": "string", "format": "binary", "description": "A JPEG, PNG or WebP photo (or product_id)"},
        "product_id": {"type": "string", "description": "Search with a catalogue product instead of a photo",
                       "example": "15970"},
        "text": {"type": "string", "example": "navy check shirt for men",
                 "description": "Words: alone, or changing what they name of the photo or product ('in red')"},
        "like": {"type": "array", "items": {"type": "string"},
                 "description": "Product ids the results should move toward (repeat the field)"},
        "dislike": {"type": "array", "items": {"type": "string"},
                    "description": "Product ids the results should move away from (repeat the field)"},
        "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": DEFAULT_K},
        "space": {"type": "string", "description": "imagenet or a trained space (default: the catalogue's)"},
        "type_first": {"type": "boolean", "default": True,
                       "description": "Rank the predicted type and colour first (trained spaces)"},
        "box": {"type": "string", "example": "0.1,0,0.9,0.6",
                "description": "Crop the photo first: left,top,right,bottom as fractions of its width and height"},
        **{column: {"type": "array", "items": {"type": "string"},
                    "description": f"Only products with one of these {column} values (repeat the field)"}
           for column in FILTER_COLUMNS},
    }}}}}}

LOOK_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object",
    "properties": {name: field for name, field in
                   SEARCH_FORM["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"].items()
                   if name not in ("product_id", "box", "text", "like", "dislike")} | {
        "photo": {"type": "string", "format": "binary", "description": "A JPEG, PNG or WebP photo"}},
    "required": ["photo"]}}}}}


class Unauthorised(PermissionError):
    """A missing or wrong API key (401)."""


def create_app(root: str | os.PathLike, *, weights: Weights | str | os.PathLike | None = None,
               runtime: str = "auto", api_key: str | None = None, cors_origins: Sequence[str] = (),
               batching: bool = True,
               max_batch: int = DEFAULT_MAX_BATCH, max_wait: float = DEFAULT_MAX_WAIT,
               max_bytes: int = MAX_BYTES, concurrency: int = 1, threads: int | None = None,
               log: Callable[[str], None] = silent) -> FastAPI:
    """The API over the artifacts in ``root`` (the routes are this module's functions).

    Parameters
    ----------
    root : path
        The artifacts folder, as the app and the CLI read it; a new build there is served from the next
        request on.
    weights : Weights or path, optional
        The ImageNet weights file (default: found as the CLI finds it).
    runtime : str, default "auto"
        Where the network runs (auto: the runtime the catalogue was built on, where installed).
    api_key : str, optional
        When given, every ``/v1`` request must send it (``X-API-Key`` or ``Authorization: Bearer``).
    cors_origins : sequence of str
        The shop front ends allowed to call from a browser (none by default).
    batching : bool, default True
        Embed photos that arrive within ``max_wait`` seconds in one batch (at most ``max_batch``).
    max_bytes : int
        The upload limit, enforced while the body is read (413 past it).
    concurrency : int, default 1
        Batches embedded at once (the ``api`` command runs one per core, each on one thread).
    threads : int, optional
        The network's threads per call (default: the runtime's own choice).
    log : callable
        Told when the model and the index are loaded (or why they could not be).
    """
    catalogue = ServedBuild(root, weights=weights, runtime=runtime, threads=threads, log=log)
    batcher = MicroBatcher(embed_many, max_batch=max_batch, max_wait=max_wait if batching else 0,
                           concurrency=concurrency)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        try:  # load the model and index before the first request (readyz says when)
            served = await run_in_threadpool(catalogue.current)
        except (ArtifactError, WeightsUnavailable) as error:
            app.state.load_error = str(error)
            log(f"Not ready: {str(error).splitlines()[0]}")
        else:  # the largest batch once now: its memory is taken before the load, not during it
            blank = Image.new("RGB", (64, 64), "white")
            await run_in_threadpool(embed_many, [(served, blank, None)] * batcher.max_batch)
            log(f"Ready: build {served.catalogue.build_id}, {len(served.catalogue.metadata):,} products.")
        yield
        await batcher.close()

    # Swagger UI and ReDoc from files of an installed package (fastapi-offline), not a CDN: /docs works offline.
    app = FastAPIOffline(title="Fashion recommender API", version=VERSION, lifespan=lifespan,
                  description="Visual search over a fashion catalogue: a photo (or a product) in, the most "
                              "similar products out.")
    # How a photo becomes a query: this process's micro-batcher, or (Ray Serve) the replica's @serve.batch method.
    app.state.catalogue, app.state.batcher, app.state.load_error = catalogue, batcher, None
    app.state.embed = batcher.embed
    app.state.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None
    app.state.max_bytes = max_bytes
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["X-API-Key", "Authorization"])
    _errors(app)
    app.include_router(health)
    app.include_router(v1)
    return app


def authorised(request: Request) -> None:
    """Refuse a ``/v1`` request without the API key, where one is set (:class:`Unauthorised`)."""
    key = request.app.state.api_key
    if key is None:
        return
    given = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given.encode(), key.encode()):
        raise Unauthorised("A valid API key is needed: send it as X-API-Key")


async def current(request: Request) -> Recommender:
    """The build that answers this request (``LookupError``, so 503, where none can be loaded)."""
    try:
        return await run_in_threadpool(request.app.state.catalogue.current)
    except (ArtifactError, WeightsUnavailable) as error:
        raise LookupError(str(error).splitlines()[0]) from None


health = APIRouter(tags=["health"])
v1 = APIRouter(dependencies=[Depends(authorised)])


@health.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> dict:
    return {"status": "alive"}


@health.get("/readyz", response_model=Health, responses={503: ERRORS[503]},
            summary="The model and the index are loaded")
async def readyz(request: Request):
    if not request.app.state.catalogue.ready:
        return JSONResponse({"error": request.app.state.load_error or "still loading"}, status_code=503)
    return {"status": "ready", "build_id": (await current(request)).catalogue.build_id}


@v1.post("/v1/search", response_model=SearchResponse, tags=["search"],
         responses={code: ERRORS[code] for code in (401, 404, 413, 422, 503)}, openapi_extra=SEARCH_FORM,
         summary="The products most similar to a photo or to a catalogue product")
async def search(request: Request) -> dict:
    form, served, wanted = await _checked_form(request)
    text = form.first("text") or ""
    like, dislike = (form.fields.get(name, []) for name in ("like", "dislike"))
    for item in (*like, *dislike):
        product_id(served, item)
    if form.first("product_id"):
        query = served.queries.from_id(product_id(served, form.first("product_id")))
    elif "photo" in form.files:
        image = await run_in_threadpool(decode_image, form.files["photo"], max_bytes=request.app.state.max_bytes)
        query = await request.app.state.embed((served, image, _box(form.first("box"))))
    elif text.strip() or like:
        query = None
    else:
        raise BadRequest("Expected a photo field (a file), a product_id, text or like")
    try:
        return _answer(served, query, wanted, text=text, like=like, dislike=dislike)
    except NothingToSearch as error:
        raise BadRequest(str(error)) from None


@v1.post("/v1/look", response_model=LookResponse, tags=["search"],
         responses={code: ERRORS[code] for code in (401, 413, 422, 503)}, openapi_extra=LOOK_FORM,
         summary="Shop the look: the garments found in a photo, each with the products most like it")
async def look(request: Request) -> dict:
    form, served, wanted = await _checked_form(request)
    if "photo" not in form.files:
        raise BadRequest("Expected a photo field (a file)")
    image = await run_in_threadpool(decode_image, form.files["photo"], max_bytes=request.app.state.max_bytes)
    finder = await run_in_threadpool(lambda: served.queries.finder)
    parts = await run_in_threadpool(served.look, image, k=wanted.k, space=wanted.space,
                                    type_first=wanted.type_first, filters=wanted.filters)
    dataset = served.catalogue.dataset_root
    return {"build_id": served.catalogue.build_id, "space": parts[0].space, "finder": finder is not None,
            "parts": [part_record(part, dataset, read_as=read_as(served, part.query, part.space)) for part in parts]}


@v1.get("/v1/products/{item_id}", response_model=Product, tags=["products"],
        responses={code: ERRORS[code] for code in (401, 404, 503)}, summary="A catalogue product")
async def product(request: Request, item_id: str) -> dict:
    served = await current(request)
    rows = served.catalogue.products([served.catalogue.row_of(product_id(served, item_id))])
    return result_records(rows, served.catalogue.dataset_root)[0]


@v1.get("/v1/products/{item_id}/similar", response_model=SearchResponse, tags=["products"],
        responses={code: ERRORS[code] for code in (401, 404, 422, 503)},
        summary="The products most similar to a catalogue product (a product page's carousel)")
async def similar(request: Request, item_id: str,
                  k: int = Query(DEFAULT_K, description=f"Results, 1 to {MAX_K}"),
                  space: str | None = Query(None, description="imagenet or a trained space"),
                  type_first: bool = Query(True, description="Rank the predicted type and colour first"),
                  gender: list[str] = Query([]), masterCategory: list[str] = Query([]),  # noqa: N803
                  articleType: list[str] = Query([]), baseColour: list[str] = Query([])) -> dict:  # noqa: N803
    served = await current(request)
    filters = {name: values for name, values in zip(FILTER_COLUMNS, (gender, masterCategory, articleType,
                                                                      baseColour)) if values}
    wanted = SearchRequest(k, space, type_first, filters)
    check_request(served, wanted)
    return _answer(served, served.queries.from_id(product_id(served, item_id)), wanted)


@v1.get("/v1/products/{item_id}/image", tags=["products"],
        responses={200: {"content": {"image/jpeg": {}}, "description": "The product's photo"},
                   **{code: ERRORS[code] for code in (401, 404, 503)}},
        summary="A product's photo, with caching headers", response_class=FileResponse)
async def image(request: Request, item_id: str):
    served = await current(request)
    # The only way a request reaches a file: through the id lookup.
    path = served.catalogue.image_path(product_id(served, item_id))
    if not path.is_file():
        raise NotFound(f"The photo of product {item_id!r} is not on this server")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


@v1.get("/v1/catalogue", response_model=CatalogueInfo, tags=["catalogue"],
        responses={code: ERRORS[code] for code in (401, 503)},
        summary="The build served, its size, its spaces and every filter's values")
async def catalogue_info(request: Request) -> dict:
    served = await current(request)
    catalogue, summary = served.catalogue, served.summary
    return {"build_id": catalogue.build_id, "created": summary["created"], "products": summary["count"],
            "spaces": catalogue.spaces, "default_space": catalogue.default_space,
            "worn_space": catalogue.worn_space,
            "filters": {column: catalogue.filter_options(column) for column in FILTER_COLUMNS}}


async def _checked_form(request: Request) -> tuple[Form, Recommender, SearchRequest]:
    """A search form (refused past the upload limit while it is read), the build that answers it, and its
    settings, checked against that build."""
    max_bytes = request.app.state.max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + FORM_OVERHEAD:
        raise BodyTooLarge(f"The upload is {int(declared):,} bytes; the limit is {max_bytes:,}.")
    form = parse_form(request.headers.get("content-type", ""),
                      await read_body(request.stream(), max_bytes + FORM_OVERHEAD))
    served = await current(request)
    wanted = _search_request(form.first("k"), form.first("space"), form.first("type_first"),
                             {column: form.fields[column] for column in FILTER_COLUMNS if column in form.fields})
    check_request(served, wanted)
    return form, served, wanted


def embed_many(items: list) -> list:
    """Batches of (recommender, photo, box): embedded together per build (a batch can straddle a new build).

    A batch runs in pieces of 1, 2, 4, 8 or 16 photos (11 = 8 + 2 + 1): the network then meets at most five
    batch shapes, so the memory it keeps per shape stays bounded, where every size up to 16 would add its own.
    """
    results = [None] * len(items)
    for served in {id(item[0]): item[0] for item in items}.values():
        positions = [i for i, item in enumerate(items) if item[0] is served]
        start = 0
        while start < len(positions):
            piece = positions[start:start + (1 << (len(positions) - start).bit_length() - 1)]
            for i, query in zip(piece, embed_photos(served, [(items[i][1], items[i][2]) for i in piece])):
                results[i] = query
            start += len(piece)
    return results


def _answer(served: Recommender, query, wanted: SearchRequest, **words) -> dict:
    answer = served.answer(query, k=wanted.k, space=wanted.space, type_first=wanted.type_first,
                           filters=wanted.filters, **words)
    asked = answer.asked
    return {"build_id": served.catalogue.build_id, "space": answer.space, "warning": answer.warning,
            "read_as": read_as(served, query, answer.space, answer.predictions),
            "words": None if asked is None else {
                "labels": asked.labels, "words": list(asked.reading.words) if asked.reading else [],
                "notes": list(asked.notes)},
            "results": result_records(answer.results, served.catalogue.dataset_root)}


def _search_request(k: str | None, space: str | None, type_first: str | None, filters: dict) -> SearchRequest:
    try:
        number = DEFAULT_K if k in (None, "") else int(k)
    except ValueError:
        raise BadRequest(f"Expected k to be a whole number, got {k!r}") from None
    if type_first not in (None, "", "true", "false", "1", "0"):
        raise BadRequest(f"Expected type_first to be true or false, got {type_first!r}")
    return SearchRequest(number, space or None, type_first not in ("false", "0"), filters)


def _box(text: str | None) -> CropBox | None:
    if not text:
        return None
    try:
        box = tuple(float(part) for part in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not (0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1):
        raise BadRequest(f"Expected box as left,top,right,bottom fractions with left < right and top < bottom, "
                         f"got {text!r}")
    return None if box == FULL_FRAME else box


def _errors(app: FastAPI) -> None:
    """Every failure as a status and one line of JSON."""
    statuses = ((Unauthorised, 401), (NotFound, 404), (LookupError, 503), (BodyTooLarge, 413),
                (ImageTooLarge, 413), (ImageError, 422), (BadForm, 422), (BadRequest, 422))
    for kind, status in statuses:
        app.add_exception_handler(kind, lambda request, error, status=status: JSONResponse(
            {"error": str(error).splitlines()[0] if str(error) else type(error).__name__}, status_code=status))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body"))
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid')}"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"error": f"internal error ({type(error).__name__})"}, status_code=500)

