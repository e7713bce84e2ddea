"""The two upload forms in headless Chromium, driven as a user drives them, in Chinese and English.

The calls page's upload form: a supervisor sends a real recording (the smallest WAV of tests/data) and a JSON
transcript, waits on the page while the call is scored, and opens it; a corrupt recording, one over the upload
limit, a malformed or invalid transcript and a file that is neither show a message naming the problem, the form
stays usable and nothing is stored. The packs page's upload form: an admin's valid pack appears in the
catalogue, an invalid one shows the validation error with its path next to the form, and a supervisor has no form.

A server of its own (a small upload limit, one background worker, the session's speech model); any
Content-Security-Policy violation fails the test (the ``context`` fixture).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.main import create_app
from qa_engine.app.audio_files import audio_root
from qa_engine.app.settings import Settings

from .browser import sign_in
from .conftest import GOOD, UiServer, add_users, running_server

DATA = Path(__file__).parents[1] / "data"
WAV = DATA / "call_en_mono.wav"  # 438 kB: under the limit below
OVER_LIMIT = DATA / "call_zh_stereo.flac"  # 572 kB of real audio: over it
MAX_UPLOAD_MB = 0.5
SCORED_WITHIN_MS = 120_000
PASSWORDS = {"sue": "sue-password-1", "root": "root-password-1", "alice": "alice-password-1"}
PACK = """\
pack: {pack}
version: "1.0.0"
language: zh
name: 上传测试包
grades: {{合格: 60, 不合格: 0}}
rules:
  - id: greeting
    type: {rule_type}
    summary: 坐席在开场白中使用标准问候语
    weight: 100
    role: agent
    window: {{anchor: first_agent_turns, turns: 2}}
    match:
      phrases: [您好]
"""
LABELS = {"zh": {"open": "上传录音", "agent": "坐席", "call_id": "通话编号", "language": "语言",
                 "submit": "上传并评分"},
          "en": {"open": "Upload recording", "agent": "Agent", "call_id": "Call", "language": "Language",
                 "submit": "Upload and score"}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pipeline_en: Any) -> Iterator[UiServer]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("upload-forms") / "data", workers=1,
                        max_upload_mb=MAX_UPLOAD_MB)
    app = create_app(settings, pipeline=pipeline_en)
    with running_server(app) as url:
        ui = UiServer(url=url, app=app)
        add_users(ui, [("sue", "supervisor", "t1"), ("alice", "agent", "t1"), ("root", "admin", None)], PASSWORDS)
        yield ui


def open_upload_form(context: Any, server: UiServer, lang: str) -> Any:
    page = sign_in(context, server, "sue", lang)
    page.goto(f"{server.url}/ui/calls?lang={lang}")
    page.get_by_role("button", name=LABELS[lang]["open"]).click()
    return page


def submit(page: Any, lang: str, file: Path, call_id: str, language: str = "en") -> None:
    """Fill the form as a supervisor does (agent alice) and send ``file``."""
    text, form = LABELS[lang], page.locator("#upload-form")
    form.locator("#up-file").set_input_files(str(file))
    form.get_by_label(text["agent"], exact=True).fill("alice")
    form.get_by_label(text["call_id"], exact=True).fill(call_id)
    form.get_by_label(text["language"], exact=True).select_option(language)
    form.get_by_role("button", name=text["submit"]).click()


def wait_for_failure(page: Any) -> str:
    """The upload's message once the server has refused it (the progress bar turns to an error)."""
    page.wait_for_selector("#upload-progress.error")
    message: str = page.locator("#upload-state").inner_text()
    return message


def open_scored_call(page: Any, server: UiServer, lang: str, call_id: str) -> None:
    """Wait (bounded) for the score and the call in the table, then open it from the upload's link."""
    link = page.locator("#upload-state a")
    link.wait_for(timeout=SCORED_WITHIN_MS)
    assert "error" not in (page.locator("#upload-progress").get_attribute("class") or "")
    page.locator("#calls-table").get_by_text(call_id).wait_for()
    link.click()
    page.wait_for_url(f"{server.url}/ui/calls/**")
    page.locator("#call-title").get_by_text(call_id).wait_for()
    page.locator("#score-value").wait_for()


def calls_of(server: UiServer) -> list[str]:
    response = httpx.get(f"{server.url}/api/v1/calls", params={"limit": 200}, headers=server.headers("sue"))
    assert response.status_code == 200, response.text
    return sorted(item["call_id"] for item in response.json()["items"])


def stored_files(server: UiServer) -> list[str]:
    """Every file under the audio store, the upload staging files included."""
    root = audio_root(server.app.state.settings.data_dir)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def transcript_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_supervisor_uploads_a_recording_and_a_transcript_and_opens_the_scored_calls(
        context: Any, server: UiServer, tmp_path: Path, lang: str) -> None:
    page = open_upload_form(context, server, lang)
    submit(page, lang, WAV, f"wav-{lang}")
    open_scored_call(page, server, lang, f"wav-{lang}")

    page = open_upload_form(context, server, lang)
    transcript = transcript_file(tmp_path, "transcript.json", json.dumps(GOOD, ensure_ascii=False))
    submit(page, lang, transcript, f"json-{lang}", language="zh")
    open_scored_call(page, server, lang, f"json-{lang}")
    page.locator("#transcript").get_by_text("您好").first.wait_for()
    assert "13812345678" not in page.locator("main").inner_text()  # the customer's number, masked
    calls = httpx.get(f"{server.url}/api/v1/calls", params={"agent": "alice", "limit": 200},
                      headers=server.headers("sue")).json()["items"]
    assert {c["call_id"]: c["source"] for c in calls}[f"json-{lang}"] == "transcript"  # the form's agent and id


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bad_uploads_name_the_problem_store_nothing_and_leave_the_form_usable(
        context: Any, server: UiServer, tmp_path: Path, lang: str) -> None:
    page = open_upload_form(context, server, lang)
    calls, files = calls_of(server), stored_files(server)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8)
    huge = tmp_path / "huge.wav"
    huge.write_bytes(WAV.read_bytes() * 2)  # over the limit of the whole request body, not only the file's
    notes = transcript_file(tmp_path, "notes.txt", "客户来电咨询宽带报修进度。\n" * 40)  # cut mid-character at 512 B
    cases = [(corrupt, ["corrupt.wav", "cannot read the audio header"]),
             (OVER_LIMIT, ["upload too large", "0.5 MB"]),
             (huge, ["too large", "0.5 MB"]),
             (transcript_file(tmp_path, "broken.json", '{"language": "zh", "utterances": ['),
              ["malformed JSON at line 1"]),
             (transcript_file(tmp_path, "no-turns.json", '{"language": "zh"}'), ["utterances"]),
             (notes, ["notes.txt", "not audio"])]
    for file, expected in cases:
        submit(page, lang, file, f"bad-{lang}")
        message = wait_for_failure(page)
        for words in expected:
            assert words in message, (file.name, message)
        assert page.get_by_role("button", name=LABELS[lang]["submit"]).is_enabled()
        assert (calls_of(server), stored_files(server)) == (calls, files), file.name

    submit(page, lang, transcript_file(tmp_path, "good.json", json.dumps(GOOD)), f"after-bad-{lang}", "zh")
    open_scored_call(page, server, lang, f"after-bad-{lang}")


def open_packs(context: Any, server: UiServer, user: str, lang: str) -> Any:
    page = sign_in(context, server, user, lang)
    page.goto(f"{server.url}/ui/packs?lang={lang}")
    page.locator("#pack-list li").first.wait_for()
    return page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_admin_uploads_a_pack_it_appears_and_an_invalid_one_shows_its_error_by_the_form(
        context: Any, server: UiServer, lang: str) -> None:
    page = open_packs(context, server, "root", lang)
    form = page.locator("#pack-upload")
    bad = PACK.format(pack=f"bad-{lang}", rule_type="greet")
    page.locator("#pack-yaml").fill(bad)
    form.get_by_role("button").click()
    error = form.get_by_role("alert")
    error.wait_for()
    assert "rule 'greeting': field 'type'" in error.inner_text() and "unknown check type 'greet'" in error.inner_text()
    assert page.locator("#pack-yaml").input_value() == bad  # nothing to type again
    assert f"bad-{lang}" not in page.locator("#pack-list").inner_text()

    page.locator("#pack-yaml").fill(PACK.format(pack=f"upload-{lang}", rule_type="phrase_in_window"))
    form.get_by_role("button").click()
    page.locator("#pack-list").get_by_text(f"upload-{lang}").wait_for()
    assert not error.is_visible()
    packs = httpx.get(f"{server.url}/api/v1/packs", headers=server.headers("root")).json()["items"]
    assert f"upload-{lang}" in {p["id"] for p in packs} and f"bad-{lang}" not in {p["id"] for p in packs}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_supervisor_gets_no_pack_upload_form(context: Any, server: UiServer, lang: str) -> None:
    page = open_packs(context, server, "sue", lang)
    assert page.locator("#pack-upload, #pack-yaml").count() == 0
