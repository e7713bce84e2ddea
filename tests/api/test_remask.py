"""``qa-engine remask``: data stored by an older masker (a number read in pairs let through) masked again, as a user
runs it after upgrading, on a real database (SQLite and PostgreSQL) with a real recording silenced at the new span."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_engine.app.database import make_engine, make_session_factory
from qa_engine.app.migrate import upgrade
from qa_engine.app.models import (
    AuditEntry,
    Call,
    CoachingComment,
    Review,
    SearchUtterance,
    User,
    Webhook,
    WebhookDelivery,
)
from qa_engine.app.remask import AUDIT_ACTION, remask_report
from qa_engine.app.search import SearchQuery, search_calls
from qa_engine.app.search_index import index_call
from qa_engine.pii import find_pii_spans, mask_text
from qa_engine.transcript import transcript_from_dict

SCRIPT = Path(sys.executable).with_name("qa-engine")
RECORDING = Path(__file__).resolve().parents[1] / "data" / "call_en_mono.wav"
NUMBER = "five five five, twelve thirty-four"  # 7 digits read in pairs: the old masker let it through
SAID = f"Sure, you can reach me on {NUMBER} after six."
NUMBER_AT = (11.0, 13.0)  # where the words of NUMBER were spoken (seconds)
OLD_MASKED = "My card is **** **** **** ****, thanks."  # masked by the old masker already: stays as it is
CLEAN = "Thank you for calling, how can I help?"


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
        leaky = Call(call_id=f"order {NUMBER}", agent="alice", team="t1", status="done", source="audio",
                     report=old_report(True), audio_path=str(self.recording), audio_content_type="audio/wav",
                     audio_filename="abc.wav", audio_bytes=self.recording.stat().st_size)
        clean = Call(call_id="c-2", agent="alice", team="t1", status="done", source="transcript",
                     report=old_report(False))
        hook = Webhook(url="https://hooks.example.com/qa", events=["call.scored"], secret="s" * 32, created_by="r")
        session.add_all([admin, leaky, clean, hook])
        session.flush()
        index_call(session, leaky)
        index_call(session, clean)
        session.add_all([
            Review(call_pk=leaky.id, rule_id="verify_identity", kind="dispute", state="rejected", author="alice",
                   comment=f"they gave {NUMBER} as asked", requested_status="fail", resolved_by="sue",
                   resolution_comment="ok"),
            CoachingComment(call_pk=leaky.id, author="sue", author_role="supervisor", text=f"never repeat {NUMBER}"),
            CoachingComment(call_pk=clean.id, author="sue", author_role="supervisor", text="good opening"),
            AuditEntry(actor="sue", action="review.override", call_pk=leaky.id, before={"comment": f"x {NUMBER}"},
                       after={"status": "fail"}, detail=f"said {NUMBER}"),
            WebhookDelivery(webhook_id=hook.id, event="call.scored", call_pk=leaky.id, status="pending",
                            payload={"call": {"call_id": f"order {NUMBER}"}}),
            WebhookDelivery(webhook_id=hook.id, event="call.scored", call_pk=leaky.id, status="delivered",
                            payload={"call": {"call_id": f"order {NUMBER}"}}),  # sent already: a record of it
        ])
        session.commit()
        self.leaky, self.clean, self.admin = leaky.id, clean.id, admin.id


def _texts(session: Session) -> list[str]:
    """Every stored text remask is to mask (the delivered webhook's payload is history, not sent again)."""
    out: list[str] = []
    for call in session.scalars(select(Call)):
        out += [call.call_id, str(call.report)]
    out += [t for r in session.scalars(select(Review)) for t in (r.comment, r.resolution_comment or "")]
    out += [c.text for c in session.scalars(select(CoachingComment))]
    audits = select(AuditEntry).where(AuditEntry.action != AUDIT_ACTION)  # not the runs' own entries
    out += [str([a.before, a.after, a.detail]) for a in session.scalars(audits)]
    outbox = select(WebhookDelivery).where(WebhookDelivery.status != "delivered")
    out += [str(d.payload) for d in session.scalars(outbox)]
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
    assert "webhook_deliveries: 1 checked, 1 would change" in dry.stdout
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
    assert len(leaky.report["redactions"]) == 2 and leaky.report["redactions"][0]["kind"] == "bank_card"
    assert leaky.call_id == mask_text(f"order {NUMBER}") and leaky.audio_bytes == data.recording.stat().st_size
    assert session.get(Call, data.clean).report == clean_report  # type: ignore[union-attr]  # untouched
    assert sorted(session.scalars(select(SearchUtterance.id).where(SearchUtterance.call_pk == data.clean))) \
        == clean_search_ids  # not re-indexed
    assert search_calls(session, admin, search).total == 0
    delivered = session.scalars(select(WebhookDelivery).where(WebhookDelivery.status == "delivered")).one()
    assert NUMBER in delivered.payload["call"]["call_id"]  # what was sent is history

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


def test_a_span_without_word_timings_is_counted_not_silenced() -> None:
    doc = old_report(True)
    for u in doc["utterances"]:
        u["words"] = []
    out = remask_report(doc)
    assert out is not None and out.redactions == () and out.untimed_spans == 1
    assert "twelve" not in out.doc["utterances"][1]["text"]
    assert out.doc["redactions"] == doc["redactions"]
