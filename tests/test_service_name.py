"""``service.name`` follows OpenTelemetry (``OTEL_SERVICE_NAME``, then
``OTEL_RESOURCE_ATTRIBUTES``), else a default that tells services apart: the app an integration
serves, else the program. The HoneyHive project stays in ``honeyhive.project``."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask

from honeyhive import HoneyHiveTracer
from honeyhive._settings import default_service_name
from honeyhive_fastapi import HoneyHiveMiddleware
from honeyhive_flask import HoneyHive

from support.collector import Collector, ReceivedSpan
from support.local_collector import clean_env

MakeTracer = Callable[..., HoneyHiveTracer]
ROOT = Path(__file__).resolve().parents[1]


def _one_span(tracer: HoneyHiveTracer, collector: Collector) -> ReceivedSpan:
    with tracer.trace("op"):
        pass
    assert tracer.flush(5)
    (span,) = collector.spans
    return span


def test_the_default_names_the_program_not_the_project(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    span = _one_span(make_tracer(project="shop"), collector)
    assert span.resource["service.name"] == default_service_name()
    assert span.resource["service.name"] != "shop"
    assert span.attributes["honeyhive.project"] == "shop"


def test_otel_service_name_wins(
    make_tracer: MakeTracer, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout")
    monkeypatch.setenv(
        "OTEL_RESOURCE_ATTRIBUTES", "service.name=ignored,deployment.environment=prod"
    )
    span = _one_span(make_tracer(project="shop"), collector)
    assert span.resource["service.name"] == "checkout"
    assert span.resource["deployment.environment"] == "prod"
    assert span.attributes["honeyhive.project"] == "shop"


def test_otel_resource_attributes_name_the_service_otherwise(
    make_tracer: MakeTracer, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=billing,team=payments")
    span = _one_span(make_tracer(), collector)
    assert span.resource["service.name"] == "billing"
    assert span.resource["team"] == "payments"


def _flask_span(tracer: HoneyHiveTracer, collector: Collector) -> ReceivedSpan:
    app = Flask("shopfront")
    HoneyHive(app, tracer=tracer)

    @app.get("/")
    def index() -> str:
        return "ok"

    with app.test_client() as client:
        response = client.get("/")
        response.get_data()
        response.close()
    assert tracer.flush(5)
    (span,) = collector.spans
    return span


def test_flask_names_the_service_after_the_app(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    assert _flask_span(make_tracer(), collector).resource["service.name"] == "shopfront"


def test_the_environment_still_wins_over_the_app(
    make_tracer: MakeTracer, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    assert _flask_span(make_tracer(), collector).resource["service.name"] == "from-env"


@pytest.mark.parametrize(("title", "expected"), [("Agent API", "Agent API"), (None, None)])
def test_fastapi_names_the_service_after_its_title(
    make_tracer: MakeTracer, collector: Collector, title: str | None, expected: str | None
) -> None:
    tracer = make_tracer()
    app = FastAPI(title=title) if title else FastAPI()
    app.add_middleware(HoneyHiveMiddleware, tracer=tracer)

    @app.get("/")
    async def index() -> str:
        return "ok"

    with TestClient(app) as client:
        assert client.get("/").status_code == 200
    assert tracer.flush(5)
    (span,) = collector.spans
    assert span.resource["service.name"] == (expected or default_service_name())


def test_the_demo_shows_three_services_and_only_the_sessions_it_made(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py"), "--no-wait", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_env(PYTHONIOENCODING="utf-8"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for service in ("@web", "@agent", "@docs"):
        assert service in done.stdout
    with sqlite3.connect(db) as connection:
        resources = [json.loads(row[0]) for row in connection.execute("SELECT resource FROM spans")]
        sessions = connection.execute("SELECT name, origin FROM sessions").fetchall()
    assert {r["service.name"] for r in resources} >= {"web", "agent", "docs"}
    # The client's session only: no empty session per service, none per readiness probe; and
    # its start arrived before the spans of the services it called.
    assert sessions == [("customer journey", "session_start")]
