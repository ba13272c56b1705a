"""A FastAPI app for the shutdown tests: each request is a session with a span and an event."""

from __future__ import annotations

from fastapi import FastAPI

from honeyhive import HoneyHiveTracer
from honeyhive_fastapi import HoneyHiveMiddleware

tracer = HoneyHiveTracer(project="shutdown-fastapi")  # everything else from HH_* (the test's env)
app = FastAPI()
app.add_middleware(HoneyHiveMiddleware, tracer=tracer)


@app.get("/healthz")
async def healthz() -> str:
    return "ok"


@app.get("/work/{n}")
async def work(n: int) -> dict[str, int]:
    with tracer.trace("step", n=n):
        tracer.create_event("worked", "tool", inputs={"n": n})
    return {"n": n}
