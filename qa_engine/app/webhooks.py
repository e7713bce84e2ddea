"""Webhook deliveries: events queued with the change that caused them, then POSTed, signed, with retries.

Scoring code queues ``call.scored`` (and ``finding.critical`` per failed critical finding) through
:func:`enqueue_call_events` inside its own transaction; reviews and evaluations queue theirs through
:func:`enqueue_event` (see :mod:`qa_engine.app.events`). :class:`WebhookDispatcher` delivers what is due:
one POST per delivery with the headers ``X-QA-Event``, ``X-QA-Delivery``, ``X-QA-Timestamp`` and
``X-QA-Signature: sha256=HEX``, where HEX is the HMAC-SHA256 of ``TIMESTAMP + "." + BODY`` under the webhook's
secret. A 2xx answer delivers it; anything else is retried after ``backoff * 2**(attempts-1)`` seconds (capped)
until ``webhook_max_attempts``, then the delivery is marked failed. Every attempt is kept in the delivery log, with
only the status code (never the answer's body). Before each POST the URL's host is resolved and checked again
(:mod:`qa_engine.app.webhook_targets`): an internal address fails the delivery at once, and the POST goes to the
address that was checked. Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from qa_engine import __version__
from qa_engine.app.access import as_utc
from qa_engine.app.events import EVENT_CALL_SCORED, EVENT_FINDING_CRITICAL
from qa_engine.app.events import EVENTS as EVENTS  # the names were defined here first: still importable from here
from qa_engine.app.metrics import WEBHOOK_ATTEMPTS
from qa_engine.app.models import Call, Evaluation, EvaluationForm, FindingRow, Review, Webhook, WebhookDelivery, utcnow
from qa_engine.app.settings import Settings
from qa_engine.app.webhook_targets import AllowList, Target, UnsafeTarget, check_url
from qa_engine.pii import mask_optional, mask_text

logger = logging.getLogger(__name__)

#: where a payload quotes the call or what people typed (masked when it is built), for ``qa-engine remask`` to mask
#: again; the rest (the call's ``id``, names, times) is no PII and must stay as sent. ``*``: each item of a list.
PAYLOAD_TEXTS = ("call_id", "failed_rules.*.explanation", "failed_rules.*.evidence.*.text", "finding.explanation",
                 "finding.evidence.*.text", "review.comment", "review.resolution_comment", "evaluation.comment",
                 "evaluation.answers.*.comment", "evaluation.answers.*.label", "evaluation.form.name")

MAX_BACKOFF_S = 3600.0
CLAIM_MARGIN_S = 60.0
BATCH = 50
MAX_ERROR_CHARS = 500


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-QA-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of ``timestamp + "." + body``."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Check a signature the way a receiver should (constant-time comparison)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent (UTF-8 JSON, compact)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _masked_finding(item: dict[str, Any]) -> dict[str, Any]:
    """A failed finding for a payload: texts masked again, whatever the report stored."""
    evidence = [{"start": e.get("start"), "end": e.get("end"), "text": mask_text(str(e.get("text") or ""))}
                for e in item.get("evidence") or []]
    return {"rule_id": item.get("rule_id"), "severity": item.get("severity"), "weight": item.get("weight"),
            "explanation": mask_text(str(item.get("explanation") or "")), "evidence": evidence}


def call_payload(call: Call, event: str) -> dict[str, Any]:
    """The JSON document of ``event`` for ``call`` (masked texts only).

    The pack's labels (不合格, 投诉) stay for the consumers that read them; the canonical ids beside them (fail,
    complaint) let a consumer act on a grade or category whatever the pack's language or own labels.
    """
    report = call.report or {}
    failed = [_masked_finding(f) for f in report.get("findings") or [] if f.get("status") == "fail"]
    return {"event": event, **_call_fields(call), "pack": {"id": call.pack, "version": call.pack_version},
            "started_at": _iso(call.started_at), "scored_at": _iso(call.finished_at), "failed_rules": failed}


def _call_fields(call: Call) -> dict[str, Any]:
    """What every event says about its call: ids, agent, team, and its score, grade and category now."""
    return {"id": call.id, "call_id": mask_optional(call.call_id), "agent": call.agent, "team": call.team,
            "score": call.score, "grade": call.grade, "category": call.category,
            "grade_id": call.grade_id, "category_id": call.category_id}


def review_payload(event: str, call: Call, review: Review, finding: FindingRow, *, actor: str,
                   before: dict[str, Any] | None = None) -> dict[str, Any]:
    """The document of a review event; ``before`` (status, score, grade, grade_id before a decision) adds the decision.

    Comments are sent as stored (masked) and masked again, like every text in a payload.
    """
    doc = {"event": event, **_call_fields(call), "actor": actor,
           "review": {"id": review.id, "kind": review.kind, "state": review.state, "rule_id": review.rule_id,
                      "requested_status": review.requested_status, "author": review.author,
                      "comment": mask_text(review.comment), "created_at": _iso(review.created_at),
                      "resolved_by": review.resolved_by, "resolution_comment": mask_optional(review.resolution_comment),
                      "resolved_at": _iso(review.resolved_at)},
           "finding": {"rule_id": finding.rule_id, "status": finding.status, "auto_status": finding.auto_status,
                       "severity": finding.severity, "weight": finding.weight}}
    if before is not None:
        doc.update(decision=review.state, previous=before, score_changed=before.get("score") != call.score)
    return doc


def evaluation_payload(event: str, call: Call, evaluation: Evaluation, form: EvaluationForm) -> dict[str, Any]:
    """The document of an evaluation event: the form, the scores and the answers (comments masked)."""
    answers = [{**answer, "comment": mask_optional(answer.get("comment"))} for answer in evaluation.answers]
    return {"event": event, **_call_fields(call), "actor": evaluation.reviewer,
            "evaluation": {"id": evaluation.id, "form": {"id": form.id, "name": form.name, "version": form.version},
                           "reviewer": evaluation.reviewer, "auto_score": evaluation.auto_score,
                           "manual_score": evaluation.manual_score, "final_score": evaluation.final_score,
                           "critical_failed": evaluation.critical_failed, "comment": mask_optional(evaluation.comment),
                           "answers": answers, "released": evaluation.released_at is not None,
                           "created_at": _iso(evaluation.created_at)}}


def _iso(moment: datetime | None) -> str | None:
    value = as_utc(moment)
    return value.isoformat() if value is not None else None


def _active_hooks(session: Session) -> list[Webhook]:
    return [h for h in session.scalars(select(Webhook).where(Webhook.active.is_(True))) if h.events]


def enqueue_event(session: Session, event: str, call: Call, payload: dict[str, Any]) -> int:
    """Queue ``payload`` as ``event`` about ``call`` for each webhook subscribed to it; the caller commits."""
    hooks = [h for h in _active_hooks(session) if event in h.events]
    session.add_all([WebhookDelivery(webhook_id=h.id, event=event, call_pk=call.id, payload=payload) for h in hooks])
    return len(hooks)


def enqueue_call_events(session: Session, call: Call) -> int:
    """Queue ``call.scored`` / ``finding.critical`` deliveries for ``call``; the caller commits. Returns how many."""
    hooks = _active_hooks(session)
    if not hooks:
        return 0
    scored = call_payload(call, EVENT_CALL_SCORED)
    critical = [f for f in scored["failed_rules"] if f["severity"] == "critical"]
    deliveries = []
    for hook in hooks:
        if EVENT_CALL_SCORED in hook.events:
            deliveries.append(WebhookDelivery(webhook_id=hook.id, event=EVENT_CALL_SCORED, call_pk=call.id,
                                              payload=scored))
        if EVENT_FINDING_CRITICAL in hook.events:
            for finding in critical:
                payload = {**scored, "event": EVENT_FINDING_CRITICAL, "finding": finding}
                deliveries.append(WebhookDelivery(webhook_id=hook.id, event=EVENT_FINDING_CRITICAL, call_pk=call.id,
                                                  payload=payload))
    session.add_all(deliveries)
    return len(deliveries)


def backoff_delay(settings: Settings, attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: doubling, capped at an hour."""
    return float(min(settings.webhook_backoff_s * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S))


class WebhookDispatcher:
    """Delivers due webhook events; ``start()`` runs :meth:`run_once` in a daemon thread until ``stop()``.

    Due deliveries are sent ``concurrency`` at a time. Several dispatchers (processes) may run: a delivery is
    claimed with a conditional update before it is sent, so none is sent twice at once.
    """

    def __init__(self, session_factory: Callable[[], Session], settings: Settings, *, poll_s: float = 1.0,
                 concurrency: int = 8, client: httpx.Client | None = None) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.poll_s = poll_s
        self.concurrency = max(1, concurrency)
        self.client = client or self._new_client()
        self.allow = AllowList.parse(settings.webhook_allow_hosts)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _new_client(self) -> httpx.Client:
        return httpx.Client(timeout=self.settings.webhook_timeout_s, follow_redirects=False,
                            headers={"User-Agent": f"qa-engine-webhooks/{__version__}"})

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="webhook-dispatcher", daemon=True)
        self._thread.start()
        logger.info("webhook dispatcher started")

    def stop(self, timeout: float | None = None) -> None:
        """Stop polling (idempotent); an attempt in flight finishes first (at most the HTTP timeout)."""
        self._stop.set()
        if self._thread is None:
            return
        self._thread.join(timeout if timeout is not None else self.settings.webhook_timeout_s + 5)
        self._thread = None
        self.client.close()  # run_once() afterwards opens a new one
        logger.info("webhook dispatcher stopped")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.run_once()
            except Exception:  # keep delivering after a database hiccup; the error is logged
                logger.exception("webhook dispatcher: pass failed")
                sent = 0
            self._stop.wait(0 if sent >= BATCH else self.poll_s)

    def run_once(self, now: datetime | None = None) -> int:
        """Attempt every delivery due at ``now`` (default: the clock); returns how many were attempted."""
        moment = as_utc(now) or utcnow()
        claimed = self._claim(moment)
        if claimed and self.client.is_closed:  # stopped earlier: a fresh client for this pass
            self.client = self._new_client()
        if len(claimed) <= 1:
            for delivery_id in claimed:
                self._attempt(delivery_id, moment)
            return len(claimed)
        # in parallel: one slow or unreachable receiver must not hold up everybody else's events
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(claimed)),
                                thread_name_prefix="webhook-post") as pool:
            list(pool.map(lambda delivery_id: self._attempt(delivery_id, moment), claimed))
        return len(claimed)

    def _claim(self, now: datetime) -> list[int]:
        """Ids of due deliveries this dispatcher now owns (pushed ahead so no other dispatcher takes them)."""
        lease = now + timedelta(seconds=self.settings.webhook_timeout_s + CLAIM_MARGIN_S)
        claimed = []
        with self.session_factory() as session:
            due = session.scalars(select(WebhookDelivery.id).where(
                WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(BATCH)).all()
            for delivery_id in due:
                result = session.execute(update(WebhookDelivery).where(
                    WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
                    WebhookDelivery.next_attempt_at <= now).values(next_attempt_at=lease))
                if getattr(result, "rowcount", 0) == 1:
                    claimed.append(delivery_id)
            session.commit()
        return claimed

    def _attempt(self, delivery_id: int, now: datetime) -> None:
        with self.session_factory() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            hook = session.get(Webhook, delivery.webhook_id) if delivery is not None else None
            if delivery is None:
                return
            if hook is None or not hook.active:
                delivery.status, delivery.last_error = "failed", "webhook deleted"
                session.commit()
                return
            url, secret, event, payload = hook.url, hook.secret, delivery.event, delivery.payload
            session.commit()  # no transaction stays open during the HTTP call
        refused = False
        code: int | None
        error: str | None
        try:  # checked again now: the host may resolve elsewhere than when it was subscribed (DNS rebinding)
            target = check_url(url, self.allow)
        except UnsafeTarget as exc:
            code, error, refused = None, f"refused: {exc}"[:MAX_ERROR_CHARS], True
        else:
            code, error = self._post(target, url, secret, event, delivery_id, payload, now)
        with self.session_factory() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            if delivery is None:
                return
            delivery.attempts += 1
            delivery.last_status_code, delivery.last_error = code, error
            if error is None:
                delivery.status, delivery.delivered_at = "delivered", utcnow()
            elif refused or delivery.attempts >= self.settings.webhook_max_attempts:
                delivery.status = "failed"
            else:
                delivery.next_attempt_at = now + timedelta(seconds=backoff_delay(self.settings, delivery.attempts))
            outcome, attempts = delivery.status, delivery.attempts
            session.commit()
        WEBHOOK_ATTEMPTS.labels(event=event, outcome="ok" if error is None else "error").inc()
        log = logger.info if error is None else logger.warning
        log("webhook delivery %s (%s) attempt %d: %s", delivery_id, event, attempts, error or code,
            extra={"delivery_id": delivery_id, "event": event, "status_code": code, "outcome": outcome})

    def _post(self, target: Target, url: str, secret: str, event: str, delivery_id: int, payload: dict[str, Any],
              now: datetime) -> tuple[int | None, str | None]:
        """POST one delivery to the checked address; (status code, None) when delivered, else (code or None, why).

        The connection goes to ``target.address`` (the name stays in Host and in TLS SNI / certificate checks), so a
        second DNS answer cannot switch it. Nothing of the answer but its status code is kept: the delivery log must
        not read internal pages back to whoever subscribed the URL.
        """
        body = encode_body(payload)
        timestamp = str(int(now.timestamp()))
        headers = {"Content-Type": "application/json", "X-QA-Event": event, "X-QA-Delivery": str(delivery_id),
                   "X-QA-Timestamp": timestamp, "X-QA-Signature": sign(secret, timestamp, body),
                   "Host": target.host_header}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            request = self.client.build_request("POST", target.pinned_url(url), content=body, headers=headers,
                                                extensions=extensions)
            response = self.client.send(request, stream=True)
            code = response.status_code
            response.close()  # the body is never read
        except httpx.TimeoutException as exc:
            return None, f"timed out ({type(exc).__name__})"
        except httpx.HTTPError as exc:
            return None, f"connection failed ({type(exc).__name__})"
        if 200 <= code < 300:
            return code, None
        return code, f"HTTP {code}"
