"""Internals of the local collector (``honeyhive serve``); the public face is
:mod:`honeyhive.collector`.

Modules that need only the standard library (the command line reads traces with them when the
``collector`` extra is not installed): :mod:`.records`, :mod:`.otlp_json`, :mod:`.payloads`,
:mod:`.store`, :mod:`.tree`. Modules that need the extra: :mod:`.otlp_protobuf`
(opentelemetry-proto), :mod:`.app` (Starlette) and :mod:`.server` (uvicorn); :mod:`.bodies`,
:mod:`.auth` and :mod:`.hosts` are plain ASGI.
"""
