"""Webhooks: subscriptions (admin), events queued with the report or the review / evaluation that caused them,
signed POSTs to a real local HTTP server, retries with backoff, the delivery log (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.webhook_schemas import EventName
from qa_engine.app.events import EVENTS
from qa_engine.app.models import Job, WebhookDelivery, utcnow
from qa_engine.app.rescore import run_rescore_job
from qa_engine.app.settings import Settings
from qa_engine.app.webhooks import WebhookDispatcher, backoff_delay, verify

from ..labelled_pack import LABELLED_PACK, LABELLED_PACK_ID
from .conftest import ZH_TRANSCRIPT
from .test_canonical_ids import EN_FAILING
from .test_evaluations import FORM, answers, make_form
from .zh_calls import BASE, FORBIDDEN

RUDE = {"role": "agent", "start": 9.5, "end": 11.0, "text": "这个不归我管，号码13812345678你自己去查。"}


class Receiver:
    """A real HTTP server on 127.0.0.1 that records each POST and answers from a script of status codes."""

    def __init__(self, codes: list[int] | None = None, delay_s: float = 0.0) -> None:
        self.codes = list(codes or [])
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                code = receiver.codes.pop(0) if receiver.codes else 200
                time.sleep(delay_s)
                try:
                    self.send_response(code)
                    self.end_headers()
                    self.wfile.write(b"nope" if code >= 300 else b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the dispatcher gave up waiting (the timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def settings(settings: Settings) -> Settings:
    """The receivers listen on 127.0.0.1, which webhooks reach only when the allow-list names it."""
    return settings.model_copy(update={"webhook_allow_hosts": "127.0.0.1"})


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture()
def admin(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    make_user("alice", "agent", "t1")
    return make_user("root", "admin")


@pytest.fixture()
def quiet(client: TestClient) -> None:
    """Stop the app's own dispatcher so the test decides when deliveries are attempted (and with which clock)."""
    dispatcher = client.app.state.webhook_dispatcher  # type: ignore[attr-defined]
    assert isinstance(dispatcher, WebhookDispatcher)
    dispatcher.stop()


def _dispatcher(client: TestClient, settings: Settings, **overrides: Any) -> WebhookDispatcher:
    tuned = settings.model_copy(update={"webhook_backoff_s": 10.0, "webhook_timeout_s": 2.0, **overrides})
    return WebhookDispatcher(client.app.state.session_factory, tuned, poll_s=0.05)  # type: ignore[attr-defined]


def _subscribe(client: TestClient, admin: dict[str, str], url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    response = client.post("/api/v1/webhooks", json={"url": url, "events": events, **extra}, headers=admin)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _deliveries(client: TestClient, admin: dict[str, str], hook_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/webhooks/{hook_id}/deliveries?payload=true", headers=admin)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.parametrize("body", [
    {"url": "ftp://example.com/x", "events": ["call.scored"]},
    {"url": "not a url", "events": ["call.scored"]},
    {"url": "http:///nohost", "events": ["call.scored"]},
    {"url": "http://user:pw@example.com/", "events": ["call.scored"]},
    {"url": "https://example.com/", "events": []},
    {"url": "https://example.com/", "events": ["call.deleted"]},
    {"url": "https://example.com/", "events": ["call.scored"], "secret": "short"},
])
def test_bad_subscriptions_are_422(client: TestClient, admin: dict[str, str], body: dict[str, Any]) -> None:
    response = client.post("/api/v1/webhooks", json=body, headers=admin)
    assert response.status_code == 422, response.text


def test_only_admins_manage_webhooks(client: TestClient, make_user: Callable[..., dict[str, str]]) -> None:
    sue = make_user("sue", "supervisor", "t1")
    body = {"url": "https://example.com/", "events": ["call.scored"]}
    assert client.post("/api/v1/webhooks", json=body, headers=sue).status_code == 403
    assert client.get("/api/v1/webhooks", headers=sue).status_code == 403
    assert client.get("/api/v1/webhooks").status_code == 401


@pytest.mark.usefixtures("quiet")
def test_scored_and_critical_events_are_signed_and_delivered(client: TestClient, settings: Settings,
                                                               admin: dict[str, str], receiver: Receiver,
                                                               upload: Callable[..., str]) -> None:
    hook = _subscribe(client, admin, receiver.url, ["call.scored", "finding.critical"])
    secret = hook["secret"]
    assert len(secret) >= 32
    listed = client.get("/api/v1/webhooks", headers=admin).json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    call_id = upload(admin, agent="alice", utterances=[*ZH_TRANSCRIPT["utterances"], RUDE])
    queued = _deliveries(client, admin, hook["id"])
    assert sorted(d["event"] for d in queued) == ["call.scored", "finding.critical"]
    assert all(d["status"] == "pending" and d["call_id"] == call_id for d in queued)

    assert _dispatcher(client, settings).run_once() == 2
    assert len(receiver.requests) == 2
    for request in receiver.requests:
        headers = request["headers"]
        assert verify(secret, headers["X-QA-Timestamp"], request["body"], headers["X-QA-Signature"])
        assert not verify("another-secret-of-some-length", headers["X-QA-Timestamp"], request["body"],
                          headers["X-QA-Signature"])
        doc = json.loads(request["body"])
        assert doc["event"] == headers["X-QA-Event"] and headers["Content-Type"] == "application/json"
        assert doc["id"] == call_id and doc["agent"] == "alice" and doc["team"] == "t1"
        assert "forbidden_phrases" in [f["rule_id"] for f in doc["failed_rules"]]
        assert "13812345678" not in request["body"].decode("utf-8")  # masked text only
    critical = next(json.loads(r["body"]) for r in receiver.requests
                    if r["headers"]["X-QA-Event"] == "finding.critical")
    assert critical["finding"]["rule_id"] == "forbidden_phrases" and critical["finding"]["severity"] == "critical"
    log = _deliveries(client, admin, hook["id"])
    assert all(d["status"] == "delivered" and d["attempts"] == 1 and d["last_status_code"] == 200 for d in log)
    assert {str(d["id"]) for d in log} == {r["headers"]["X-QA-Delivery"] for r in receiver.requests}


@pytest.mark.usefixtures("quiet")
def test_payloads_carry_canonical_ids_beside_the_labels(client: TestClient, settings: Settings,
                                                         admin: dict[str, str], receiver: Receiver,
                                                         make_user: Callable[..., dict[str, str]],
                                                         upload: Callable[..., str]) -> None:
    """A consumer filters on ``grade_id``/``category_id`` whatever the language or pack; the labels stay."""
    make_user("bob", "agent", "t2")
    make_user("zoe", "agent", "t9")
    pack = client.post("/api/v1/packs", content=LABELLED_PACK.encode(),
                       headers={**admin, "Content-Type": "application/yaml"})
    assert pack.status_code == 201, pack.text
    assert client.put("/api/v1/teams/t9/pack", json={"pack_id": LABELLED_PACK_ID}, headers=admin).status_code == 200
    hook = _subscribe(client, admin, receiver.url, ["call.scored", "finding.critical"])
    rude = [*ZH_TRANSCRIPT["utterances"], RUDE]
    zh, en, custom = (upload(admin, agent="alice", utterances=rude), upload(admin, agent="bob", **EN_FAILING),
                      upload(admin, agent="zoe", utterances=rude))
    assert _dispatcher(client, settings).run_once() == len(_deliveries(client, admin, hook["id"])) > 3
    sent = {(doc["id"], doc["event"]): doc for doc in (json.loads(r["body"]) for r in receiver.requests)}
    labels = {key: (doc["grade"], doc["grade_id"], doc["category"], doc["category_id"]) for key, doc in sent.items()}
    assert labels[(zh, "call.scored")] == ("不合格", "fail", "咨询", "inquiry")
    assert labels[(en, "call.scored")] == ("fail", "fail", "complaint", "complaint")
    assert labels[(custom, "call.scored")] == ("差", "fail", "抱怨", "complaint")  # the pack's label_ids
    assert labels[(zh, "finding.critical")] == labels[(zh, "call.scored")]


@pytest.mark.usefixtures("quiet")
def test_failed_posts_are_retried_with_backoff(client: TestClient, settings: Settings, admin: dict[str, str],
                                                upload: Callable[..., str]) -> None:
    flaky = Receiver([500, 500, 200])
    try:
        hook = _subscribe(client, admin, flaky.url, ["call.scored"], secret="s" * 20)
        upload(admin, agent="alice")
        dispatcher = _dispatcher(client, settings)
        now = utcnow()
        assert dispatcher.run_once(now) == 1
        first = _deliveries(client, admin, hook["id"])[0]
        assert (first["status"], first["attempts"], first["last_status_code"]) == ("pending", 1, 500)
        assert "HTTP 500" in first["last_error"]
        assert dispatcher.run_once(now + timedelta(seconds=9)) == 0  # backoff 10 s not over yet
        assert dispatcher.run_once(now + timedelta(seconds=10)) == 1
        assert _deliveries(client, admin, hook["id"])[0]["attempts"] == 2
        assert dispatcher.run_once(now + timedelta(seconds=29)) == 0  # then 20 s
        assert dispatcher.run_once(now + timedelta(seconds=30)) == 1
        done = _deliveries(client, admin, hook["id"])[0]
        assert (done["status"], done["attempts"], done["last_status_code"], done["last_error"]) == \
            ("delivered", 3, 200, None)
        assert len(flaky.requests) == 3
        assert len({r["headers"]["X-QA-Delivery"] for r in flaky.requests}) == 1  # the same delivery each time
    finally:
        flaky.close()


@pytest.mark.usefixtures("quiet")
def test_gives_up_after_max_attempts_and_logs_connection_errors(client: TestClient, settings: Settings,
                                                                  admin: dict[str, str],
                                                                  upload: Callable[..., str]) -> None:
    closed = Receiver()
    url = closed.url
    closed.close()  # nothing listens there any more
    hook = _subscribe(client, admin, url, ["call.scored"])
    upload(admin, agent="alice")
    dispatcher = _dispatcher(client, settings, webhook_max_attempts=2)
    now = utcnow()
    assert dispatcher.run_once(now) == 1
    assert dispatcher.run_once(now + timedelta(seconds=10)) == 1
    assert dispatcher.run_once(now + timedelta(days=1)) == 0
    [failed] = _deliveries(client, admin, hook["id"])
    assert (failed["status"], failed["attempts"], failed["last_status_code"]) == ("failed", 2, None)
    assert "ConnectError" in failed["last_error"]
    only_failed = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?status=failed", headers=admin).json()
    assert only_failed["total"] == 1


@pytest.mark.usefixtures("quiet")
def test_a_slow_receiver_times_out_without_holding_up_others(client: TestClient, settings: Settings,
                                                              admin: dict[str, str], receiver: Receiver,
                                                              upload: Callable[..., str]) -> None:
    slow = Receiver(delay_s=2.0)
    try:
        stuck = _subscribe(client, admin, slow.url, ["call.scored"])
        fine = _subscribe(client, admin, receiver.url, ["call.scored"])
        upload(admin, agent="alice")
        assert _dispatcher(client, settings, webhook_timeout_s=0.5).run_once() == 2
    finally:
        slow.close()
    [timed_out] = _deliveries(client, admin, stuck["id"])
    assert timed_out["status"] == "pending" and "Timeout" in timed_out["last_error"]
    assert _deliveries(client, admin, fine["id"])[0]["status"] == "delivered"


def test_backoff_doubles_and_is_capped(settings: Settings) -> None:
    tuned = settings.model_copy(update={"webhook_backoff_s": 2.0})
    assert [backoff_delay(tuned, n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff_delay(tuned, 40) == 3600.0


@pytest.mark.usefixtures("quiet")
def test_deleted_webhook_gets_no_more_events(client: TestClient, settings: Settings, admin: dict[str, str],
                                             receiver: Receiver, upload: Callable[..., str]) -> None:
    hook = _subscribe(client, admin, receiver.url, ["call.scored"])
    only_critical = _subscribe(client, admin, receiver.url, ["finding.critical"])
    upload(admin, agent="alice")  # a clean call: no critical finding
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=admin).status_code == 204
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=admin).status_code == 404
    [cancelled] = _deliveries(client, admin, hook["id"])  # the log stays readable
    assert (cancelled["status"], cancelled["last_error"]) == ("failed", "webhook deleted")
    upload(admin, agent="alice", call_id="zh-002")  # another call (the same one again would be no new call)
    assert _dispatcher(client, settings).run_once() == 0
    assert receiver.requests == [] and _deliveries(client, admin, only_critical["id"]) == []
    assert client.get("/api/v1/webhooks", headers=admin).json()["items"][0]["id"] == only_critical["id"]
    removed = client.get("/api/v1/webhooks?include_removed=true", headers=admin).json()["items"]
    assert [h["active"] for h in removed] == [False, True]


def test_the_service_delivers_in_the_background(client: TestClient, admin: dict[str, str], receiver: Receiver,
                                                upload: Callable[..., str]) -> None:
    _subscribe(client, admin, receiver.url, ["call.scored"])
    upload(admin, agent="alice")  # the app's own dispatcher (started with the service) sends it
    deadline = time.monotonic() + 10
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(receiver.requests) == 1


def test_dispatcher_thread_starts_and_stops(client: TestClient, settings: Settings, admin: dict[str, str],
                                            receiver: Receiver, upload: Callable[..., str], quiet: None) -> None:
    _subscribe(client, admin, receiver.url, ["call.scored"])
    upload(admin, agent="alice")
    dispatcher = _dispatcher(client, settings)
    dispatcher.start()
    try:
        deadline = time.monotonic() + 10
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        dispatcher.stop()
        dispatcher.stop()  # idempotent
    assert len(receiver.requests) == 1
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        assert session.scalar(select(WebhookDelivery.status)) == "delivered"


# --- the review workflow's events -------------------------------------------------------------------------------

PHONE = "13812345678"


def _sent(receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    """The documents ``receiver`` got, each checked against its signature and its X-QA-Event header."""
    docs = []
    for request in receiver.requests:
        headers = request["headers"]
        assert verify(secret, headers["X-QA-Timestamp"], request["body"], headers["X-QA-Signature"])
        assert PHONE not in request["body"].decode("utf-8")  # whatever people typed, masked
        doc: dict[str, Any] = json.loads(request["body"])
        assert doc["event"] == headers["X-QA-Event"]
        docs.append(doc)
    return docs


def _deliver_all(client: TestClient, settings: Settings) -> int:
    """Attempt what is due now; a second pass finds nothing more (each event is delivered once)."""
    dispatcher = _dispatcher(client, settings)
    sent = dispatcher.run_once()
    assert dispatcher.run_once() == 0
    return sent


def test_event_names_accepted_by_the_api_are_the_ones_the_service_sends() -> None:
    assert set(get_args(EventName)) == set(EVENTS)
    assert {"review.disputed", "review.resolved", "evaluation.submitted"} <= set(EVENTS)


@pytest.mark.usefixtures("quiet")
def test_review_events_are_signed_and_delivered_once(client: TestClient, settings: Settings,
                                                      admin: dict[str, str], receiver: Receiver,
                                                      make_user: Callable[..., dict[str, str]],
                                                      upload: Callable[..., str]) -> None:
    ann, sue = make_user("ann", "agent", "t1"), make_user("sue", "supervisor", "t1")
    hook = _subscribe(client, admin, receiver.url, ["review.disputed", "review.resolved"])
    other = Receiver()
    try:
        scored_only = _subscribe(client, admin, other.url, ["call.scored"])
        call = upload(admin, agent="ann", **FORBIDDEN)
        _deliver_all(client, settings)
        assert receiver.requests == [] and len(other.requests) == 1  # the upload: call.scored only
        disputed = client.post(f"/api/v1/calls/{call}/findings/forbidden_phrases/dispute", headers=ann,
                               json={"comment": f"规定 was about the tariff, call me on {PHONE}"})
        assert disputed.status_code == 201, disputed.text
        review_id = disputed.json()["review"]["id"]
        assert _deliver_all(client, settings) == 1
        [opened] = _sent(receiver, hook["secret"])
        assert opened["event"] == "review.disputed" and opened["id"] == call and opened["call_id"] == "zh-forbidden"
        assert (opened["agent"], opened["team"], opened["actor"]) == ("ann", "t1", "ann")
        assert (opened["score"], opened["grade_id"]) == (59.0, "fail") and "category_id" in opened
        assert opened["review"]["id"] == review_id and opened["review"]["kind"] == "dispute"
        assert opened["review"]["state"] == "open" and opened["review"]["requested_status"] == "pass"
        assert opened["review"]["rule_id"] == opened["finding"]["rule_id"] == "forbidden_phrases"
        assert opened["finding"]["status"] == "fail" and opened["finding"]["severity"] == "critical"
        assert opened["review"]["comment"].startswith("规定 was about the tariff, call me on ")
        assert "*" in opened["review"]["comment"]  # the number, masked as it is stored

        accepted = client.post(f"/api/v1/reviews/{review_id}/accept", json={"comment": f"ok, {PHONE} checked"},
                               headers=sue)
        assert accepted.status_code == 200, accepted.text
        assert _deliver_all(client, settings) == 1
        resolved = _sent(receiver, hook["secret"])[1]
        assert resolved["event"] == "review.resolved" and resolved["actor"] == "sue"
        assert resolved["decision"] == "accepted" and resolved["review"]["id"] == review_id
        assert resolved["review"]["resolved_by"] == "sue" and "*" in resolved["review"]["resolution_comment"]
        assert (resolved["score"], resolved["grade"], resolved["grade_id"]) == (94.1, "优秀", "excellent")
        assert resolved["score_changed"] is True
        assert resolved["previous"] == {"status": "fail", "score": 59.0, "grade": "不合格", "grade_id": "fail"}
        assert resolved["finding"]["status"] == "pass" and resolved["finding"]["auto_status"] == "fail"

        rejected_id = client.post(f"/api/v1/calls/{call}/findings/speech_rate/dispute", headers=ann,
                                  json={"comment": "I spoke slowly"}).json()["review"]["id"]
        assert client.post(f"/api/v1/reviews/{rejected_id}/reject", json={}, headers=sue).status_code == 200
        overridden = client.post(f"/api/v1/calls/{call}/findings/greeting/override", headers=sue,
                                 json={"status": "fail", "comment": "no greeting heard"})
        assert overridden.status_code == 201, overridden.text
        assert _deliver_all(client, settings) == 3
        events = [(d["event"], d.get("decision"), d["review"]["id"]) for d in _sent(receiver, hook["secret"])[2:]]
        assert sorted(events, key=str) == sorted([
            ("review.disputed", None, rejected_id), ("review.resolved", "rejected", rejected_id),
            ("review.resolved", "applied", overridden.json()["review"]["id"])], key=str)
        by_decision = {d.get("decision"): d for d in _sent(receiver, hook["secret"])[2:]}
        rejected, applied = by_decision["rejected"], by_decision["applied"]
        assert rejected["score_changed"] is False and rejected["score"] == rejected["previous"]["score"] == 94.1
        assert rejected["grade_id"] == rejected["previous"]["grade_id"] == "excellent"
        assert rejected["review"]["resolution_comment"] is None and rejected["finding"]["status"] == "fail"
        assert applied["review"]["kind"] == "override" and applied["actor"] == "sue"
        assert applied["finding"] == {**applied["finding"], "rule_id": "greeting", "status": "fail"}
        assert applied["score_changed"] is True and applied["score"] < applied["previous"]["score"]
        assert applied["review"]["comment"] == "no greeting heard"

        assert len(other.requests) == 1  # not subscribed to the review events: nothing more
        assert [d["event"] for d in _deliveries(client, admin, scored_only["id"])] == ["call.scored"]
        log = _deliveries(client, admin, hook["id"])
        assert len(log) == 5 and all(d["status"] == "delivered" and d["call_id"] == call for d in log)
    finally:
        other.close()


@pytest.mark.usefixtures("quiet")
def test_an_evaluation_sends_evaluation_submitted(client: TestClient, settings: Settings, admin: dict[str, str],
                                                  receiver: Receiver, make_user: Callable[..., dict[str, str]],
                                                  upload: Callable[..., str]) -> None:
    sue = make_user("sue", "supervisor", "t1")
    form = make_form(client, admin)
    call = upload(admin, agent="alice", **BASE)
    hook = _subscribe(client, admin, receiver.url, ["evaluation.submitted"])
    other = Receiver()
    try:
        _subscribe(client, admin, other.url, ["call.scored", "review.resolved"])
        created = client.post(f"/api/v1/calls/{call}/evaluations", headers=sue,
                              json={"answers": answers(4, None, 1), "comment": f"客户电话 {PHONE} 已核实"})
        assert created.status_code == 201, created.text
        evaluation = created.json()
        assert _deliver_all(client, settings) == 1
        [doc] = _sent(receiver, hook["secret"])
        assert doc["event"] == "evaluation.submitted" and doc["id"] == call and doc["actor"] == "sue"
        assert (doc["agent"], doc["team"], doc["grade_id"]) == ("alice", "t1", "excellent")
        sent = doc["evaluation"]
        assert sent["id"] == evaluation["id"] and sent["reviewer"] == "sue" and sent["released"] is False
        assert sent["form"] == {"id": form["id"], "name": FORM["name"], "version": 1}
        assert (sent["auto_score"], sent["manual_score"], sent["final_score"], sent["critical_failed"]) == (
            evaluation["auto_score"], evaluation["manual_score"], evaluation["final_score"], False)
        assert sent["answers"][0] == {"item": "attitude", "label": "服务态度", "value": 4, "max": 5,
                                      "comment": "语气友好"}
        assert sent["answers"][1]["value"] is None
        assert sent["comment"] == evaluation["comment"] and "*" in sent["comment"]
        assert other.requests == []  # subscribed to other events only
    finally:
        other.close()


@pytest.mark.usefixtures("quiet")
def test_a_rescore_sends_call_scored_again(client: TestClient, settings: Settings, admin: dict[str, str],
                                           receiver: Receiver, upload: Callable[..., str]) -> None:
    """A rescore is scoring again: the same ``call.scored`` event (and ``finding.critical``), with the new pack."""
    call = upload(admin, agent="alice", **FORBIDDEN)
    hook = _subscribe(client, admin, receiver.url, ["call.scored", "finding.critical"])
    queued = client.post("/api/v1/packs/zh-CN/rescore", json={}, headers=admin)
    assert queued.status_code == 202, queued.text
    app = client.app
    with app.state.session_factory() as session:  # type: ignore[attr-defined]
        job = session.get(Job, queued.json()["job_id"])
        assert job is not None
        assert run_rescore_job(session, app.state.pack_cache, job)["rescored"] == 1  # type: ignore[attr-defined]
        session.commit()
    assert _deliver_all(client, settings) == 2
    docs = _sent(receiver, hook["secret"])
    assert sorted(d["event"] for d in docs) == ["call.scored", "finding.critical"]
    assert all(d["id"] == call and d["pack"]["id"] == "zh-CN" for d in docs)
