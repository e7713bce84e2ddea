"""What a batch run leaves behind: one record per file, a summary, and a report folder (CSV, JSON, PNG chart).

The report covers every file of the source, including those scored by an earlier (killed) run, so the
morning's report is complete whether or not the night needed a restart.
"""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from qa_engine.app.analysis_csv import safe_cell
from qa_engine.pii import mask_optional, mask_text
from qa_engine.types import CallReport

logger = logging.getLogger(__name__)
WORST_RULES = 3
CSV_FIELDS = ("path", "call_id", "agent", "team", "status", "score", "grade", "category", "duration",
              "failed_rules", "error", "id")


@dataclass
class FileRecord:
    """One source file's outcome: ``scored`` (this run), ``skipped`` (already in the database), ``failed``."""

    path: str
    call_id: str
    agent: str
    team: str | None
    pk: str = ""
    status: str = "pending"
    score: float | None = None
    grade: str | None = None
    category: str | None = None
    duration: float | None = None
    seconds: float = 0.0
    failed_rules: list[str] = field(default_factory=list)
    applicable_rules: list[str] = field(default_factory=list)
    error: str | None = None

    def mark_scored(self, report: CallReport, seconds: float) -> None:
        self.status, self.seconds = "scored", seconds
        self.score, self.grade, self.category = report.score, report.grade, report.category
        self.duration = report.transcript.duration
        self.failed_rules = [f.rule_id for f in report.findings if f.status == "fail"]
        self.applicable_rules = [f.rule_id for f in report.findings if f.status != "not_applicable"]

    def mark_existing(self, row: Any) -> None:
        """From a ``calls`` row scored earlier (by a previous run or an upload)."""
        self.status = "skipped"
        self.score, self.grade, self.category = row.score, row.grade, row.category
        self.duration = row.duration if row.duration is not None else self.duration
        findings = (row.report or {}).get("findings", [])
        self.failed_rules = [f["rule_id"] for f in findings if f.get("status") == "fail"]
        self.applicable_rules = [f["rule_id"] for f in findings if f.get("status") != "not_applicable"]

    def mark_failed(self, reason: str) -> None:
        self.status, self.error = "failed", reason

    def copy_from(self, other: FileRecord) -> None:
        """A second copy of a file (same content): it shares the first one's row."""
        for name in ("score", "grade", "category", "duration", "failed_rules", "applicable_rules", "error"):
            setattr(self, name, getattr(other, name))
        self.status = "failed" if other.status == "failed" else "skipped"


class _Planned(Protocol):
    record: FileRecord
    todo: bool


def worst_rules(records: Sequence[FileRecord], n: int = WORST_RULES) -> dict[str, list[dict[str, Any]]]:
    """Per team, the rules failed most often (share of the calls where the rule applied)."""
    applicable: dict[str, Counter[str]] = defaultdict(Counter)
    failed: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        if r.status in ("scored", "skipped"):
            team = r.team or "(no team)"
            applicable[team].update(r.applicable_rules)
            failed[team].update(r.failed_rules)
    out: dict[str, list[dict[str, Any]]] = {}
    for team in sorted(applicable):
        rows: list[dict[str, Any]] = [{"rule": rule, "failed": k, "applicable": applicable[team][rule],
                 "rate": round(k / max(applicable[team][rule], 1), 3)} for rule, k in failed[team].items() if k]
        rows.sort(key=lambda d: (-d["rate"], -d["failed"], d["rule"]))
        out[team] = rows[:n]
    return out


def summarise(planned: Sequence[_Planned], *, wall_s: float, dry_run: bool) -> dict[str, Any]:
    """Counts, audio hours, real-time factor (wall time / audio scored) and worst rules per team."""
    records = [p.record for p in planned]
    counts = Counter(r.status for r in records)
    scored_audio = sum(r.duration or 0.0 for r in records if r.status == "scored")
    summary: dict[str, Any] = {
        "dry_run": dry_run, "files": len(records), "scored": counts["scored"], "skipped": counts["skipped"],
        "failed": counts["failed"], "audio_hours": round(scored_audio / 3600, 4), "wall_s": round(wall_s, 2),
        "rtf": round(wall_s / scored_audio, 4) if scored_audio else None,
        "audio_hours_per_hour": round(scored_audio / wall_s, 2) if wall_s and scored_audio else None,
        "worst_rules": worst_rules(records),
        "failures": [{"path": mask_text(r.path), "error": mask_optional(r.error)} for r in records
                     if r.status == "failed"],
    }
    if dry_run:
        todo = [p.record for p in planned if p.todo]
        summary["to_score"] = len({r.pk for r in todo})
        summary["to_score_audio_hours"] = round(sum(r.duration or 0.0 for r in todo) / 3600, 4)
        summary["to_score_files"] = [mask_text(r.path) for r in todo]
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """The end-of-run text on stderr."""
    if summary["dry_run"]:
        lines = [f"dry run: {summary['files']} file(s); {summary['to_score']} to score "
                 f"({summary['to_score_audio_hours']:.2f} audio h), {summary['skipped']} already scored"]
        lines += [f"  would score {path}" for path in summary["to_score_files"]]
        return "\n".join(lines) + "\n"
    rtf = f"{summary['rtf']:.3f}" if summary["rtf"] is not None else "n/a"
    lines = [f"batch: {summary['scored']} scored, {summary['skipped']} skipped (already scored), "
             f"{summary['failed']} failed; {summary['audio_hours']:.2f} audio h in {summary['wall_s']:.0f} s "
             f"(RTF {rtf})"]
    for team, rows in summary["worst_rules"].items():
        worst = ", ".join(f"{r['rule']} {r['failed']}/{r['applicable']}" for r in rows) or "none failed"
        lines.append(f"  worst rules, team {team}: {worst}")
    for f in summary["failures"]:
        lines.append(f"  failed: {f['error']}")
    if summary.get("report_dir"):
        lines.append(f"  report: {summary['report_dir']}")
    return "\n".join(lines) + "\n"


def write_report(folder: Path, planned: Sequence[_Planned], summary: dict[str, Any]) -> Path:
    """``calls.csv``, ``calls.json`` (records and summary) and ``chart.png`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    records = [p.record for p in planned]
    with (folder / "calls.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_FIELDS)
        for r in records:
            writer.writerow([safe_cell(v) for v in (mask_text(r.path), mask_text(r.call_id), r.agent, r.team or "",
                                                    r.status,
                             "" if r.score is None else f"{r.score:.1f}", r.grade or "", r.category or "",
                             "" if r.duration is None else f"{r.duration:.2f}", " ".join(r.failed_rules),
                             mask_optional(r.error) or "", r.pk)])  # from sidecars: no formula reaches a spreadsheet
    # file names and call ids read from the source, errors quoting them: masked (the row id is not)
    calls = [{**asdict(r), "path": mask_text(r.path), "call_id": mask_text(r.call_id),
              "error": mask_optional(r.error)} for r in records]
    doc = {"summary": summary, "calls": calls}
    (folder / "calls.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    try:
        write_chart(folder / "chart.png", records)
    except ImportError:
        logger.warning("matplotlib is not installed: no chart (pip install matplotlib)")
    return folder


def write_chart(path: Path, records: Sequence[FileRecord]) -> None:
    """Score distribution per agent (box plot) and how often each rule failed (bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores: dict[str, list[float]] = defaultdict(list)
    fails: Counter[str] = Counter()
    for r in records:
        if r.status in ("scored", "skipped") and r.score is not None:
            scores[r.agent].append(r.score)
            fails.update(r.failed_rules)
    agents = sorted(scores)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, max(4.0, 0.35 * max(len(agents), len(fails), 1) + 2)))
    if agents:
        left.boxplot([scores[a] for a in agents], orientation="horizontal")
        for i, a in enumerate(agents, start=1):  # every call as a dot: a box of one call is invisible
            left.scatter(scores[a], [i] * len(scores[a]), s=14, alpha=0.6, color="#1f77b4")
        left.set_yticks(range(1, len(agents) + 1), agents)
    left.set_xlim(0, 100)
    left.set_xlabel("score")
    left.set_title("Score distribution per agent")
    rules = [rule for rule, _ in fails.most_common()][::-1]
    right.barh(rules, [fails[r] for r in rules], color="#c0504d")
    right.set_xlabel("calls where the rule failed")
    right.set_title("Failing rules")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
