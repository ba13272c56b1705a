"""``python uvicorn_without_captured_signals.py ARGS``: uvicorn's command line, run by a uvicorn
that keeps the signals it caught under another name than ``Server._captured_signals`` (the
private list the SDK uses to hold back the signal uvicorn raises after its graceful shutdown),
as a future uvicorn might. Patched at import, so that ``--workers`` processes get it too."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any, Optional

import uvicorn.main
import uvicorn.server

_original_init = uvicorn.server.Server.__init__


def _init(self: Any, config: Any) -> None:
    _original_init(self, config)
    self._signals_seen = self.__dict__.pop("_captured_signals")


@contextlib.contextmanager
def _capture_signals(self: Any) -> Iterator[None]:
    original = {sig: signal.signal(sig, self.handle_exit) for sig in uvicorn.server.HANDLED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in original.items():
            signal.signal(sig, handler)
    for sig in reversed(self._signals_seen):
        signal.raise_signal(sig)


def _handle_exit(self: Any, sig: int, frame: Optional[FrameType]) -> None:
    self._signals_seen.append(sig)
    self.should_exit = True


uvicorn.server.Server.__init__ = _init  # type: ignore[method-assign]
uvicorn.server.Server.capture_signals = _capture_signals  # type: ignore[method-assign]
uvicorn.server.Server.handle_exit = _handle_exit  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(uvicorn.main.main())
