"""HoneyHive tracing for FastAPI and Starlette (ASGI)."""

from honeyhive_fastapi._version import __version__

__all__ = ["__version__"]
