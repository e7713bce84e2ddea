"""The call centre's calendar: which day a moment falls on, and which moments a day spans, in its time zone.

Times are stored and returned in UTC; days and weeks are the call centre's (``QA_ENGINE_TIMEZONE``, default UTC):
a call at 07:30 in Shanghai on Tuesday counts on Tuesday, not on Monday (23:30 UTC). The service puts its zone in
``session.info`` (:data:`TIMEZONE_KEY`) so every use case, the scoring path included, reads the same one; a session
made elsewhere (tests, scripts) gets the environment's setting. Days of a zone with daylight saving time last 23
or 25 hours on the switch days: a day always runs from its first local moment to the next day's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

#: ``session.info`` key the service sets from its settings (``api.main``, the worker and batch commands)
TIMEZONE_KEY = "timezone"
DEFAULT_TIMEZONE = "UTC"
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def parse_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``Asia/Shanghai``); ValueError with a sentence a person can act on otherwise."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones (Asia), not a zone
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Asia/Shanghai, "
                         "America/New_York or UTC") from None


def service_zone(session: Session) -> tzinfo:
    """The call centre's zone: the service's setting, else the environment's (default UTC)."""
    zone = session.info.get(TIMEZONE_KEY)
    if isinstance(zone, tzinfo):
        return zone
    from qa_engine.app.settings import environment_settings  # (settings imports this module)

    found = environment_settings()
    return UTC if found is None else found.zone


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The day ``moment`` (aware, or naive UTC) falls on in ``zone``; the first or last day past year 1 or 9999."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    try:
        return aware.astimezone(zone).date()
    except OverflowError:
        return date.min if aware.year == 1 else date.max


def today(zone: tzinfo, now: datetime | None = None) -> date:
    """Today (or ``now``'s day) in ``zone``."""
    return local_day(now or datetime.now(UTC), zone)


def day_start(day: date, zone: tzinfo) -> datetime:
    """The UTC instant ``day`` begins in ``zone`` (its midnight, or the first moment after a gap at midnight).

    1 January of year 1 east of Greenwich begins in year 0 in UTC, which Python cannot hold: the earliest instant
    stands for it (as a lower bound it keeps everything, as the day itself would).
    """
    try:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return _EARLIEST


def day_end(day: date, zone: tzinfo) -> datetime | None:
    """The UTC instant after ``day`` in ``zone`` (the next day's start, exclusive); None after the last day."""
    return None if day == date.max else day_start(day + timedelta(days=1), zone)


__all__ = ["DEFAULT_TIMEZONE", "TIMEZONE_KEY", "day_end", "day_start", "local_day", "parse_zone", "service_zone",
           "today"]
