"""Deterministic ids for tests: traces and spans numbered 1, 2, 3, ..."""

from __future__ import annotations

import itertools
import threading

from opentelemetry.sdk.trace.id_generator import IdGenerator

__all__ = ["SequentialIdGenerator"]


class SequentialIdGenerator(IdGenerator):
    """Trace ids and span ids counting up from 1, so that snapshots stay stable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._traces = itertools.count(1)
        self._spans = itertools.count(1)

    def generate_trace_id(self) -> int:
        with self._lock:
            return next(self._traces)

    def generate_span_id(self) -> int:
        with self._lock:
            return next(self._spans)
