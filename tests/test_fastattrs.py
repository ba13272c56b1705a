"""set_clean writes pre-validated attributes directly, and falls back whenever it must."""

from __future__ import annotations

from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext

from honeyhive._spans import set_clean


def _span(**limits: int) -> object:
    provider = TracerProvider(span_limits=SpanLimits(**limits))  # type: ignore[arg-type]
    return provider.get_tracer("t").start_span("s")


def test_clean_values_land_as_set_attributes_would_put_them() -> None:
    fast, slow = _span(), _span()
    values = {"s": "x", "b": True, "i": 3, "f": 1.5, "t": ("a", "b")}
    set_clean(fast, values)  # type: ignore[arg-type]
    slow.set_attributes(values)  # type: ignore[attr-defined]
    assert dict(fast.attributes) == dict(slow.attributes)  # type: ignore[attr-defined]


def test_values_the_sdk_would_change_take_the_slow_path() -> None:
    span = _span(max_attribute_length=5, max_attributes=3)
    set_clean(span, {"long": "x" * 10, "list": ["a", "b"]})  # type: ignore[arg-type]
    attributes = dict(span.attributes)  # type: ignore[attr-defined]
    assert attributes["long"] == "xxxxx"  # truncated by OpenTelemetry's own rules
    assert attributes["list"] == ("a", "b")
    set_clean(span, {"a": 1, "b": 2, "c": 3})  # type: ignore[arg-type]
    assert len(span.attributes) == 3  # type: ignore[attr-defined]
    assert span.dropped_attributes > 0  # type: ignore[attr-defined]


def test_ended_and_foreign_spans_are_left_to_the_sdk() -> None:
    span = _span()
    span.end()  # type: ignore[attr-defined]
    set_clean(span, {"late": "x"})  # type: ignore[arg-type]
    assert "late" not in span.attributes  # type: ignore[attr-defined]
    set_clean(NonRecordingSpan(SpanContext(1, 1, False)), {"x": "y"})  # no error
