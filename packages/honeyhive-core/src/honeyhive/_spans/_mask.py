"""The user's ``mask`` hook: every captured value passes through it before leaving the process.

``mask(key, value)`` is called with one value at a time: a ``str``, ``bool``, ``int`` or
``float`` (each element of a list-valued attribute on its own) and its dotted key
(``honeyhive_inputs.user.email`` on a span, ``inputs.user.email`` in an event or session body).
It returns what to send instead: the value itself, a replacement, or ``None`` to leave the value
out. A replacement that is not one of those four types is sent as its text.

A hook that raises (anything but ``KeyboardInterrupt``: ``SystemExit`` too) costs only the
value it was given: that value is left out, never sent unmasked, and counted
(``tracer.dropped_values["mask_error"]``, and on the span as ``honeyhive.mask_errors``). The
hook runs on the SDK's delivery thread for span data and on the calling thread for event and
session bodies, so it must be thread-safe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, Callable

from honeyhive._diagnostics import DropCounter, logger
from honeyhive._spans._attributes import safe_text
from honeyhive._spans._limits import cut_text

__all__ = ["DROP", "FAILED", "MASK_ERRORS", "Mask", "MaskHook"]

MaskHook = Callable[[str, Any], Any]
#: The span attribute counting the values left out because the mask hook raised.
MASK_ERRORS = "honeyhive.mask_errors"


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: What :meth:`Mask.value` returns for a value the hook left out (it returned None).
DROP: Any = _Marker("<drop>")
#: What :meth:`Mask.value` returns for a value whose hook raised: left out, and counted.
FAILED: Any = _Marker("<mask failed>")
_PLAIN = (str, bool, int, float)


class Mask:
    """A tracer's mask hook, guarded: one failure drops one value, counted."""

    __slots__ = ("_drops", "_hook", "_limit", "_warned")

    def __init__(self, hook: MaskHook, drops: DropCounter, max_length: int) -> None:
        self._hook = hook
        self._drops = drops
        self._limit = max_length
        self._warned: set[str] = set()

    def value(self, key: str, value: Any) -> Any:
        """What to send for ``value`` under ``key``: the hook's answer, :data:`DROP` or
        :data:`FAILED`."""
        try:
            result = self._hook(key, value)
        except KeyboardInterrupt:  # the user's Ctrl-C, on the thread that called the SDK
            raise
        except BaseException as exc:  # SystemExit too: on the delivery thread it ended the thread
            self._failed(exc)
            return FAILED
        if result is None:
            return DROP
        kind = type(result)
        if kind is str:
            return cut_text(result, self._limit)
        if kind is bool or kind is int or kind is float:
            return result
        if isinstance(result, _PLAIN):  # subclasses: their plain value
            return cut_text(str(result), self._limit) if isinstance(result, str) else result
        return safe_text(result, self._limit)

    def values(self, key: str, values: Sequence[Any]) -> tuple[Any, int]:
        """A list-valued attribute, element by element: (a tuple of one type, or DROP when
        nothing is left; how many elements the hook failed on)."""
        kept = []
        failed = 0
        for item in values:
            result = self.value(key, item)
            if result is FAILED:
                failed += 1
            elif result is not DROP:
                kept.append(result)
        if not kept and values:
            return DROP, failed
        if len({type(v) for v in kept}) > 1:  # attribute arrays hold one type
            kept = [v if type(v) is str else str(v) for v in kept]
        return tuple(kept), failed

    def _failed(self, exc: BaseException) -> None:
        self._drops.add("mask_error")
        name = type(exc).__name__
        if name not in self._warned and len(self._warned) < 64:
            self._warned.add(name)
            with contextlib.suppress(Exception):
                # The value and its key are never logged: they are what the hook protects.
                logger.warning(
                    "honeyhive: the mask hook raised %s; the value it was given was left out "
                    "(never sent unmasked) and counted in tracer.dropped_values['mask_error']",
                    name,
                )
