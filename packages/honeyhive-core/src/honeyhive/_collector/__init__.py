"""Internals of the local collector (``honeyhive serve``); the public face is
:mod:`honeyhive.collector`.

Modules that need only the standard library (the command line reads traces with them when the
``collector`` extra is not installed): :mod:`.records`, :mod:`.otlp_json`, :mod:`.payloads`,
:mod:`.store`, :mod:`.tree`. Modules that need the extra: :mod:`.otlp_protobuf`
(opentelemetry-proto), :mod:`.app` (Starlette) and :mod:`.server` (uvicorn); :mod:`.bodies`,
:mod:`.auth`, :mod:`.hosts` and :mod:`.security_headers` are plain ASGI middleware;
:mod:`.budget` (the byte budget for bodies in flight) and :mod:`.ingest` (the one worker that
decompresses, parses and stores) are the write path's bounds.
"""
