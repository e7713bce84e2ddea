"""Hostile values in every field a user or a caller controls, shown on every page that shows them, in headless Chromium.

Each value carries HTML that would run script (``<img onerror>``, ``<svg onload>``, ``<script>``), breaks out of an
attribute, of JSON in HTML (``</script>``) or of CSS (``</style>``), looks like a template (``{{7*7}}``, ``${7*7}``,
a UI placeholder, a JavaScript replacement pattern) and ends in an unterminated right-to-left override. On every page:
no injected element, no script run (a window flag), no dialog, no CSP violation (the context's check), no
``javascript:`` link, the value shown as the text it is, and the override contained (it may not reorder what the page
shows after the value). The CSV exports of the same data neutralise every cell a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest

from .browser import csp_checked_context, sign_in
from .conftest import UiServer, light_server

AUDIO = Path(__file__).parents[1] / "data" / "call_zh_stereo.flac"
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE, left open: it would reverse whatever follows it in the same paragraph
#: Markup that would run script (each injected element carries ``data-qaxss``, each handler sets ``window.qaXss``).
HTML = '<img src=x data-qaxss onerror=qaXss=1>"><svg data-qaxss onload=qaXss=1>'
#: What templates, the UI's placeholders and String.replace patterns would expand.
TEMPLATE = "{{7*7}}${7*7}{n}{time}$&"


def hostile(tag: str, *, slash: bool = True) -> str:
    """A value for one field: ``tag`` names it; ``slash``: with ``</script></style>`` (not in names that are URL
    path segments, where a ``/`` would split the path)."""
    return f"{tag}{HTML}{'</script></style>' if slash else ''}{TEMPLATE}{RLO}"


AGENT = hostile("Ag", slash=False)
SUPERVISOR = hostile("Su", slash=False)
REVIEWER = hostile("Re", slash=False)
TEAM = hostile("Tm", slash=False)
CALL_ID = hostile("Cid")
#: An upload's call id is its file name's stem; no ``"`` (a client sends it as %22).
AUDIO_STEM = f"Fn<img src=x data-qaxss onerror=qaXss=1>{TEMPLATE}{RLO}"
UTTERANCE = hostile("Utt")
COMMENT = hostile("Coach")
REPLY = hostile("Reply")
DISPUTE = hostile("Dispute")
OVERRIDE = hostile("Override")
PACK_NAME = hostile("PackName")
PACK_DESCRIPTION = hostile("PackDesc")
RULE_SUMMARY = hostile("Summary")
GRADE = f"Grd<svg data-qaxss onload=qaXss=1>{{n}}$&{RLO}"
FORM_NAME = hostile("Form")
ITEM_LABEL = hostile("Item")
EVAL_COMMENT = hostile("Eval")
SESSION_NAME = hostile("Session")
PLAN_CATEGORY = f"Cat<svg data-qaxss onload=qaXss=1>{{n}}$&{RLO}"  # at most 64 characters
QUERY = "Utt" + HTML
PASSWORDS = {AGENT: "agent-password", SUPERVISOR: "super-password", REVIEWER: "review-password",
             "root": "root-password"}


def pack_yaml() -> str:
    """A pack for the hostile team: its name, description, a rule summary and a grade label are hostile."""
    q = json.dumps
    return f"""\
pack: zh-hostile
version: "1.0.0"
language: zh
name: {q(PACK_NAME)}
description: {q(PACK_DESCRIPTION)}
grades: {{{q(GRADE)}: 0}}
rules:
  - id: greeting
    type: phrase_in_window
    summary: {q(RULE_SUMMARY)}
    description: {q(RULE_SUMMARY)}
    weight: 100
    severity: major
    role: agent
    window: {{anchor: first_agent_turns, turns: 2, within_s: 15}}
    match:
      threshold: 80
      phrases: [您好很高兴为您服务]
"""


class Api:
    """The HTTP API as one user; every answer must be the status asked for."""

    def __init__(self, server: UiServer, user: str) -> None:
        self.http = httpx.Client(base_url=f"{server.url}/api/v1", headers=server.headers(user), timeout=30)

    def __call__(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json() if "json" in response.headers.get("content-type", "") else response.text


def _seed(server: UiServer) -> None:
    root, sup, agent = Api(server, "root"), Api(server, SUPERVISOR), Api(server, AGENT)
    root("POST", "/packs", 201, content=pack_yaml().encode(), headers={"Content-Type": "application/yaml"})
    root("PUT", f"/teams/{quote(TEAM, safe='')}/pack", json={"pack_id": "zh-hostile", "version": None})
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    transcript = {"language": "zh", "call_id": CALL_ID, "agent": AGENT, "started_at": started.isoformat(),
                  "utterances": [{"role": "agent", "start": 0.0, "end": 3.0, "text": UTTERANCE},
                                 {"role": "customer", "start": 3.5, "end": 6.0, "text": UTTERANCE}]}
    call = sup("POST", "/calls", 201, json=transcript)["id"]
    server.calls["call"] = call
    queued = sup("POST", "/calls", 202, files={"file": (f"{AUDIO_STEM}.flac", AUDIO.read_bytes(), "audio/flac")},
                 data={"agent": AGENT, "language": "zh"})
    server.calls["queued"] = queued["id"]
    thread = sup("POST", f"/calls/{call}/comments", 201, json={"text": COMMENT})
    agent("POST", f"/calls/{call}/comments", 201, json={"text": REPLY, "parent": thread["id"]})
    agent("POST", f"/calls/{call}/findings/greeting/dispute", 201, json={"comment": DISPUTE})
    sup("POST", f"/calls/{call}/findings/greeting/override", 201, json={"status": "pass", "comment": OVERRIDE})
    form = root("POST", "/evaluation-forms", 201, json={
        "team": TEAM, "name": FORM_NAME, "auto_weight": 0.5,
        "items": [{"id": "x1", "label": ITEM_LABEL, "weight": 1, "max": 1, "allow_na": True}]})
    evaluation = sup("POST", f"/calls/{call}/evaluations", 201, json={
        "form": form["id"], "answers": [{"item": "x1", "value": 1, "comment": EVAL_COMMENT}], "comment": EVAL_COMMENT})
    sup("POST", f"/evaluations/{evaluation['id']}/release")
    sup("POST", "/calibration-sessions", 201, json={"name": SESSION_NAME, "team": TEAM, "form": form["id"],
                                                     "calls": [call], "reviewers": [SUPERVISOR, REVIEWER]})
    sup("POST", "/sampling-plans", 201, json={"team": TEAM, "percent": 100,
                                              "include": {"category": PLAN_CATEGORY, "grade": GRADE}})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    users = [(AGENT, "agent", TEAM), (SUPERVISOR, "supervisor", TEAM), (REVIEWER, "supervisor", TEAM),
             ("root", "admin", None)]
    with light_server(tmp_path_factory, "hostile", users, PASSWORDS) as ui:
        _seed(ui)
        yield ui


#: The page check, run in the page with the override character as its argument (see the file's comment).
PAGE_PROBLEMS = (Path(__file__).parent / "page_problems.js").read_text("utf-8")


def visible(text: str) -> str:
    """``text`` without its bidi controls (invisible; the page may isolate a value that holds one)."""
    return text.translate(dict.fromkeys(range(0x202A, 0x202F)) | dict.fromkeys(range(0x2066, 0x206A)))


def problems(page: Any) -> list[str]:
    page.wait_for_load_state("networkidle")
    found: list[str] = page.evaluate(PAGE_PROBLEMS, RLO)
    return found


def visit(page: Any, url: str, ready: str, shown: dict[str, str], dialogs: list[str]) -> list[str]:
    """Open ``url``, wait for ``ready``; what is wrong there (also: each of ``shown``'s selectors must hold its value
    as text, and no dialog may have opened)."""
    page.goto(url)
    page.wait_for_selector(ready, state="attached")
    found = [f"{url}: {p}" for p in problems(page)]
    for selector, value in shown.items():
        texts = page.locator(selector).all_text_contents()
        if not any(visible(value) in visible(text) for text in texts):
            found.append(f"{url}: {selector} does not show {value!r} as text: {texts[:3]!r}")
    found += [f"{url}: dialog {d!r}" for d in dialogs]
    dialogs.clear()
    return found


@pytest.fixture()
def tab(browser: Any, server: UiServer) -> Iterator[Any]:
    """A signed-in page factory (one CSP-checked context per user); dialogs are recorded and dismissed."""
    with csp_checked_context(browser) as ctx:
        dialogs: list[str] = []
        ctx.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        def open_as(user: str) -> tuple[Any, list[str]]:
            ctx.clear_cookies()
            return sign_in(ctx, server, user), dialogs
        yield open_as


def test_supervisor_pages_show_hostile_values_as_text(tab: Any, server: UiServer) -> None:
    page, dialogs = tab(SUPERVISOR)
    call, base = server.calls["call"], server.url
    found: list[str] = []
    found += visit(page, f"{base}/ui/calls/{call}", "#coaching-threads .coaching-reply-item", {
        "#call-title": CALL_ID, "#call-meta": AGENT, ".utt-text": UTTERANCE, ".coaching-text": COMMENT,
        "#history": DISPUTE, ".human-note": OVERRIDE, "#ev-list": EVAL_COMMENT, "header .who": SUPERVISOR}, dialogs)
    page.locator("#ev-list details summary").first.click()
    found += [f"evaluation details: {p}" for p in problems(page)]
    found += visit(page, f"{base}/ui/", "#recent table", {"#recent": CALL_ID, "#by-agent": AGENT, "#by-team": TEAM},
                   dialogs)
    found += visit(page, f"{base}/ui/calls", "#calls-table table", {"#calls-table": AUDIO_STEM}, dialogs)
    filters = urlencode({"agent": AGENT, "team": TEAM, "grade": GRADE, "category": PLAN_CATEGORY,
                         "failed_rule": CALL_ID, "sort": CALL_ID})
    found += visit(page, f"{base}/ui/calls?{filters}", "#calls-table .empty, #calls-table table, #calls-table .alert",
                   {}, dialogs)
    found += visit(page, f"{base}/ui/inbox?{urlencode({'team': TEAM, 'state': CALL_ID})}", "#inbox-plans table",
                   {"#inbox-plans": PLAN_CATEGORY}, dialogs)
    found += visit(page, f"{base}/ui/inbox", "#inbox-table table", {"#inbox-table": CALL_ID}, dialogs)
    found += visit(page, f"{base}/ui/agents/{quote(AGENT, safe='')}", "#ag-recent table",
                   {"h1": AGENT, "#ag-disputes": DISPUTE, "#coaching-history-list": COMMENT}, dialogs)
    found += visit(page, f"{base}/ui/search?{urlencode({'q': QUERY, 'agent': AGENT})}", "#search-results .search-hit",
                   {"#search-results": UTTERANCE}, dialogs)
    found += visit(page, f"{base}/ui/calibration", "#cal-sessions table",
                   {"#cal-sessions": SESSION_NAME, "#cal-forms": ITEM_LABEL, "#cal-calls": CALL_ID}, dialogs)
    page.locator(".cal-eval").first.click()
    page.wait_for_selector("#cal-eval-box form")
    found += [f"calibration form: {p}" for p in problems(page)]
    found += visit(page, f"{base}/ui/packs", "#pack-list li", {"#pack-list": "zh-hostile"}, dialogs)
    page.locator(".pack-item", has_text="zh-hostile").click()
    page.wait_for_selector("#pack-rules details")
    found += [f"pack: {p}" for p in problems(page)]
    found += visit(page, f"{base}/ui/analysis", "#an-agents .bars", {"#an-agents": AGENT}, dialogs)
    found += visit(page, f"{base}/ui/calls/{quote(AGENT, safe='')}", "main", {}, dialogs)  # not found
    found += visit(page, f"{base}/ui/agents/{quote(REVIEWER, safe='')}", "main", {}, dialogs)  # not an agent
    assert not found, "\n".join(found)


def test_agent_pages_show_hostile_values_as_text(tab: Any, server: UiServer) -> None:
    page, dialogs = tab(AGENT)
    base = server.url
    found: list[str] = []
    found += visit(page, f"{base}/ui/me", "#me-call-list table", {
        "#me-call-list": CALL_ID, "#coaching-history-list": COMMENT, "h1": AGENT}, dialogs)
    found += visit(page, f"{base}/ui/calls/{server.calls['call']}", "#coaching-threads .coaching-thread",
                   {".coaching-text": REPLY, "#ev-list": EVAL_COMMENT}, dialogs)
    found += visit(page, f"{base}/ui/search?{urlencode({'q': QUERY})}", "#search-results .search-hit",
                   {"#search-results": CALL_ID}, dialogs)
    found += visit(page, f"{base}/ui/", "#recent table", {"#recent": CALL_ID}, dialogs)
    assert not found, "\n".join(found)


def test_admin_form_editor_and_sign_in_page(tab: Any, browser: Any, server: UiServer) -> None:
    page, dialogs = tab("root")
    found = visit(page, f"{server.url}/ui/calibration", "#fe-load-form option", {"#cal-forms": FORM_NAME}, dialogs)
    page.locator("#fe-load-form").select_option(label=page.locator("#fe-load-form option").first.inner_text())
    page.locator("#fe-load").click()
    page.wait_for_function("() => document.querySelector('#fe-source').textContent !== ''")
    assert page.locator('#fe-items [data-field="label"]').first.input_value() == ITEM_LABEL
    found += [f"form editor: {p}" for p in problems(page)]
    with csp_checked_context(browser) as anonymous:
        login = anonymous.new_page()
        found += visit(login, f"{server.url}/ui/login?{urlencode({'next': '/ui/' + CALL_ID})}", "#signin", {}, dialogs)
        login.get_by_label("用户名").fill(AGENT)
        login.get_by_label("密码", exact=True).fill("wrong-password")
        login.locator("#signin").click()
        login.wait_for_selector(".alert")
        found += [f"failed sign-in: {p}" for p in problems(login)]
        assert login.get_by_label("用户名").input_value() == AGENT
    assert not found, "\n".join(found)


def test_csv_exports_neutralise_formulas(server: UiServer) -> None:
    """Every text cell starting like a formula (here: names, ids and labels that start with = + - @) is prefixed."""
    names = {"=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1)"}
    sup = Api(server, SUPERVISOR)
    for name in names:
        doc = {"language": "zh", "call_id": name, "agent": AGENT,
               "utterances": [{"role": "agent", "start": 0.0, "end": 1.0, "text": name}]}
        sup("POST", "/calls", 201, json=doc)
    exports = [sup("GET", "/calls/export", params={"format": "csv"}),
               sup("GET", "/analysis/weekly", params={"format": "csv"}),
               sup("GET", f"/scorecards/agents/{quote(AGENT, safe='')}", params={"format": "csv"}),
               sup("GET", f"/scorecards/teams/{quote(TEAM, safe='')}", params={"format": "csv"})]
    for text in exports:
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                assert not cell.lstrip(" ").startswith(("=", "+", "-", "@")) or _number(cell), (cell, row)
    calls = list(csv.DictReader(io.StringIO(exports[0])))
    assert {row["call_id"] for row in calls} >= {"'" + name for name in names}


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
