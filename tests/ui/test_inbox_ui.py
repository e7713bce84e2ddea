"""The supervisor inbox in Chromium: queue with reasons, assign to me / start / done, a sampling plan made in the
page, the dashboard's disputes tile linking here; an agent has no inbox. Transcripts only (no speech model)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ..labelled_pack import LABELLED_PACK, LABELLED_PACK_ID
from .browser import sign_in
from .conftest import BAD, GOOD, SCREENSHOTS, UiServer, light_server, post_transcript


@pytest.fixture(scope="module")
def inbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """sue (supervisor, t1), alice and bob (agents, t1); alice's call is disputed, bob's is good, one is bad."""
    users = [("sue", "supervisor", "t1"), ("alice", "agent", "t1"), ("bob", "agent", "t1")]
    with light_server(tmp_path_factory, "inbox", users) as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for label, base, agent in [("alice-good", GOOD, "alice"), ("bob-good", GOOD, "bob"),
                                       ("bob-bad", BAD, "bob")]:
                doc = {**copy.deepcopy(base), "call_id": label, "agent": agent}
                server.calls[label] = post_transcript(http, server, "sue", doc)
            report = http.get(f"/api/v1/calls/{server.calls['alice-good']}", headers=server.headers("alice")).json()
            rule = next(f["rule_id"] for f in report["report"]["findings"] if f["status"] in ("pass", "fail"))
            response = http.post(f"/api/v1/calls/{server.calls['alice-good']}/findings/{rule}/dispute",
                                 json={"comment": "请复核"}, headers=server.headers("alice"))
            assert response.status_code == 201, response.text
        yield server


def _row(page: Any, call_id: str) -> Any:
    return page.locator("#inbox-table tr", has=page.locator(f"a:text-is('{call_id}')"))


def test_supervisor_works_the_inbox_and_makes_a_sampling_plan(context: Any, inbox_server: UiServer) -> None:
    page = sign_in(context, inbox_server, "sue")
    page.goto(f"{inbox_server.url}/ui/")
    tile = page.locator("#kpi-disputes-link")
    tile.locator("#kpi-disputes").filter(has_text="1").wait_for()
    tile.click()  # the dashboard's open-disputes tile opens the inbox, filtered
    page.wait_for_url("**/ui/inbox?**")
    assert page.locator("nav a.active").inner_text() == "待办"
    disputed = _row(page, "alice-good")
    disputed.wait_for()
    assert "申诉" in disputed.inner_text() and "alice" in disputed.inner_text()
    assert page.locator("#inbox-table tbody tr").count() == 1  # reason=dispute from the tile's link

    page.select_option("#inbox-reason", "")
    page.select_option("#inbox-state", "")
    page.locator("#inbox-filters button[type=submit]").click()
    _row(page, "bob-bad").wait_for()
    assert "严重违规" in _row(page, "bob-bad").inner_text() or "低分" in _row(page, "bob-bad").inner_text()
    assert _row(page, "bob-good").count() == 0  # a good call is not in the queue until it is sampled

    page.locator("#plan-percent").fill("100")
    page.locator("#inbox-plan-form button[type=submit]").click()
    _row(page, "bob-good").wait_for()  # drawn by the new plan
    assert "抽检" in _row(page, "bob-good").inner_text()
    page.locator("#inbox-plans td", has_text="100%").wait_for()

    bad = _row(page, "bob-bad")
    bad.get_by_role("button", name="分配给我").click()
    _row(page, "bob-bad").locator("td:text-is('sue')").wait_for()
    _row(page, "bob-bad").get_by_role("button", name="开始复核").click()
    _row(page, "bob-bad").locator(".inbox-state", has_text="复核中").wait_for()
    _row(page, "bob-bad").get_by_role("button", name="完成").click()
    _row(page, "bob-bad").locator(".inbox-state", has_text="已完成").wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / "inbox-zh.png"), full_page=True)

    item = httpx.get(f"{inbox_server.url}/api/v1/review-queue/{inbox_server.calls['bob-bad']}",
                     headers=inbox_server.headers("sue")).json()
    assert (item["state"], item["assigned_to"], item["done_by"]) == ("done", "sue", "sue")


def test_agent_has_no_inbox(context: Any, inbox_server: UiServer) -> None:
    page = sign_in(context, inbox_server, "alice")
    assert page.locator("nav a", has_text="待办").count() == 0
    response = page.goto(f"{inbox_server.url}/ui/inbox")
    assert response is not None and response.status == 404
    assert page.locator("#inbox-table").count() == 0
    page.goto(f"{inbox_server.url}/ui/")
    assert page.locator("#kpi-disputes-link").get_attribute("href") == "/ui/me"


@pytest.fixture(scope="module")
def labelled_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """Team t9 scores with :data:`LABELLED_PACK`; bob's call there grades 差 (score 0: in sue's inbox)."""
    users = [("sue", "supervisor", "t9"), ("bob", "agent", "t9"), ("root", "admin", None)]
    with light_server(tmp_path_factory, "labelled", users) as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            admin = server.headers("root")
            response = http.post("/api/v1/packs", content=LABELLED_PACK.encode(),
                                 headers={**admin, "Content-Type": "application/yaml"})
            assert response.status_code == 201, response.text
            response = http.put("/api/v1/teams/t9/pack", json={"pack_id": LABELLED_PACK_ID}, headers=admin)
            assert response.status_code == 200, response.text
            doc = {**BAD, "call_id": "bob-bad", "agent": "bob"}
            server.calls["bob-bad"] = post_transcript(http, server, "sue", doc)
        yield server


def _assert_coloured_by_id(badge: Any) -> None:
    badge.wait_for()
    assert "g-d" in (badge.get_attribute("class") or "")
    assert (badge.inner_text(), badge.get_attribute("title")) == ("不合格", "差")


def test_grade_badges_take_their_colour_from_the_id(context: Any, labelled_server: UiServer) -> None:
    """The inbox and the agent page colour a pack's own label (差) by its id (fail) and name it in the UI language,
    the pack's label as the tooltip, as the call list does."""
    page = sign_in(context, labelled_server, "sue")
    page.goto(f"{labelled_server.url}/ui/inbox")
    _assert_coloured_by_id(_row(page, "bob-bad").locator(".badge"))
    page.goto(f"{labelled_server.url}/ui/agents/bob")
    row = page.locator("#ag-recent tr", has=page.locator("a:text-is('bob-bad')"))
    _assert_coloured_by_id(row.locator(".badge:not([class*='st-'])"))  # the grade's, not the status's
