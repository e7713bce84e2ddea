"""The call centre's time zone (``QA_ENGINE_TIMEZONE``): days and weeks of scorecards, the weekly analysis, date
filters (list, search, export), sampling quotas; the setting's validation; days of 23 and 25 hours.

Each API test runs in UTC (the default: as before the setting) and in Asia/Shanghai (UTC+8), on both databases.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from qa_engine.app import analysis, local_time
from qa_engine.app.models import SamplingDraw
from qa_engine.app.settings import Settings, load_settings
from qa_engine.cli import main as cli_main
from qa_engine.errors import QaEngineError

from .zh_calls import BASE

Headers = dict[str, str]
API = "/api/v1"
#: 23:30 UTC on Tuesday 1 December: Wednesday 07:30 in Shanghai
LATE = "2026-12-01T23:30:00Z"
#: 10:00 UTC on 1 December: the same day in both zones
MIDDAY = "2026-12-01T10:00:00Z"
#: the late call's day in each zone
LATE_DAY = {"UTC": "2026-12-01", "Asia/Shanghai": "2026-12-02"}
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(params=["UTC", "Asia/Shanghai"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> Settings:
    """The conftest's settings, in the call centre's zone ``request.param``."""
    return Settings(data_dir=tmp_path / "data", db_url=db_url, workers=0, timezone=request.param)


def _upload_at(upload: Callable[..., str], headers: Headers, started_at: str, agent: str = "alice") -> str:
    return upload(headers, agent=agent, **{**BASE, "call_id": f"{agent}-{started_at}", "started_at": started_at})


def _day_trend(client: TestClient, headers: Headers, **params: str) -> list[tuple[str, int]]:
    card = client.get(f"{API}/scorecards/agents/alice", params={"period": "day", **params}, headers=headers)
    assert card.status_code == 200, card.text
    return [(b["period"], b["calls"]) for b in card.json()["trend"]]


def test_scorecard_days_are_the_call_centres(client: TestClient, settings: Settings, team: dict[str, Headers],
                                            upload: Callable[..., str]) -> None:
    sue = team["sue"]
    _upload_at(upload, sue, MIDDAY)
    _upload_at(upload, sue, LATE)
    shanghai = settings.timezone == "Asia/Shanghai"
    assert dict(_day_trend(client, sue)) == Counter(["2026-12-01", LATE_DAY[settings.timezone]])
    assert _day_trend(client, sue, **{"from": "2026-12-02", "to": "2026-12-02"}) == ([("2026-12-02", 1)] if shanghai
                                                                                     else [])
    team_card = client.get(f"{API}/scorecards/teams/t1", params={"period": "day", "from": "2026-12-02"}, headers=sue)
    assert team_card.json()["total"]["calls"] == (1 if shanghai else 0)


def test_weekly_analysis_keeps_sunday_night_in_the_call_centres_week(client: TestClient, settings: Settings,
                                                                      team: dict[str, Headers],
                                                                      upload: Callable[..., str]) -> None:
    """23:30 UTC on Sunday 6 December is Monday 07:30 in Shanghai: week 50 there, week 49 in UTC."""
    _upload_at(upload, team["sue"], "2026-12-06T23:30:00Z")
    weeks = {week: client.get(f"{API}/analysis/weekly", params={"week": week}, headers=team["sue"]).json()
             for week in ("2026-W49", "2026-W50")}
    in_w50 = settings.timezone == "Asia/Shanghai"
    assert (weeks["2026-W49"]["calls"], weeks["2026-W50"]["calls"]) == ((0, 1) if in_w50 else (1, 0))
    assert weeks["2026-W50"]["previous"]["calls"] == (0 if in_w50 else 1)
    assert (weeks["2026-W50"]["start"], weeks["2026-W50"]["end"]) == ("2026-12-07", "2026-12-13")


def test_date_filters_cover_the_call_centres_day(client: TestClient, settings: Settings, team: dict[str, Headers],
                                                 upload: Callable[..., str]) -> None:
    sue = team["sue"]
    midday, late = _upload_at(upload, sue, MIDDAY), _upload_at(upload, sue, LATE)
    by_day = {"2026-12-01": {midday, late} if settings.timezone == "UTC" else {midday},
              "2026-12-02": set() if settings.timezone == "UTC" else {late}}
    for day, expected in by_day.items():
        span = {"from": day, "to": day}
        listed = client.get(f"{API}/calls", params=span, headers=sue).json()
        assert {c["id"] for c in listed["items"]} == expected, day
        exported = client.get(f"{API}/calls/export", params={"format": "csv", **span}, headers=sue)
        assert {r["id"] for r in csv.DictReader(io.StringIO(exported.text.removeprefix("\ufeff")))} == expected, day
        found = client.get(f"{API}/search", params={"q": "话费", **span}, headers=sue).json()
        assert {hit["id"] for hit in found["items"]} == expected, day
    late_call = client.get(f"{API}/calls/{late}", headers=sue).json()
    assert late_call["started_at"] == "2026-12-01T23:30:00Z"  # stored and returned in UTC, whatever the zone
    # a date-time bound is an instant, not a day: the same in every zone
    instant = client.get(f"{API}/calls", params={"from": "2026-12-02T07:00:00+08:00"}, headers=sue).json()
    assert {c["id"] for c in instant["items"]} == {late}


def test_sampling_quota_counts_the_call_centres_day(client: TestClient, settings: Settings,
                                                    team: dict[str, Headers], upload: Callable[..., str]) -> None:
    """per_agent_min 1: the late call and next morning's call are one day in Shanghai (one pick), two in UTC."""
    sue = team["sue"]
    created = client.post(f"{API}/sampling-plans", json={"team": "t1", "percent": 0, "per_agent_min": 1},
                          headers=sue)
    assert created.status_code == 201, created.text
    late, morning = _upload_at(upload, sue, LATE), _upload_at(upload, sue, "2026-12-02T09:00:00Z")
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        draws = {d.call_pk: d for d in session.scalars(select(SamplingDraw))}
    assert draws[late].day == LATE_DAY[settings.timezone] and draws[morning].day == "2026-12-02"
    assert draws[late].selected and draws[morning].selected == (settings.timezone == "UTC")


@pytest.mark.parametrize("settings", ["America/New_York"], indirect=True)
def test_daylight_saving_days_of_23_hours(client: TestClient, team: dict[str, Headers],
                                          upload: Callable[..., str]) -> None:
    """New York springs forward on 8 March 2026: that day runs from 05:00 UTC to 04:00 UTC the next day."""
    sue = team["sue"]
    saturday = _upload_at(upload, sue, "2026-03-08T04:30:00Z")  # 23:30 EST on the 7th
    sunday = _upload_at(upload, sue, "2026-03-09T03:30:00Z")  # 23:30 EDT on the 8th
    monday = _upload_at(upload, sue, "2026-03-09T04:30:00Z")  # 00:30 EDT on the 9th
    assert _day_trend(client, sue) == [("2026-03-07", 1), ("2026-03-08", 1), ("2026-03-09", 1)]
    for day, expected in (("2026-03-07", saturday), ("2026-03-08", sunday), ("2026-03-09", monday)):
        listed = client.get(f"{API}/calls", params={"from": day, "to": day}, headers=sue).json()
        assert [c["id"] for c in listed["items"]] == [expected], day


def test_days_of_a_zone_with_daylight_saving_time() -> None:
    start = local_time.day_start(date(2026, 3, 8), NEW_YORK)
    assert start == datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert local_time.day_end(date(2026, 3, 8), NEW_YORK) == start + timedelta(hours=23)
    autumn = local_time.day_start(date(2026, 11, 1), NEW_YORK)
    assert local_time.day_end(date(2026, 11, 1), NEW_YORK) == autumn + timedelta(hours=25)
    assert local_time.local_day(datetime(2026, 11, 2, 4, 59, tzinfo=UTC), NEW_YORK) == date(2026, 11, 1)
    assert local_time.local_day(datetime(2026, 11, 2, 5, 0), NEW_YORK) == date(2026, 11, 2)  # naive: UTC


def test_days_at_the_ends_of_the_calendar() -> None:
    """Days and moments past the years 1 to 9999 in UTC or locally clamp to the calendar's ends, never fail."""
    shanghai = ZoneInfo("Asia/Shanghai")
    assert local_time.day_start(date.min, shanghai) == datetime.min.replace(tzinfo=UTC)
    assert local_time.day_start(date.max, NEW_YORK) == datetime(9999, 12, 31, 5, tzinfo=UTC)
    assert local_time.day_end(date.max, shanghai) is None
    assert local_time.local_day(datetime.min.replace(tzinfo=UTC), NEW_YORK) == date.min
    assert local_time.local_day(datetime.max.replace(tzinfo=UTC), shanghai) == date.max


def test_this_week_and_today_are_the_call_centres() -> None:
    sunday_night = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    assert local_time.today(UTC, sunday_night) == date(2026, 12, 6)
    shanghai_today = local_time.today(ZoneInfo("Asia/Shanghai"), sunday_night)
    assert shanghai_today == date(2026, 12, 7)
    assert analysis.parse_week(None, shanghai_today) == date(2026, 12, 7)
    assert analysis.parse_week(None, date(2026, 12, 6)) == date(2026, 11, 30)


def test_the_setting_defaults_to_utc_and_refuses_an_unknown_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QA_ENGINE_TIMEZONE", raising=False)
    assert Settings().timezone == "UTC" and Settings().zone == ZoneInfo("UTC")
    assert Settings(timezone=" Asia/Shanghai ").zone == ZoneInfo("Asia/Shanghai")
    for bad in ("Asia/Shangai", "Asia", "", "../etc/passwd", "CST+8"):
        with pytest.raises(ValidationError):
            Settings(timezone=bad)
    monkeypatch.setenv("QA_ENGINE_TIMEZONE", "Asia/Shangai")
    with pytest.raises(QaEngineError) as refused:
        load_settings()
    assert str(refused.value) == ("invalid settings: timezone: unknown time zone 'Asia/Shangai': use an IANA name "
                                  "such as Asia/Shanghai, America/New_York or UTC")


def test_serve_refuses_an_unknown_zone_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("QA_ENGINE_DATA_DIR", str(tmp_path))  # serve sets it from --data-dir: restored after
    monkeypatch.setenv("QA_ENGINE_TIMEZONE", "Mars/Olympus_Mons")
    assert cli_main(["serve", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown time zone 'Mars/Olympus_Mons'" in err, err
    assert not (tmp_path / "qa-engine.db").exists()  # refused before anything starts
