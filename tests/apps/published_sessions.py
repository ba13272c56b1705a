"""Per-request sessions written for the published honeyhive 1.7.0 SDK, with no integration:
Flask (``@app.before_request``) and FastAPI (``@app.middleware("http")``, from the published
``create_session`` docstring) apps, each request a session of its own.

``/work/<n>`` creates a session named ``req-<n>``, runs a traced step and enriches the session;
``/plain/<n>`` creates none, so its span must land in the worker's own session, never in the
session of a request the same thread or task served before.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from flask import Flask, g

from honeyhive import HoneyHiveTracer, trace

tracer = HoneyHiveTracer.init(project="published-sessions")  # key and URL from HH_* (the env)


@trace(event_type="tool")
def step(n: int) -> int:
    return n * 2


@trace(event_type="tool")
async def astep(n: int) -> int:
    await asyncio.sleep(0.001)  # another request's task runs here
    return n * 2


# -- Flask -----------------------------------------------------------------------------------

flask_app = Flask(__name__)


@flask_app.before_request
def start_session() -> None:
    from flask import request

    if request.path.startswith("/work/"):
        n = int(request.path.rsplit("/", 1)[1])
        g.session_id = tracer.create_session(session_name=f"req-{n}", inputs={"n": n})


@flask_app.get("/healthz")
def flask_health() -> str:
    return "ok"


@flask_app.get("/work/<int:n>")
def flask_work(n: int) -> dict[str, Any]:
    step(n)
    tracer.enrich_session(metadata={"n": n})
    return {"session_id": g.session_id}


@flask_app.get("/plain/<int:n>")
def flask_plain(n: int) -> dict[str, Any]:
    step(n)
    return {"session_id": tracer.session_id}


# -- FastAPI ---------------------------------------------------------------------------------

fastapi_app = FastAPI()


@fastapi_app.middleware("http")
async def session_middleware(request: Request, call_next: Any) -> Any:
    if not request.url.path.startswith("/work/"):
        return await call_next(request)
    n = int(request.url.path.rsplit("/", 1)[1])
    session_id = await tracer.acreate_session(session_name=f"req-{n}", inputs={"n": n})
    response = await call_next(request)
    tracer.enrich_session(outputs={"status_code": response.status_code})
    response.headers["x-session"] = session_id
    return response


@fastapi_app.get("/healthz")
async def fastapi_health() -> str:
    return "ok"


@fastapi_app.get("/work/{n}")
async def fastapi_work(n: int) -> dict[str, Any]:
    await astep(n)
    tracer.enrich_session(metadata={"n": n})
    return {}


@fastapi_app.get("/plain/{n}")
async def fastapi_plain(n: int) -> dict[str, Any]:
    await astep(n)
    return {"session_id": tracer.session_id}
