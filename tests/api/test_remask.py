"""``qa-engine remask``: data stored by an older masker (a number read in pairs let through) masked again, as a user
runs it after upgrading, on a real database (SQLite and PostgreSQL) with a real recording silenced at the new span."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from qa_engine.app.audio_redaction import AudioRedaction
from qa_engine.app.database import make_engine, make_session_factory
from qa_engine.app.migrate import upgrade
from qa_engine.app.models import (
    AuditEntry,
    Call,
    CoachingComment,
    Job,
    Review,
    SearchUtterance,
    User,
    Webhook,
    WebhookDelivery,
)
from qa_engine.app.probes import head_revision
from qa_engine.app.remask import AUDIT_ACTION, remask_report, remask_stored
from qa_engine.app.search import SearchQuery, search_calls
from qa_engine.app.search_index import index_call
from qa_engine.app.webhooks import call_payload
from qa_engine.pii import find_pii_spans, mask_text, redact_call
from qa_engine.redact import redact_audio
from qa_engine.report import report_to_dict
from qa_engine.scoring import redactions
from qa_engine.transcript import transcript_from_dict
from qa_engine.types import CallReport, Evidence, Finding

SCRIPT = Path(sys.executable).with_name("qa-engine")
RECORDING = Path(__file__).resolve().parents[1] / "data" / "call_en_mono.wav"
NUMBER = "five five five, twelve thirty-four"  # 7 digits read in pairs: the old masker let it through
SAID = f"Sure, you can reach me on {NUMBER} after six."
NUMBER_AT = (11.0, 13.0)  # where the words of NUMBER were spoken (seconds)
OLD_MASKED = "My card is **** **** **** ****, thanks."  # masked by the old masker already: stays as it is
CLEAN = "Thank you for calling, how can I help?"
LEAKY_PK = "0a1234567b89cdef0a1234567b89cdef"  # a call's own id: digits in a row, but no PII (never masked)


def _words(text: str, start: float, end: float, number_at: tuple[float, float] | None = None) -> list[dict[str, Any]]:
    """Word documents whose concatenation is ``text`` (leading spaces, as ASR gives them), evenly timed; the words
    of NUMBER inside ``number_at``."""
    tokens = [(" " if i else "") + w for i, w in enumerate(text.split(" "))]
    first = len(SAID[:SAID.index(NUMBER)].split(" ")) - 1 if number_at else -1
    count = len(NUMBER.split(" ")) if number_at else 0
    out = []
    for i, token in enumerate(tokens):
        if number_at and first <= i < first + count:
            step = (number_at[1] - number_at[0]) / count
            a = number_at[0] + (i - first) * step
        elif number_at and i < first:
            step = (number_at[0] - start) / first
            a = start + i * step
        elif number_at:
            rest = len(tokens) - first - count
            step = (end - number_at[1]) / rest
            a = number_at[1] + (i - first - count) * step
        else:
            step = (end - start) / len(tokens)
            a = start + i * step
        out.append({"start": round(a, 3), "end": round(a + step, 3), "word": token, "probability": 0.9})
    return out


def old_report(with_number: bool) -> dict[str, Any]:
    """A report document as an older version stored it: masked, but NUMBER (when ``with_number``) left readable."""
    said = SAID if with_number else CLEAN
    utterances = [
        {"role": "agent", "start": 8.0, "end": 10.0, "text": CLEAN, "channel": None, "speaker": None,
         "words": _words(CLEAN, 8.0, 10.0)},
        {"role": "customer", "start": 10.0, "end": 14.0, "text": said, "channel": None, "speaker": None,
         "words": _words(said, 10.0, 14.0, NUMBER_AT if with_number else None)},
        {"role": "customer", "start": 15.0, "end": 17.0, "text": OLD_MASKED, "channel": None, "speaker": None,
         "words": _words(OLD_MASKED, 15.0, 17.0)},
    ]
    finding = {"rule_id": "verify_identity", "status": "pass", "severity": "major", "weight": 5.0,
               "evidence": [{"start": 10.0, "end": 14.0, "text": said, "similarity": None}],
               "explanation": f'The customer said: "{said[:40]}…"', "data": {"quote": said, "count": 1}}
    return {"call_id": "c-1", "language": "en", "duration": 27.383, "agent_channel": None, "utterances": utterances,
            "score": 90.0, "grade": "good", "pack": {"id": "en_default", "version": "1"}, "findings": [finding],
            "redactions": [{"start": 15.3, "end": 16.2, "channel": None, "kind": "bank_card"}],
            "timings": {"rules": 0.01}, "engine_version": "0.9.0"}


def _qa_engine(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"console script not installed next to {sys.executable}"
    return subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120, check=False)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Stored:
    """The rows an older version stored, with the number the old masker let through."""

    def __init__(self, session: Session, tmp_path: Path) -> None:
        audio = tmp_path / "data" / "audio"
        audio.mkdir(parents=True, exist_ok=True)
        self.recording = audio / "abc.wav.redacted.wav"  # the served (redacted) copy: the number still audible
        shutil.copyfile(RECORDING, self.recording)
        admin = User(name="root", role="admin", api_key_hash="h" * 64)
        leaky = Call(id=LEAKY_PK, call_id=f"order {NUMBER}", agent="alice", team="t1", status="done", source="audio",
                     report=old_report(True), audio_path=str(self.recording), audio_content_type="audio/wav",
                     audio_filename="abc.wav", audio_bytes=self.recording.stat().st_size)
        clean = Call(call_id="c-2", agent="alice", team="t1", status="done", source="transcript",
                     report=old_report(False))
        hook = Webhook(url="https://hooks.example.com/qa", events=["call.scored"], secret="s" * 32, created_by="r")
        session.add_all([admin, leaky, clean, hook])
        session.flush()
        index_call(session, leaky)
        index_call(session, clean)
        # as the service queued it (ids, the masked texts it quotes), masked by the old masker: the number readable
        sent = {**call_payload(leaky, "call.scored"), "call_id": leaky.call_id}
        session.add_all([
            Review(call_pk=leaky.id, rule_id="verify_identity", kind="dispute", state="rejected", author="alice",
                   comment=f"they gave {NUMBER} as asked", requested_status="fail", resolved_by="sue",
                   resolution_comment="ok"),
            CoachingComment(call_pk=leaky.id, author="sue", author_role="supervisor", text=f"never repeat {NUMBER}"),
            CoachingComment(call_pk=clean.id, author="sue", author_role="supervisor", text="good opening"),
            AuditEntry(actor="sue", action="review.override", call_pk=leaky.id, before={"comment": f"x {NUMBER}"},
                       after={"status": "fail"}, detail=f"said {NUMBER}"),
            WebhookDelivery(webhook_id=hook.id, event="call.scored", call_pk=leaky.id, status="pending",
                            payload=sent),
            WebhookDelivery(webhook_id=hook.id, event="call.scored", call_pk=leaky.id, status="delivered",
                            payload=sent),  # sent already: its payload is still shown in the delivery log
        ])
        # inserted as they are (not through the model, which masks jobs' texts as they are written today)
        session.execute(insert(Job), [
            dict(kind="score_audio", call_pk=leaky.id, status="failed", error=f"cannot read order {NUMBER}.wav",
                 payload={"filename": f"order {NUMBER}.wav", "bytes": 10, "pack_given": False}, attempts=1),
            dict(kind="batch", status="failed", payload={"source": "/recordings", "files": 2}, attempts=1, error=None,
                 result={"files": 2, "failed": 1, "to_score_files": [f"/recordings/{NUMBER}.wav"],
                         "failures": [{"path": f"/recordings/{NUMBER}.wav", "error": f"{NUMBER}: corrupt"}]}),
            dict(kind="rescore", status="done", payload={"pack_id": "en_default", "from": "2024-01-01T00:00:00"},
                 result={"failed": 1, "errors": [{"call": LEAKY_PK, "error": f"call {NUMBER}: malformed"}]},
                 attempts=1, error=None),
        ])
        session.commit()
        self.leaky, self.clean, self.admin = leaky.id, clean.id, admin.id


def _texts(session: Session) -> list[str]:
    """Every stored text remask is to mask."""
    out: list[str] = []
    for call in session.scalars(select(Call)):
        out += [call.call_id, str(call.report)]
    out += [t for r in session.scalars(select(Review)) for t in (r.comment, r.resolution_comment or "")]
    out += [c.text for c in session.scalars(select(CoachingComment))]
    audits = select(AuditEntry).where(AuditEntry.action != AUDIT_ACTION)  # not the runs' own entries
    out += [str([a.before, a.after, a.detail]) for a in session.scalars(audits)]
    out += [str(d.payload) for d in session.scalars(select(WebhookDelivery))]
    out += [str([j.payload, j.result, j.error]) for j in session.scalars(select(Job))]
    out += [t for s in session.scalars(select(SearchUtterance)) for t in (s.text, s.match_text)]
    return out


def _snapshot(session: Session) -> dict[str, Any]:
    session.expire_all()
    return {"texts": _texts(session),
            "search_ids": sorted(session.scalars(select(SearchUtterance.id))),
            "audits": session.scalar(select(func.count()).select_from(AuditEntry))}


@pytest.fixture()
def stored(db_url: str, tmp_path: Path) -> Any:
    engine = make_engine(db_url)
    upgrade(engine)  # the schema of today (remask runs after 'qa-engine db upgrade'); the rows are an old version's
    with make_session_factory(engine)() as session:
        yield Stored(session, tmp_path), session
    engine.dispose()


def test_remask_masks_every_stored_field_silences_the_recording_and_is_idempotent(
        stored: tuple[Stored, Session], db_url: str, tmp_path: Path) -> None:
    data, session = stored
    before = _snapshot(session)
    assert any("twelve thirty-four" in t for t in before["texts"])
    sound_before = _digest(data.recording)
    search = SearchQuery(text="twelve thirty")
    admin = session.get(User, data.admin)
    assert admin is not None
    assert search_calls(session, admin, search).total == 1
    clean_report = session.get(Call, data.clean).report  # type: ignore[union-attr]
    clean_search_ids = sorted(session.scalars(select(SearchUtterance.id).where(SearchUtterance.call_pk == data.clean)))

    dry = _qa_engine("remask", "--dry-run", "--batch", "1", "--data-dir", tmp_path / "data", "--db", db_url)
    assert dry.returncode == 0, dry.stderr
    assert "calls: 2 checked, 1 would change" in dry.stdout
    assert "coaching_comments: 2 checked, 1 would change" in dry.stdout
    assert "webhook_deliveries: 2 checked, 2 would change" in dry.stdout
    assert "jobs: 3 checked, 3 would change" in dry.stdout
    assert "recordings: 1 would be silenced at 1 new span(s)" in dry.stdout
    assert _snapshot(session) == before and _digest(data.recording) == sound_before  # nothing changed

    run = _qa_engine("remask", "--batch", "1", "--data-dir", tmp_path / "data", "--db", db_url)
    assert run.returncode == 0, run.stderr
    assert "calls: 2 checked, 1 changed" in run.stdout
    assert "reviews: 1 checked, 1 changed" in run.stdout
    assert "audit_log: 1 checked, 1 changed" in run.stdout
    assert "recordings: 1 silenced at 1 new span(s); 0 new span(s) without word timings" in run.stdout
    after = _snapshot(session)
    leaks = [t for t in after["texts"] if any(w in t for w in ("five five", "twelve", "thirty"))]
    assert leaks == []
    assert after["audits"] == before["audits"] + 1  # one entry per run, not per row
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == AUDIT_ACTION)).one()
    assert entry.actor == "cli" and entry.after["tables"]["calls"] == {"checked": 2, "changed": 1}

    leaky = session.get(Call, data.leaky)
    assert leaky is not None and leaky.report is not None
    said = leaky.report["utterances"][1]
    assert said["text"] == mask_text(SAID) and "*" in said["text"] and said["text"].startswith("Sure, you can")
    assert "".join(w["word"] for w in said["words"]) == said["text"]  # words masked exactly where the text is
    assert leaky.report["utterances"][2]["text"] == OLD_MASKED  # masked before: as it was
    finding = leaky.report["findings"][0]
    assert finding["evidence"][0]["text"] == said["text"] and finding["data"]["quote"] == said["text"]
    assert finding["explanation"] == f'The customer said: "{said["text"][:40]}…"'
    assert [r["kind"] for r in leaky.report["redactions"]] == ["phone", "bank_card"]  # in time order, as scored
    assert leaky.call_id == mask_text(f"order {NUMBER}") and leaky.audio_bytes == data.recording.stat().st_size
    assert session.get(Call, data.clean).report == clean_report  # type: ignore[union-attr]  # untouched
    assert sorted(session.scalars(select(SearchUtterance.id).where(SearchUtterance.call_pk == data.clean))) \
        == clean_search_ids  # not re-indexed
    assert search_calls(session, admin, search).total == 0
    for delivery in session.scalars(select(WebhookDelivery)):
        assert delivery.payload["id"] == LEAKY_PK  # ids are not PII: a consumer still finds the call
        assert delivery.payload["call_id"] == leaky.call_id
    jobs = {j.kind: j for j in session.scalars(select(Job))}
    assert jobs["score_audio"].payload == {"filename": mask_text(f"order {NUMBER}.wav"), "bytes": 10,
                                           "pack_given": False}
    assert jobs["batch"].payload == {"source": "/recordings", "files": 2}
    assert jobs["rescore"].payload == {"pack_id": "en_default", "from": "2024-01-01T00:00:00"}  # read by the worker
    assert jobs["rescore"].result["errors"][0]["call"] == LEAKY_PK

    original, sr = sf.read(RECORDING, dtype="float32")
    redacted, sr2 = sf.read(data.recording, dtype="float32")
    assert sr2 == sr and redacted.shape == original.shape
    a, b = round((NUMBER_AT[0] - 0.1) * sr), round((NUMBER_AT[1] + 0.1) * sr)
    assert np.abs(original[a:b]).max() > 0.1  # speech was there
    assert not np.any(redacted[a:b])  # silent at the new span
    assert np.array_equal(redacted[: 5 * sr], original[: 5 * sr])  # the rest as it was
    assert np.array_equal(redacted[20 * sr:], original[20 * sr:])

    sound_after = _digest(data.recording)
    again = _qa_engine("remask", "--data-dir", tmp_path / "data", "--db", db_url)
    assert again.returncode == 0, again.stderr
    lines = [line for line in again.stdout.splitlines() if line.split(":")[0] != "recordings"]
    assert lines and all(line.endswith(" 0 changed") for line in lines), again.stdout
    assert "recordings: 0 silenced" in again.stdout
    second = _snapshot(session)
    assert second["texts"] == after["texts"] and second["search_ids"] == after["search_ids"]
    assert _digest(data.recording) == sound_after


def test_a_bad_batch_size_is_refused_before_anything_runs(tmp_path: Path) -> None:
    proc = _qa_engine("remask", "--batch", "0", "--data-dir", tmp_path)
    assert proc.returncode == 2 and "--batch: must be a whole number of at least 1" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "qa-engine.db").exists()


@pytest.mark.parametrize("text", [SAID, OLD_MASKED, CLEAN, "call 138-1234-5678 or mail a.b@example.com",
                                  "手机号一三八一二三四五六七八", "last four twelve thirty-four",
                                  "ID 11010519491231002X"])
def test_masking_twice_changes_nothing(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


def test_a_masked_report_has_nothing_left_to_find() -> None:
    first = remask_report(old_report(True))
    assert first is not None and len(first.redactions) == 1
    assert remask_report(first.doc) is None
    assert find_pii_spans(transcript_from_dict(first.doc)) == []
    assert remask_report(old_report(False)) is None


def test_a_span_without_word_timings_is_listed_over_its_utterance_as_scoring_lists_it() -> None:
    doc = old_report(True)
    for u in doc["utterances"]:
        u["words"] = []
    out = remask_report(doc)
    assert out is not None and out.untimed_spans == 1
    assert [(r.start, r.end, r.exact) for r in out.redactions] == [(10.0, 14.0, False)]  # the whole utterance
    assert "twelve" not in out.doc["utterances"][1]["text"]
    assert out.doc["redactions"] == [{"start": 10.0, "end": 14.0, "channel": None, "kind": "phone", "exact": False},
                                     *doc["redactions"]]
    assert remask_report(out.doc) is None  # listed once: a second run finds nothing


RAW_CARD = "My card is 4111 1111 1111 1111, thanks."  # what the customer said: both maskers find the card


def _raw_call(timed: bool) -> tuple[dict[str, Any], list[Finding]]:
    """The unmasked transcript a call was scored from, and findings quoting it (as the pack's rules quote)."""
    doc = old_report(True)
    doc["utterances"][2] |= {"text": RAW_CARD, "words": _words(RAW_CARD, 15.0, 17.0)}
    del doc["redactions"], doc["findings"]
    for u in doc["utterances"]:
        u["words"] = u["words"] if timed else []
    findings = [Finding("verify_identity", "pass", "major", 5.0, (Evidence(10.0, 14.0, SAID),),
                        f'The customer said: "{SAID[:40]}…"', {"quote": SAID}),
                Finding("card_read_back", "fail", "minor", 1.0, (Evidence(15.0, 17.0, RAW_CARD),), "", {})]
    return doc, findings


def _stored(raw: dict[str, Any], findings: list[Finding], leave_number: bool) -> dict[str, Any]:
    """The report document the service stores for ``raw`` (scoring's masking step, :func:`score_transcript`); with
    ``leave_number`` as an older masker stored it: NUMBER (utterance 1) and its quotes readable, not redacted."""
    transcript = transcript_from_dict(raw)
    masked, masked_findings, spans = redact_call(transcript, findings)
    found = redactions(masked, spans)
    if leave_number:
        masked = replace(masked, utterances=(masked.utterances[0], transcript.utterances[1], masked.utterances[2]))
        masked_findings = [findings[0], masked_findings[1]]
        found = tuple(r for r in found if r.start >= transcript.utterances[2].start)
    report = CallReport(call_id="c-1", transcript=masked, pack_id="en_default", pack_version="1", score=90.0,
                        grade="good", findings=tuple(masked_findings), redactions=found)
    return report_to_dict(report)


@pytest.mark.parametrize("timed", [True, False], ids=["word-timed", "untimed"])
def test_a_remasked_report_is_what_scoring_the_call_today_stores(timed: bool) -> None:
    raw, findings = _raw_call(timed)
    old, fresh = _stored(raw, findings, leave_number=True), _stored(raw, findings, leave_number=False)
    assert old != fresh and len(fresh["redactions"]) == 2
    out = remask_report(old)
    assert out is not None and out.doc == fresh
    assert out.untimed_spans == (0 if timed else 1) and len(out.redactions) == 1



def test_a_new_span_without_word_timings_is_silenced_over_its_utterance(stored: tuple[Stored, Session],
                                                                         tmp_path: Path) -> None:
    data, session = stored
    leaky = session.get(Call, data.leaky)
    assert leaky is not None and leaky.report is not None
    leaky.report = {**leaky.report, "utterances": [{**u, "words": []} for u in leaky.report["utterances"]]}
    session.commit()
    masked, _, spans = redact_call(transcript_from_dict(leaky.report), [])
    scoring = redact_audio(RECORDING, redactions(masked, spans), tmp_path / "scored.wav", margin_s=0.0).path

    summary = remask_stored(session, AudioRedaction(margin_s=0.0))
    assert (summary.recordings.silenced, summary.recordings.spans, summary.recordings.untimed_spans) == (1, 1, 1)
    session.expire_all()
    listed = session.get(Call, data.leaky).report["redactions"]  # type: ignore[union-attr]
    assert listed[0] == {"start": 10.0, "end": 14.0, "channel": None, "kind": "phone", "exact": False}
    original, sr = sf.read(RECORDING, dtype="float32")
    redacted, _ = sf.read(data.recording, dtype="float32")
    assert np.abs(original[10 * sr:14 * sr]).max() > 0.1 and not np.any(redacted[10 * sr:14 * sr])
    assert np.array_equal(redacted[: 10 * sr], original[: 10 * sr])
    assert np.array_equal(redacted, sf.read(scoring, dtype="float32")[0])  # as scoring the call silences it


@pytest.mark.parametrize("revision", [None, "0011"], ids=["no-tables", "older-revision"])
def test_a_dry_run_on_a_database_not_upgraded_says_to_upgrade_it(empty_db_url: str, tmp_path: Path,
                                                                  revision: str | None) -> None:
    engine = make_engine(empty_db_url)
    if revision is not None:
        upgrade(engine, revision)
    engine.dispose()
    proc = _qa_engine("remask", "--dry-run", "--data-dir", tmp_path / "data", "--db", empty_db_url)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "qa-engine db upgrade" in proc.stderr and f"expected {head_revision()}" in proc.stderr
    assert proc.stdout == ""
