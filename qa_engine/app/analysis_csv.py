"""CSV renderings of scorecards and the weekly analysis (one header row each, for spreadsheets).

Scorecard: one row for the whole range (``period`` = ``all``) then one per period bucket; columns
``grade:<name>`` (calls) and ``pass_rate:<rule>`` (empty when the rule never applied).
Weekly analysis: a long table ``section,item,count,share,value,previous,note``, one row per fact.
Every text cell is neutralised against formula injection (:func:`safe_cell`): names come from users.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from qa_engine.app.analysis_schemas import Scorecard, Stats, WeeklyAnalysis
from qa_engine.pii import mask_text

WEEKLY_COLUMNS = ["section", "item", "count", "share", "value", "previous", "note"]


#: A text cell starting with one of these is a formula to a spreadsheet (full-width forms too: some read them so).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs as a formula: text starting with = + - @ TAB CR LF (or their full-width
    forms) gets a leading ``'`` (OWASP's advice); None is empty; numbers are kept as they are."""
    if value is None:
        return ""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_rows(rows: list[list[Any]] | list[tuple[Any, ...]]) -> list[list[Any]]:
    """Every cell safe (:func:`safe_cell`) and every text PII-masked (names and summaries come from users)."""
    return [[safe_cell(mask_text(v) if isinstance(v, str) else v) for v in row] for row in rows]


def _text(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(safe_rows(rows))
    return out.getvalue()


def scorecard_csv(card: Scorecard) -> str:
    grades = sorted(card.total.grades)
    rules = [r.rule_id for r in card.total.rules]
    header = ["scope", "name", "period", "start", "calls", "average_score",
              *(f"grade:{g}" for g in grades), *(f"pass_rate:{r}" for r in rules)]

    def row(period: str, start: Any, stats: Stats) -> list[Any]:
        rates = {r.rule_id: r.pass_rate for r in stats.rules}
        return [card.scope, card.name, period, start, stats.calls, stats.average_score,
                *(stats.grades.get(g, 0) for g in grades), *(rates.get(r) for r in rules)]

    rows = [header, row("all", card.date_from, card.total)]
    rows.extend(row(b.period, b.start.isoformat(), b) for b in card.trend)
    return _text(rows)


def weekly_csv(report: WeeklyAnalysis) -> str:
    prev = report.previous
    rows: list[list[Any]] = [
        WEEKLY_COLUMNS,
        ["summary", "week", None, None, report.week, prev.week, f"{report.start} to {report.end}"],
        ["summary", "team", None, None, report.team or "all", None, None],
        ["summary", "calls", report.calls, None, None, prev.calls, None],
        ["summary", "average_score", None, None, report.average_score, prev.average_score, None],
        ["summary", "average_handle_time_s", None, None, report.average_handle_time_s, prev.average_handle_time_s,
         None],
        ["summary", "total_handle_time_s", None, None, report.total_handle_time_s, None, None],
    ]
    rows.extend(["grade", g, n, None, None, None, None] for g, n in report.grades.items())
    rows.extend(["problem", p.rule_id, p.failures, p.share_of_calls, p.fail_rate, p.previous_failures, p.summary]
                for p in report.problems)
    rows.extend(["category", c.label, c.calls, c.share, None, None, None] for c in report.categories)
    spots = report.hotspots
    rows.append(["hotspot", "complaint_calls", spots.complaint_calls, spots.complaint_share, None, None, None])
    rows.append(["hotspot", "apology_missed", spots.apology_missed, None, spots.apology_applicable, None,
                 "value = calls where the customer complained"])
    rows.extend(["hotspot_agent", g.name, g.calls, None, g.average_score, None, f"{g.failures} failed findings"]
                for g in spots.lowest_agents)
    rows.extend(["hotspot_team", g.name, g.calls, None, g.average_score, None, f"{g.failures} failed findings"]
                for g in spots.lowest_teams)
    rows.extend(["hotspot_rule", r.rule_id, r.failed, None, r.pass_rate, None, "value = pass rate"]
                for r in spots.lowest_rules)
    return _text(rows)
