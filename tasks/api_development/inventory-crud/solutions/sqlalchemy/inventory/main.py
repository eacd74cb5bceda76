"""Inventory items API: FastAPI with the SQLAlchemy 2.x ORM on psycopg 3, schema by alembic.

Style: synchronous ORM sessions injected per request (FastAPI runs the ``def`` routes in its
thread pool), strict pydantic request models, an HTTP middleware that gates the writes, an
exact NUMERIC price column, and the schema owned by an alembic revision run by start.sh.
"""

import hmac
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request, Response
from sqlalchemy.orm import Session

from inventory import errors, repository
from inventory.db import get_session
from inventory.errors import ApiError
from inventory.schemas import ItemCreate, ItemOut, ItemPage, ItemUpdate, ListParams
from inventory.settings import app_secret

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

app = FastAPI(title="Inventory API", openapi_url=None, docs_url=None, redoc_url=None)
errors.install(app)
SessionDep = Annotated[Session, Depends(get_session)]


def has_valid_token(authorization: str | None) -> bool:
    """True for ``Bearer <APP_SECRET>``, compared in constant time."""
    scheme, _, token = (authorization or "").partition(" ")
    secret = app_secret()
    if scheme.lower() != "bearer" or not secret:
        return False
    return hmac.compare_digest(token.encode("latin-1"), secret)


def is_refused_write(request: Request) -> bool:
    """A write (any non-read method) under /v1 without the right bearer token."""
    path = request.url.path
    if request.method in READ_METHODS or not (path == "/v1" or path.startswith("/v1/")):
        return False
    return not has_valid_token(request.headers.get("authorization"))


@app.middleware("http")
async def require_token_for_writes(request: Request, call_next):
    """Writes under /v1 are refused with 401 before routing or body parsing."""
    if is_refused_write(request):
        response = errors.error_response(401, "a valid bearer token is required")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return await call_next(request)


def not_found() -> ApiError:
    return ApiError(404, "no item with that id")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/v1/items", response_model=ItemPage)
def list_items(session: SessionDep, params: Annotated[ListParams, Query()]) -> ItemPage:
    items, total = repository.page(session, params)
    return ItemPage(
        items=[ItemOut.model_validate(item) for item in items],
        total=total,
        limit=params.limit,
        offset=params.offset,
    )


@app.post("/v1/items", status_code=201, response_model=ItemOut)
def create_item(session: SessionDep, data: ItemCreate, response: Response):
    try:
        item = repository.create(session, data)
    except repository.NameTaken as exc:
        raise ApiError(409, "an item with that name already exists") from exc
    response.headers["Location"] = f"/v1/items/{item.id}"
    return item


@app.get("/v1/items/{item_id}", response_model=ItemOut)
def get_item(session: SessionDep, item_id: int):
    item = repository.get(session, item_id)
    if item is None:
        raise not_found()
    return item


@app.patch("/v1/items/{item_id}", response_model=ItemOut)
def update_item(session: SessionDep, item_id: int, data: ItemUpdate):
    try:
        item = repository.update(session, item_id, data.changes())
    except repository.NameTaken as exc:
        raise ApiError(409, "another item already has that name") from exc
    if item is None:
        raise not_found()
    return item


@app.delete("/v1/items/{item_id}", status_code=204, response_class=Response)
def delete_item(session: SessionDep, item_id: int) -> Response:
    if not repository.remove(session, item_id):
        raise not_found()
    return Response(status_code=204)
