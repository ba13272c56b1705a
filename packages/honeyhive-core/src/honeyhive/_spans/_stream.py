"""What a traced generator streamed: its output, and how long the first chunk took.

``@trace`` on a generator or an async generator records, when the iteration ends (exhausted,
abandoned, or failed part way):

* ``honeyhive_outputs.result``: the chunks joined into one text when every chunk is text, or a
  text delta of a model's streamed answer (OpenAI chat completion chunks, legacy completion
  chunks and Responses API ``response.output_text.delta`` events; Anthropic
  ``content_block_delta`` events with a ``text_delta``; the events of both SDKs' stream helpers,
  ``messages.stream()`` and ``chat.completions.stream()``), as objects or as dicts; otherwise
  the first chunks as a list (``honeyhive_outputs.result.0``, ``.1``...). Both within the
  tracer's capture limits: the text is cut at ``capture_max_length``, the list at
  ``capture_max_items``, each cut marked and counted as ``honeyhive.truncated``.
* ``honeyhive_metrics.time_to_first_chunk_ms``: milliseconds from the start of the span to the
  first chunk, on the span's own clock (never more than its duration);
  ``honeyhive_metrics.chunk_count``: how many chunks were yielded.

Only the text of the first choice (``index`` 0) of an OpenAI stream is joined, and events that
carry no answer text (a role, a tool call's arguments, usage, Anthropic's ``message_start``,
thinking) add nothing to it. The helpers yield each raw event followed by events derived from it
(Anthropic's ``text``, OpenAI's ``content.delta``) that repeat its text: those are joined only
when the stream carries no raw deltas (a generator that yields only the text events), so no text
is counted twice. A stream whose joined text is empty (only tool calls, say) is recorded as its
list of chunks. Recording costs a bounded amount per chunk: text is kept up to the limit and
then only counted, and only the first ``capture_max_items`` chunks are kept.
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

# Model stream events that carry no answer text: Anthropic's raw events and the extra events of
# its MessageStream helper (thinking, citations, a tool's input).
_NO_TEXT = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "citation",
        "thinking",
        "signature",
        "input_json",
    }
)
# ... and event families without answer text of their own: the Responses API's other events,
# the events of OpenAI's ChatCompletionStream helper besides its chunks.
_NO_TEXT_FAMILIES = ("response.", "content.", "refusal.", "tool_calls.", "logprobs.")
# Helper events that repeat the text of the raw event yielded just before them, by the field
# holding it: Anthropic's MessageStream "text", OpenAI's ChatCompletionStream "content.delta".
_REPEATS = {"text": "text", "content.delta": "delta"}


def _field(obj: Any, name: str) -> Any:
    """``obj[name]`` for a mapping, ``obj.name`` otherwise (None when absent)."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def chunk_text(chunk: Any) -> Optional[tuple[str, bool]]:
    """The answer text a streamed chunk carries ("" for a model event without any) and whether
    it repeats the text of a raw event (see the module docstring); None when the chunk is
    neither text nor a model's stream event."""
    if isinstance(chunk, str):
        return (chunk if type(chunk) is str else str.__str__(chunk)), False
    if chunk is None or isinstance(chunk, (bytes, bytearray, int, float)):
        return None
    kind = _field(chunk, "type")
    if isinstance(kind, str):
        if kind == "content_block_delta":  # Anthropic
            delta = _field(chunk, "delta")
            text = _field(delta, "text") if _field(delta, "type") == "text_delta" else None
            return (text if isinstance(text, str) else ""), False
        if kind == "response.output_text.delta":  # OpenAI Responses API
            delta = _field(chunk, "delta")
            return (delta if isinstance(delta, str) else ""), False
        repeats = _REPEATS.get(kind)
        if repeats is not None:
            text = _field(chunk, repeats)
            return (text if isinstance(text, str) else ""), True
        if kind == "chunk":  # OpenAI's ChatCompletionStream: the raw chunk inside
            chunk = _field(chunk, "chunk")
        elif kind in _NO_TEXT or kind.startswith(_NO_TEXT_FAMILIES):
            return "", False
    choices = _field(chunk, "choices")  # OpenAI chat completion and completion chunks
    if isinstance(choices, (list, tuple)):
        for choice in choices:
            if _field(choice, "index") not in (0, None):
                continue
            delta = _field(choice, "delta")
            text = _field(delta, "content") if delta is not None else _field(choice, "text")
            return (text if isinstance(text, str) else ""), False
        return "", False  # the usage chunk at the end has no choices
    return None


class _Text:
    """Text joined up to a limit, then only counted."""

    __slots__ = ("length", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0

    def add(self, text: str, limit: int) -> None:
        if self.length <= limit:
            self.parts.append(text)
        self.length += len(text)

    def value(self, limit: int) -> tuple[str, int]:
        """The text, cut and marked at ``limit``; and 1 if it was cut, else 0."""
        text = "".join(self.parts)
        if self.length <= limit:
            return text, 0
        return f"{text[:limit]}...[truncated {self.length - limit} chars]", 1


class StreamRecorder:
    """Watches one iteration of a traced generator and records it on the span at the end."""

    __slots__ = (
        "_chunks",
        "_count",
        "_created",
        "_first_ns",
        "_is_text",
        "_repeated",
        "_rules",
        "_text",
    )

    def __init__(self, rules: CaptureRules) -> None:
        self._rules = rules
        self._created = time.time_ns()
        self._first_ns: Optional[int] = None
        self._count = 0
        self._is_text = True
        self._text = _Text()  # the chunks' own text
        self._repeated = _Text()  # the text of helper events that repeat it
        self._chunks: list[Any] = []

    def add(self, chunk: Any) -> None:
        """One chunk yielded (never raises: a failure stops the recording, not the stream)."""
        try:
            if self._first_ns is None:
                self._first_ns = time.time_ns()
            self._count += 1
            if len(self._chunks) < self._rules.max_items:
                self._chunks.append(chunk)
            if self._is_text:
                found = chunk_text(chunk)
                if found is None:
                    self._is_text = False
                elif found[0]:
                    text, repeated = found
                    (self._repeated if repeated else self._text).add(text, self._rules.max_length)
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
            if self._first_ns is not None:
                # From the span's own start, on its clock (whole microseconds, rounded down):
                # never more than the span's duration.
                start = getattr(span, "start_time", None)
                start = start if isinstance(start, int) else self._created
                out[TIME_TO_FIRST_CHUNK] = max(0, self._first_ns - start) // 1000 / 1000
            cut = 0
            text = self._text if self._text.length else self._repeated
            if self._is_text and text.length:
                out[OUTPUT], cut = text.value(rules.max_length)
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
