"""The call page's acoustics section in headless Chromium: the loudness chart and markers of a call scored from
audio (a marker seeks the player), and the plain note on a call scored from a transcript."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .browser import sign_in
from .conftest import UiServer


@pytest.fixture()
def page(context: Any, ui_server: UiServer) -> Any:
    """sue's page (the context fails the test on a CSP violation)."""
    return sign_in(context, ui_server, "sue")


def test_acoustics_section_draws_loudness_and_markers_seek(page: Any, ui_server: UiServer,
                                                           screenshots: Path) -> None:
    page.goto(f"{ui_server.url}/ui/calls/{ui_server.calls['alice-audio']}")
    page.wait_for_selector("#acoustics:not(.hidden) #acoustics-chart svg")
    assert page.locator("#acoustics-chart path.ac-line.agent").count() == 1
    summary = page.locator("#acoustics-summary").inner_text()
    assert "抢话" in summary and "静音" in summary
    report = page.evaluate(f"fetch('/api/v1/calls/{ui_server.calls['alice-audio']}').then((r) => r.json())")
    acoustics = report["report"]["analytics"]["acoustics"]
    assert acoustics["source"] == "stereo" and acoustics["loudness"]["agent"]
    page.wait_for_function("() => document.querySelector('#player').readyState >= 1")
    bands = page.locator("#acoustics-chart rect[data-start]")
    if bands.count():  # the synthetic call may or may not have overtalk/raised voice: when it has, a click seeks
        start = float(bands.first.get_attribute("data-start"))
        bands.first.dispatch_event("click")
        page.wait_for_function(f"() => Math.abs(document.querySelector('#player').currentTime - {start}) < 0.6")
    page.locator("#acoustics").screenshot(path=str(screenshots / "call_acoustics.png"))


def test_a_call_scored_from_a_transcript_says_there_is_no_audio_analysis(page: Any, ui_server: UiServer) -> None:
    page.goto(f"{ui_server.url}/ui/calls/{ui_server.calls['alice-good']}")
    page.wait_for_selector("#acoustics:not(.hidden) .empty")
    assert "没有录音分析" in page.locator("#acoustics").inner_text()
