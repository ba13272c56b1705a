"""What a traced generator streamed: its output, and how long the first chunk took.

``@trace`` on a generator or an async generator records, when the iteration ends (exhausted,
abandoned, or failed part way):

* ``honeyhive_outputs.result``: the chunks joined into one text when every chunk is text, or a
  text delta of a model's streamed answer (OpenAI chat completion chunks, legacy completion
  chunks and Responses API ``response.output_text.delta`` events; Anthropic
  ``content_block_delta`` events with a ``text_delta``), as objects or as dicts; otherwise the
  first chunks as a list (``honeyhive_outputs.result.0``, ``.1``...). Both within the tracer's
  capture limits: the text is cut at ``capture_max_length``, the list at ``capture_max_items``,
  each cut marked and counted as ``honeyhive.truncated``.
* ``honeyhive_metrics.time_to_first_chunk_ms``: milliseconds from the start of the iteration to
  the first chunk; ``honeyhive_metrics.chunk_count``: how many chunks were yielded.

Only the text of the first choice (``index`` 0) of an OpenAI stream is joined, and events that
carry no answer text (a role, a tool call's arguments, usage, Anthropic's ``message_start``,
thinking) add nothing to it. A stream whose joined text is empty (only tool calls, say) is
recorded as its list of chunks. Recording costs a bounded amount per chunk: text is kept up to
the limit and then only counted, and only the first ``capture_max_items`` chunks are kept.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Optional

from opentelemetry.trace import Span

from honeyhive._diagnostics import internal_error
from honeyhive._spans._attributes import AttributeValue, flatten_into
from honeyhive._spans._fastattrs import add_captured
from honeyhive._spans._limits import CaptureRules

__all__ = ["CHUNK_COUNT", "OUTPUT", "TIME_TO_FIRST_CHUNK", "StreamRecorder", "chunk_text"]

OUTPUT = "honeyhive_outputs.result"
TIME_TO_FIRST_CHUNK = "honeyhive_metrics.time_to_first_chunk_ms"
CHUNK_COUNT = "honeyhive_metrics.chunk_count"

# Anthropic stream events that carry no answer text.
_ANTHROPIC_EVENTS = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
    }
)


def _field(obj: Any, name: str) -> Any:
    """``obj[name]`` for a mapping, ``obj.name`` otherwise (None when absent)."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def chunk_text(chunk: Any) -> Optional[str]:
    """The answer text a streamed chunk carries ("" for a model event without any), or None
    when the chunk is neither text nor a model's stream event."""
    if isinstance(chunk, str):
        return chunk if type(chunk) is str else str.__str__(chunk)
    if chunk is None or isinstance(chunk, (bytes, bytearray, int, float)):
        return None
    kind = _field(chunk, "type")
    if isinstance(kind, str):
        if kind == "content_block_delta":  # Anthropic
            delta = _field(chunk, "delta")
            text = _field(delta, "text") if _field(delta, "type") == "text_delta" else None
            return text if isinstance(text, str) else ""
        if kind in _ANTHROPIC_EVENTS:
            return ""
        if kind == "response.output_text.delta":  # OpenAI Responses API
            delta = _field(chunk, "delta")
            return delta if isinstance(delta, str) else ""
        if kind.startswith("response."):
            return ""
    choices = _field(chunk, "choices")  # OpenAI chat completion and completion chunks
    if isinstance(choices, (list, tuple)):
        for choice in choices:
            if _field(choice, "index") not in (0, None):
                continue
            delta = _field(choice, "delta")
            text = _field(delta, "content") if delta is not None else _field(choice, "text")
            return text if isinstance(text, str) else ""
        return ""  # the usage chunk at the end has no choices
    return None


class StreamRecorder:
    """Watches one iteration of a traced generator and records it on the span at the end."""

    __slots__ = (
        "_chunks",
        "_count",
        "_first_ms",
        "_is_text",
        "_rules",
        "_started",
        "_text",
        "_text_length",
    )

    def __init__(self, rules: CaptureRules, started_ns: Optional[int] = None) -> None:
        self._rules = rules
        # The span's own start and clock, so the time to the first chunk never exceeds the
        # span's duration (perf_counter and the wall clock drift apart by tens of ppm).
        self._started = started_ns if started_ns is not None else time.time_ns()
        self._first_ms: Optional[float] = None
        self._count = 0
        self._is_text = True
        self._text: list[str] = []
        self._text_length = 0
        self._chunks: list[Any] = []

    def add(self, chunk: Any) -> None:
        """One chunk yielded (never raises: a failure stops the recording, not the stream)."""
        try:
            if self._first_ms is None:
                self._first_ms = (time.time_ns() - self._started) / 1e6
            self._count += 1
            if len(self._chunks) < self._rules.max_items:
                self._chunks.append(chunk)
            if self._is_text:
                text = chunk_text(chunk)
                if text is None:
                    self._is_text = False
                    self._text = []
                elif text:
                    if self._text_length <= self._rules.max_length:
                        self._text.append(text)
                    self._text_length += len(text)
        except Exception as exc:
            internal_error("recording a streamed chunk", exc)
            self._is_text = False

    def finish(self, span: Span) -> None:
        """Record the output and timings on ``span`` (a no-op if nothing was yielded)."""
        if self._count == 0 or not span.is_recording():
            return
        try:
            rules = self._rules
            out: dict[str, AttributeValue] = {CHUNK_COUNT: self._count}
            if self._first_ms is not None:
                out[TIME_TO_FIRST_CHUNK] = round(self._first_ms, 3)
            cut = 0
            if self._is_text and self._text_length:
                total, text = self._text_length, "".join(self._text)
                if total > rules.max_length:
                    out[OUTPUT] = (
                        f"{text[: rules.max_length]}...[truncated {total - rules.max_length} chars]"
                    )
                    cut = 1
                else:
                    out[OUTPUT] = text
            else:
                kept = self._chunks  # the first max_items chunks
                cut = flatten_into(out, OUTPUT, kept, rules)
                if self._count > len(kept):  # marked as flattening marks a cut list
                    cut += 1
                    if len(out) < rules.max_attributes:
                        left_out = self._count - len(kept)
                        out[f"{OUTPUT}.{len(kept)}"] = f"...[truncated {left_out} items]"
            add_captured(span, out, cut, rules.max_attributes)
        except Exception as exc:
            internal_error("recording a generator's output", exc)
