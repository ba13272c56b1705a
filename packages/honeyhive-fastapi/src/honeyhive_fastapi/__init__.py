"""HoneyHive tracing for FastAPI and Starlette (ASGI).

>>> from fastapi import FastAPI
>>> from honeyhive_fastapi import HoneyHiveMiddleware
>>> app = FastAPI()
>>> app.add_middleware(HoneyHiveMiddleware)

Every HTTP request and WebSocket connection gets one SERVER span named after the route the
router chose; add attributes to it from anywhere in the request with
:func:`honeyhive.enrich_request_span`.
"""

from honeyhive import enrich_request_span
from honeyhive_fastapi._middleware import HoneyHiveMiddleware
from honeyhive_fastapi._version import __version__

__all__ = ["HoneyHiveMiddleware", "__version__", "enrich_request_span"]
