"""HoneyHive tracing for Flask.

>>> from flask import Flask
>>> from honeyhive_flask import HoneyHive
>>> app = Flask(__name__)
>>> HoneyHive(app)  # one SERVER span per request; tracer from the environment
"""

from honeyhive_flask._extension import HoneyHive
from honeyhive_flask._version import __version__

__all__ = ["HoneyHive", "__version__"]
