"""A FastAPI app traced by honeyhive-fastapi, for the real-server (uvicorn) tests.

Environment switches: ``FASTAPI_NATIVE=1`` installs a real global TracerProvider (FastAPI's
native telemetry turns on), ``FASTAPI_CONTRIB=1`` adds OpenTelemetry contrib's
FastAPIInstrumentor, ``FASTAPI_SENTRY=1`` initialises Sentry with tracing.
"""

from __future__ import annotations

import asyncio
import os

from fastapi import APIRouter, BackgroundTasks, FastAPI, WebSocket
from fastapi.responses import PlainTextResponse, StreamingResponse
from starlette.applications import Starlette
from starlette.routing import Route

from honeyhive import HoneyHiveTracer, enrich_request_span
from honeyhive_fastapi import HoneyHiveMiddleware

if os.environ.get("FASTAPI_NATIVE") == "1":
    from opentelemetry import trace as otel
    from opentelemetry.sdk.trace import TracerProvider

    otel.set_tracer_provider(TracerProvider())  # spans go nowhere: only "is it configured"

if os.environ.get("FASTAPI_SENTRY") == "1":
    import sentry_sdk

    sentry_sdk.init(dsn="http://public@127.0.0.1:9/1", traces_sample_rate=1.0)

tracer = HoneyHiveTracer(project="fastapi-app", schedule_delay=0.05)

app = FastAPI()
router = APIRouter(prefix="/v1")


@router.get("/users/{user_id}")
async def user(user_id: str) -> dict[str, str]:
    enrich_request_span({"app.user": user_id})
    return {"user": user_id}


app.include_router(router, prefix="/api")
sub = FastAPI()


@sub.get("/things/{thing}")
async def thing(thing: str) -> dict[str, str]:
    return {"thing": thing}


app.mount("/sub", sub)


async def star_thing(request):  # type: ignore[no-untyped-def]
    return PlainTextResponse(request.path_params["thing_id"])


# A plain Starlette app mounted in the FastAPI app: its own router picks the route.
app.mount("/star", Starlette(routes=[Route("/things/{thing_id}", star_thing)]))


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, int]:
    with tracer.trace("lookup"):
        await asyncio.sleep(0)
    return {"item": item_id}


@app.get("/stream")
async def stream(n: int = 3, delay: float = 0.0) -> StreamingResponse:
    async def body():  # type: ignore[no-untyped-def]
        for i in range(n):
            with tracer.trace("chunk"):
                await asyncio.sleep(delay)
            yield f"{i}\n".encode()

    return StreamingResponse(body())


@app.get("/boom")
async def boom() -> None:
    raise RuntimeError("boom")


def send_email(address: str) -> None:
    with tracer.trace("smtp"):
        pass


@app.post("/signup")
async def signup(tasks: BackgroundTasks) -> dict[str, bool]:
    tasks.add_task(send_email, "a@example.com")
    return {"ok": True}


@app.websocket("/ws/{room}")
async def ws(websocket: WebSocket, room: str) -> None:
    await websocket.accept()
    text = await websocket.receive_text()
    await websocket.send_text(f"{room}:{text}")
    await websocket.close()


@app.exception_handler(Exception)
async def on_error(request, exc):  # type: ignore[no-untyped-def]
    enrich_request_span({"app.handled": type(exc).__name__})
    return PlainTextResponse("sorry", status_code=500)


app.add_middleware(HoneyHiveMiddleware, tracer=tracer)

if os.environ.get("FASTAPI_CONTRIB") == "1":
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.trace import TracerProvider as _Provider

    FastAPIInstrumentor.instrument_app(app, tracer_provider=_Provider())
