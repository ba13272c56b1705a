"""Which tracer is current, the default tracer, and carrying context into threads.

A span opened by a tracer (``trace()``, ``@trace``, ``link()``) records that tracer in the
context, so a bare ``@trace`` deeper down uses the tracer whose span is current. With no such
span it uses the *default tracer*: the one set with :func:`set_default_tracer`, else the first
tracer created that is still open.

Work handed to another thread carries the context of the code that handed it over, while any
tracer with ``propagate_thread_context`` (the default) is open: a ``threading.Thread`` runs in a
copy of the context its ``start()`` was called in, and a task given to a ``ThreadPoolExecutor``
(``submit``, ``map``, and so ``loop.run_in_executor``) in a copy of its submitter's. A pool's
worker thread itself carries nothing, so one task's context never stays for the next. The SDK's
own threads start empty (:func:`sdk_thread`).
"""

from __future__ import annotations

import contextvars
import functools
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

from opentelemetry import context as context_api
from opentelemetry.context import create_key, get_current
from opentelemetry.trace import get_current_span

from honeyhive import _forksafe as forksafe

if TYPE_CHECKING:
    from honeyhive._tracer import HoneyHiveTracer

__all__ = [
    "SUPPRESS_KEY",
    "TRACER_KEY",
    "ContextThreadPoolExecutor",
    "current_tracer",
    "disable_thread_propagation",
    "enable_thread_propagation",
    "get_default_tracer",
    "open_tracers",
    "own_spans_of",
    "owner_of",
    "propagate_context",
    "register",
    "sdk_thread",
    "set_default_tracer",
    "unregister",
]

TRACER_KEY = create_key("honeyhive-tracer")
#: OpenTelemetry's "suppress instrumentation" context key: set on the SDK's own threads so their
#: HTTP calls are never traced (the key's name is private to OpenTelemetry, hence the fallback).
SUPPRESS_KEY = getattr(context_api, "_SUPPRESS_INSTRUMENTATION_KEY", "suppress_instrumentation")
R = TypeVar("R")

_lock = forksafe.Lock()
_tracers: list[HoneyHiveTracer] = []  # open tracers, in creation order
_explicit_default: Optional[HoneyHiveTracer] = None


def register(tracer: HoneyHiveTracer) -> None:
    with _lock:
        _tracers.append(tracer)


def unregister(tracer: HoneyHiveTracer) -> None:
    global _explicit_default
    with _lock:
        if tracer in _tracers:
            _tracers.remove(tracer)
        if _explicit_default is tracer:
            _explicit_default = None


def open_tracers() -> list[HoneyHiveTracer]:
    """Every open tracer, in creation order (a copy)."""
    with _lock:
        return list(_tracers)


def set_default_tracer(tracer: Optional[HoneyHiveTracer]) -> None:
    """Make ``tracer`` the one a bare ``@trace`` uses when no tracer's span is current.

    Anything but a ``HoneyHiveTracer`` (or None) is a ``ValueError``: it would leave every
    bare ``@trace`` without a span.
    """
    from honeyhive._tracer import HoneyHiveTracer  # imports this module: no cycle at call time

    if tracer is not None and not isinstance(tracer, HoneyHiveTracer):
        raise ValueError(
            f"set_default_tracer() takes a HoneyHiveTracer, got {type(tracer).__name__}"
        )
    global _explicit_default
    with _lock:
        _explicit_default = tracer


def get_default_tracer() -> Optional[HoneyHiveTracer]:
    """The tracer set with :func:`set_default_tracer`, else the first open tracer, else None."""
    default = _explicit_default
    if default is not None:
        return default
    tracers = _tracers
    return tracers[0] if tracers else None


_by_processor: weakref.WeakKeyDictionary[object, HoneyHiveTracer] = weakref.WeakKeyDictionary()


def own_spans_of(tracer: HoneyHiveTracer, span_processor: object) -> None:
    """Remember that spans reporting to ``span_processor`` belong to ``tracer``."""
    _by_processor[span_processor] = tracer


def owner_of(span: object) -> Optional[HoneyHiveTracer]:
    """The tracer whose provider made ``span`` (None for another provider's span)."""
    return _by_processor.get(getattr(span, "_span_processor", None))


def current_tracer() -> Optional[HoneyHiveTracer]:
    """The tracer whose span is current, else the default tracer.

    The current span's owner is found from the span itself (also for spans an instrumentor
    started through ``tracer.provider``); with no span, the tracer ``link()`` recorded in the
    context is used.
    """
    ctx = get_current()
    span = get_current_span(ctx)
    owner = (
        _by_processor.get(getattr(span, "_span_processor", None)) if span.is_recording() else None
    )
    if owner is not None and not owner.closed:
        return owner
    tracer: Optional[HoneyHiveTracer] = ctx.get(TRACER_KEY)  # type: ignore[assignment]
    if tracer is not None and not tracer.closed:
        return tracer
    return get_default_tracer()


def propagate_context(func: Callable[..., R]) -> Callable[..., R]:
    """Bind the *current* context to ``func``: wherever it runs, it runs inside this trace.

    >>> executor.submit(propagate_context(work), item)
    """
    ctx = contextvars.copy_context()

    @functools.wraps(func)
    def bound(*args: Any, **kwargs: Any) -> R:
        return ctx.copy().run(func, *args, **kwargs)

    return bound


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose tasks run in the context of the code that submitted them."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


_thread_users = 0
_original_start: Optional[Callable[[threading.Thread], None]] = None
_original_submit: Optional[Callable[..., Any]] = None


def _is_pool_worker(thread: threading.Thread) -> bool:
    # A pool's worker thread outlives the task that started it: its tasks carry their own
    # context (see _submit_in_context), the thread itself must not carry the first caller's.
    target = getattr(thread, "_target", None)
    return getattr(target, "__module__", "") in (
        "concurrent.futures.thread",
        "multiprocessing.pool",
    )


def _submit_in_context(
    self: ThreadPoolExecutor, fn: Callable[..., R], /, *args: Any, **kwargs: Any
) -> Future[R]:
    assert _original_submit is not None
    if _thread_users > 0 and not isinstance(self, ContextThreadPoolExecutor):
        return _original_submit(self, contextvars.copy_context().run, fn, *args, **kwargs)  # type: ignore[no-any-return]
    return _original_submit(self, fn, *args, **kwargs)  # type: ignore[no-any-return]


def _start_in_context(self: threading.Thread) -> None:
    if (
        _thread_users > 0
        and not getattr(self, "_honeyhive_context_bound", False)
        and not _is_pool_worker(self)
    ):
        ctx = contextvars.copy_context()
        run = self.run
        self.run = functools.partial(ctx.run, run)  # type: ignore[method-assign]
        self._honeyhive_context_bound = True  # type: ignore[attr-defined]
    assert _original_start is not None
    _original_start(self)


def sdk_thread(target: Callable[[], object], name: str) -> threading.Thread:
    """A daemon thread for the SDK's own work: it starts with an empty context, whatever the
    context of the code that starts it (no span kept alive by it, none leaked into it)."""
    thread = threading.Thread(target=contextvars.Context().run, args=(target,), name=name)
    thread.daemon = True
    thread._honeyhive_context_bound = True  # type: ignore[attr-defined]
    return thread


def enable_thread_propagation() -> None:
    """Run every new ``threading.Thread``, and every task submitted to a thread pool, in the
    context of the code that started or submitted it."""
    global _thread_users, _original_start, _original_submit
    with _lock:
        if _original_start is None:
            _original_start = threading.Thread.start
            threading.Thread.start = _start_in_context  # type: ignore[method-assign]
            _original_submit = ThreadPoolExecutor.submit
            ThreadPoolExecutor.submit = _submit_in_context  # type: ignore[method-assign,assignment]
        _thread_users += 1


def disable_thread_propagation() -> None:
    global _thread_users
    with _lock:
        _thread_users = max(0, _thread_users - 1)
