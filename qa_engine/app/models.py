"""Tables of the service: users, calls with their findings, jobs, reviews, audit, packs and webhooks.

Every table is declared here (one place for the schema); migrations in ``qa_engine/app/migrations`` mirror it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, validates
from sqlalchemy.sql.expression import false

from qa_engine.app.database import Base
from qa_engine.pii import mask_at, mask_optional, mask_text
from qa_engine.rules.labels import canonical_category, canonical_grade

ROLES = ("admin", "supervisor", "agent")
CALL_STATUSES = ("queued", "processing", "done", "failed")
CALL_SOURCES = ("audio", "transcript")
FINDING_STATUSES = ("pass", "fail", "not_applicable")
REVIEW_KINDS = ("override", "dispute")
REVIEW_STATES = ("applied", "open", "accepted", "rejected")
JOB_STATUSES = ("queued", "running", "done", "failed")
DELIVERY_STATUSES = ("pending", "delivered", "failed")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_call_id() -> str:
    return uuid.uuid4().hex


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(Base):
    """An API-key holder. ``team`` is an agent's team or a supervisor's first team (see :class:`UserTeam`)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="ck_users_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    team: Mapped[str | None] = mapped_column(String(128), index=True, default=None)
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)  # web sign-in (scrypt), optional
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: a disabled user's API key, password and sign-in sessions are all refused
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class LoginSession(Base):
    """A web UI sign-in: the browser's cookie holds a random token, stored here only as its SHA-256 digest.

    Valid while not revoked (sign-out, password change, user disabled), used within the idle timeout and younger
    than the absolute maximum age (see :mod:`qa_engine.app.login_sessions`).
    """

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    client_ip: Mapped[str | None] = mapped_column(String(64), default=None)


class UserTeam(Base):
    """A team a supervisor supervises (a supervisor may have several)."""

    __tablename__ = "user_teams"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    team: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)


class Call(Base):
    """One call: its metadata, where its audio lives, its processing state and its current report.

    ``report`` is the report document as served (PII-masked unless raw storage is configured);
    ``score``/``grade``/``category`` are copied out of it for filtering and recomputed after reviews.
    """

    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint(_in("status", CALL_STATUSES), name="ck_calls_status"),
        Index("ix_calls_content_pack", "content_hash", "pack", "pack_version"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_call_id)
    call_id: Mapped[str] = mapped_column(String(256), index=True)
    agent: Mapped[str] = mapped_column(String(128), index=True)
    team: Mapped[str | None] = mapped_column(String(128), index=True, default=None)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None, index=True)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    pack: Mapped[str | None] = mapped_column(String(64), default=None)
    source: Mapped[str] = mapped_column(String(16), default="transcript", server_default="transcript")
    pack_version: Mapped[str | None] = mapped_column(String(32), default=None)
    content_hash: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    audio_path: Mapped[str | None] = mapped_column(String(512), default=None)
    audio_filename: Mapped[str | None] = mapped_column(String(256), default=None)
    audio_content_type: Mapped[str | None] = mapped_column(String(128), default=None)
    audio_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    #: when the retention policy deleted the recording (``audio_path`` is None since); the report stays
    audio_deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    agent_channel: Mapped[int | None] = mapped_column(Integer, default=None)
    duration: Mapped[float | None] = mapped_column(Float, default=None)
    score: Mapped[float | None] = mapped_column(Float, default=None, index=True)
    auto_score: Mapped[float | None] = mapped_column(Float, default=None)
    grade: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    category: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    #: canonical ids of grade and category (不合格 and fail are both ``fail``): what filters and aggregates use
    grade_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    category_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    #: the customer's sentiment at the end of the call (-1..1, report analytics.sentiment.customer.end), for
    #: the dashboard's per team/agent aggregate without reading every report
    customer_end_sentiment: Mapped[float | None] = mapped_column(Float, default=None)
    raw_transcript: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    @validates("grade", "category")
    def _set_canonical_id(self, key: str, label: str | None) -> str | None:
        """Every writer of a label (scoring, reviews, duplicates) sets its id too; custom ids: the report's pack's."""
        explicit = self.report.get("label_ids") if isinstance(self.report, dict) else None
        explicit = explicit if isinstance(explicit, dict) else None
        if key == "grade":
            self.grade_id = canonical_grade(label, explicit)
        else:
            self.category_id = canonical_category(label, explicit)
        return label

    @validates("error")
    def _mask_error(self, _key: str, error: str | None) -> str | None:
        """Every writer of an error stores it masked: it may quote a file name, words from the call or a decoder
        message, and it is served (``GET /calls/{id}``, the UI)."""
        return mask_optional(error)


class ContentLock(Base):
    """The lock on one uploaded content (a recording's or transcript's hash), created on first use: uploads of the
    same content take it in turn from their duplicate check to their commit, so that identical uploads at the same
    instant store one call. It holds nothing else; a row stays once created (the hash is on the calls too)."""

    __tablename__ = "content_locks"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)


class FindingRow(Base):
    """One rule's outcome on one call: the engine's status and the current one (after reviews)."""

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("call_pk", "rule_id", name="uq_findings_call_rule"),
        CheckConstraint(_in("auto_status", FINDING_STATUSES), name="ck_findings_auto_status"),
        CheckConstraint(_in("status", FINDING_STATUSES), name="ck_findings_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_pk: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(16), default="major")
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    auto_status: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)


class Review(Base):
    """A supervisor's override (applied at once) or an agent's dispute (open until resolved)."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint(_in("kind", REVIEW_KINDS), name="ck_reviews_kind"),
        CheckConstraint(_in("state", REVIEW_STATES), name="ck_reviews_state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_pk: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    author: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str] = mapped_column(Text)
    requested_status: Mapped[str] = mapped_column(String(16))
    resolved_by: Mapped[str | None] = mapped_column(String(128), default=None)
    resolution_comment: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class AuditEntry(Base):
    """Who did what, when, with the state before and after (reviews, deletions, audio access, packs)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    call_pk: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    rule_id: Mapped[str | None] = mapped_column(String(64), default=None)
    before: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    after: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    detail: Mapped[str | None] = mapped_column(Text, default=None)


class MaintenanceRun(Base):
    """When a periodic task (the retention purge) last started: the row that lets one worker of many run it."""

    __tablename__ = "maintenance_runs"

    task: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


#: where a job's payload keeps text from a call or a person: the uploaded file's name (``score_audio``), the folder a
#: batch run reads (``batch``: call centres name folders and files after the caller's number), why a live call ended
#: (``live_call``, masked by the AudioHook server too); nothing reads them back
JOB_PAYLOAD_TEXTS = ("filename", "source", "reason")
#: where a job's result keeps text from calls: the files and errors of a batch run, a rescore's errors; the rest (a
#: rescore's pack and dates, call ids) is what a worker or a reader needs as it is
JOB_RESULT_TEXTS = ("failures.*.path", "failures.*.error", "to_score_files.*", "errors.*.error")


class Job(Base):
    """A unit of background work (``score_audio``, ``rescore``); its state survives restarts."""

    __tablename__ = "jobs"
    __table_args__ = (CheckConstraint(_in("status", JOB_STATUSES), name="ck_jobs_status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    call_pk: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    worker: Mapped[str | None] = mapped_column(String(128), default=None)
    created_by: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    @validates("error", "payload", "result")
    def _mask_texts(self, key: str, value: Any) -> Any:
        """Every writer (enqueue, finish, a batch run's record) stores a job's texts masked: ``GET /jobs`` and
        ``qa-engine jobs list`` show them. Only the texts: ids in the same document must still find their rows."""
        if key == "error":
            return mask_optional(value)
        return mask_at(value, *(JOB_PAYLOAD_TEXTS if key == "payload" else JOB_RESULT_TEXTS))


class PackVersion(Base):
    """A rule pack uploaded by an admin (YAML source kept verbatim); bundled packs are not stored."""

    __tablename__ = "pack_versions"
    __table_args__ = (UniqueConstraint("pack_id", "version", name="uq_pack_versions"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TeamPack(Base):
    """The pack a team's calls are scored with (``version`` None: the newest)."""

    __tablename__ = "team_packs"

    team: Mapped[str] = mapped_column(String(128), primary_key=True)
    pack_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str | None] = mapped_column(String(32), default=None)
    set_by: Mapped[str] = mapped_column(String(128))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Webhook(Base):
    """A URL that receives the signed JSON events it subscribed to (:data:`qa_engine.app.events.EVENTS`)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(Base):
    """One event for one webhook: attempts, backoff and the last answer (the delivery log)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (CheckConstraint(_in("status", DELIVERY_STATUSES), name="ck_deliveries_status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(64))
    call_pk: Mapped[str | None] = mapped_column(String(32), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    @validates("last_error")
    def _mask_error(self, _key: str, error: str | None) -> str | None:
        """Every writer of a delivery's error stores it masked: it may quote the webhook's address or a transport
        message, and the delivery log shows it (``GET /webhooks/{id}/deliveries``)."""
        return mask_optional(error)


#: where a form's items keep text people typed (the rest: ids, weights, flags)
FORM_ITEM_TEXTS = ("*.label",)
FORM_NAME_LENGTH = 128


class EvaluationForm(Base):
    """A team's manual evaluation form (items with weights, N/A, critical); never edited: a change is a new version.

    ``items`` is a list of ``{"id", "label", "weight", "max", "allow_na", "critical"}`` (validated in
    :mod:`qa_engine.app.evaluation_forms`); the newest form of a team is its current one.
    """

    __tablename__ = "evaluation_forms"
    __table_args__ = (UniqueConstraint("team", "name", "version", name="uq_evaluation_forms_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(FORM_NAME_LENGTH))
    version: Mapped[int] = mapped_column(Integer, default=1)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    auto_weight: Mapped[float] = mapped_column(Float, default=0.5)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @staticmethod
    def stored_name(name: str) -> str:
        """``name`` as it is stored (stripped, PII-masked): what a lookup by name must compare with."""
        return mask_text(name.strip())

    @validates("name", "items")
    def _mask_texts(self, key: str, value: Any) -> Any:
        """Every writer stores the form's name and its items' labels masked: the API, the UI, the call's released
        evaluation and the ``evaluation.submitted`` webhook show them. Item ids stay (answers refer to them)."""
        if key == "name":
            return self.stored_name(value)
        return mask_at(value, *FORM_ITEM_TEXTS)


class CalibrationSession(Base):
    """Several reviewers evaluate the same calls with one form, blind, until the session is closed."""

    __tablename__ = "calibration_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    team: Mapped[str] = mapped_column(String(128), index=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("evaluation_forms.id"))
    calls: Mapped[list[str]] = mapped_column(JSON)
    reviewers: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    @validates("name")
    def _mask_name(self, _key: str, name: str) -> str:
        """Every writer stores the session's name masked (the API and the UI show it); sessions are found by id."""
        return mask_text(name)


class Evaluation(Base):
    """A reviewer's filled form for one call: answers, the scores they give, release to the agent.

    ``calibration_id`` set: an answer in a calibration session (never released, not the call's score).
    """

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("calibration_id", "call_pk", "reviewer", name="uq_evaluations_calibration"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_pk: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("evaluation_forms.id"), index=True)
    calibration_id: Mapped[int | None] = mapped_column(ForeignKey("calibration_sessions.id", ondelete="CASCADE"),
                                                       default=None, index=True)
    reviewer: Mapped[str] = mapped_column(String(128), index=True)
    answers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    rule_verdicts: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    auto_score: Mapped[float | None] = mapped_column(Float, default=None)
    manual_score: Mapped[float | None] = mapped_column(Float, default=None)
    final_score: Mapped[float | None] = mapped_column(Float, default=None)
    critical_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    released_by: Mapped[str | None] = mapped_column(String(128), default=None)


class CoachingComment(Base):
    """A coaching comment on a call, optionally anchored at a moment (``at``, seconds), or a reply in its thread.

    Supervisors and admins start threads; the call's agent (and staff) reply (``parent_id``: the thread's first
    comment). ``text`` is stored PII-masked. Rows go with their call (``ON DELETE CASCADE``). The author may edit
    (``edited_at``) or delete; a deleted first comment that has replies stays as a tombstone (``deleted_at``,
    ``deleted_by``, its text gone) so the replies keep their thread.
    """

    __tablename__ = "coaching_comments"
    # SQLite would give a deleted comment's id to the next one (max rowid + 1): the audit trail names comments by id
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_pk: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("coaching_comments.id", ondelete="CASCADE"),
                                                  default=None, index=True)
    author: Mapped[str] = mapped_column(String(128))
    author_role: Mapped[str] = mapped_column(String(16))
    at: Mapped[float | None] = mapped_column(Float, default=None)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    deleted_by: Mapped[str | None] = mapped_column(String(128), default=None)


class SearchUtterance(Base):
    """One utterance of a call's stored (PII-masked) report, copied out so it can be searched across calls.

    Rows are replaced whenever a report is stored (:mod:`qa_engine.app.search_index`) and go with their call.
    Search matches ``match_text`` (``text`` in :func:`qa_engine.app.search_text.match_form`, words marked); its
    n-gram index is made by migration 0011: FTS5 ``trigram`` on SQLite, ``pg_trgm`` GIN on PostgreSQL (neither
    is expressible here).
    """

    __tablename__ = "search_utterances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_pk: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    match_text: Mapped[str] = mapped_column(Text)


REVIEW_ITEM_STATES = ("open", "in_review", "done")


class ReviewItem(Base):
    """One call in the supervisors' review queue (inbox), whatever brought it there (``reasons``, merged).

    ``reasons`` is a comma-separated list in a fixed order (see :mod:`qa_engine.app.review_queue`): a plain string
    so both databases filter it the same way.
    """

    __tablename__ = "review_items"
    __table_args__ = (CheckConstraint(_in("state", REVIEW_ITEM_STATES), name="ck_review_items_state"),)

    call_pk: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    reasons: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    assigned_to: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_by: Mapped[str | None] = mapped_column(String(128), default=None)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class SamplingPlan(Base):
    """抽检: a share of a team's scored calls (and a minimum per agent per day) drawn into the review queue.

    ``seed`` keys the draw (a hash of seed and call id), so the selection is reproducible but not guessable.
    """

    __tablename__ = "sampling_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(128), index=True)
    percent: Mapped[float] = mapped_column(Float)
    per_agent_min: Mapped[int] = mapped_column(Integer, default=0)
    include: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    seed: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SamplingAgentDay(Base):
    """A plan's lock on one agent's day, created on first use: draws that may top up ``per_agent_min`` for that agent
    and day take it in turn, so each counts the selections of those before it. It holds no count (the draws do)."""

    __tablename__ = "sampling_agent_days"

    plan_id: Mapped[int] = mapped_column(ForeignKey("sampling_plans.id", ondelete="CASCADE"), primary_key=True)
    agent: Mapped[str] = mapped_column(String(128), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # as in SamplingDraw.day


class SamplingDraw(Base):
    """One plan's draw for one call (selected or not): each call is drawn once per plan, and the record stays."""

    __tablename__ = "sampling_draws"
    __table_args__ = (Index("ix_sampling_draws_plan_agent_day", "plan_id", "agent", "day"),)

    plan_id: Mapped[int] = mapped_column(ForeignKey("sampling_plans.id", ondelete="CASCADE"), primary_key=True)
    call_pk: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True, index=True)
    agent: Mapped[str] = mapped_column(String(128))
    day: Mapped[str] = mapped_column(String(10))  # the call's UTC day, YYYY-MM-DD (per_agent_min counts per day)
    value: Mapped[float] = mapped_column(Float)  # the draw, 0 <= value < 100: selected when below the percent
    selected: Mapped[bool] = mapped_column(Boolean)
    rule: Mapped[str | None] = mapped_column(String(16), default=None)  # "percent" or "per_agent_min"
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
