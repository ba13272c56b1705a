"""Settings: precedence, environment, validation errors, and secrets kept out of sight."""

from __future__ import annotations

import logging
import time

import pytest

from honeyhive import EvaluationConfig, HoneyHiveTracer, SessionConfig, TracerConfig
from honeyhive._settings import resolve

from support.collector import Collector

KEY = "hh_SENTINEL_settings_0123456789"


def test_defaults_follow_the_reference() -> None:
    settings = resolve(None, None, None, {"test_mode": True})
    assert settings.source == "dev"
    assert settings.disable_http_tracing is True
    assert settings.disable_batch is False
    assert settings.verbose is False
    assert settings.server_url == "https://api.dp1.us.honeyhive.ai"
    assert settings.exporters == ("honeyhive",)
    assert settings.propagators == ("tracecontext", "baggage")
    assert settings.capture_max_length == 16384
    assert settings.exit_timeout <= 5


def test_explicit_beats_config_beats_environment_beats_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HH_PROJECT", "from-env")
    monkeypatch.setenv("HH_SOURCE", "env-source")
    monkeypatch.setenv("HH_VERBOSE", "false")
    config = TracerConfig(project="from-config", verbose=False)
    tracer = HoneyHiveTracer(config=config, verbose=True, test_mode=True)
    try:
        assert tracer.project == "from-config"  # config beats environment
        assert tracer.source == "env-source"  # the config did not set source: env shows
        assert tracer._settings.verbose is True  # explicit beats config
    finally:
        tracer.close()
        logging.getLogger("honeyhive").setLevel(logging.NOTSET)


def test_session_and_evaluation_configs(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = resolve(
        TracerConfig(session_name="tracer-level"),
        SessionConfig(session_name="session-level", inputs={"q": 1}),
        EvaluationConfig(is_evaluation=True, run_id="r"),
        {"test_mode": True},
    )
    assert settings.session_name == "session-level"
    assert settings.inputs == {"q": 1}
    assert settings.evaluation == {"run_id": "r"}


@pytest.mark.parametrize(
    ("variable", "field", "raw", "expected"),
    [
        ("HH_API_URL", "server_url", "http://127.0.0.1:9/", "http://127.0.0.1:9"),
        ("HH_SERVER_URL", "server_url", "http://127.0.0.1:8", "http://127.0.0.1:8"),
        ("HH_SESSION_NAME", "session_name", "nightly", "nightly"),
        ("HH_TEST_MODE", "test_mode", "true", True),
        ("HH_DISABLE_HTTP_TRACING", "disable_http_tracing", "false", False),
        ("HH_DISABLE_BATCH", "disable_batch", "1", True),
        ("HH_VERBOSE", "verbose", "yes", True),
        ("HH_SOURCE", "source", "production", "production"),
        ("HH_PROJECT", "project", "proj", "proj"),
    ],
)
def test_environment_variables(
    monkeypatch: pytest.MonkeyPatch, variable: str, field: str, raw: str, expected: object
) -> None:
    monkeypatch.setenv(variable, raw)
    settings = resolve(None, None, None, {"test_mode": True} if field != "test_mode" else {})
    assert getattr(settings, field) == expected


def test_hh_api_url_wins_over_the_older_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HH_SERVER_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("HH_API_URL", "http://127.0.0.1:2")
    assert resolve(None, None, None, {}).server_url == "http://127.0.0.1:2"


def test_bare_names_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_ID", "550e8400-e29b-41d4-a716-446655440000")
    monkeypatch.setenv("API_KEY", KEY)
    settings = resolve(None, None, None, {"test_mode": True})
    assert settings.session_id is None
    assert settings.api_key is None


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"session_id": "not-a-uuid", "test_mode": True}, "session_id"),
        ({"server_url": "ftp://example.test", "test_mode": True}, "HH_API_URL"),
        ({"server_url": "api.honeyhive.ai", "test_mode": True}, "server_url"),
        ({"server_url": "https://api.example.test"}, "HH_API_KEY"),
        ({"otlp_format": "xml", "test_mode": True}, "otlp_format"),
        ({"max_queue_size": 0, "test_mode": True}, "max_queue_size"),
        ({"no_such_setting": 1, "test_mode": True}, "no_such_setting"),
    ],
)
def test_init_errors_name_the_setting(settings: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        HoneyHiveTracer(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"server_url": "http://127.0.0.1:4318\n/x"}, "control characters"),
        ({"server_url": "http://127.0.0.1\r\nHost: evil:8"}, "control characters"),
        ({"server_url": "http://127.0.0.1:99999"}, "invalid port"),
        ({"server_url": "http://127.0.0.1:0"}, "invalid port"),
        ({"server_url": "http://127.0.0.1:http"}, "invalid port"),
        ({"export_timeout": float("inf")}, "export_timeout"),
        ({"export_timeout": float("nan")}, "export_timeout"),
        ({"exit_timeout": 1e300}, "exit_timeout"),
        ({"schedule_delay": float("inf")}, "schedule_delay"),
    ],
)
def test_settings_every_send_would_fail_with_are_refused_at_construction(
    settings: dict[str, object], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        HoneyHiveTracer(test_mode=True, **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("HH_API_URL", "http://localhost:70000", "invalid port"),
        ("HH_API_URL", "http://local\thost:8318", "control characters"),
        ("HH_EXPORT_TIMEOUT", "inf", "HH_EXPORT_TIMEOUT"),
        ("HH_CAPTURE_MAX_ITEMS", "0", "HH_CAPTURE_MAX_ITEMS"),
        ("HH_REDACT_KEYS", "-not_a_default", "HH_REDACT_KEYS"),
        ("HH_MASK", "no_such_module_hh.mask", "HH_MASK"),
    ],
)
def test_bad_values_in_the_environment_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=fragment):
        HoneyHiveTracer(test_mode=True)


def test_bad_boolean_in_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HH_TEST_MODE", "maybe")
    with pytest.raises(ValueError, match="HH_TEST_MODE"):
        HoneyHiveTracer()


def test_no_key_needed_for_loopback_or_test_mode(collector: Collector) -> None:
    for settings in ({"server_url": collector.url}, {"test_mode": True}):
        tracer = HoneyHiveTracer(**settings)  # type: ignore[arg-type]
        tracer.close()


def test_init_never_blocks_on_a_hung_backend(collector: Collector) -> None:
    collector.set_fault("hang", seconds=10)
    started = time.monotonic()
    tracer = HoneyHiveTracer(server_url=collector.url, project="p", exit_timeout=0.5)
    assert time.monotonic() - started < 1.0
    started = time.monotonic()
    tracer.close()
    assert time.monotonic() - started < 0.5 + 0.25 + 0.3


def test_secrets_stay_out_of_reprs_and_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="honeyhive")
    config = TracerConfig(api_key=KEY, project="p")
    assert KEY not in repr(config)
    assert KEY not in str(config)
    tracer = HoneyHiveTracer(config=config, test_mode=True, verbose=True)
    try:
        assert KEY not in repr(tracer)
        assert KEY not in repr(tracer._settings)
        with tracer.trace("op"):
            pass
        tracer.flush(2)
    finally:
        tracer.close()
        logging.getLogger("honeyhive").setLevel(logging.NOTSET)
    assert KEY not in caplog.text
    with pytest.raises(ValueError) as error:
        HoneyHiveTracer(api_key=KEY, server_url="not a url")
    assert KEY not in str(error.value)


def test_credentials_in_the_server_url_stay_out_of_reprs_logs_and_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="honeyhive")
    url = "https://user:url-secret@api.example.com"
    tracer = HoneyHiveTracer(server_url=url, api_key=KEY, test_mode=True, verbose=True)
    try:
        assert "url-secret" not in repr(tracer)
        assert "url-secret" not in repr(tracer._settings)
        assert "https://api.example.com" in repr(tracer)
    finally:
        tracer.close()
        logging.getLogger("honeyhive").setLevel(logging.NOTSET)
    assert "url-secret" not in caplog.text
    for bad in (url, "ftp://user:url-secret@host"):
        with pytest.raises(ValueError) as error:
            HoneyHiveTracer(server_url=bad)
        assert "url-secret" not in str(error.value)


def test_verbose_logs_through_logging_and_quiet_by_default(
    caplog: pytest.LogCaptureFixture, collector: Collector
) -> None:
    caplog.set_level(logging.DEBUG, logger="honeyhive")
    quiet = HoneyHiveTracer(server_url=collector.url)
    with quiet.trace("op"):
        pass
    quiet.close()
    assert all(record.levelno < logging.WARNING for record in caplog.records)
    logger = logging.getLogger("honeyhive")
    assert logger.propagate  # an application's logging configuration sees every record
