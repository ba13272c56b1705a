"""The pytest plugin (entry point ``pytest11``): fixtures for asserting on your own traces.

``honeyhive_capture`` yields a :class:`~honeyhive.testing.SpanCapture` whose tracer is the
default tracer for the test. Configure it with a marker::

    @pytest.mark.honeyhive(deterministic=True, project="support-bot")
    def test_answer(honeyhive_capture): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["honeyhive_capture", "honeyhive_tracer"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "honeyhive(**settings): settings for the honeyhive_capture fixture "
        "(deterministic=True, project=..., any HoneyHiveTracer setting)",
    )


@pytest.fixture
def honeyhive_capture(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Spans made during the test, captured in memory; nothing leaves the process."""
    from honeyhive.testing import capture

    marker = request.node.get_closest_marker("honeyhive")
    settings: dict[str, Any] = dict(marker.kwargs) if marker else {}
    with capture(**settings) as captured:
        yield captured


@pytest.fixture
def honeyhive_tracer(honeyhive_capture: Any) -> Any:
    """The capturing tracer itself."""
    return honeyhive_capture.tracer
