"""The docs service's tracer (one per process, made when Django loads the project)."""

from __future__ import annotations

from honeyhive import HoneyHiveTracer

tracer = HoneyHiveTracer.init(project="demo-shop", session_name="docs", source="demo")
