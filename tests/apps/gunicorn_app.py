"""A WSGI app for `gunicorn --preload`: the tracer is built in the master, before the fork."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, Callable

from honeyhive import HoneyHiveTracer

tracer = HoneyHiveTracer(project="gunicorn-app", schedule_delay=0.1)  # HH_API_URL from the env

with tracer.trace("master-startup"):  # ended in the master: must reach the backend exactly once
    pass


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    with tracer.trace(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}") as span:
        span.set_attribute("worker.pid", os.getpid())
        body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
