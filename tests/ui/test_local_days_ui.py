"""The dashboard counts calls on the call centre's days (``QA_ENGINE_TIMEZONE``), as the API's date filters do,
whatever the browser's own zone: a call at 02:00 in Shanghai (18:00 UTC the day before) is on its Shanghai day in
the 30-day trend, and that day's point opens the calls list filtered to that same day.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from qa_engine.app.local_time import today

from .browser import VIEWPORT, sign_in, watch_csp
from .conftest import light_server, post_transcript

GOOD = Path(__file__).parents[1] / "data" / "transcript_zh_good.json"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_dashboard_trend_counts_the_call_centres_days(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    day = today(SHANGHAI) - timedelta(days=3)
    started = datetime.combine(day, time(2, 0), tzinfo=SHANGHAI)  # 18:00 UTC on the day before
    users = [("sue", "supervisor", "t1"), ("alice", "agent", "t1")]
    with light_server(tmp_path_factory, "ui-days", users, timezone="Asia/Shanghai") as ui:
        with httpx.Client(base_url=ui.url, timeout=30) as http:
            doc = {**json.loads(GOOD.read_text("utf-8")), "call_id": "zh-days-1", "agent": "alice",
                   "started_at": started.isoformat()}
            call_id = post_transcript(http, ui, "sue", doc)
        ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="America/Los_Angeles")
        errors: list[str] = []
        try:
            page = sign_in(ctx, ui, "sue")
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            watch_csp(page, errors)
            point = page.locator("#trend a.dot-link")
            point.first.wait_for()
            assert point.count() == 1
            assert point.get_attribute("aria-label", timeout=5000).startswith(f"{day:%m-%d}: ")
            assert f"from={day.isoformat()}&to={day.isoformat()}" in (point.get_attribute("href") or "")
            point.click()
            page.wait_for_url("**/ui/calls?*")
            page.locator(f"a[href='/ui/calls/{call_id}']").first.wait_for()
            assert errors == []
        finally:
            ctx.close()
