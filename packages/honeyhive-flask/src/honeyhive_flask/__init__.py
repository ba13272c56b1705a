"""HoneyHive tracing for Flask."""

from honeyhive_flask._version import __version__

__all__ = ["__version__"]
