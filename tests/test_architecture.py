"""The core's layout shows its architecture, and the layout's rules hold.

* A short top level: the facade, the public modules and a few cross-cutting pieces.
* Four wings (``_spans``, ``_export``, ``_http``, ``_compat``), each a facade with a docstring and
  ``__all__``;
  code outside a wing imports from the wing, never from the modules inside it.
* The integrations use only the core's public modules.
* The plug-in entry points keep their names and load.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import honeyhive

CORE = Path(honeyhive.__file__).parent
PACKAGES = CORE.parents[2]
WINGS = ("_spans", "_export", "_http", "_compat", "_experiments")
PUBLIC_MODULES = {
    "honeyhive",
    "honeyhive.collector",
    "honeyhive.config",
    "honeyhive.config.models",
    "honeyhive.experiments",
    "honeyhive.http_server",
    "honeyhive.testing",
    "honeyhive.tracer",  # the published SDK's module (issue 15)
}


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module a file imports (``from a.b import c`` yields ``a.b`` and ``a.b.c``)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def test_the_top_level_is_short() -> None:
    top = sorted(p.name for p in CORE.glob("*.py"))
    assert len(top) <= 15, top


@pytest.mark.parametrize("wing", WINGS)
def test_each_wing_is_a_facade(wing: str) -> None:
    module = importlib.import_module(f"honeyhive.{wing}")
    assert module.__doc__ is not None
    assert len(module.__doc__.split()) > 20, f"{wing} says what it does"
    assert module.__all__ == sorted(module.__all__, key=str)
    for name in module.__all__:
        assert hasattr(module, name), (wing, name)
    for path in (CORE / wing).glob("*.py"):
        if path.name != "__init__.py":
            assert path.name.startswith("_"), f"{path.name}: modules inside a wing are private"


def test_code_outside_a_wing_imports_the_wing_not_its_modules() -> None:
    offenders = []
    sources = [*CORE.rglob("*.py"), *PACKAGES.glob("honeyhive-*/src/honeyhive_*/*.py")]
    for path in sources:
        inside = next((w for w in WINGS if (CORE / w) in path.parents), None)
        for line, name in _imports(path):
            for wing in WINGS:
                prefix = f"honeyhive.{wing}."
                if name.startswith(prefix) and inside != wing:
                    submodule = name[len(prefix) :].split(".")[0]
                    if submodule.startswith("_"):
                        offenders.append(f"{path.relative_to(PACKAGES)}:{line} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_integrations_import_only_public_modules_of_the_core() -> None:
    offenders = []
    for path in PACKAGES.glob("honeyhive-*/src/honeyhive_*/*.py"):
        for line, name in _imports(path):
            if not (name == "honeyhive" or name.startswith("honeyhive.")):
                continue
            module = name
            while module not in PUBLIC_MODULES and "." in module:
                module = module.rsplit(".", 1)[0]
            # ``from honeyhive import X`` must name a public attribute, not a private module
            leaf = name.rsplit(".", 1)[-1]
            if module not in PUBLIC_MODULES or leaf.startswith("_"):
                offenders.append(f"{path.relative_to(PACKAGES)}:{line} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_the_plugin_entry_points_keep_their_names_and_load() -> None:
    expected = {
        "honeyhive.exporters": {"honeyhive", "otlp", "console", "memory"},
        "honeyhive.processors": {"baggage"},
        "honeyhive.propagators": {"tracecontext", "baggage"},
    }
    for group, names in expected.items():
        ours = {e.name: e for e in entry_points(group=group) if e.value.startswith("honeyhive.")}
        assert set(ours) == names, group
        for entry in ours.values():
            assert callable(entry.load()), entry
