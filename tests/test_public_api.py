"""The public names are exactly the intended ones: anything else is internal."""

from __future__ import annotations

import honeyhive
import honeyhive.config
import honeyhive.http_server
import honeyhive.testing
import honeyhive.tracer


def test_honeyhive_exports() -> None:
    assert sorted(honeyhive.__all__) == [
        "BaseEvaluator",  # the published SDK's (issue 17)
        "ContextThreadPoolExecutor",
        "DotDict",  # the published SDK's (issue 15)
        "EvaluationConfig",
        "HoneyHive",  # the published SDK's REST client, as far as experiments need it
        "HoneyHiveTracer",
        "MissingApiKeyError",  # the published SDK's
        "SessionConfig",
        "TracerConfig",
        "__version__",
        "aevaluator",  # the published SDK's
        "atrace",
        "enrich_request_span",
        "enrich_session",  # the published SDK's
        "enrich_span",  # the published SDK's
        "evaluate",  # the published SDK's
        "evaluator",  # the published SDK's
        "flush",  # the published SDK's
        "get_default_tracer",
        "get_logger",  # the published SDK's
        "get_request_span",
        "propagate_context",
        "set_default_tracer",
        "trace",
        "trace_class",  # the published SDK's
    ]
    for name in honeyhive.__all__:
        assert getattr(honeyhive, name) is not None


def test_facades_export_what_they_name() -> None:
    import honeyhive.experiments

    modules = (
        honeyhive.config,
        honeyhive.experiments,
        honeyhive.http_server,
        honeyhive.testing,
        honeyhive.tracer,
    )
    for module in modules:
        assert module.__all__ == sorted(module.__all__, key=str)
        for name in module.__all__:
            assert hasattr(module, name), (module.__name__, name)


def test_internal_modules_are_underscored() -> None:
    import pkgutil

    public = {
        m.name for m in pkgutil.iter_modules(honeyhive.__path__) if not m.name.startswith("_")
    }
    assert public <= {
        "config",
        "experiments",
        "http_server",
        "testing",
        "collector",
        "cli",
        "tracer",
    }


def test_experiment_names_load_on_first_use() -> None:
    """``import honeyhive`` does not import the experiments wing; the names resolve lazily."""
    import subprocess
    import sys

    code = (
        "import sys, honeyhive; assert 'honeyhive._experiments' not in sys.modules; "
        "from honeyhive import evaluate, HoneyHive; import honeyhive.experiments as e; "
        "assert evaluate is e.evaluate and HoneyHive is e.HoneyHive"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_published_tracer_module() -> None:
    """``honeyhive.tracer``: the published 1.x module's names (all but its span processor
    class, an internal of the published SDK)."""
    assert honeyhive.tracer.__all__ == [
        "HoneyHiveTracer",
        "atrace",
        "clear_registry",
        "enrich_session",
        "enrich_span",
        "flush",
        "get_default_tracer",
        "get_global_provider",
        "graceful_shutdown_all",
        "set_default_tracer",
        "set_global_provider",
        "shutdown_tracer",
        "trace",
        "trace_class",
    ]
    for name in set(honeyhive.__all__) & set(honeyhive.tracer.__all__):
        assert getattr(honeyhive.tracer, name) is getattr(honeyhive, name), name
