"""Which HoneyHive tracer and which core RequestTracer serve an app."""

from __future__ import annotations

from typing import Any, Optional

from honeyhive import HoneyHiveTracer, get_default_tracer
from honeyhive.http_server import RequestTracer, ServerConfig, tracer_from_environment

__all__ = ["TracerSource", "service_of"]


class TracerSource:
    """The tracer given, else the default tracer at request time, else the environment's."""

    def __init__(self, tracer: Optional[HoneyHiveTracer], config: ServerConfig) -> None:
        self.explicit = tracer
        self.config = config
        self._current: Optional[RequestTracer] = None
        #: The app's title (a FastAPI app whose title is not the default): its service.name
        #: unless the environment names one. Learnt from the first request's scope.
        self.service: Optional[str] = None

    def _resolve(self) -> Optional[HoneyHiveTracer]:
        if self.explicit is not None:
            return self.explicit
        default = get_default_tracer()
        if default is not None:
            return default
        return tracer_from_environment("honeyhive-fastapi")

    def get(self) -> Optional[RequestTracer]:
        """The RequestTracer for the tracer in use now (rebuilt only when that tracer changes)."""
        tracer = self._resolve()
        current = self._current
        if tracer is None:
            return None
        if current is None or current.tracer is not tracer:
            current = RequestTracer(tracer, self.config, "fastapi", self.service)
            self._current = current
        return current

    def in_use(self) -> Optional[Any]:
        current = self._current
        return None if current is None else current.tracer


def service_of(app: Any) -> Optional[str]:
    """A FastAPI app's title, when it was given one (the default "FastAPI" names nothing)."""
    title = getattr(app, "title", None)
    return title if isinstance(title, str) and title and title != "FastAPI" else None
