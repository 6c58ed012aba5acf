"""The ceiling: a bare Starlette + aiosqlite app doing the same database work as the service.

    python bench/baseline.py DB PORT

`/json` answers a constant JSON object, `/lookup?name=` one indexed SELECT (one aiosqlite round
trip, `execute_fetchall`), `/insert` one INSERT and a COMMIT in WAL mode with `synchronous =
NORMAL` (the ceiling issue 8 measured), `/insert?durable=1` the same with `synchronous = FULL`,
the service's setting: each COMMIT waits for the disk to flush the WAL. Served by uvicorn as
`webrix serve` is (uvloop, httptools, one worker), without an access log.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiosqlite
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def build(path: str) -> Starlette:
    state: dict[str, aiosqlite.Connection] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        reader = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True)
        writer = await aiosqlite.connect(path)
        await writer.execute("PRAGMA synchronous = NORMAL")
        # A second writer, used only while the bench measures durable inserts (never both).
        durable = await aiosqlite.connect(path)
        await durable.execute("PRAGMA synchronous = FULL")
        state.update(reader=reader, writer=writer, durable=durable)
        yield
        for conn in state.values():
            await conn.close()

    async def constant(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def lookup(request: Request) -> Response:
        rows = await state["reader"].execute_fetchall(
            "SELECT id, user_name, resource FROM users WHERE user_name = ?",
            (request.query_params["name"],),
        )
        found = [{"id": r[0], "userName": r[1], **json.loads(r[2])} for r in rows]
        return JSONResponse({"totalResults": len(found), "Resources": found})

    async def insert(request: Request) -> Response:
        body = await request.json()
        uid = str(uuid.uuid4())
        writer = state["durable" if request.query_params.get("durable") else "writer"]
        await writer.execute_insert(
            "INSERT INTO users (id, user_name, resource) VALUES (?, ?, ?)",
            (uid, body["userName"], json.dumps(body)),
        )
        await writer.commit()
        return JSONResponse({"id": uid, **body}, status_code=201)

    routes = [
        Route("/json", constant),
        Route("/lookup", lookup),
        Route("/insert", insert, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


if __name__ == "__main__":
    db, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(
        build(db),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
