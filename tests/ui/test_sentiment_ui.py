"""The call page's sentiment chart in headless Chromium, as a supervisor and as the call's agent: each customer
turn's dot is reached with Tab, is named by who spoke, when and the value, and Enter on it (like a click) seeks
the player to that turn."""

from __future__ import annotations

import math
from typing import Any

import pytest

from .browser import sign_in
from .conftest import UiServer

PLAYER = "document.querySelector('#player')"


def _customer_turns(page: Any, call: str) -> list[dict[str, Any]]:
    report = page.evaluate(f"fetch('/api/v1/calls/{call}').then((r) => r.json())")["report"]
    return [u for u in report["utterances"] if u["role"] == "customer" and isinstance(u.get("sentiment"), float | int)]


def _tab_to_chart(page: Any, most: int = 400) -> None:
    """Press Tab from the top of the page until the focus is in the sentiment chart (as a keyboard user would)."""
    page.locator("h1").click()
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.closest('#sentiment-chart') !== null"):
            return
    raise AssertionError("Tab never reaches the sentiment chart")


def _seeks_to(page: Any, start: float) -> None:
    page.wait_for_function(f"() => Math.abs({PLAYER}.currentTime - {start}) < 0.6")
    page.evaluate(f"{PLAYER}.pause()")


@pytest.mark.parametrize("user", ["sue", "alice"])
def test_sentiment_dots_are_named_links_that_seek_by_keyboard_and_click(context: Any, ui_server: UiServer,
                                                                        user: str) -> None:
    call = ui_server.calls["alice-audio"]
    page = sign_in(context, ui_server, user)
    page.goto(f"{ui_server.url}/ui/calls/{call}")
    page.wait_for_selector("#sentiment-chart svg")
    page.wait_for_function(f"() => {PLAYER}.readyState >= 1")
    turns = _customer_turns(page, call)
    assert turns, "the recording has customer turns with a sentiment"
    dots = page.locator("#sentiment-chart a.dot-link")
    assert dots.count() == len(turns)
    first = turns[0]
    minutes, seconds = divmod(int(first["start"]), 60)
    name = dots.first.get_attribute("aria-label") or ""
    value = str(math.floor(100 * first["sentiment"] + 0.5))  # as JS Math.round
    assert "客户" in name and f"{minutes}:{seconds:02d}" in name and value in name, name

    _tab_to_chart(page)
    assert page.evaluate("document.activeElement === document.querySelector('#sentiment-chart a.dot-link')")
    page.keyboard.press("Enter")
    _seeks_to(page, first["start"])

    last = turns[-1]
    page.evaluate(f"{PLAYER}.currentTime = 0")
    dots.last.click()
    _seeks_to(page, last["start"])
