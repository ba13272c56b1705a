"""Configuration models: see :mod:`honeyhive.config.models`."""

from honeyhive.config.models import EvaluationConfig, SessionConfig, TracerConfig

__all__ = ["EvaluationConfig", "SessionConfig", "TracerConfig"]
