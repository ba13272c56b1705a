"""Per-app tracing state: which tracer, and the shared request logic bound to it."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Optional

from honeyhive import HoneyHiveTracer, get_default_tracer
from honeyhive.http_server import (
    RequestScope,
    RequestTracer,
    ServerConfig,
    tracer_from_environment,
)
from honeyhive_flask._environ import request_info

__all__ = ["AppTracing"]


def _tracer_from_environment() -> Optional[HoneyHiveTracer]:
    return tracer_from_environment("honeyhive-flask")


class AppTracing:
    """What one Flask app needs to trace a request. No per-request state lives here."""

    __slots__ = (
        "_lock",
        "_request_tracer",
        "capture_response_headers",
        "config",
        "name",
        "needs_request",
        "service",
        "tracer",
    )

    def __init__(
        self,
        tracer: Optional[HoneyHiveTracer],
        config: ServerConfig,
        name: str,
        service: Optional[str] = None,
    ) -> None:
        self.tracer = tracer  # None: the default tracer at request time, else the environment's
        self.config = config
        self.name = name
        self.service = service  # the app's name: service.name unless the environment has one
        self.capture_response_headers = bool(config.capture_response_headers)
        self.needs_request = (
            config.session_id_for is not None
            or config.request_hook is not None
            or config.response_hook is not None
        )
        self._request_tracer: Optional[RequestTracer] = None
        self._lock = threading.Lock()

    def current_tracer(self) -> Optional[HoneyHiveTracer]:
        tracer = self.tracer
        if tracer is not None:
            return tracer
        return get_default_tracer() or _tracer_from_environment()

    def request_tracer(self) -> Optional[RequestTracer]:
        tracer = self.current_tracer()
        if tracer is None:
            return None
        bound = self._request_tracer
        if bound is None or bound.tracer is not tracer:
            with self._lock:
                bound = self._request_tracer
                if bound is None or bound.tracer is not tracer:
                    bound = self._request_tracer = RequestTracer(
                        tracer, self.config, self.name, self.service
                    )
        return bound

    def start(self, environ: Mapping[str, Any]) -> Optional[RequestScope]:
        """Begin the request's span with its context current; None when it is not traced."""
        bound = self.request_tracer()
        if bound is None:
            return None
        request = _shallow_request(environ) if self.needs_request else None
        return bound.start(request_info(environ), request)


def _shallow_request(environ: Mapping[str, Any]) -> Any:
    """A request object for hooks and ``session_id_for`` before Flask made its own.

    Shallow: headers, args and cookies are readable; the body is never consumed.
    """
    from werkzeug.wrappers import Request

    return Request(environ, populate_request=False, shallow=True)  # type: ignore[arg-type]
