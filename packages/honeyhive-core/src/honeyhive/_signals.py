"""Deliver what is queued when the process is stopped by SIGTERM.

``atexit`` does not run when a process dies by a signal, so the SDK makes sure the tracers are
closed (within their exit budget) first, in the three situations a process meets:

* SIGTERM has its default disposition (a plain script, Django's ``runserver --noreload``): the
  SDK installs a handler that closes the tracers, then restores the default and raises the
  signal again: the process still dies by SIGTERM, with its spans delivered.
* uvicorn (one process, or each ``--workers`` process) had installed its own handler before it
  imported the application. It shuts down gracefully, then restores the handler it found and
  raises the signal again, which would kill the process before any exit hook runs. The SDK puts
  a handler in front of uvicorn's: uvicorn still shuts down gracefully, but does not raise the
  signal itself; the process exits normally, the exit hook closes the tracers, then raises
  SIGTERM as uvicorn would have (same exit status). That relies on uvicorn's private list of
  the signals it caught (``_captured_signals``); a uvicorn without it is asked to stop through
  its public ``should_exit`` instead (what its handler does, less its own logging), so that
  delivery at shutdown does not depend on uvicorn's internals.
* Any other handler (the application's own, gunicorn's worker, which ends the worker with
  ``sys.exit``) is left alone: the exit hook runs. Installing a handler later replaces ours.

The budget is the largest ``exit_timeout`` of the open tracers, read when the signal arrives.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any, Callable, Optional

from honeyhive._context import sdk_thread
from honeyhive._diagnostics import logger

__all__ = ["install_sigterm_flush", "raise_deferred_signal"]

_installed = False
_deferred: Optional[int] = None  # a signal a server would have raised: raised after the flush


def install_sigterm_flush(close_all: Callable[[], None], budget: Callable[[], float]) -> None:
    """Make SIGTERM deliver what is queued (main thread only; see the module docstring)."""
    global _installed
    if _installed or not hasattr(signal, "SIGTERM"):
        return
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        current = signal.getsignal(signal.SIGTERM)
        server = _uvicorn_server(current)
        if current is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _default_handler(close_all, budget))
        elif server is not None and callable(current):
            signal.signal(signal.SIGTERM, _in_front_of_uvicorn(current, server))
        else:
            return
        _installed = True
    except (ValueError, OSError) as exc:  # not the main interpreter, or signals unavailable
        logger.debug("SIGTERM flush not installed: %r", exc)


def _default_handler(
    close_all: Callable[[], None], budget: Callable[[], float]
) -> Callable[[int, Optional[FrameType]], None]:
    def on_sigterm(signum: int, frame: Optional[FrameType]) -> None:
        # Read before closing starts: closing tracers takes them out of the budget's count.
        allowed = budget()
        # Closing runs on its own thread: the signal may have interrupted this thread while
        # it held one of the SDK's locks.
        closer = sdk_thread(close_all, "honeyhive-sigterm")
        closer.start()
        closer.join(allowed + 0.5)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    return on_sigterm


def _uvicorn_server(handler: Any) -> Optional[Any]:
    """The uvicorn ``Server`` whose ``handle_exit`` is this handler, if it is one."""
    server = getattr(handler, "__self__", None)
    module = type(server).__module__ if server is not None else ""
    if module.startswith("uvicorn.") and isinstance(getattr(server, "should_exit", None), bool):
        return server
    return None


def _in_front_of_uvicorn(
    handler: Callable[[int, Optional[FrameType]], Any], server: Any
) -> Callable[[int, Optional[FrameType]], None]:
    def on_sigterm(signum: int, frame: Optional[FrameType]) -> None:
        global _deferred
        captured = getattr(server, "_captured_signals", None)
        if isinstance(captured, list):
            handler(signum, frame)  # uvicorn begins its graceful shutdown
            if signum in captured:  # uvicorn would raise it once shut down: we will, after
                captured.remove(signum)
                _deferred = signum
        else:  # a uvicorn that keeps its signals elsewhere: it stops, and does not raise it
            server.should_exit = True
            _deferred = signum

    return on_sigterm


def raise_deferred_signal() -> None:
    """After the exit flush: raise the signal a server would have raised (see above)."""
    global _deferred
    signum, _deferred = _deferred, None
    if signum is None:
        return
    try:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    except (ValueError, OSError) as exc:
        logger.debug("re-raising signal %s failed: %r", signum, exc)
