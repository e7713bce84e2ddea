"""Webhooks cannot reach internal addresses: refused when subscribed and again at delivery (DNS rebinding), the
connection goes to the address that was checked, the delivery log keeps status codes only."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from qa_engine.app.models import Webhook, WebhookDelivery
from qa_engine.app.settings import Settings
from qa_engine.app.webhook_targets import AllowList, UnsafeTarget, blocked_reason, check_url, numeric_host
from qa_engine.app.webhooks import WebhookDispatcher

from .test_webhooks import Receiver

INTERNAL = ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:8000/", "http://localhost/",
            "http://0.0.0.0/", "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://127.1/",
            "http://10.1.2.3/", "http://192.168.0.1/", "http://172.16.0.1/", "http://100.64.0.1/",
            "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:a9fe:a9fe]/", "http://[fe80::1]/",
            "http://[fd00::1]/", "http://224.0.0.1/", "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:7f00:1::]/"]


@pytest.fixture()
def admin(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_user("root", "admin")


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_addresses_are_refused(client: TestClient, admin: dict[str, str], url: str) -> None:
    response = client.post("/api/v1/webhooks", json={"url": url, "events": ["call.scored"]}, headers=admin)
    assert response.status_code == 422, response.text
    assert "QA_ENGINE_WEBHOOK_ALLOW_HOSTS" in response.text or "resolve" in response.text


def test_numeric_hosts_are_read_like_the_resolver() -> None:
    for host in ("2130706433", "0x7f000001", "0177.0.0.1", "127.1", "127.0.1", "0x7f.0.0.1"):
        assert numeric_host(host) == ipaddress.ip_address("127.0.0.1"), host
    assert numeric_host("169.254.43518") == ipaddress.ip_address("169.254.169.254")
    for host in ("example.com", "1e100.net", "256.1.1.1", "08.1.1.1", "1.2.3.4.5", ""):
        assert numeric_host(host) is None, host
    assert blocked_reason(ipaddress.ip_address("93.184.215.14")) is None
    assert blocked_reason(ipaddress.ip_address("2606:4700::1111")) is None


def test_allow_list_names_hosts_and_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    allow = AllowList.parse("hooks.corp.local, 10.20.0.0/16, 127.0.0.1")
    assert check_url("http://10.20.3.4:9000/x", allow).address == ipaddress.ip_address("10.20.3.4")
    assert check_url("http://127.0.0.1/", allow).port == 80
    with pytest.raises(UnsafeTarget):
        check_url("http://10.21.0.1/", allow)
    with pytest.raises(UnsafeTarget):
        check_url("http://169.254.169.254/", allow)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *_a, **_k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "",
                                                                    ("10.9.9.9", 443))])
    assert check_url("https://Hooks.Corp.Local./", allow).address == ipaddress.ip_address("10.9.9.9")
    with pytest.raises(UnsafeTarget, match="10.9.9.9 is a private address"):
        check_url("https://other.example/", allow)
    with pytest.raises(ValueError):
        Settings(webhook_allow_hosts="10.0.0.0/33")


def _public_dns(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> None:
    """``hooks.example`` resolves to the next answer each time it is looked up (a rebinding DNS server)."""
    real = socket.getaddrinfo

    def fake(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.example":
            return real(host, port, *args, **kwargs)
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_rebinding_after_subscription_is_refused_at_delivery(client: TestClient, settings: Settings,
                                                               admin: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                               upload: Callable[..., str]) -> None:
    client.app.state.webhook_dispatcher.stop()  # type: ignore[attr-defined]
    _public_dns(monkeypatch, ["93.184.215.14", "169.254.169.254"])
    created = client.post("/api/v1/webhooks", json={"url": "http://hooks.example/h", "events": ["call.scored"]},
                          headers=admin)
    assert created.status_code == 201, created.text
    upload(admin, agent=_agent(client))
    dispatcher = WebhookDispatcher(client.app.state.session_factory, settings)  # type: ignore[attr-defined]
    assert dispatcher.run_once() == 1
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        delivery = session.scalar(select(WebhookDelivery))
        assert delivery is not None and delivery.status == "failed" and delivery.attempts == 1
        assert delivery.last_error is not None and delivery.last_error.startswith("refused: ")
        # the reason stays; the address's digits are masked like any number in a stored error (and in the log)
        assert "is a link-local address" in delivery.last_error


def _agent(client: TestClient) -> str:
    from qa_engine.app.users import create_user

    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        create_user(session, "alice", "agent", "t1")
    return "alice"


def test_delivery_connects_to_the_checked_address_and_keeps_only_the_status(
        client: TestClient, settings: Settings, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        upload: Callable[..., str]) -> None:
    """The receiver answers 500 with a body: the log keeps "HTTP 500", never the body (no SSRF read-back)."""
    client.app.state.webhook_dispatcher.stop()  # type: ignore[attr-defined]
    receiver = Receiver(codes=[500])
    try:
        port = receiver.server.server_address[1]
        with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
            # subscribed on a name that pointed at a public address then; now it points at 127.0.0.1, allowed
            session.add(Webhook(url=f"http://hooks.example:{port}/hook", events=["call.scored"], secret="s" * 20,
                                created_by="root"))
            session.commit()
        _public_dns(monkeypatch, ["127.0.0.1"])
        upload(admin, agent=_agent(client))
        allowed = settings.model_copy(update={"webhook_allow_hosts": "127.0.0.0/8"})
        assert WebhookDispatcher(client.app.state.session_factory, allowed).run_once() == 1  # type: ignore[attr-defined]
        [request] = receiver.requests
        assert request["headers"]["Host"] == f"hooks.example:{port}"
        with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
            delivery = session.scalar(select(WebhookDelivery))
            assert delivery is not None and delivery.last_status_code == 500
            assert delivery.last_error == "HTTP 500" and "nope" not in (delivery.last_error or "")
    finally:
        receiver.close()
