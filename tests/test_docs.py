"""The documentation's links resolve inside the repository, anchors included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(
    [
        *ROOT.glob("*.md"),
        *(ROOT / "docs").rglob("*.md"),
        *ROOT.glob("packages/*/*.md"),
        *ROOT.glob("benchmarks/*.md"),
        *ROOT.glob("examples/**/*.md"),
    ]
)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
CODE_BLOCK = re.compile(r"^```.*?^```", re.S | re.M)


def _anchors(path: Path) -> set[str]:
    """GitHub's heading slugs: lower case, punctuation dropped, spaces to hyphens."""
    slugs = set()
    for line in CODE_BLOCK.sub("", path.read_text()).splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            slugs.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return slugs


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve_inside_the_repository(doc: Path) -> None:
    broken = []
    for target in LINK.findall(CODE_BLOCK.sub("", doc.read_text())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve() if path else doc
        if ROOT not in resolved.parents or not resolved.exists():
            broken.append(f"{target}: no such file in the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: no such heading")
    assert not broken, broken


def test_docs_name_no_file_outside_the_repository() -> None:
    outside = []
    for doc in DOCS:
        for name in re.findall(r"`([\w./-]+\.md)`", doc.read_text()):
            candidates = [doc.parent / name, ROOT / name]
            if not any(c.resolve().exists() for c in candidates):
                outside.append(f"{doc.relative_to(ROOT)}: {name}")
    assert not outside, outside


IMPORT = re.compile(r"^\s*from (honeyhive\w*(?:\.\w+)*) import (\([^)]*\)|[^\n]+)", re.M)


def test_the_names_docs_import_from_this_sdk_exist() -> None:
    """``from honeyhive... import X`` in a doc's code block names something that is there."""
    import importlib

    missing = []
    for doc in DOCS:
        for block in CODE_BLOCK.findall(doc.read_text()):
            for module_name, names in IMPORT.findall(block):
                module = importlib.import_module(module_name)
                for name in re.sub(r"#[^\n]*", "", names).strip("()").split(","):
                    name = name.split(" as ")[0].strip()
                    if name and not hasattr(module, name):
                        try:
                            importlib.import_module(f"{module_name}.{name}")
                        except ImportError:
                            missing.append(f"{doc.relative_to(ROOT)}: {module_name}.{name}")
    assert not missing, missing


# A code block fenced as ```python runnable (GitHub reads only the first word) is a complete
# program: a doc's runnable blocks, joined in order, run as a user would paste them, against a
# local collector that HH_API_URL names and with no other HH_* variable set.
RUNNABLE = re.compile(r"^```python runnable\n(.*?)^```", re.S | re.M)
RUNNABLE_DOCS = [doc for doc in DOCS if RUNNABLE.search(doc.read_text())]


def test_the_getting_started_docs_have_runnable_blocks() -> None:
    names = {str(doc.relative_to(ROOT)) for doc in RUNNABLE_DOCS}
    assert {"README.md", "docs/quickstart.md", "docs/experiments.md"} <= names, names


@pytest.mark.parametrize("doc", RUNNABLE_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_runnable_code_blocks_run_as_written(doc: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from honeyhive.collector import start

    program = "\n\n".join(RUNNABLE.findall(doc.read_text()))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "HONEYHIVE_"))}
    with start(port=0, db_path=str(tmp_path / "traces.db")) as collector:
        env["HH_API_URL"] = collector.url
        done = subprocess.run(
            [sys.executable, "-c", program],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, f"{doc.relative_to(ROOT)}:\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr


def test_hatch_installs_every_package_the_tests_import() -> None:
    """The README says ``hatch run test`` does what ``dev.py test`` does: same packages."""
    tomllib = pytest.importorskip("tomllib")
    workspace = tomllib.loads((ROOT / "pyproject.toml").read_text())
    commands = " ".join(workspace["tool"]["hatch"]["envs"]["default"]["post-install-commands"])
    packages = sorted(
        p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").exists()
    )
    missing = [name for name in packages if f"packages/{name}" not in commands]
    assert not missing, f"hatch's environment does not install {missing}"


def test_the_architecture_map_names_every_module_of_the_core() -> None:
    package = ROOT / "packages" / "honeyhive-core" / "src" / "honeyhive"
    text = (ROOT / "docs" / "architecture.md").read_text()
    entries = [p.name for p in package.glob("*.py")]
    entries += [f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").exists()]
    unmapped = sorted(e for e in entries if not re.search(rf"^  {re.escape(e)}(\s|$)", text, re.M))
    assert not unmapped, f"docs/architecture.md does not place {unmapped}"
