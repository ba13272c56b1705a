"""Time honeyhive's hand-written OTLP trace encoders against OpenTelemetry's.

Encodes the same batch of realistic finished spans (about 15 attributes each, some events
and links, parent/child nesting) with

* ``honeyhive._export._encoding.encode_protobuf`` (protobuf wire bytes),
* ``honeyhive._export._encoding.encode_json`` (OTLP/JSON bytes),
* ``encode_spans(spans).SerializeToString()`` from opentelemetry-exporter-otlp-proto-common,

interleaving the three in every round (in rotating order) so that machine noise hits all of
them alike, and prints the median time per span and the ratio ours/theirs (below 1 means
faster than OpenTelemetry's encoder).

Run with the workspace venv::

    .venv/bin/python benchmarks/bench_encoding.py [--batch 512] [--rounds 60]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from typing import Callable

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from honeyhive._export import encode_json, encode_protobuf

_MODELS = ("gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b-instruct")
_ROUTES = ("/v1/chat/completions", "/api/sessions/{id}/events", "/healthz", "/v1/embeddings")


def make_spans(count: int, seed: int = 1) -> list[ReadableSpan]:
    """``count`` finished spans resembling an instrumented LLM web service."""
    rng = random.Random(seed)
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": "checkout-assistant",
                "service.version": "2.14.1",
                "deployment.environment": "production",
                "honeyhive.project": "support-bot",
            }
        )
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    http = provider.get_tracer("opentelemetry.instrumentation.flask", "0.48b0")
    llm = provider.get_tracer(
        "honeyhive.llm", "1.0.0", schema_url="https://opentelemetry.io/schemas/1.26.0"
    )
    while len(exporter.get_finished_spans()) < count:
        route = rng.choice(_ROUTES)
        with http.start_as_current_span(
            f"POST {route}",
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": "POST",
                "url.path": route,
                "url.scheme": "https",
                "server.address": "api.example.com",
                "server.port": 443,
                "client.address": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
                "user_agent.original": "python-requests/2.32.3",
                "http.route": route,
                "network.protocol.version": "1.1",
                "http.response.status_code": rng.choice((200, 200, 200, 201, 429, 500)),
                "http.request.body.size": rng.randrange(200, 20_000),
                "honeyhive.session_id": f"{rng.getrandbits(128):032x}",
                "honeyhive.user_id": f"user-{rng.randrange(10_000)}",
                "enduser.authenticated": rng.random() < 0.8,
                "app.request.tags": ("checkout", "assistant", "beta"),
            },
        ) as server:
            for _ in range(rng.randrange(1, 4)):
                with llm.start_as_current_span(
                    "chat " + rng.choice(_MODELS),
                    kind=SpanKind.CLIENT,
                    links=[Link(server.get_span_context(), {"link.reason": "retry-of"})]
                    if rng.random() < 0.1
                    else None,
                    attributes={
                        "gen_ai.system": "openai",
                        "gen_ai.operation.name": "chat",
                        "gen_ai.request.model": rng.choice(_MODELS),
                        "gen_ai.request.temperature": rng.choice((0.0, 0.2, 0.7, 1.0)),
                        "gen_ai.request.top_p": 0.95,
                        "gen_ai.request.max_tokens": 1024,
                        "gen_ai.request.stop_sequences": ("\n\nHuman:", "</answer>"),
                        "gen_ai.usage.input_tokens": rng.randrange(50, 8000),
                        "gen_ai.usage.output_tokens": rng.randrange(5, 1500),
                        "gen_ai.response.id": f"chatcmpl-{rng.getrandbits(64):x}",
                        "gen_ai.response.finish_reasons": ("stop",),
                        "honeyhive.prompt": "You are a helpful checkout assistant. " * 3,
                        "honeyhive.completion": "Sure, I can help you with your order. " * 2,
                        "honeyhive.latency_ms": rng.random() * 3000,
                        "honeyhive.cached": False,
                    },
                ) as span:
                    if rng.random() < 0.25:
                        span.add_event(
                            "gen_ai.content.prompt",
                            {"gen_ai.prompt": "What is the status of my order?", "index": 0},
                        )
                    if rng.random() < 0.05:
                        span.set_status(Status(StatusCode.ERROR, "rate limited"))
    provider.shutdown()
    return list(exporter.get_finished_spans()[:count])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=512, help="spans per batch")
    parser.add_argument("--rounds", type=int, default=60, help="timed rounds per encoder")
    args = parser.parse_args(argv)

    spans = make_spans(args.batch)
    attributes = statistics.mean(len(span.attributes or ()) for span in spans)
    encoders: dict[str, Callable[[list[ReadableSpan]], bytes]] = {
        "otel encode_spans+Serialize": lambda s: encode_spans(s).SerializeToString(),
        "honeyhive encode_protobuf": encode_protobuf,
        "honeyhive encode_json": encode_json,
    }
    sizes = {name: len(encode(spans)) for name, encode in encoders.items()}  # also warms up
    timings: dict[str, list[float]] = {name: [] for name in encoders}
    names = list(encoders)
    for round_number in range(args.rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            start = time.perf_counter()
            encoders[name](spans)
            timings[name].append(time.perf_counter() - start)

    print(
        f"python {sys.version.split()[0]}, {len(spans)} spans per batch, "
        f"{attributes:.1f} attributes per span on average, {args.rounds} interleaved rounds"
    )
    theirs = statistics.median(timings[names[0]])
    for name in names:
        median = statistics.median(timings[name])
        print(
            f"  {name:30s} {median / len(spans) * 1e6:7.2f} us/span"
            f"  (best {min(timings[name]) / len(spans) * 1e6:6.2f})"
            f"  ratio ours/theirs {median / theirs:5.3f}  speedup x{theirs / median:5.2f}"
            f"  {sizes[name]} bytes"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
