"""HoneyHive tracing for Django."""

from honeyhive_django._version import __version__

__all__ = ["__version__"]
