"""``get_logger``: the published SDK's logger object, over the standard ``logging`` module.

Unlike the published one, it adds no handler of its own and leaves ``propagate`` alone: records
go wherever the application's logging configuration sends them (stderr by Python's last-resort
handler when there is none), never printed as JSON to stdout behind the application's back.
What a record carries under a secret-looking name (``api_key=``, ``honeyhive_data={"headers":
{"Authorization": ...}}``) is redacted, as it is on spans.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Optional, Union

from honeyhive._spans import REDACTED, is_secret_name

__all__ = ["HoneyHiveLogger", "get_logger"]

#: Keyword arguments the standard logging methods take themselves; any other goes to ``extra``.
_LOGGING_KWARGS = frozenset({"exc_info", "stack_info", "stacklevel", "extra"})
#: What a ``LogRecord`` holds itself: an ``extra`` key among these would make ``logging`` raise.
_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class HoneyHiveLogger:
    """A ``logging.Logger`` (``.logger``) with the published SDK's methods.

    ``level`` (a name or a number) sets the logger's level; without it ``verbose=True`` means
    DEBUG and ``verbose=False`` WARNING; with neither the level is left as configured.
    ``handler`` (with ``formatter``, if given) is added to the logger.
    """

    def __init__(
        self,
        name: str,
        *,
        level: Optional[Union[str, int]] = None,
        formatter: Optional[logging.Formatter] = None,
        handler: Optional[logging.Handler] = None,
        verbose: Optional[bool] = None,
    ) -> None:
        self.logger = logging.getLogger(name)
        self.verbose = verbose
        if level is not None:
            self.logger.setLevel(_level(level))
        elif verbose is not None:
            self.update_verbose_setting(verbose)
        if handler is not None:
            if formatter is not None:
                handler.setFormatter(formatter)
            if handler not in self.logger.handlers:
                self.logger.addHandler(handler)

    def update_verbose_setting(self, verbose: bool) -> None:
        """DEBUG when ``verbose``, else WARNING."""
        self.verbose = verbose
        self.logger.setLevel(logging.DEBUG if verbose else logging.WARNING)

    def _log(
        self,
        level: int,
        message: str,
        args: tuple[Any, ...],
        honeyhive_data: Optional[Mapping[str, Any]],
        kwargs: dict[str, Any],
    ) -> None:
        if not self.logger.isEnabledFor(level):
            return
        passed = {k: v for k, v in kwargs.items() if k in _LOGGING_KWARGS}
        extra = dict(passed.pop("extra", None) or {})
        extra.update((k, v) for k, v in kwargs.items() if k not in _LOGGING_KWARGS)
        if honeyhive_data:
            extra["honeyhive_data"] = dict(honeyhive_data)
        extra = _without_secrets(extra)
        # A key the record has already is kept under another name, never a KeyError here.
        extra = {(f"extra_{k}" if k in _RECORD_FIELDS else k): v for k, v in extra.items()}
        passed.setdefault("stacklevel", 3)  # the caller's line, not this module's
        self.logger.log(level, message, *args, extra=extra or None, **passed)

    def debug(
        self,
        message: str,
        *args: Any,
        honeyhive_data: Optional[Mapping[str, Any]] = None,
        **kw: Any,
    ) -> None:
        self._log(logging.DEBUG, message, args, honeyhive_data, kw)

    def info(
        self,
        message: str,
        *args: Any,
        honeyhive_data: Optional[Mapping[str, Any]] = None,
        **kw: Any,
    ) -> None:
        self._log(logging.INFO, message, args, honeyhive_data, kw)

    def warning(
        self,
        message: str,
        *args: Any,
        honeyhive_data: Optional[Mapping[str, Any]] = None,
        **kw: Any,
    ) -> None:
        self._log(logging.WARNING, message, args, honeyhive_data, kw)

    def error(
        self,
        message: str,
        *args: Any,
        honeyhive_data: Optional[Mapping[str, Any]] = None,
        **kw: Any,
    ) -> None:
        self._log(logging.ERROR, message, args, honeyhive_data, kw)

    def critical(
        self,
        message: str,
        *args: Any,
        honeyhive_data: Optional[Mapping[str, Any]] = None,
        **kw: Any,
    ) -> None:
        self._log(logging.CRITICAL, message, args, honeyhive_data, kw)

    def exception(
        self,
        message: str,
        *args: Any,
        honeyhive_data: Optional[Mapping[str, Any]] = None,
        **kw: Any,
    ) -> None:
        """ERROR with the exception being handled."""
        kw.setdefault("exc_info", True)
        self._log(logging.ERROR, message, args, honeyhive_data, kw)


def _without_secrets(value: Any) -> Any:
    """``value`` with what sits under a secret-looking name (``api_key``, ``Authorization``,
    ...: the default redaction list) replaced by ``[REDACTED]``, in nested dicts and lists."""
    if isinstance(value, Mapping):
        return {
            k: REDACTED if isinstance(k, str) and is_secret_name(k) else _without_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_without_secrets(v) for v in value)
    return value


def _level(level: Union[str, int]) -> int:
    if isinstance(level, bool) or not isinstance(level, (str, int)):
        raise ValueError(f"level must be a logging level name or number, got {level!r}")
    if isinstance(level, int):
        return level
    number = logging.getLevelName(level.upper())
    if not isinstance(number, int):
        raise ValueError(f"unknown logging level {level!r}")
    return number


def get_logger(
    name: str, verbose: Optional[bool] = None, tracer_instance: Optional[Any] = None, **kwargs: Any
) -> HoneyHiveLogger:
    """A :class:`HoneyHiveLogger` named ``name``; ``verbose`` defaults to the tracer's.

    ``kwargs``: ``level``, ``formatter``, ``handler`` (see :class:`HoneyHiveLogger`).
    """
    if verbose is None and tracer_instance is not None:
        found = getattr(tracer_instance, "verbose", None)
        verbose = found if isinstance(found, bool) else None
    unknown = sorted(set(kwargs) - {"level", "formatter", "handler"})
    if unknown:
        raise TypeError(f"get_logger() got unexpected keyword argument(s): {', '.join(unknown)}")
    return HoneyHiveLogger(name, verbose=verbose, **kwargs)
