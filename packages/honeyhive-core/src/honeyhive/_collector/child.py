"""Big bodies are parsed in a child process, so that nothing in the collector waits on them.

``json.loads`` and protobuf parsing are each one call into C that holds the GIL from start to
end: 1.4 s for a 30 MB JSON body on a laptop-class core. A worker thread cannot hide that, the
event loop would stall behind it. A body of :data:`BIG_BODY_BYTES` or more is therefore parsed
by a child process (started on first need, kept, one body at a time), which sends back the
decoded records: what comes back is plain rows and strings, cheap to unpickle. Smaller bodies,
the SDK's everyday batches, are parsed in the ingest worker thread, where they cost less than
sending them across.

The child is a plain ``python -c`` subprocess that runs :func:`main`, not a ``multiprocessing``
worker: ``multiprocessing`` starts its workers by running the parent's main script again, and a
script that starts the collector at its top level (``serve(...)`` without an ``if __name__ ==
"__main__"`` guard) would start a second collector in the child instead of parsing, and the
request would wait forever. The child gets this process's ``sys.path``, then reads requests on
its stdin (the pickled parse function, then the body) and writes answers on its stdout (the
pickled result, or the exception). It runs in a session of its own, so the Ctrl-C a terminal
sends to the collector's process group does not reach it (the collector stops it on the way
out), and it exits when its stdin closes, so it never outlives the collector.

A child that dies is replaced on the next big body; the request it was parsing gets a 503, which
clients retry.
"""

from __future__ import annotations

import contextlib
import pickle
import struct
import subprocess
import sys
import threading
from typing import IO, Any, Callable, Optional, TypeVar

from honeyhive._collector.records import PayloadError

__all__ = ["BIG_BODY_BYTES", "ChildParser", "main"]

#: Bodies this large (decompressed) are parsed in the child process.
BIG_BODY_BYTES = 2 * 1024 * 1024

T = TypeVar("T")

_REQUEST = struct.Struct(">QQ")  # sizes of the pickled parse function and of the body
_ANSWER = struct.Struct(">Q")  # size of the pickled (ok, result or exception)
_BOOT = (
    "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
    "from honeyhive._collector.child import main; main()"
)
_RETRY = {"Retry-After": "1"}


class ChildParser:
    """Run ``parse(data)`` in the child for big bodies, in this thread for small ones.

    ``parse`` must be picklable (a module-level function or a ``functools.partial`` of one), and
    so must what it returns and raises (:class:`~.records.PayloadError` is).
    """

    def __init__(self, threshold: int = BIG_BODY_BYTES) -> None:
        self.threshold = threshold
        self._child: Optional[subprocess.Popen[bytes]] = None
        self._lock = threading.Lock()
        self._closed = False

    def parse(self, parse: Callable[[bytes], T], data: bytes) -> T:
        if len(data) < self.threshold:
            return parse(data)
        with self._lock:  # one body at a time: the child reads them in turn
            if self._closed:
                raise PayloadError("the collector is stopping", status=503, headers=_RETRY)
            child = self._child
            if child is None or child.poll() is not None:  # not started yet, or it died
                self._stop()
                try:
                    child = self._start()
                except OSError:  # no interpreter to start: parse here (the event loop waits)
                    return parse(data)
            try:
                ok, value = _ask(child, parse, data)
            except (OSError, EOFError, ValueError, pickle.UnpicklingError):
                self._stop()
                raise PayloadError(
                    "the collector's parser process stopped; retry the request",
                    status=503,
                    headers=_RETRY,
                ) from None
        if ok:
            result: T = value
            return result
        raise value

    def _start(self) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(  # noqa: S603 - this interpreter and a fixed program
            [sys.executable, "-c", _BOOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert child.stdin is not None
        pickle.dump(list(sys.path), child.stdin)
        self._child = child
        return child

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        try:
            child.wait(timeout=10)  # it exits when its stdin closes, after the body in hand
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def close(self) -> None:
        """Stop the child (after the body it is parsing, if any)."""
        with self._lock:
            self._closed = True
            self._stop()


def _ask(child: subprocess.Popen[bytes], parse: Callable[[bytes], Any], data: bytes) -> Any:
    requests, answers = child.stdin, child.stdout
    assert requests is not None
    assert answers is not None
    function = pickle.dumps(parse, protocol=pickle.HIGHEST_PROTOCOL)
    requests.write(_REQUEST.pack(len(function), len(data)))
    requests.write(function)
    requests.write(data)
    requests.flush()
    (size,) = _ANSWER.unpack(_read(answers, _ANSWER.size))
    return pickle.loads(_read(answers, size))  # noqa: S301 - our own child's answer


def _read(pipe: IO[bytes], size: int) -> bytes:
    data = pipe.read(size)
    if len(data) != size:
        raise EOFError("the other process closed the pipe")
    return data


def main() -> None:
    """The child: parse what arrives on stdin until it closes, answer on stdout."""
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but answers may reach the parent's pipe
    while True:
        head = requests.read(_REQUEST.size)
        if len(head) != _REQUEST.size:
            return  # the collector closed the pipe: it is stopping
        function_size, data_size = _REQUEST.unpack(head)
        parse = pickle.loads(_read(requests, function_size))  # noqa: S301 - from our parent
        data = _read(requests, data_size)
        try:
            answer: tuple[bool, Any] = (True, parse(data))
        except Exception as exc:  # handed to the request, as if parsed in the collector
            answer = (False, exc)
        del data
        try:
            payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an exception that cannot be pickled
            failed = RuntimeError(f"{type(answer[1]).__name__}: {answer[1]} ({exc})")
            payload = pickle.dumps((False, failed), protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(_ANSWER.pack(len(payload)))
        answers.write(payload)
        answers.flush()
