"""Internals of the local collector (``honeyhive serve``); the public face is
:mod:`honeyhive.collector`.

Modules that need only the standard library (the command line reads traces with them when the
``collector`` extra is not installed): :mod:`.records`, :mod:`.otlp_json`, :mod:`.payloads`,
:mod:`.store` (with :mod:`.schema` and :mod:`.search`), :mod:`.normalize` (every LLM convention
into one model per span), :mod:`.prices`, :mod:`.tree`.

Modules that need the extra: :mod:`.otlp_protobuf` (opentelemetry-proto), :mod:`.app`
(Starlette) and :mod:`.server` (uvicorn). :mod:`.bodies`, :mod:`.auth`, :mod:`.hosts` and
:mod:`.security_headers` are plain ASGI; :mod:`.budget` (the byte budget for bodies in flight),
:mod:`.ingest` (the workers that parse and store) and :mod:`.child` (the process that parses big
bodies) bound the write path.
"""
