"""The application: routers, error handlers, and the schema created at start-up."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from app.db import create_schema, engine
from app.errors import install_error_handlers
from app.routers import books, loans, members


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """The database is empty on a first start: create what is missing before serving."""
    await run_in_threadpool(create_schema)
    yield
    engine().dispose()


app = FastAPI(title="Library", lifespan=lifespan)
install_error_handlers(app)
app.include_router(books.router)
app.include_router(members.router)
app.include_router(loans.router)


@app.get("/health")
def health() -> dict[str, str]:
    """Ready once the schema exists."""
    return {"status": "ok"}
