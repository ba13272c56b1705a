"""Run-time entry points never raise into user code.

Two layers. :class:`ArgumentCheck` handles arguments of the wrong kind (``metadata=5``,
``attributes=[1, 2]``): that one argument is left out, the rest of the call still happens, and
the misuse is counted (``tracer.dropped_values["invalid_argument"]``) and said once per kind.
:func:`entry_point` is the backstop around every public run-time method: whatever still
escapes is an SDK bug, recorded as an internal error, and the method returns its documented
fallback instead of raising. Only a call that does not fit the signature at all raises, with
Python's own ``TypeError``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from typing import Any, Callable, Optional, TypeVar

from honeyhive._diagnostics import DropCounter, internal_error, logger

__all__ = ["VALUE_DROP_REASONS", "ArgumentCheck", "entry_point"]

F = TypeVar("F", bound=Callable[..., Any])

#: Why a captured value was not sent (``tracer.dropped_values``).
VALUE_DROP_REASONS = ("mask_error", "invalid_argument", "truncated")


class ArgumentCheck:
    """Arguments of the wrong kind: left out, counted, said once per (call, argument, kind)."""

    __slots__ = ("_drops", "_said")

    def __init__(self, drops: DropCounter) -> None:
        self._drops = drops
        self._said: set[tuple[str, str, str]] = set()

    def mapping(self, call: str, name: str, value: Any) -> Optional[Mapping[Any, Any]]:
        """``value`` if it is a mapping (or None); otherwise None, reported."""
        if value is None or isinstance(value, Mapping):
            return value
        self.report(call, name, f"must be a mapping, got {type(value).__name__}")
        return None

    def accepts(self, call: str, name: str, value: object, types: Any, what: str) -> bool:
        """Whether ``value`` is None or of ``types``; if not, it is reported (``what``: the
        kind expected, e.g. "a string")."""
        if value is None or isinstance(value, types):
            return True
        self.report(call, name, f"must be {what}, got {type(value).__name__}")
        return False

    def report(self, call: str, name: str, problem: str) -> None:
        self._drops.add("invalid_argument")
        said = (call, name, problem)
        if said in self._said or len(self._said) >= 256:
            return
        self._said.add(said)
        with contextlib.suppress(Exception):
            logger.warning(
                "honeyhive: %s(%s=...) %s; that argument was left out "
                "(counted in tracer.dropped_values['invalid_argument'])",
                call,
                name,
                problem,
            )


def _raised_by_the_call(exc: TypeError) -> bool:
    """Whether the method never started: the call itself did not match its signature."""
    tb = exc.__traceback__
    return tb is not None and tb.tb_next is None


def entry_point(fallback: Callable[[], Any]) -> Callable[[F], F]:
    """Run the method; if it raises, record an internal error and return ``fallback()``.

    A call that does not match the method's signature (a missing or unknown argument) still
    raises Python's ``TypeError``, as the undecorated method would: that is a programming
    error, which static checkers catch, not a value met at run time.
    """

    def decorate(method: F) -> F:
        where = method.__qualname__

        @functools.wraps(method)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except Exception as exc:
                if isinstance(exc, TypeError) and _raised_by_the_call(exc):
                    raise  # the arguments do not fit the signature: Python's own TypeError
                internal_error(where, exc)
                return fallback()

        return guarded  # type: ignore[return-value]

    return decorate
