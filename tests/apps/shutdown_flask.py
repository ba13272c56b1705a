"""A Flask app for the shutdown tests: each request is a session with a span and an event."""

from __future__ import annotations

from flask import Flask

from honeyhive import HoneyHiveTracer
from honeyhive_flask import HoneyHive

tracer = HoneyHiveTracer(project="shutdown-flask")  # everything else from HH_* (the test's env)
app = Flask(__name__)
HoneyHive(app, tracer=tracer)


@app.get("/healthz")
def healthz() -> str:
    return "ok"


@app.get("/work/<int:n>")
def work(n: int) -> dict[str, int]:
    with tracer.trace("step", n=n):
        tracer.create_event("worked", "tool", inputs={"n": n})
    return {"n": n}
