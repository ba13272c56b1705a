"""The viewer's Runs page and run comparison, in real headless Chromium: runs listed with their
metric means (and a new one appearing by itself), a run's datapoints with inputs, output,
ground truth, metrics, errors and a link to each session, two runs compared (deltas per
datapoint, improved and regressed counted), a usable 800 px layout, and no script from any
captured value ever running.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from honeyhive import evaluate
from honeyhive.collector import RunningCollector

from support import browser

pytestmark = pytest.mark.skipif(browser.chromium_path() is None, reason="chromium is not installed")

DASH = "\u2013"  # what the viewer shows for no value
HOSTILE = "<img src=x onerror=window.__xss=1><script>window.__xss=2</script>"


@pytest.fixture(scope="module")
def _browser() -> Iterator[browser.DevTools]:
    with browser.DevTools() as devtools:
        yield devtools


@pytest.fixture
def chromium(_browser: browser.DevTools) -> Iterator[browser.DevTools]:
    yield _browser
    _browser.call("Emulation.clearDeviceMetricsOverride", session=True)
    _browser.navigate("about:blank")


def _open(chromium: browser.DevTools, url: str, ready: str) -> None:
    chromium.evaluate("window.__leaving = true")
    chromium.navigate(url)
    chromium.wait_for(f"!window.__leaving && document.readyState !== 'loading' && ({ready})")


def _cells(chromium: browser.DevTools, table: str) -> list[list[str]]:
    rows = chromium.evaluate(
        f"[...document.querySelectorAll({json.dumps(table + ' tbody tr')})]"
        ".map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    return list(rows)


DATA = [{"id": f"d{i}", "inputs": {"n": i}, "ground_truth": {"n": i}} for i in range(4)]


def _score(outputs: Any, inputs: Any, ground_truth: Any) -> float:
    return 1.0 - abs(outputs["n"] - ground_truth["n"]) / 4


def _runs(url: str) -> tuple[str, str]:
    """Two runs of one dataset: the second is better on d1, worse on d2, and d3 raises."""

    def old(datapoint: dict[str, Any]) -> dict[str, int]:
        n = datapoint["inputs"]["n"]
        return {"n": n + 1 if n in (1, 3) else n}

    def new(datapoint: dict[str, Any]) -> dict[str, int]:
        n = datapoint["inputs"]["n"]
        if n == 3:
            raise RuntimeError("no answer for three")
        return {"n": n + 2 if n == 2 else n}

    first = evaluate(
        old,
        dataset=DATA,
        evaluators=[_score],
        server_url=url,
        name="old prompt",
        print_results=False,
    )
    second = evaluate(
        new,
        dataset=DATA,
        evaluators=[_score],
        server_url=url,
        name="new prompt",
        print_results=False,
    )
    return first.run_id, second.run_id


def test_runs_are_listed_and_two_compare(
    local: RunningCollector, chromium: browser.DevTools
) -> None:
    old, new = _runs(local.url)
    _open(
        chromium,
        local.url + "/?view=runs",
        "document.querySelectorAll('#runs tbody tr').length === 2",
    )
    rows = _cells(chromium, "#runs")
    assert rows[0][1].splitlines() == ["new prompt", new]
    assert rows[0][2:6] == ["completed", rows[0][3], "3", "1"]
    assert rows[0][6] == "_score 0.833"  # (1 + 1 + 0.5) / 3, the raising datapoint has none
    assert rows[1][6] == "_score 0.875"
    # Choosing two runs enables the button, which opens their comparison (newer against older).
    assert chromium.evaluate("document.getElementById('compare').disabled") is True
    chromium.evaluate(
        "document.querySelectorAll('.pick-run').forEach(b => b.click()); "
        "document.getElementById('compare').click()"
    )
    chromium.wait_for("document.querySelectorAll('#deltas tbody tr').length === 4")
    assert chromium.evaluate("location.search") == f"?run={new}&compare={old}"
    assert chromium.evaluate("document.getElementById('improved').innerText") == "1"
    assert chromium.evaluate("document.getElementById('regressed').innerText") == "2"
    deltas = {row[0]: (row[2], row[3], row[4]) for row in _cells(chromium, "#deltas")}
    assert deltas == {
        "EXT-d0": ("1 \u2192 1 0", "unchanged", DASH),
        "EXT-d1": ("0.750 \u2192 1 +0.250", "improved", DASH),
        "EXT-d2": ("1 \u2192 0.500 -0.500", "regressed", DASH),
        # It raises now, and the comparison says so: why it regressed, without a click.
        "EXT-d3": (
            f"0.750 \u2192 {DASH} {DASH}",
            "regressed",
            "new: RuntimeError: no answer for three",
        ),
    }
    metrics = _cells(chromium, "#metric-deltas")
    # Over the datapoints both runs scored: (1 + 0.75 + 1) / 3 against (1 + 1 + 0.5) / 3.
    assert metrics == [["_score", "0.917", "0.833", "-0.083", "1", "1"]]

    # A run that arrives while the Runs page is open shows up by itself.
    _open(
        chromium,
        local.url + "/?view=runs",
        "document.querySelectorAll('#runs tbody tr').length === 2",
    )
    evaluate(
        lambda dp: dp["inputs"],
        dataset=DATA,
        evaluators=[_score],
        server_url=local.url,
        name="third",
        print_results=False,
    )
    chromium.wait_for("document.querySelectorAll('#runs tbody tr').length === 3", timeout=15)


def test_a_run_has_a_row_per_datapoint_with_a_link_to_its_session(
    local: RunningCollector, chromium: browser.DevTools
) -> None:
    _, new = _runs(local.url)
    _open(
        chromium,
        f"{local.url}/?run={new[:8]}",
        "document.querySelectorAll('#datapoints tbody tr').length === 4",
    )
    header = chromium.evaluate(
        "[...document.querySelectorAll('#datapoints th')].map(c => c.innerText.trim())"
    )
    assert header == ["Datapoint", "Inputs", "Output", "Ground truth", "_score", "Error", "Session"]
    rows = _cells(chromium, "#datapoints")
    assert rows[2][:6] == ["EXT-d2", '{"n":2}', '{"n":4}', '{"n":2}', "0.500", DASH]
    assert rows[3][:6] == [
        "EXT-d3",
        '{"n":3}',
        DASH,
        '{"n":3}',
        DASH,
        "RuntimeError: no answer for three",
    ]
    assert "2 failed" not in _cells(chromium, "#summary")[0]
    assert _cells(chromium, "#summary") == [["_score", "0.833", "0.500", "1", "3"]]
    # The session link opens that datapoint's session, with its evaluation ids.
    chromium.evaluate(
        "document.querySelector('#datapoints tbody tr:nth-child(3) td:last-child a').click()"
    )
    chromium.wait_for("document.querySelectorAll('#rows .row').length > 0")
    assert "new prompt" in chromium.evaluate("document.getElementById('main').innerText")
    # ... and the session links back to its run.
    assert chromium.evaluate("document.querySelector('#of-run a').getAttribute('href')") == (
        f"/?run={new}"
    )


def test_runs_at_800_px_and_hostile_values(
    local: RunningCollector, chromium: browser.DevTools
) -> None:
    old, new = _runs(local.url)
    hostile = evaluate(
        lambda dp: {"text": HOSTILE},
        dataset=[{"inputs": {"q": HOSTILE}, "ground_truth": {"a": HOSTILE}}],
        evaluators=[lambda outputs: {"score": 1, "explanation": HOSTILE}],
        server_url=local.url,
        name=HOSTILE,
        print_results=False,
    )
    chromium.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": 800, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        session=True,
    )
    injected = (
        "(() => ({xss: window.__xss === undefined ? null : window.__xss,"
        " tags: document.querySelectorAll('main img, main script, main svg, main iframe').length,"
        " scroll: document.documentElement.scrollWidth}))()"
    )
    pages = {
        "/?view=runs": "#runs tbody tr",
        f"/?run={new}": "#datapoints tbody tr",
        f"/?run={new}&compare={old}": "#deltas tbody tr",
        f"/?run={hostile.run_id}": "#datapoints tbody tr",
    }
    for page, rows in pages.items():
        _open(chromium, local.url + page, f"document.querySelectorAll('{rows}').length > 0")
        time.sleep(0.2)
        found = chromium.evaluate(injected)
        assert found["xss"] is None, page
        assert found["tags"] == 0, page
        assert found["scroll"] <= 800, page  # nothing wider than the window
    assert HOSTILE in chromium.evaluate("document.getElementById('main').innerText")


def test_live_redraws_of_the_runs_page_do_not_pile_up_listeners(
    local: RunningCollector, chromium: browser.DevTools
) -> None:
    """Each redraw (a run arriving) used to add one more ``change`` listener to ``main``: while
    the page stayed open they piled up, each holding a redrawn-away table's runs."""

    def create(name: str) -> None:
        answer = httpx.post(f"{local.url}/v1/runs", json={"name": name}, timeout=10)
        assert answer.status_code == 200, answer.text

    create("run 0")
    _open(
        chromium,
        local.url + "/?view=runs",
        "document.querySelectorAll('#runs tbody tr').length === 1",
    )
    # Both choices made before the redraws: they must survive them, and keep the button on.
    chromium.evaluate("document.querySelector('.pick-run').click()")
    for n in range(1, 4):
        create(f"run {n}")
        chromium.wait_for(
            f"document.querySelectorAll('#runs tbody tr').length === {n + 1}", timeout=15
        )
    listeners = chromium.call(
        "Runtime.evaluate",
        {
            "expression": "(() => { const main = document.getElementById('main');"
            " return [main, ...main.querySelectorAll('*')]"
            ".reduce((n, e) => n + (getEventListeners(e).change || []).length, 0); })()",
            "includeCommandLineAPI": True,
            "returnByValue": True,
        },
        session=True,
    )["result"]["value"]
    assert listeners == 1
    # The one listener still drives the button: two runs chosen enable it, one disables it.
    assert chromium.evaluate("document.querySelectorAll('.pick-run:checked').length") == 1
    assert chromium.evaluate("document.getElementById('compare').disabled") is True
    chromium.evaluate("document.querySelectorAll('.pick-run')[1].click()")
    assert chromium.evaluate("document.getElementById('compare').disabled") is False
    chromium.evaluate("document.querySelectorAll('.pick-run')[1].click()")
    assert chromium.evaluate("document.getElementById('compare').disabled") is True
