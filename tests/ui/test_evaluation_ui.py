"""End to end in headless Chromium: an admin writes an evaluation form, a supervisor fills it on the call page and
releases it, the agent sees the result; a calibration session is created, answered blind by two supervisors,
closed, and its results (Fleiss' kappa, spread, AI vs human) are shown.

A server of its own with transcripts only (no audio, no speech model), so the module stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from .browser import csp_checked_context, shot
from .browser import sign_in as sign_in_page
from .conftest import BAD, GOOD, UiServer, light_server, post_transcript

VIEWPORT = {"width": 1440, "height": 1000}
PASSWORDS = {"sue": "sue-password-1", "sam": "sam-password-1", "alice": "alice-password-1", "root": "root-password-1"}
FORM: dict[str, Any] = {"team": "t1", "name": "服务质量", "auto_weight": 0.5, "items": [
    {"id": "attitude", "label": "服务态度", "weight": 2, "max": 5},
    {"id": "accuracy", "label": "业务准确性", "weight": 3, "allow_na": True},
    {"id": "security", "label": "信息安全", "weight": 1, "critical": True}]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    users = [("sue", "supervisor", "t1"), ("sam", "supervisor", "t1"), ("alice", "agent", "t1"),
             ("root", "admin", None)]
    with light_server(tmp_path_factory, "ev-ui", users, PASSWORDS) as ui:
        now = datetime.now(UTC).replace(microsecond=0)
        with httpx.Client(base_url=ui.url, timeout=60) as http:
            for n, (label, doc) in enumerate([("good", GOOD), ("bad", BAD), ("good2", GOOD)]):
                body = {**json.loads(json.dumps(doc)), "call_id": f"ev-{label}", "agent": "alice",
                        "started_at": (now - timedelta(hours=n + 1)).isoformat()}
                ui.calls[label] = post_transcript(http, ui, "sue", body)
        yield ui


@pytest.fixture()
def context(browser: Any) -> Iterator[Any]:
    """A browser context; any Content-Security-Policy violation on its pages fails the test."""
    with csp_checked_context(browser, viewport=VIEWPORT) as ctx:
        yield ctx


def sign_in(context: Any, server: UiServer, name: str) -> Any:
    """Signs in afresh: the context's earlier session is dropped first."""
    context.clear_cookies()
    return sign_in_page(context, server, name)


def test_admin_form_then_supervisor_evaluates_and_agent_sees_release(context: Any, server: UiServer,
                                                                      screenshots: Path) -> None:
    page = sign_in(context, server, "root")
    page.goto(f"{server.url}/ui/calibration")
    page.get_by_text("高级：以 JSON 编辑").click()  # the JSON editor is behind the table's "advanced" toggle
    editor = page.locator("#form-json")
    editor.fill("{not json")
    page.get_by_role("button", name="保存评估表").click()
    page.wait_for_selector("#form-error:has-text('JSON 格式错误')")
    bad = {**FORM, "items": [{**FORM["items"][0], "weight": 0}]}
    editor.fill(json.dumps(bad, ensure_ascii=False))
    page.get_by_role("button", name="保存评估表").click()
    page.wait_for_selector("#form-error:has-text('items.0.weight')")
    editor.fill(json.dumps(FORM, ensure_ascii=False))
    page.get_by_role("button", name="保存评估表").click()
    page.wait_for_selector("#cal-forms >> text=服务态度、业务准确性、信息安全")
    page.close()

    page = sign_in(context, server, "sue")
    call = server.calls["good"]
    page.goto(f"{server.url}/ui/calls/{call}")
    section = page.locator("#evaluation")
    section.locator("fieldset[data-item=attitude] input[value='4']").check()
    section.locator("fieldset[data-item=accuracy] input[value='na']").check()
    section.locator("fieldset[data-item=security] input[value='1']").check()
    section.locator("fieldset[data-item=attitude] .ev-note").fill("语气亲切")
    section.get_by_label("总体评语（可选）").fill("整体良好")
    section.get_by_role("button", name="提交评估").click()
    page.wait_for_selector("#ev-list .ev-release")
    auto = httpx.get(f"{server.url}/api/v1/calls/{call}", headers=server.headers("sue")).json()["score"]
    manual = round(100 * (2 * 4 / 5 + 1) / 3, 1)  # accuracy N/A
    expected = round(0.5 * auto + 0.5 * manual, 1)
    assert f"{expected:.1f}" in page.locator("#ev-list").inner_text()
    page.evaluate("document.querySelectorAll('.player-card').forEach((e) => { e.style.position = 'static'; })")
    section.screenshot(path=str(screenshots / "evaluation-zh.png"))  # the player card is sticky: keep it out
    page.locator("#ev-list .ev-release").click()
    page.wait_for_selector("#ev-list >> text=已发布")
    page.close()

    page = sign_in(context, server, "alice")
    page.goto(f"{server.url}/ui/calls/{call}")
    page.wait_for_selector("#ev-list table")
    text = page.locator("#evaluation").inner_text()
    assert f"{expected:.1f}" in text and "sue" in text and "提交评估" not in text
    released = httpx.get(f"{server.url}/api/v1/calls/{call}", headers=server.headers("alice")).json()["evaluation"]
    assert released["score"] == expected and released["reviewer"] == "sue"


def test_calibration_session_blind_then_results(context: Any, server: UiServer, screenshots: Path) -> None:
    if not httpx.get(f"{server.url}/api/v1/evaluation-forms", headers=server.headers("root")).json():
        response = httpx.post(f"{server.url}/api/v1/evaluation-forms", json=FORM, headers=server.headers("root"))
        assert response.status_code == 201, response.text
    page = sign_in(context, server, "sue")
    page.goto(f"{server.url}/ui/calibration")
    page.get_by_label("名称").fill("十二月校准")
    page.locator("#cal-calls input[name=call]").first.wait_for()
    for label in ("good", "bad"):
        page.locator(f"#cal-calls input[value='{server.calls[label]}']").check()
    page.get_by_label("评估人（逗号分隔的用户名）").fill("sue, sam")
    page.get_by_role("button", name="创建", exact=True).click()
    page.wait_for_selector("#cal-sessions >> text=十二月校准")
    answers = {"sue": {"good": ("5", "1", "1"), "bad": ("1", "0", "1")},
               "sam": {"good": ("5", "1", "1"), "bad": ("2", "0", "0")}}
    for name in ("sue", "sam"):
        if name != "sue":
            page.close()
            page = sign_in(context, server, name)
            page.goto(f"{server.url}/ui/calibration")
        for label in ("good", "bad"):
            page.locator(f".cal-eval[data-call='{server.calls[label]}']").click()
            box = page.locator("#cal-eval-box")
            attitude, accuracy, security = answers[name][label]
            box.locator(f"fieldset[data-item=attitude] input[value='{attitude}']").check()
            box.locator(f"fieldset[data-item=accuracy] input[value='{accuracy}']").check()
            box.locator(f"fieldset[data-item=security] input[value='{security}']").check()
            box.locator("select[data-rule=greeting]").select_option("pass" if label == "good" else "fail")
            box.get_by_role("button", name="提交评估").click()
            page.wait_for_selector(f".cal-eval[data-call='{server.calls[label]}']", state="detached")
        assert "待我评估" in page.inner_text("body")
    # blind: while open, nobody sees results
    sid = httpx.get(f"{server.url}/api/v1/calibration-sessions", headers=server.headers("sam")).json()[0]["id"]
    assert httpx.get(f"{server.url}/api/v1/calibration-sessions/{sid}/results",
                     headers=server.headers("sam")).status_code == 409
    page.get_by_role("button", name="结束会话").click()
    page.wait_for_selector("#cal-results >> text=总体 Fleiss κ")
    results = httpx.get(f"{server.url}/api/v1/calibration-sessions/{sid}/results",
                        headers=server.headers("sam")).json()
    shown = page.locator("#cal-overall-kappa").inner_text()
    assert shown == f"{results['overall']['kappa']:.3f}"
    assert "greeting" in page.locator("#cal-results").inner_text()
    assert {r["rule_id"]: r["rate"] for r in results["rules"]}["greeting"] == 1.0
    shot(page, screenshots, "calibration-zh")
    page.goto(f"{server.url}/ui/calibration?lang=en")
    page.locator(".cal-show").first.click()
    page.wait_for_selector("#cal-results >> text=Overall Fleiss' κ")
    assert page.locator("h1").inner_text() == "Evaluation & calibration"
    shot(page, screenshots, "calibration-en")
