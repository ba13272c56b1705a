"""Deliver what is queued when the process is stopped by SIGTERM.

``atexit`` does not run when a process dies by a signal, and servers such as uvicorn end by
restoring the original SIGTERM disposition and raising the signal again. So, where SIGTERM
still has its default disposition (nobody chose another), the SDK installs a handler that
closes the tracers within their exit budget, then restores the default and raises the signal
again: the process still dies by SIGTERM, with its spans delivered. A handler the application
installed is never replaced, and installing one later replaces ours.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Callable, Optional

from honeyhive._diagnostics import logger

__all__ = ["install_sigterm_flush"]

_installed = False


def install_sigterm_flush(close_all: Callable[[], None], budget: Callable[[], float]) -> None:
    """Install the handler if SIGTERM has its default disposition (main thread only)."""
    global _installed
    if _installed or not hasattr(signal, "SIGTERM"):
        return
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return

        def on_sigterm(signum: int, frame: Optional[FrameType]) -> None:
            # Closing runs on its own thread: the signal may have interrupted this thread
            # while it held one of the SDK's locks.
            closer = threading.Thread(target=close_all, name="honeyhive-sigterm", daemon=True)
            closer.start()
            closer.join(budget() + 1.0)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGTERM, on_sigterm)
        _installed = True
    except (ValueError, OSError) as exc:  # not the main interpreter, or signals unavailable
        logger.debug("SIGTERM flush not installed: %r", exc)
