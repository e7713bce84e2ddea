"""End to end in headless Chromium: sign-in, role scoping on every page, the call page's player and
findings, a dispute opened by an agent and accepted by a supervisor, and screenshots in zh and en."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from .browser import csp_checked_context, shot, sign_in
from .conftest import UiServer


def test_wrong_password_is_refused_and_pages_need_sign_in(context: Any, ui_server: UiServer,
                                                          screenshots: Path) -> None:
    page = context.new_page()
    page.goto(f"{ui_server.url}/ui/calls")
    assert "/ui/login" in page.url  # not signed in: sent to the sign-in page
    shot(page, screenshots, "login-zh")
    page.get_by_label("用户名").fill("sue")
    page.get_by_label("密码", exact=True).fill("not-her-password")
    page.locator("#signin").click()
    assert page.get_by_role("alert").inner_text().strip() == "用户名、密码或 API 密钥不正确。"
    # an API key signs in too
    page.locator("details summary").click()
    page.get_by_label("API 密钥").fill(ui_server.keys["sue"])
    with page.expect_navigation(url=f"{ui_server.url}/ui/calls", wait_until="domcontentloaded", timeout=60_000):
        page.locator("#signin").click()
    assert page.locator(".who strong").inner_text() == "sue"


def test_session_cookie_is_httponly_and_unsafe_api_calls_need_the_csrf_header(context: Any,
                                                                              ui_server: UiServer) -> None:
    sign_in(context, ui_server, "sue")
    cookie = next(c for c in context.cookies() if c["name"] == "qa_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert "." not in cookie["value"] and len(cookie["value"]) >= 43  # a random token: nothing signed to forge
    jar = {"qa_session": cookie["value"]}
    call = ui_server.calls["bob-bad"]
    with httpx.Client(base_url=ui_server.url, cookies=jar) as http:
        assert http.get(f"/api/v1/calls/{call}").status_code == 200  # the cookie authenticates API reads
        forged = http.post(f"/api/v1/calls/{call}/findings/greeting/override",
                           json={"status": "pass", "comment": "cross-site"})
        assert forged.status_code == 403 and "X-CSRF-Token" in forged.json()["detail"]
    with httpx.Client(base_url=ui_server.url, cookies={"qa_session": cookie["value"][:-2] + "xx"}) as http:
        assert http.get("/api/v1/calls").status_code == 401  # a tampered cookie is no session


def test_sign_out_in_the_browser_revokes_the_session(context: Any, ui_server: UiServer) -> None:
    page = sign_in(context, ui_server, "carl")
    response = page.goto(f"{ui_server.url}/ui/")
    assert response is not None
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"] and headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
    page.wait_for_selector("#failed-rules .bars, #failed-rules .empty")
    assert page.evaluate("document.querySelectorAll('[data-style]').length") == 0  # styles applied via CSSOM
    cookie = next(c for c in context.cookies() if c["name"] == "qa_session")["value"]
    with page.expect_navigation(url=f"{ui_server.url}/ui/login"):
        page.locator(".account form button").click()  # POST /ui/logout with the page's CSRF token
    with httpx.Client(base_url=ui_server.url, cookies={"qa_session": cookie}) as http:
        assert http.get("/api/v1/calls").status_code == 401  # the old cookie, replayed: revoked server-side
        assert http.get("/ui/", follow_redirects=False).headers["location"].startswith("/ui/login")
    page.goto(f"{ui_server.url}/ui/calls")
    assert "/ui/login" in page.url


def test_agent_sees_only_own_calls_everywhere(context: Any, ui_server: UiServer, screenshots: Path) -> None:
    page = sign_in(context, ui_server, "alice")
    assert page.url.endswith("/ui/me")
    page.wait_for_selector("#me-call-list table")
    mine = page.locator("#me-call-list .call-link").all_inner_texts()
    assert mine and all(text.startswith("alice-") for text in mine), mine
    shot(page, screenshots, "agent-page-zh")

    page.goto(f"{ui_server.url}/ui/calls")
    page.wait_for_selector("#calls-table table")
    listed = page.locator("#calls-table .call-link").all_inner_texts()
    assert len(listed) == 4 and all(text.startswith("alice-") for text in listed), listed
    assert page.locator("#calls-total").inner_text() == "共 4 通"

    page.goto(f"{ui_server.url}/ui/")
    page.wait_for_selector("#recent table")
    assert all(t.startswith("alice-") for t in page.locator("#recent .call-link").all_inner_texts())
    assert "bob" not in page.locator("#by-agent").inner_text()

    response = page.goto(f"{ui_server.url}/ui/calls/{ui_server.calls['bob-bad']}")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "找不到该通话"
    other = page.request.get(f"{ui_server.url}/api/v1/calls/{ui_server.calls['bob-bad']}/audio")
    assert other.status == 404


def test_supervisor_clicks_failed_evidence_and_the_player_seeks_there(context: Any, ui_server: UiServer,
                                                                      screenshots: Path) -> None:
    page = sign_in(context, ui_server, "sue")
    assert page.url.endswith("/ui/")
    page.wait_for_selector("#recent table")
    page.wait_for_selector("#failed-rules .bars")
    shot(page, screenshots, "dashboard-zh")
    agents = page.locator("#by-agent").inner_text()
    assert "alice" in agents and "bob" in agents and "carol" not in agents  # team t2 is not sue's

    page.goto(f"{ui_server.url}/ui/calls")
    page.wait_for_selector("#calls-table table")
    assert "carol" not in page.locator("#calls-table").inner_text()
    page.locator("#f-agent").fill("bob")
    page.get_by_role("button", name="应用").click()
    page.wait_for_function("() => document.querySelectorAll('#calls-table .call-link').length === 2")
    page.locator("#f-agent").fill("")
    page.get_by_role("button", name="应用").click()
    page.wait_for_function("() => document.querySelectorAll('#calls-table .call-link').length === 6")
    shot(page, screenshots, "calls-zh")

    page.goto(f"{ui_server.url}/ui/calls/{ui_server.calls['alice-audio']}")
    page.wait_for_selector(".finding")
    page.wait_for_function("() => document.querySelector('#player').readyState >= 1")
    report = httpx.get(f"{ui_server.url}/api/v1/calls/{ui_server.calls['alice-audio']}",
                       headers=ui_server.headers("sue")).json()["report"]
    with_evidence = [f for f in report["findings"] if f["evidence"]]
    target = next((f for f in with_evidence if f["status"] == "fail"), with_evidence[-1])
    start = target["evidence"][-1]["start"]
    assert start > 1.0, "pick evidence away from the start so a seek is visible"
    page.locator(f"#finding-{target['rule_id']} .evidence").last.click()
    page.wait_for_function(f"() => Math.abs(document.querySelector('#player').currentTime - {start}) < 0.6")
    position = page.evaluate("document.querySelector('#player').currentTime")
    assert abs(position - start) < 0.6, (position, start)
    assert page.locator(".utt.playing").count() == 1
    page.evaluate("document.querySelector('#player').pause()")
    assert page.locator("#timeline .seg.agent").count() > 0 and page.locator("#timeline .seg.customer").count() > 0
    shot(page, screenshots, "call-zh")


def test_agent_disputes_and_supervisor_accepts(browser: Any, ui_server: UiServer, screenshots: Path) -> None:
    call = ui_server.calls["alice-bad"]
    before = httpx.get(f"{ui_server.url}/api/v1/calls/{call}", headers=ui_server.headers("alice")).json()
    greeting = next(f for f in before["report"]["findings"] if f["rule_id"] == "greeting")
    assert greeting["status"] == "fail"

    with csp_checked_context(browser, locale=None) as agent_ctx:
        page = sign_in(agent_ctx, ui_server, "alice")
        page.goto(f"{ui_server.url}/ui/calls/{call}")
        finding = page.locator("#finding-greeting")
        finding.get_by_text("申诉", exact=True).click()
        finding.get_by_label("申诉理由").fill("我说了“您好”，只是录音开头被截断了。")
        finding.get_by_role("button", name="提交申诉").click()
        page.wait_for_selector("#finding-greeting >> text=申诉处理中")
        assert "待裁定" in page.locator("#history").inner_text()
        page.goto(f"{ui_server.url}/ui/me")
        page.wait_for_selector("#me-dispute-list table")
        assert page.locator("#me-disputes").inner_text() == "1"

    with csp_checked_context(browser, locale=None) as sup_ctx:
        page = sign_in(sup_ctx, ui_server, "sue")
        page.goto(f"{ui_server.url}/ui/calls/{call}")
        page.wait_for_selector("#history form.decide")
        page.get_by_label("裁定说明（可选）").fill("同意，开头确有问候。")
        page.get_by_role("button", name="接受申诉").click()
        page.wait_for_selector("#history >> text=已接受")
        shown = float(page.locator("#score-value").inner_text())
    after = httpx.get(f"{ui_server.url}/api/v1/calls/{call}", headers=ui_server.headers("sue")).json()
    assert after["score"] is not None and before["score"] is not None and after["score"] > before["score"]
    assert shown == pytest.approx(after["score"], abs=0.05)
    assert next(f for f in after["report"]["findings"] if f["rule_id"] == "greeting")["status"] == "pass"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_main_pages_render_in_both_languages(browser: Any, ui_server: UiServer, screenshots: Path,
                                             lang: str) -> None:
    with csp_checked_context(browser, locale=None) as ctx:
        page = sign_in(ctx, ui_server, "root", lang=lang)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        expected = {"zh": ("质检总览", "通话列表", "周质检分析", "质检规则包", "实时监听"),
                    "en": ("Quality dashboard", "Calls", "Weekly analysis", "Rule packs", "Live monitor")}[lang]
        for path, title, ready in zip(["/ui/", "/ui/calls", "/ui/analysis", "/ui/packs", "/ui/live"], expected,
                                      ["#recent table", "#calls-table table", "#an-problems .bars",
                                       "#pack-rules details", "main .empty"], strict=True):
            page.goto(f"{ui_server.url}{path}")
            page.wait_for_selector(ready)
            assert page.locator("h1").first.inner_text() == title
            shot(page, screenshots, f"{path.strip('/').split('/')[-1] or 'dashboard'}-{lang}-admin")
        page.goto(f"{ui_server.url}/ui/calls/{ui_server.calls['alice-audio']}")
        page.wait_for_selector(".finding")
        shot(page, screenshots, f"call-{lang}-admin")
        assert not errors, errors
        html = page.content()
        assert ("Findings" in html) == (lang == "en") and ("质检结果" in html) == (lang == "zh")


def test_supervisor_clicks_a_failed_finding_and_hears_that_moment(browser: Any, ui_server: UiServer,
                                                                  screenshots: Path) -> None:
    """The acceptance test of the call page: a real recording scored by the worker with team t2's pack fails
    ``forbidden_closing`` on words the agent says at ~25 s; carl (t2's supervisor) clicks that finding's evidence,
    then its timeline marker, and each time the player jumps there and plays."""
    call = ui_server.calls["carol-audio"]
    body = httpx.get(f"{ui_server.url}/api/v1/calls/{call}", headers=ui_server.headers("carl")).json()
    assert (body["status"], body["report"]["pack"]["id"]) == ("done", "zh-ui-strict"), body["status"]
    failed = next(f for f in body["report"]["findings"] if f["rule_id"] == "forbidden_closing")
    assert failed["status"] == "fail" and failed["evidence"], failed
    evidence = failed["evidence"][0]
    start = evidence["start"]
    assert "感谢" in evidence["text"] and 20.0 < start < body["duration"] - 1.0, evidence
    assert httpx.get(f"{ui_server.url}/api/v1/calls/{call}",
                     headers=ui_server.headers("sue")).status_code == 404  # team t2 is not sue's

    with csp_checked_context(browser, locale=None) as ctx:
        page = sign_in(ctx, ui_server, "carl")
        page.goto(f"{ui_server.url}/ui/calls/{call}")
        page.wait_for_selector("#finding-forbidden_closing .evidence")
        page.wait_for_function("() => document.querySelector('#player').readyState >= 1")
        assert page.evaluate("document.querySelector('#player').paused")
        finding = page.locator("#finding-forbidden_closing")
        assert "f-fail" in (finding.get_attribute("class") or "")
        assert finding.locator(".badge.fs-fail").inner_text() == "未通过"

        def hears(expected: float) -> None:
            """The player sits at ``expected`` and plays on from there (its clock moves forward)."""
            page.wait_for_function(
                f"() => (p => !p.paused && p.currentTime >= {expected} - 0.3 && p.currentTime < {expected} + 1.0)"
                "(document.querySelector('#player'))")
            first = page.evaluate("document.querySelector('#player').currentTime")
            assert abs(first - expected) < 0.6, (first, expected)
            page.wait_for_function(f"() => document.querySelector('#player').currentTime > {first} + 0.2")
            assert not page.evaluate("document.querySelector('#player').paused")
            playing = page.locator(".utt.playing")
            assert playing.count() == 1 and "感谢" in playing.inner_text()

        finding.locator(".evidence").first.click()
        hears(start)
        page.evaluate("(p => { p.pause(); p.currentTime = 0; })(document.querySelector('#player'))")
        marker = page.locator("#timeline .marker")
        assert marker.count() == 1 and "forbidden_closing" in (marker.get_attribute("aria-label") or "")
        marker.click()
        hears(start)
        page.evaluate("document.querySelector('#player').pause()")
        shot(page, screenshots, "call-failed-zh")
        page.goto(f"{ui_server.url}/ui/calls/{call}?lang=en")
        page.wait_for_selector("#finding-forbidden_closing .evidence")
        assert page.locator("#finding-forbidden_closing .badge.fs-fail").inner_text() == "Fail"
        label = page.locator("#timeline .marker").get_attribute("aria-label")
        assert label == f"forbidden_closing failed at {int(start) // 60}:{int(start) % 60:02d}: play", label
        shot(page, screenshots, "call-failed-en")
