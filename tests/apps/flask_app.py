"""A Flask app for the real-server tests (gunicorn): traced with honeyhive-flask."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from flask import Flask, request, stream_with_context

from honeyhive import HoneyHiveTracer, enrich_request_span
from honeyhive_flask import HoneyHive

# Built at import: in the gunicorn master with --preload, in each worker otherwise.
tracer = HoneyHiveTracer(project="flask-app", schedule_delay=0.05)  # HH_API_URL from the env
app = Flask(__name__)


@app.before_request
def deny() -> object:
    if request.headers.get("x-deny"):
        return "forbidden", 403
    return None


HoneyHive(app, tracer=tracer)


@app.get("/items/<int:item_id>")
def item(item_id: int) -> dict[str, object]:
    tag = request.headers.get("x-tag", "")
    with tracer.trace("work") as span:
        span.set_attribute("tag", tag)
        enrich_request_span({"tag": tag, "worker.pid": os.getpid()})
        time.sleep(float(request.args.get("sleep", "0")))
    return {"id": item_id, "pid": os.getpid()}


@app.get("/boom")
def boom() -> str:
    raise RuntimeError("boom")


@app.get("/stream")
def stream() -> object:
    count = int(request.args.get("n", "3"))
    delay = float(request.args.get("delay", "0"))

    @stream_with_context
    def body() -> Iterator[bytes]:
        for i in range(count):
            with tracer.trace(f"chunk-{i}"):
                time.sleep(delay)
                yield (f"{request.args.get('tag', '')}:{i}\n" * 64).encode()

    return app.response_class(body(), mimetype="text/plain")
