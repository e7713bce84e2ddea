"""CallReport -> JSON document and readable text (the CLI's and the API's output)."""

from __future__ import annotations

from typing import Any

from .transcript import transcript_to_dict
from .types import CallReport, Redaction, to_plain


def report_to_dict(report: CallReport) -> dict[str, Any]:
    """The report document: the transcript schema plus scoring fields."""
    doc = transcript_to_dict(report.transcript)
    doc["call_id"] = report.call_id
    for utt_doc, utt in zip(doc["utterances"], report.transcript.utterances, strict=True):
        if utt.sentiment is not None:  # filled when the call was checked (qa_engine.sentiment)
            utt_doc["sentiment"] = utt.sentiment
    if report.pack_id is not None or not report.scorable:  # unscorable with no pack: no pack fits its language
        doc.update({
            "score": report.score,
            "grade": report.grade,
            "pack": {"id": report.pack_id, "version": report.pack_version} if report.pack_id is not None else None,
            "category": report.category,
            "priority": report.priority,
            "findings": [to_plain(f) for f in report.findings],
        })
        if not report.scorable:
            doc.update({"status": report.status, "reason": report.reason})
    if report.redactions:
        doc["redactions"] = [redaction_to_dict(r) for r in report.redactions]
    if report.analytics:
        doc["analytics"] = report.analytics
    doc["timings"] = {k: round(v, 3) for k, v in report.timings.items()}
    doc["engine_version"] = report.engine_version
    return doc


def redaction_to_dict(r: Redaction) -> dict[str, Any]:
    """A redaction as the report document holds it (``exact`` only when False: most are)."""
    return {"start": round(r.start, 3), "end": round(r.end, 3), "channel": r.channel, "kind": r.kind,
            **({} if r.exact else {"exact": False})}


def format_report(report: CallReport) -> str:
    """A short human-readable summary for the terminal."""
    t = report.transcript
    lines = [f"call {report.call_id}  language={t.language}  duration={t.duration:.1f}s"]
    if t.agent_channel is not None:
        lines.append(f"agent channel: {t.agent_channel} ({t.agent_channel_reason or 'given'})")
    if not report.scorable:
        pack = f"  (pack {report.pack_id} v{report.pack_version})" if report.pack_id is not None else ""
        lines.append(f"not scorable: {report.reason}{pack}")
    elif report.pack_id is not None:
        lines.append(f"score {report.score:.0f}  grade {report.grade}  "
                     f"pack {report.pack_id} v{report.pack_version}")
        if report.category or report.priority:
            lines.append(f"category {report.category or '-'}  priority {report.priority or '-'}")
        for f in report.findings:
            lines.append(f"  [{f.status:>14}] {f.rule_id}: {f.explanation}")
    lines.append("")
    for u in t.utterances:
        lines.append(f"{u.start:7.2f}-{u.end:7.2f} {u.role:>8}: {u.text}")
    return "\n".join(lines) + "\n"
