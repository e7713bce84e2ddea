"""Probes, Prometheus metrics, the access log, structured logs and the OpenAPI document."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api import metrics
from api.main import create_app
from qa_engine.app import metrics as job_metrics
from qa_engine.app.logging_config import CLI_LOG_HANDLER, configure_logging
from qa_engine.app.models import Job
from qa_engine.app.settings import Settings


@pytest.fixture()
def settings(settings: Settings) -> Settings:
    """No background workers: the jobs the metrics test queues must stay queued."""
    return settings.model_copy(update={"workers": 0})


def _samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}
    assert client.get("/api/v1/health").status_code == 200  # the old path keeps working


def test_readyz_names_an_unmigrated_database(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"), migrate=False)
    with TestClient(app) as client:
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200  # alive, though not ready
    assert response.status_code == 503
    assert "revision none" in response.json()["reason"] and "qa-engine db upgrade" in response.json()["reason"]


def test_readyz_names_an_unreachable_database(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data", db_url=f"sqlite:///{tmp_path}"), migrate=False)
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["reason"].startswith("database unavailable")


def test_metrics_count_requests_by_route_and_read_queue_depth(client: TestClient,
                                                              make_user: Callable[..., dict[str, str]],
                                                              upload: Callable[..., str]) -> None:
    before = _samples(client)
    admin = make_user("root", "admin")
    make_user("alice", "agent", "t1")
    call_id = upload(admin, agent="alice")
    assert client.get(f"/api/v1/calls/{call_id}", headers=admin).status_code == 200
    assert client.get("/api/v1/calls/nope", headers=admin).status_code == 404
    assert client.get("/no/such/path").status_code == 404
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        session.add_all([Job(kind="rescore", status="queued"), Job(kind="rescore", status="queued"),
                         Job(kind="score_audio", status="running"), Job(kind="rescore", status="done")])
        session.commit()
    job_metrics.observe_job("rescore", "done", 1.5)
    after = _samples(client)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    route = "/api/v1/calls/{call_id}"
    assert grew("qa_engine_http_requests_total", method="GET", route=route, status="200") == 1
    assert grew("qa_engine_http_requests_total", method="GET", route=route, status="404") == 1
    assert grew("qa_engine_http_requests_total", method="POST", route="/api/v1/calls", status="201") == 1
    assert grew("qa_engine_http_requests_total", method="GET", route="(unmatched)", status="404") == 1
    assert grew("qa_engine_http_request_seconds_count", method="GET", route=route) == 2
    assert not any(call_id in labels_value for (_n, labels) in after for _k, labels_value in labels)
    assert _value(after, "qa_engine_jobs", kind="rescore", status="queued") == 2
    assert _value(after, "qa_engine_jobs", kind="score_audio", status="running") == 1
    assert _value(after, "qa_engine_jobs", kind="score_audio", status="queued") == 0
    assert grew("qa_engine_jobs_finished_total", kind="rescore", status="done") == 1
    assert grew("qa_engine_job_seconds_count", kind="rescore") == 1
    assert _value(after, "qa_engine_webhook_deliveries_pending") == 0


def test_access_log_line_per_request(client: TestClient, make_user: Callable[..., dict[str, str]],
                                     caplog: pytest.LogCaptureFixture) -> None:
    admin = make_user("root", "admin")
    with caplog.at_level(logging.INFO, logger="api.access"):
        client.get("/api/v1/calls", headers=admin)
    [line] = [r for r in caplog.records if r.name == "api.access"]
    assert (line.method, line.route, line.status) == ("GET", "/api/v1/calls", 200)  # type: ignore[attr-defined]
    assert line.duration_ms >= 0  # type: ignore[attr-defined]


def test_access_log_names_the_user_noted_on_request_state(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    metrics.install(app)

    @app.get("/who")
    def who(request: Request) -> dict[str, str]:
        request.state.user_name = "sue"
        return {}

    with caplog.at_level(logging.INFO, logger="api.access"), TestClient(app) as client:
        client.get("/who")
    [line] = [r for r in caplog.records if r.name == "api.access"]
    assert line.user == "sue"  # type: ignore[attr-defined]


@pytest.fixture()
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = False


@pytest.mark.usefixtures("restore_logging")
def test_json_logs_carry_extra_fields() -> None:
    stream = io.StringIO()
    configure_logging("json", "INFO", stream=stream)
    configure_logging("json", "INFO", stream=stream)  # idempotent: still one line per record
    logging.getLogger("qa_engine.app.worker").info("job %s done", 7, extra={"job_id": 7, "kind": "rescore"})
    logging.getLogger("qa_engine.app.worker").debug("not shown at INFO")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("qa_engine.app.worker").exception("job failed")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    assert lines[0]["message"] == "job 7 done" and lines[0]["level"] == "INFO"
    assert lines[0]["logger"] == "qa_engine.app.worker"
    assert lines[0]["job_id"] == 7 and lines[0]["kind"] == "rescore" and lines[0]["time"].endswith("Z")
    assert "ValueError: boom" in lines[1]["exception"]


@pytest.mark.usefixtures("restore_logging")
def test_text_logs() -> None:
    stream = io.StringIO()
    configure_logging("text", "DEBUG", stream=stream)
    logging.getLogger("qa_engine.app.webhooks").debug("sent", extra={"delivery_id": 3})
    assert stream.getvalue().rstrip().endswith("DEBUG qa_engine.app.webhooks: sent delivery_id=3")


@pytest.mark.usefixtures("restore_logging")
def test_service_logging_replaces_the_cli_handler() -> None:
    """``qa-engine serve`` starts with the CLI's plain handler; the service's must replace it (no doubled lines)."""
    cli_stream, stream = io.StringIO(), io.StringIO()
    cli_handler = logging.StreamHandler(cli_stream)
    cli_handler.set_name(CLI_LOG_HANDLER)
    logging.getLogger().addHandler(cli_handler)
    configure_logging("json", "INFO", stream=stream)
    logging.getLogger("api.main").info("ready")
    assert cli_stream.getvalue() == ""
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["ready"]


def test_openapi_documents_every_part(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/packs", "/api/v1/packs/{pack_id}", "/api/v1/packs/validate", "/api/v1/teams/{team}/pack",
                 "/api/v1/packs/{pack_id}/rescore", "/api/v1/jobs/{job_id}", "/api/v1/webhooks",
                 "/api/v1/webhooks/{webhook_id}/deliveries", "/healthz", "/readyz", "/metrics"):
        assert path in paths, path
    assert "application/yaml" in paths["/api/v1/packs"]["post"]["requestBody"]["content"]
