"""The evaluation form editor of the calibration page in headless Chromium: an admin builds a form in the table
(add, reorder by keyboard, remove), saves it and finds the same JSON through the API; server validation errors
land on the row and field they name; the "advanced" JSON textarea and the table follow each other; a stored form
chosen from the forms the list API gives the user is loaded into the table (over unsaved edits only after a
confirm dialog), and saving it adds its next version. Any Content-Security-Policy violation fails the test (the
``context`` fixture).

A server of its own, with no calls and no speech model, so the module stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .browser import sign_in
from .conftest import UiServer, light_server

PASSWORDS = {"root": "root-password-1", "sue": "sue-password-1"}
ROWS = "#fe-items tr"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    with light_server(tmp_path_factory, "form-editor-ui", [("root", "admin", None), ("sue", "supervisor", "t1")],
                      PASSWORDS) as ui:
        yield ui


def forms_of(server: UiServer, team: str | None = None, user: str = "root") -> list[dict[str, Any]]:
    """What the list API answers ``user`` (newest first), for ``team`` or every team the user may see."""
    params = {"team": team} if team else {}
    response = httpx.get(f"{server.url}/api/v1/evaluation-forms", params=params, headers=server.headers(user))
    assert response.status_code == 200, response.text
    forms: list[dict[str, Any]] = response.json()
    return forms


def create_form(server: UiServer, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/api/v1/evaluation-forms", json=body, headers=server.headers("root"))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def field(page: Any, row: int, name: str) -> Any:
    """The input of ``name`` in table row ``row`` (1-based, as shown in the # column)."""
    return page.locator(f"{ROWS}:nth-child({row}) [data-field={name}]")


def focused(page: Any) -> str:
    """What the keyboard is on: an input's field, or a button's accessible name."""
    label: str = page.evaluate("""() => { const el = document.activeElement;
        return el.dataset.field || el.getAttribute('aria-label') || el.id; }""")
    return label


def open_editor(context: Any, server: UiServer, lang: str = "zh") -> Any:
    page = sign_in(context, server, "root", lang)
    page.goto(f"{server.url}/ui/calibration?lang={lang}")
    page.wait_for_selector(f"{ROWS}:nth-child(3)")  # the example form: three items
    return page


def test_build_form_in_table_reorder_by_keyboard_and_save(context: Any, server: UiServer, screenshots: Path) -> None:
    page = open_editor(context, server)
    page.locator("#fe-team").fill("t1")
    page.locator("#fe-name").fill("投诉处理评估表")
    page.get_by_label("自动分占比（0–1）").fill("0.4")
    page.get_by_role("button", name="删除第 3 项").click()
    assert page.locator(ROWS).count() == 2
    assert focused(page) == "删除第 2 项"  # the focus stays in the table

    page.get_by_role("button", name="添加评估项").click()
    assert focused(page) == "label"  # straight into the new row's question
    page.keyboard.type("安抚客户情绪")
    field(page, 3, "weight").fill("4")
    field(page, 3, "max").fill("3")
    field(page, 3, "critical").check()
    page.get_by_role("button", name="添加评估项").click()
    field(page, 4, "id").fill("ticket")
    field(page, 4, "label").fill("记录工单")
    field(page, 4, "allow_na").check()
    assert page.locator(ROWS).count() == 4

    page.get_by_role("button", name="上移第 3 项").focus()
    page.keyboard.press("Enter")
    assert focused(page) == "上移第 2 项"  # the focus moves with the row
    page.keyboard.press("Space")
    assert focused(page) == "下移第 1 项"  # at the top "up" is disabled: the focus goes to "down"
    assert field(page, 1, "label").input_value() == "安抚客户情绪"
    page.get_by_role("button", name="删除第 3 项").click()  # accuracy (was row 2, now 3)

    # weights 4, 2, 1: the shares of the manual score and the total follow every edit
    assert page.locator(f"{ROWS} .fe-share").all_inner_texts() == ["57%", "29%", "14%"]
    assert page.locator("#fe-total").inner_text() == "共 3 项 · 权重合计 7 · 人工分占最终分 60%"
    field(page, 2, "weight").fill("3")
    assert page.locator("#fe-total").inner_text() == "共 3 项 · 权重合计 8 · 人工分占最终分 60%"
    page.locator("#form-editor-card").screenshot(path=str(screenshots / "form-editor-zh.png"))

    page.get_by_role("button", name="保存评估表").click()
    page.wait_for_selector("#cal-forms >> text=安抚客户情绪、服务态度、记录工单")
    [stored] = forms_of(server, "t1")
    assert stored["name"] == "投诉处理评估表" and stored["auto_weight"] == 0.4 and stored["version"] == 1
    assert stored["items"] == [
        {"id": "item3", "label": "安抚客户情绪", "weight": 4.0, "max": 3, "allow_na": False, "critical": True},
        {"id": "attitude", "label": "服务态度", "weight": 3.0, "max": 5, "allow_na": False, "critical": False},
        {"id": "ticket", "label": "记录工单", "weight": 1.0, "max": 1, "allow_na": True, "critical": False}]


def test_server_validation_errors_shown_at_their_row(context: Any, server: UiServer) -> None:
    page = open_editor(context, server)
    page.locator("#fe-team").fill("t-errors")
    field(page, 2, "weight").fill("0")
    page.get_by_role("button", name="保存评估表").click()
    weight = field(page, 2, "weight")
    message = page.locator(f"{ROWS}:nth-child(2) .fe-msg")
    message.wait_for()
    assert "greater than 0" in message.inner_text()
    assert weight.get_attribute("aria-invalid") == "true" and focused(page) == "weight"
    assert page.locator("#form-editor [aria-invalid]").count() == 1  # only that field of that row
    assert "items.1.weight" in page.locator("#form-error").inner_text()

    weight.fill("2")  # editing the field clears its error
    assert weight.get_attribute("aria-invalid") is None and page.locator(".fe-msg").count() == 0
    field(page, 3, "id").fill("attitude")  # the use case's check: an id used twice, named by id
    page.get_by_role("button", name="保存评估表").click()
    page.wait_for_selector(f"{ROWS}:nth-child(3) .fe-msg")
    invalid = page.locator("#form-editor [aria-invalid=true]")
    assert invalid.count() == 2
    assert [field(page, row, "id").get_attribute("aria-invalid") for row in (1, 2, 3)] == ["true", None, "true"]
    assert "'attitude' is used twice" in page.locator(f"{ROWS}:nth-child(1) .fe-msg").inner_text()
    assert forms_of(server, "t-errors") == []


def test_advanced_json_round_trip_in_english(context: Any, server: UiServer) -> None:
    page = open_editor(context, server, "en")
    assert page.locator("#form-editor-card h2").inner_text() == "Evaluation form editor"
    page.get_by_text("Advanced: edit as JSON").click()
    text = page.locator("#form-json")
    shown = json.loads(text.input_value())
    assert [item["id"] for item in shown["items"]] == ["attitude", "accuracy", "security"]

    field(page, 1, "label").fill("Courtesy")  # table -> JSON
    page.get_by_role("button", name="Move item 1 down").click()
    shown = json.loads(text.input_value())
    assert [item["label"] for item in shown["items"]][:2] == ["业务准确性", "Courtesy"]

    doc = {"team": "t1", "name": "Round trip", "auto_weight": 0.25, "items": [
        {"id": "greet", "label": "Greets the customer", "weight": 2},
        {"id": "close", "label": "Closes politely", "max": 4, "critical": True}]}
    text.fill(json.dumps(doc))  # JSON -> table; what the JSON leaves out shows the schema's default
    assert page.locator(ROWS).count() == 2
    assert field(page, 2, "label").input_value() == "Closes politely"
    assert field(page, 2, "weight").input_value() == "1" and field(page, 2, "critical").is_checked()
    assert page.locator("#fe-name").input_value() == "Round trip"
    assert page.locator("#fe-total").inner_text() == "2 items · total weight 3 · manual score 75% of the final"

    text.fill('{"team": "t1", "items": [')  # half typed: the table waits
    page.wait_for_selector("#fe-json-error:has-text('Malformed JSON')")
    assert page.locator(ROWS).count() == 2
    text.fill(json.dumps(doc))
    assert page.locator("#fe-json-error").is_hidden()
    page.get_by_role("button", name="Save form").click()
    page.wait_for_selector("#cal-forms >> text=Round trip")
    stored = next(form for form in forms_of(server, "t1") if form["name"] == "Round trip")
    assert stored["auto_weight"] == 0.25
    assert stored["items"] == [
        {"id": "greet", "label": "Greets the customer", "weight": 2.0, "max": 1, "allow_na": False, "critical": False},
        {"id": "close", "label": "Closes politely", "weight": 1.0, "max": 4, "allow_na": False, "critical": True}]


def test_supervisors_get_no_editor(context: Any, server: UiServer) -> None:
    page = sign_in(context, server, "sue")
    page.goto(f"{server.url}/ui/calibration")
    page.wait_for_selector("#cal-forms")
    assert page.locator("#form-editor").count() == 0


LOADED = {"team": "t-load", "name": "升级评估表", "auto_weight": 0.3, "items": [
    {"id": "greet", "label": "标准问候", "weight": 1.0, "max": 1, "allow_na": False, "critical": False},
    {"id": "solve", "label": "一次解决问题", "weight": 2.0, "max": 5, "allow_na": True, "critical": False},
    {"id": "privacy", "label": "核实身份", "weight": 1.0, "max": 1, "allow_na": False, "critical": True}]}


def test_load_stored_form_change_one_weight_and_save_next_version(context: Any, server: UiServer) -> None:
    first = create_form(server, LOADED)
    page = open_editor(context, server)
    chooser = page.get_by_label("从已有评估表开始")
    page.wait_for_selector(f"#fe-load-form option[value='{first['id']}']", state="attached")
    # the chooser offers exactly what the list API gives this user, newest first
    offered = page.locator("#fe-load-form option").evaluate_all("options => options.map(o => Number(o.value))")
    assert offered == [form["id"] for form in forms_of(server)]
    option = page.locator(f"#fe-load-form option[value='{first['id']}']")
    assert option.inner_text() == "t-load · 升级评估表 · v1 (当前)"

    chooser.select_option(str(first["id"]))  # by keyboard: the chooser, then Tab to the button and Enter
    chooser.focus()
    page.keyboard.press("Tab")
    assert focused(page) == "fe-load"
    page.keyboard.press("Enter")
    page.wait_for_selector("#fe-source:has-text('已载入 t-load · 升级评估表 v1')")
    assert page.locator("#fe-name").input_value() == "升级评估表"
    assert page.locator(ROWS).count() == 3
    assert [field(page, row, "id").input_value() for row in (1, 2, 3)] == ["greet", "solve", "privacy"]
    assert field(page, 3, "critical").is_checked() and field(page, 2, "allow_na").is_checked()
    assert page.locator("#fe-team").input_value() == "t-load"
    assert json.loads(page.locator("#form-json").input_value()) == LOADED  # the body to send, nothing else
    assert "第 2 版" in page.locator("#fe-source").inner_text()  # what saving will make

    field(page, 2, "weight").fill("4")
    page.get_by_role("button", name="保存评估表").click()
    page.wait_for_selector("#fe-source:has-text('已保存：t-load · 升级评估表 第 2 版')")
    newest, oldest = forms_of(server, "t-load")
    assert (newest["version"], newest["current"], oldest["id"]) == (2, True, first["id"])
    changed = [{**item, "weight": 4.0} if item["id"] == "solve" else item for item in LOADED["items"]]
    assert {key: newest[key] for key in LOADED} == {**LOADED, "items": changed}
    assert oldest["items"] == LOADED["items"]  # version 1 is never edited
    assert page.locator("#fe-load-form").input_value() == str(newest["id"])  # the chooser follows the save


def test_chooser_shows_only_forms_the_user_may_see(context: Any, server: UiServer) -> None:
    other = create_form(server, {**LOADED, "team": "t2", "name": "别组评估表"})
    assert other["id"] not in [form["id"] for form in forms_of(server, user="sue")]
    page = sign_in(context, server, "sue")
    page.goto(f"{server.url}/ui/calibration")
    page.wait_for_selector("#cal-forms table, #cal-forms .empty", state="attached")
    assert page.locator("#fe-load-form").count() == 0  # supervisors may not create forms: no editor, no chooser
    assert "别组评估表" not in page.content()

    admin = open_editor(context, server)
    admin.wait_for_selector(f"#fe-load-form option[value='{other['id']}']", state="attached")


def load_stored(page: Any, form_id: int) -> None:
    """Choose ``form_id`` and press "load"; returns once any dialog the click raised has been answered."""
    page.get_by_label("从已有评估表开始").select_option(str(form_id))
    page.evaluate("document.querySelector('#fe-source').textContent = ''")
    page.get_by_role("button", name="载入编辑器").click()
    page.evaluate("0")  # a confirm() blocks the page until the dialog handler answers: this waits for it


def test_loading_a_stored_form_asks_first_only_over_unsaved_edits(context: Any, server: UiServer) -> None:
    """Loading replaces the table: unsaved edits are lost only when the user says so in a real confirm dialog."""
    body = {**LOADED, "team": "t-ask", "name": "确认评估表"}
    stored = create_form(server, body)
    loaded = "#fe-source:has-text('已载入 t-ask · 确认评估表 v1')"
    page = open_editor(context, server)
    page.wait_for_selector(f"#fe-load-form option[value='{stored['id']}']", state="attached")
    dialogs: list[str] = []
    answer = {"accept": False}

    def on_dialog(dialog: Any) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        if answer["accept"]:
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", on_dialog)
    load_stored(page, stored["id"])  # nothing edited yet (the example form): loaded without a question
    page.wait_for_selector(loaded)
    assert dialogs == []

    field(page, 2, "weight").fill("7")
    load_stored(page, stored["id"])  # dismissed: the edit stays
    assert dialogs == ["confirm: 编辑器中有未保存的修改，载入后将丢失。仍要载入吗？"]
    assert field(page, 2, "weight").input_value() == "7"
    assert json.loads(page.locator("#form-json").input_value())["items"][1]["weight"] == 7
    assert page.locator("#fe-source").inner_text() == ""

    answer["accept"] = True
    load_stored(page, stored["id"])  # accepted: the stored form replaces the edit
    page.wait_for_selector(loaded)
    assert len(dialogs) == 2 and field(page, 2, "weight").input_value() == "2"
    assert json.loads(page.locator("#form-json").input_value()) == body

    field(page, 2, "weight").fill("3")
    field(page, 2, "weight").fill("2")  # back to what was loaded: nothing unsaved, nothing to ask
    load_stored(page, stored["id"])
    page.wait_for_selector(loaded)
    assert len(dialogs) == 2

    field(page, 2, "weight").fill("5")
    page.get_by_role("button", name="保存评估表").click()
    page.wait_for_selector("#fe-source:has-text('已保存：t-ask · 确认评估表 第 2 版')")
    saved = forms_of(server, "t-ask")[0]["id"]
    page.wait_for_function(f"() => document.querySelector('#fe-load-form').value === '{saved}'")  # the chooser follows
    load_stored(page, stored["id"])  # the edit was saved: loading loses nothing, so it asks nothing
    page.wait_for_selector(loaded)
    assert len(dialogs) == 2 and field(page, 2, "weight").input_value() == "2"
