"""The call page of a call whose recording the retention policy deleted, in headless Chromium: it says so, instead
of claiming the call was scored from a transcript; the report stays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from qa_engine.app.models import Call, utcnow
from qa_engine.app.retention import RetentionPolicy, purge

from .browser import csp_checked_context, sign_in
from .conftest import GOOD, UiServer, light_server, post_transcript

PASSWORDS = {"sue": "sue-password-1", "alice": "alice-password-1"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """Two of alice's calls: one stored 40 days ago with a recording (purged at 30 days), one from a transcript."""
    with light_server(tmp_path_factory, "retention-ui", [("sue", "supervisor", "t1"), ("alice", "agent", "t1")],
                      PASSWORDS) as ui:
        with httpx.Client(base_url=ui.url, timeout=60) as http:
            for label in ("purged", "transcript"):
                ui.calls[label] = post_transcript(http, ui, "sue", {**GOOD, "call_id": label, "agent": "alice"})
        data_dir = ui.app.state.settings.data_dir
        with ui.app.state.session_factory() as session:
            call = session.get(Call, ui.calls["purged"])
            recording = data_dir / "audio" / "old.wav"
            recording.parent.mkdir(parents=True, exist_ok=True)
            recording.write_bytes(b"RIFF")
            call.audio_path, call.source, call.created_at = str(recording), "audio", utcnow() - timedelta(days=40)
            session.commit()
            assert purge(session, RetentionPolicy(audio_days=30)).recordings == 1
        yield ui


@pytest.fixture()
def context(browser: Any) -> Iterator[Any]:
    with csp_checked_context(browser, viewport={"width": 1280, "height": 900}) as ctx:
        yield ctx


@pytest.mark.parametrize(("label", "said"), [("purged", "录音已按保留期限策略删除"),
                                            ("transcript", "此通话由文字稿评分")])
def test_the_call_page_says_why_there_is_no_recording(context: Any, server: UiServer, label: str, said: str) -> None:
    page = sign_in(context, server, "sue")
    page.goto(f"{server.url}/ui/calls/{server.calls[label]}")
    page.wait_for_selector("#no-audio:not(.hidden)")
    assert said in page.locator("#no-audio").inner_text()
    assert page.locator("#player").is_hidden()
    page.wait_for_selector("#findings article.finding")  # the report is still there
