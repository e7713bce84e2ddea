"""Bringing stored data up to the current PII masker, after an upgrade that taught it to find more.

Everything stored masked keeps what the masker of its day let through: report texts, the search index, typed
comments and reasons, audit entries, call labels, evaluation form and calibration session names, webhook payloads
(queued or in the delivery log) and delivery errors, jobs' file names, folders and errors, and the redacted
recordings. Rows written before a column was masked at write (form and session names, a batch run's folder, delivery
errors) are masked by the same walk.
:func:`remask_stored` walks them all in primary-key order, a batch at a time (memory stays bounded, each batch is
committed, so an interrupted run is simply run again), masks each text field with today's masker and writes back
only what changed. Masking is idempotent on masked text (``*`` is no digit), so a second run changes nothing.

A report is left as scoring the call today would store it: the new spans join its ``redactions`` (in time order,
found from the report's words the way :func:`qa_engine.pii.find_pii_spans` finds them at scoring time; a span
without word timings covers its whole utterance, as at scoring) and its recording is silenced there.
``raw_transcript`` is left as it is: it is kept, only when ``keep_raw_transcripts`` is on, precisely unmasked, so
that a rescore reads what was said (the rules see unmasked text at scoring time too); it is never served. JSON
documents that mix text with ids, dates and paths a worker reads (webhook payloads, jobs) are masked at the
places that hold text only: a call's id may hold seven digits in a row and must still find the call.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session, object_session

from qa_engine.errors import AudioError, TranscriptError
from qa_engine.pii import mask_at, mask_data, mask_optional, mask_text, redact_call
from qa_engine.redact import redact_audio
from qa_engine.report import redaction_to_dict
from qa_engine.scoring import redactions as report_redactions
from qa_engine.transcript import transcript_from_dict
from qa_engine.types import Evidence, Finding, Redaction, Transcript, Utterance, to_plain

from .audio_redaction import AudioRedaction, discard_original, is_redacted, redact_call_audio
from .audit import record
from .models import (
    FORM_ITEM_TEXTS,
    FORM_NAME_LENGTH,
    JOB_PAYLOAD_TEXTS,
    JOB_RESULT_TEXTS,
    AuditEntry,
    CalibrationSession,
    Call,
    CoachingComment,
    Evaluation,
    EvaluationForm,
    Job,
    Review,
    SearchUtterance,
    WebhookDelivery,
)
from .search_index import index_call
from .search_text import match_form
from .webhooks import PAYLOAD_TEXTS

logger = logging.getLogger(__name__)

DEFAULT_BATCH = 200
AUDIT_ACTION = "pii.remask"
#: report keys masked by the transcript and findings pass (``redactions`` holds times, not text)
_REPORT_PARTS = ("utterances", "findings", "redactions")


@dataclass
class TableCount:
    """Rows looked at and rows whose text masking changed (or would change, in a dry run)."""

    checked: int = 0
    changed: int = 0


@dataclass
class RecordingCount:
    """Recordings silenced and at how many new spans; of the new spans, those without word timings (silenced over
    their whole utterance, as at scoring; counted on calls without a recording too); calls whose recording failed."""

    silenced: int = 0
    spans: int = 0
    untimed_spans: int = 0
    failed: list[str] = field(default_factory=list)  # call pks whose recording could not be redacted


@dataclass
class RemaskSummary:
    tables: dict[str, TableCount] = field(default_factory=dict)
    recordings: RecordingCount = field(default_factory=RecordingCount)

    def audit_document(self) -> dict[str, Any]:
        return {"tables": {name: {"checked": c.checked, "changed": c.changed} for name, c in self.tables.items()},
                "recordings_silenced": self.recordings.silenced, "new_spans": self.recordings.spans,
                "untimed_spans": self.recordings.untimed_spans, "recordings_failed": len(self.recordings.failed)}


# --- reports --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RemaskedReport:
    """A report document masked again: the new document, the new spans to silence, how many of them have no
    word timings (they cover their whole utterance)."""

    doc: dict[str, Any]
    redactions: tuple[Redaction, ...]
    untimed_spans: int


def remask_report(doc: dict[str, Any]) -> RemaskedReport | None:
    """``doc`` masked by today's masker (None when nothing changes).

    The utterances and findings are masked together (:func:`qa_engine.pii.redact_call`: numbers split over
    utterances, quotes in findings); every other string on its own. A document that is no valid transcript is
    masked string by string, without spans.
    """
    try:
        transcript = transcript_from_dict(doc, "report")
        findings = [_finding(f) for f in doc.get("findings") or []]
    except (TranscriptError, TypeError, KeyError, AttributeError):
        masked = mask_data(doc)
        return None if masked is doc else RemaskedReport(masked, (), 0)  # type: ignore[arg-type]
    new_t, new_findings, spans = redact_call(transcript, findings)
    new_doc = {k: v if k in _REPORT_PARTS else mask_data(v) for k, v in doc.items()}
    if new_t is not transcript:
        new_doc["utterances"] = _patched_utterances(doc["utterances"], transcript, new_t)
    if any(a is not b for a, b in zip(new_findings, findings, strict=True)):
        new_doc["findings"] = [f_doc if new is old else _patched_finding(f_doc, new)
                               for f_doc, new, old in zip(doc["findings"], new_findings, findings, strict=True)]
    found = report_redactions(new_t, spans)
    if found:
        new_doc["redactions"] = _merged_redactions(doc.get("redactions") or [], found)
    if new_doc == doc:
        return None
    return RemaskedReport(new_doc, found, sum(not r.exact for r in found))


def _merged_redactions(stored: list[Any], found: tuple[Redaction, ...]) -> list[Any]:
    """The stored redactions with the new ones, once each and in time order: the list scoring stores
    (:func:`qa_engine.scoring.redactions`), where two parts of one wordless utterance are one redaction."""
    merged = [*stored, *(r for r in map(redaction_to_dict, found) if r not in stored)]
    return sorted(merged, key=_redaction_order)


def _redaction_order(doc: Any) -> tuple[float, float, int]:
    """Scoring's order (start, end, channel; mono first); a malformed stored entry goes last, as it is."""
    try:
        return float(doc["start"]), float(doc["end"]), -1 if doc["channel"] is None else int(doc["channel"])
    except (TypeError, KeyError, ValueError):
        return math.inf, math.inf, 0


def _finding(raw: dict[str, Any]) -> Finding:
    """A stored finding (``to_plain(Finding)``) as the engine's object, for masking with its transcript."""
    evidence = tuple(Evidence(e["start"], e["end"], e["text"], e.get("similarity")) for e in raw.get("evidence") or [])
    return Finding(raw["rule_id"], raw["status"], raw.get("severity", "major"), raw.get("weight", 0.0), evidence,
                   raw.get("explanation") or "", dict(raw.get("data") or {}))


def _patched_utterances(raw: list[dict[str, Any]], old: Transcript, new: Transcript) -> list[dict[str, Any]]:
    """The stored utterance documents with the texts and words masking changed; the rest kept as stored.

    ``transcript_from_dict`` sorts utterances by time (stably): the same sort maps its indices back to ``raw``'s.
    """
    order = sorted(range(len(raw)), key=lambda i: (float(raw[i]["start"]), float(raw[i]["end"])))
    out = list(raw)
    for k, (before, after) in enumerate(zip(old.utterances, new.utterances, strict=True)):
        if after is not before:
            out[order[k]] = _patched_utterance(raw[order[k]], after)
    return out


def _patched_utterance(u_doc: dict[str, Any], u: Utterance) -> dict[str, Any]:
    words = [{**w_doc, "word": w.word} for w_doc, w in zip(u_doc.get("words") or [], u.words, strict=True)]
    return {**u_doc, "text": u.text, **({"words": words} if words else {})}


def _patched_finding(f_doc: dict[str, Any], f: Finding) -> dict[str, Any]:
    evidence = [{**e_doc, "text": e.text} for e_doc, e in zip(f_doc.get("evidence") or [], f.evidence, strict=True)]
    return {**f_doc, "evidence": evidence, "explanation": f.explanation, "data": to_plain(f.data)}


# --- the walk -------------------------------------------------------------------------------

def _batches(session: Session, model: Any, size: int) -> Iterator[Sequence[Any]]:
    """``model``'s rows in primary-key order, ``size`` at a time (keyset: no offset, nothing held between)."""
    pk: InstrumentedAttribute[Any] = model.id
    last: Any = None
    while True:
        query = select(model).order_by(pk).limit(size)
        if last is not None:
            query = query.where(pk > last)
        rows = session.scalars(query).all()
        if not rows:
            return
        last = rows[-1].id  # read before the batch is committed and forgotten
        yield rows


RowMask = Callable[[Any], dict[str, Any]]


def _columns(**masks: Callable[[Any], Any]) -> RowMask:
    """A row's changed columns: each named column through its mask, kept when the mask changes it."""
    def changes(row: Any) -> dict[str, Any]:
        out = {}
        for name, mask in masks.items():
            value = getattr(row, name)
            new = mask(value)
            if new != value:
                out[name] = new
        return out
    return changes


def _texts_at(*paths: str) -> Callable[[Any], Any]:
    """Mask the strings at ``paths`` of a JSON document and nothing else (:func:`qa_engine.pii.mask_at`)."""
    return lambda doc: mask_at(doc, *paths)


def _search_row(row: SearchUtterance) -> dict[str, Any]:
    text = mask_text(row.text)
    return {"text": text, "match_text": match_form(text)} if text != row.text else {}


_FORM_ITEMS = _columns(items=_texts_at(*FORM_ITEM_TEXTS))


def _form_row(row: EvaluationForm) -> dict[str, Any]:
    """A form's labels and name masked. Two names that differ only in a number (``Form 13812345678``, ``Form
    13912345678``) mask alike: where the masked name is taken at the same version (team, name and version are
    unique), the form's id is added to its name, so the two stay apart (the versions of one name are counted from
    what is stored: a form saved under either name later is a new version of the masked one)."""
    changes = _FORM_ITEMS(row)
    name = EvaluationForm.stored_name(row.name)
    if name != row.name:
        session = object_session(row)
        assert session is not None
        taken = session.scalar(select(EvaluationForm.id).where(
            EvaluationForm.team == row.team, EvaluationForm.name == name, EvaluationForm.version == row.version,
            EvaluationForm.id != row.id).limit(1))
        if taken is not None:
            suffix = f" #{row.id}"
            name = name[:FORM_NAME_LENGTH - len(suffix)] + suffix
        changes["name"] = name
    return changes


#: table -> (model, row mask): every stored text that people typed or the engine wrote, masked on the way in
_TABLES: dict[str, tuple[Any, RowMask]] = {
    "reviews": (Review, _columns(comment=mask_optional, resolution_comment=mask_optional)),
    "evaluations": (Evaluation, _columns(comment=mask_optional, answers=_texts_at("*.comment", "*.label"))),
    "evaluation_forms": (EvaluationForm, _form_row),
    "calibration_sessions": (CalibrationSession, _columns(name=mask_optional)),
    "coaching_comments": (CoachingComment, _columns(text=mask_optional)),
    "audit_log": (AuditEntry, _columns(before=mask_data, after=mask_data, detail=mask_optional)),
    # delivered ones too: the delivery log shows their payloads (what was sent is gone; the copy kept is masked)
    "webhook_deliveries": (WebhookDelivery, _columns(payload=_texts_at(*PAYLOAD_TEXTS), last_error=mask_optional)),
    "jobs": (Job, _columns(payload=_texts_at(*JOB_PAYLOAD_TEXTS), result=_texts_at(*JOB_RESULT_TEXTS),
                           error=mask_optional)),
    "search_utterances": (SearchUtterance, _search_row),
}

_CALL_COLUMNS = _columns(call_id=mask_optional, audio_filename=mask_optional, error=mask_optional)


def remask_stored(session: Session, policy: AudioRedaction, *, batch: int = DEFAULT_BATCH, dry_run: bool = False,
                  actor: str = "cli", progress: Callable[[str, TableCount], None] | None = None) -> RemaskSummary:
    """Mask every stored text again with today's masker and silence newly found spans in the recordings.

    Each batch is committed (a dry run rolls it back and writes no audio); one audit entry tells what the run
    changed. ``progress`` is called with each table's counts when it is done.
    """
    summary = RemaskSummary()
    summary.tables["calls"] = _remask_calls(session, policy, batch, dry_run, summary.recordings)
    if progress:
        progress("calls", summary.tables["calls"])
    for name, (model, row_mask) in _TABLES.items():
        summary.tables[name] = _remask_table(session, model, row_mask, batch, dry_run)
        if progress:
            progress(name, summary.tables[name])
    if not dry_run:
        record(session, actor, AUDIT_ACTION, after=summary.audit_document())
        session.commit()
    return summary


def _remask_table(session: Session, model: Any, row_mask: RowMask, batch: int, dry_run: bool) -> TableCount:
    count = TableCount()
    for rows in _batches(session, model, batch):
        for row in rows:
            count.checked += 1
            if changes := row_mask(row):
                count.changed += 1
                if not dry_run:
                    for name, value in changes.items():
                        setattr(row, name, value)
        _end_batch(session, dry_run)
    return count


def _end_batch(session: Session, dry_run: bool) -> None:
    """Commit (roll back in a dry run) and forget the batch's rows: memory stays one batch."""
    if dry_run:
        session.rollback()
    else:
        session.commit()
    session.expunge_all()


def _remask_calls(session: Session, policy: AudioRedaction, batch: int, dry_run: bool,
                  recordings: RecordingCount) -> TableCount:
    count = TableCount()
    for rows in _batches(session, Call, batch):
        originals: list[str] = []
        for call in rows:
            count.checked += 1
            if _remask_call(session, call, policy, dry_run, recordings, originals):
                count.changed += 1
        _end_batch(session, dry_run)
        for path in originals:  # after the commit, as at scoring time
            discard_original(session, path)
    return count


def _remask_call(session: Session, call: Call, policy: AudioRedaction, dry_run: bool, recordings: RecordingCount,
                 originals: list[str]) -> bool:
    """Mask one call's labels and report and silence its new spans; False when nothing changes.

    The recording is silenced before the report is changed: a call whose recording cannot be redacted keeps its
    report (counted in ``recordings.failed``), so that a later run finds the spans again.
    """
    columns = _CALL_COLUMNS(call)
    report = remask_report(call.report) if isinstance(call.report, dict) else None
    if report is not None:
        recordings.untimed_spans += report.untimed_spans
        if report.redactions and call.audio_path:
            if not dry_run and not _silence(call, report.redactions, policy, recordings, originals):
                report = None
            else:
                recordings.silenced += 1
                recordings.spans += len(report.redactions)
    if not columns and report is None:
        return False
    if dry_run:
        return True
    for name, value in columns.items():
        setattr(call, name, value)
    if report is not None:
        call.report = report.doc
        index_call(session, call)  # the search index holds the masked utterances
    return True


def _silence(call: Call, redactions: tuple[Redaction, ...], policy: AudioRedaction, recordings: RecordingCount,
             originals: list[str]) -> bool:
    """Silence ``redactions`` in the recording ``call`` serves (its redacted copy, rewritten in place, or a copy
    made now when nothing had been found before); False when the recording cannot be read or written."""
    assert call.audio_path is not None
    try:
        if is_redacted(call.audio_path):
            path = Path(call.audio_path)
            redact_audio(path, redactions, path, margin_s=policy.margin_s, mode=policy.mode)
            call.audio_bytes = path.stat().st_size
        elif (original := redact_call_audio(call, redactions, policy)) is not None:
            originals.append(original)
    except (AudioError, OSError, ValueError) as exc:
        logger.error("call %s: its recording could not be redacted again: %s", call.id, exc)
        recordings.failed.append(call.id)
        return False
    return True


__all__ = ["AUDIT_ACTION", "DEFAULT_BATCH", "RecordingCount", "RemaskSummary", "RemaskedReport", "TableCount",
           "remask_report", "remask_stored"]
