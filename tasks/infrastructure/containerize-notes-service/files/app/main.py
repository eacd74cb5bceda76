"""The FastAPI application: opens the pool and creates the schema at start-up."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from app.db import create_schema, open_pool
from app.notes import router


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the pool and create the schema before the first request; close the pool at exit."""
    pool = open_pool()
    create_schema(pool)
    app.state.pool = pool
    try:
        yield
    finally:
        pool.close()


app = FastAPI(title="notes", lifespan=lifespan)
app.include_router(router)


@app.get("/health")
def health(request: Request) -> dict[str, str]:
    """200 with {"status": "ok"} once the database answers."""
    with request.app.state.pool.connection() as conn:
        conn.execute("SELECT 1")
    return {"status": "ok"}
