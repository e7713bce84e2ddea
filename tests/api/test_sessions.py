"""Secrets and sessions: the generated key file, server-side sessions (sign-out, password change and disabling
revoke them; idle and absolute expiry), CSRF on sign-in/sign-out and API calls, security headers, sign-in limits,
and the acceptance line: a cookie signed with any string in the source is refused."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import json
import logging
import os
import re
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from api.main import create_app
from api.ui import login_cookie
from qa_engine.app.login_sessions import SessionPolicy, create_session, revoke_session, session_user
from qa_engine.app.models import User
from qa_engine.app.secret_key import KEY_FILE_NAME, load_secret_key
from qa_engine.app.settings import Settings
from qa_engine.app.sign_in import SignInLimiter
from qa_engine.app.users import create_user, set_disabled, set_password
from qa_engine.errors import QaEngineError

from .serve_process import free_port

ROOT = Path(__file__).parents[2]
SCRIPT = Path(sys.executable).with_name("qa-engine")
PASSWORD = "sue-password"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


# ---------- helpers ----------

def _user(app: Any, name: str = "sue", role: str = "supervisor", password: str | None = PASSWORD) -> str:
    """Create a user in the app's database; returns their API key."""
    with app.state.session_factory() as session:
        _u, key = create_user(session, name, role, "t1" if role != "admin" else None, password=password)
    return key


def _form_token(client: TestClient | httpx.Client) -> str:
    page = client.get("/ui/login")
    assert page.status_code == 200
    found = TOKEN_FIELD.search(page.text)
    assert found, "the sign-in form carries a CSRF token"
    return found[1]


def sign_in(client: TestClient | httpx.Client, name: str = "sue", password: str = PASSWORD) -> httpx.Response:
    """The browser's way: load the form (CSRF cookie + token), post it; returns the POST's answer."""
    token = _form_token(client)
    return client.post("/ui/login", data={"name": name, "password": password, "csrf_token": token},
                       follow_redirects=False)


def signed_in(client: TestClient, name: str = "sue", password: str = PASSWORD) -> str:
    """Sign in; returns the session cookie's value (the client keeps it too)."""
    response = sign_in(client, name, password)
    assert response.status_code == 303, response.text
    token = client.cookies.get(login_cookie.COOKIE)
    assert token
    return token


def page_csrf(client: TestClient) -> str:
    """The signed-in session's CSRF token, as the UI's pages carry it."""
    page = client.get("/ui/calls")
    assert page.status_code == 200
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert found
    return found[1]


def as_cookie(client: TestClient, token: str) -> httpx.Response:
    """GET /api/v1/calls with only ``token`` as the session cookie."""
    client.cookies.clear()
    client.cookies.set(login_cookie.COOKIE, token)
    return client.get("/api/v1/calls")


@pytest.fixture()
def make_app(settings: Settings) -> Iterator[Callable[..., TestClient]]:
    """A TestClient on an app built from the test's settings with some of them changed."""
    clients: list[TestClient] = []

    def make(**changes: Any) -> TestClient:
        client = TestClient(create_app(settings.model_copy(update=changes)), **changes.pop("_client", {}))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


# ---------- the secret ----------

def test_key_file_is_created_0600_and_reused_across_restarts(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", workers=0)
    assert settings.secret_key is None  # nothing shipped
    with TestClient(create_app(settings)) as first:
        key_file = tmp_path / "data" / KEY_FILE_NAME
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_bytes().strip()
        assert len(key) >= 32 and first.app.state.secret_key == key  # type: ignore[attr-defined]
        _user(first.app)
        form_token = _form_token(first)  # a sign-in form opened before the restart ...
        nonce = first.cookies.get(login_cookie.SIGN_IN_COOKIE)
        session_token = signed_in(first)
    with TestClient(create_app(settings)) as second:  # a restart: the same key, the same sessions
        assert second.app.state.secret_key == key  # type: ignore[attr-defined]
        assert key_file.read_bytes().strip() == key
        assert as_cookie(second, session_token).status_code == 200
        second.cookies.clear()
        second.cookies.set(login_cookie.SIGN_IN_COOKIE, nonce or "", path="/ui/login")
        answer = second.post("/ui/login", data={"name": "sue", "password": PASSWORD, "csrf_token": form_token},
                             follow_redirects=False)
        assert answer.status_code == 303  # ... still works after it


def test_key_file_races_readable_files_and_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path / "fresh")
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(load_secret_key(settings))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1  # processes starting at once agree on one key
    assert [p.name for p in (tmp_path / "fresh").iterdir()] == [KEY_FILE_NAME]  # no temporary files left
    key_file = tmp_path / "fresh" / KEY_FILE_NAME
    key_file.chmod(0o644)
    with pytest.raises(QaEngineError, match="chmod 600"):
        load_secret_key(settings)
    key_file.chmod(0o600)
    key_file.write_bytes(b"short\n")
    with pytest.raises(QaEngineError, match="fewer than 32"):
        load_secret_key(settings)
    configured = Settings(data_dir=tmp_path / "other", secret_key=SecretStr("k" * 40))
    assert load_secret_key(configured) == b"k" * 40 and not (tmp_path / "other" / KEY_FILE_NAME).exists()
    monkeypatch.setenv("QA_ENGINE_SECRET_KEY", "")
    assert Settings(data_dir=tmp_path).secret_key is None  # an empty variable means unset


def test_worker_and_serve_share_the_generated_key(tmp_path: Path) -> None:
    """The real commands: ``worker --once`` creates the key (0600), ``serve`` reuses it; headers on a real server."""
    assert SCRIPT.exists(), f"console script not installed next to {sys.executable}"
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_ENGINE_")}
    env["QA_ENGINE_LOG_FORMAT"] = "text"
    worker = subprocess.run([str(SCRIPT), "worker", "--once", "--data-dir", str(data)], capture_output=True,
                            text=True, timeout=120, env=env, check=False)
    assert worker.returncode == 0, worker.stderr
    key = (data / KEY_FILE_NAME).read_bytes()
    assert stat.S_IMODE((data / KEY_FILE_NAME).stat().st_mode) == 0o600
    port = free_port()
    serve = subprocess.Popen([str(SCRIPT), "serve", "--data-dir", str(data), "--port", str(port), "--workers", "0"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert serve.poll() is None, serve.stderr.read() if serve.stderr else ""
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        assert health.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in health.headers["content-security-policy"]
        assert "strict-transport-security" not in health.headers  # plain HTTP
        # uvicorn's own forwarded-header handling is off: X-Forwarded-Proto from 127.0.0.1 is not believed
        spoofed = httpx.get(f"http://127.0.0.1:{port}/ui/login", headers={"X-Forwarded-Proto": "https"}, timeout=5)
        assert "strict-transport-security" not in spoofed.headers
        assert "secure" not in spoofed.headers["set-cookie"].lower()
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert (data / KEY_FILE_NAME).read_bytes() == key  # reused, not replaced


# ---------- the acceptance line: nothing in the source signs a cookie ----------

def source_strings() -> set[str]:
    """Every string literal in qa_engine/ and api/ (f-string parts too), and the old shipped default."""
    found = {"change-me-dev-only"}
    for path in [*(ROOT / "qa_engine").rglob("*.py"), *(ROOT / "api").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def old_format_cookie(key: str, user_id: int) -> str:
    """The stateless cookie the service used to sign: base64(user, expiry) "." HMAC-SHA256(key)."""
    payload = _b64(json.dumps({"u": user_id, "e": int(time.time()) + 3600}, separators=(",", ":")).encode())
    return f"{payload}.{_b64(hmac.new(key.encode(), f'session:{payload}'.encode(), hashlib.sha256).digest())}"


def test_a_cookie_signed_with_any_string_in_the_source_is_refused(client: TestClient) -> None:
    app: Any = client.app
    _user(app, "root", "admin")
    strings = source_strings()
    assert len(strings) > 1000  # the scan found the source
    secret: bytes = app.state.secret_key
    assert secret.decode() not in strings
    # 1. every string as the signing key of a session cookie, over HTTP: no session
    for key in sorted(strings):
        assert as_cookie(client, old_format_cookie(key, 1)).status_code == 401, key
    # 2. every string as a session token itself, and as the key of a CSRF token, where the service checks them
    policy = SessionPolicy.from_settings(app.state.settings)
    nonce = "n" * 43
    with app.state.session_factory() as db:
        root = db.scalar(select(User).where(User.name == "root"))
        assert root is not None
        real = create_session(db, root, policy)
        for key in strings:
            assert session_user(db, key, policy) is None
            assert not login_cookie.sign_in_ok(secret, nonce, login_cookie.sign_in_token(key.encode(), nonce))
            assert not login_cookie.csrf_ok(secret, real, login_cookie.csrf_token(key.encode(), real))
    # 3. over HTTP: a sign-in form token and an API call's CSRF header forged with the old default are refused
    client.cookies.clear()
    forged = login_cookie.sign_in_token(b"change-me-dev-only", nonce)
    client.cookies.set(login_cookie.SIGN_IN_COOKIE, nonce, path="/ui/login")
    answer = client.post("/ui/login", data={"name": "root", "password": "x", "csrf_token": forged},
                         follow_redirects=False)
    assert answer.status_code == 403 and login_cookie.COOKIE not in answer.cookies
    client.cookies.clear()
    client.cookies.set(login_cookie.COOKIE, real)
    assert client.get("/api/v1/calls").status_code == 200  # the real session works ...
    answer = client.post("/api/v1/packs", content=b"x", headers={
        "Content-Type": "application/yaml", "X-CSRF-Token": login_cookie.csrf_token(b"change-me-dev-only", real)})
    assert answer.status_code == 403 and "X-CSRF-Token" in answer.json()["detail"]  # ... a forged header does not


# ---------- server-side sessions ----------

def test_sign_out_revokes_the_session(client: TestClient) -> None:
    _user(client.app)
    token = signed_in(client)
    assert len(token) >= 43 and "." not in token  # a random token, nothing signed in it
    assert client.get("/api/v1/calls").status_code == 200
    csrf = page_csrf(client)
    assert client.get("/ui/logout").status_code == 405  # sign-out is a POST
    refused = client.post("/ui/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403  # no token: nobody is signed out by a cross-site form
    wrong = client.post("/ui/logout", data={"csrf_token": csrf[:-2] + "xx"}, follow_redirects=False)
    assert wrong.status_code == 403
    assert client.get("/api/v1/calls").status_code == 200
    out = client.post("/ui/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    assert as_cookie(client, token).status_code == 401  # the old cookie, replayed, is no session
    client.cookies.set(login_cookie.COOKIE, token)
    page = client.get("/ui/calls", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/ui/login")


def test_password_change_and_disabling_revoke_sessions_and_keys(client: TestClient) -> None:
    key = _user(client.app)
    first = signed_in(client)
    client.cookies.clear()
    second = signed_in(client)
    assert first != second and as_cookie(client, first).status_code == 200
    with client.app.state.session_factory() as db:  # type: ignore[attr-defined]
        set_password(db, "sue", "a-new-password")  # what `qa-engine users set-password` runs
    assert as_cookie(client, first).status_code == 401 and as_cookie(client, second).status_code == 401
    client.cookies.clear()
    assert sign_in(client).status_code == 401  # the old password is gone
    client.cookies.clear()
    third = signed_in(client, password="a-new-password")
    bearer = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/calls", headers=bearer).status_code == 200
    with client.app.state.session_factory() as db:  # type: ignore[attr-defined]
        set_disabled(db, "sue")  # `qa-engine users disable sue`
    assert as_cookie(client, third).status_code == 401
    client.cookies.clear()
    assert client.get("/api/v1/calls", headers=bearer).status_code == 401  # the API key too
    assert sign_in(client, password="a-new-password").status_code == 401  # and signing in
    with client.app.state.session_factory() as db:  # type: ignore[attr-defined]
        set_disabled(db, "sue", False)
    client.cookies.clear()
    assert client.get("/api/v1/calls", headers=bearer).status_code == 200
    assert as_cookie(client, third).status_code == 401  # enabling again does not bring sessions back


def test_users_disable_and_sign_out_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = subprocess.run([str(SCRIPT), "users", "create", "sue", "--role", "supervisor", "--team", "t1",
                              "--password-stdin", "--data-dir", str(data)], input=PASSWORD + "\n",
                             capture_output=True, text=True, timeout=60, check=True)
    key = created.stdout.strip().splitlines()[-1]
    settings = Settings(data_dir=data, workers=0)
    with TestClient(create_app(settings)) as client:
        token = signed_in(client)

        def cli(*args: str) -> str:
            out = subprocess.run([str(SCRIPT), "users", *args, "--data-dir", str(data)], capture_output=True,
                                 text=True, timeout=60, check=False)
            assert out.returncode == 0, out.stderr
            return out.stdout

        assert "1 web session" in cli("sign-out", "sue")
        assert as_cookie(client, token).status_code == 401
        client.cookies.clear()
        token = signed_in(client)
        assert "disabled" in cli("disable", "sue")
        assert as_cookie(client, token).status_code == 401
        assert client.get("/api/v1/calls", headers={"Authorization": f"Bearer {key}"}).status_code == 401
        assert "enabled" in cli("enable", "sue")
        assert client.get("/api/v1/calls", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        missing = subprocess.run([str(SCRIPT), "users", "disable", "nobody", "--data-dir", str(data)],
                                 capture_output=True, text=True, timeout=60, check=False)
        assert missing.returncode == 2 and "no user 'nobody'" in missing.stderr


def test_idle_and_absolute_expiry(client: TestClient) -> None:
    """With an explicit clock: idle timeout (touched by use), absolute age, revocation."""
    app: Any = client.app
    _user(app)
    policy = SessionPolicy(idle_timeout_s=600, max_age_s=3600)
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with app.state.session_factory() as db:
        user = create_user(db, "ann", "agent", "t1")[0]
        token = create_session(db, user, policy, now=t0)
        at = lambda minutes: t0 + timedelta(minutes=minutes)  # noqa: E731
        assert session_user(db, token, policy, now=at(9)) is not None  # used after 9 minutes: touched
        assert session_user(db, token, policy, now=at(18)) is not None  # 9 idle minutes since
        assert session_user(db, token, policy, now=at(28.5)) is None  # 10.5 idle minutes: expired
        token = create_session(db, user, policy, now=t0)
        for minute in range(5, 60, 5):  # busy all along ...
            assert session_user(db, token, policy, now=at(minute)) is not None
        assert session_user(db, token, policy, now=at(60)) is None  # ... but 1 h is the most
        token = create_session(db, user, policy, now=t0)
        assert revoke_session(db, token, now=at(1)) and session_user(db, token, policy, now=at(2)) is None
        assert session_user(db, "", policy) is None and session_user(db, "x" * 1000, policy) is None


def test_tiny_timeouts_over_http(make_app: Callable[..., TestClient]) -> None:
    """The server's own expiry (the cookie is sent again by hand: the browser would drop it at Max-Age too)."""
    client = make_app(session_idle_timeout_s=1.0, session_max_age_s=2.0)
    _user(client.app)
    token = signed_in(client)
    assert as_cookie(client, token).status_code == 200
    time.sleep(1.3)
    assert as_cookie(client, token).status_code == 401  # idle for longer than 1 s
    client.cookies.clear()
    token = signed_in(client)
    started = time.monotonic()
    while time.monotonic() - started < 1.7:  # kept busy: not idle ...
        assert as_cookie(client, token).status_code == 200
        time.sleep(0.3)
    time.sleep(max(0.0, 2.1 - (time.monotonic() - started)))
    assert as_cookie(client, token).status_code == 401  # ... yet past the 2 s maximum


# ---------- CSRF ----------

def test_sign_in_needs_the_forms_csrf_token(client: TestClient) -> None:
    _user(client.app)
    no_token = client.post("/ui/login", data={"name": "sue", "password": PASSWORD}, follow_redirects=False)
    assert no_token.status_code == 403 and login_cookie.COOKIE not in no_token.cookies
    assert "表单已过期" in no_token.text or "expired" in no_token.text  # the form again, with a fresh token
    token = _form_token(client)
    nonce = client.cookies.get(login_cookie.SIGN_IN_COOKIE)
    client.cookies.clear()  # a cross-site form: the token may be copied, the browser's cookie cannot
    stolen = client.post("/ui/login", data={"name": "sue", "password": PASSWORD, "csrf_token": token},
                         follow_redirects=False)
    assert stolen.status_code == 403
    client.cookies.clear()
    client.cookies.set(login_cookie.SIGN_IN_COOKIE, "a" * 43, path="/ui/login")  # another nonce, same token
    assert client.post("/ui/login", data={"name": "sue", "password": PASSWORD, "csrf_token": token},
                       follow_redirects=False).status_code == 403
    client.cookies.clear()
    client.cookies.set(login_cookie.SIGN_IN_COOKIE, nonce or "", path="/ui/login")
    ok = client.post("/ui/login", data={"name": "sue", "password": PASSWORD, "csrf_token": token},
                     follow_redirects=False)
    assert ok.status_code == 303
    set_cookie = ok.headers.get_list("set-cookie")
    session_cookie = next(c for c in set_cookie if c.startswith(f"{login_cookie.COOKIE}="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie and "Path=/" in session_cookie
    assert "Secure" not in session_cookie  # plain HTTP, no forcing


def test_cookie_authenticated_api_calls_need_the_csrf_header(client: TestClient) -> None:
    _user(client.app, "root", "admin")
    signed_in(client, "root")
    csrf = page_csrf(client)
    body = {"url": "https://example.com/hook", "events": ["call.scored"]}
    assert client.post("/api/v1/webhooks", json=body).status_code == 403
    assert client.post("/api/v1/webhooks", json=body, headers={"X-CSRF-Token": csrf + "x"}).status_code == 403
    allowed = client.post("/api/v1/webhooks", json=body, headers={"X-CSRF-Token": csrf})
    assert allowed.status_code != 403, allowed.text  # past CSRF (what the webhook check says is not ours)


def test_signing_in_again_replaces_the_previous_session(client: TestClient) -> None:
    _user(client.app)
    _user(client.app, "root", "admin", password="root-password")
    first = signed_in(client)
    second = signed_in(client, "root", "root-password")  # same browser, another user
    assert first != second and as_cookie(client, first).status_code == 401  # no session fixation or leftovers


# ---------- headers ----------

def test_security_headers_on_html_json_errors_and_redirects(client: TestClient) -> None:
    for path in ("/ui/login", "/api/v1/health", "/api/v1/calls", "/ui/static/app.js", "/healthz", "/nowhere", "/"):
        answer = client.get(path, follow_redirects=False)
        headers = answer.headers
        assert "default-src 'self'" in headers["content-security-policy"], path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert "script-src 'self';" in headers["content-security-policy"], path  # no inline script
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        assert "strict-transport-security" not in headers, path  # plain HTTP
    docs = client.get("/api/v1/docs")
    assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    page = client.get("/ui/login").text
    assert not re.search(r"<script(?![^>]*\b(src|type=\"application/json\")=?)[^>]*>", page)  # no inline script
    assert " style=" not in page


def test_https_hsts_and_secure_cookies(make_app: Callable[..., TestClient]) -> None:
    direct = make_app(_client={"base_url": "https://testserver"})
    _user(direct.app)
    answer = direct.get("/ui/login")
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    assert "Secure" in answer.headers["set-cookie"]
    signed = sign_in(direct)
    assert signed.status_code == 303
    session_cookie = next(c for c in signed.headers.get_list("set-cookie") if c.startswith(login_cookie.COOKIE))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    # behind a proxy: believed only from a trusted address
    proxied = make_app(trusted_proxies="10.0.0.0/8", _client={"client": ("10.1.2.3", 5555)})
    via_proxy = proxied.get("/ui/login", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" in via_proxy.headers and "Secure" in via_proxy.headers["set-cookie"]
    stranger = make_app(trusted_proxies="10.0.0.0/8", _client={"client": ("192.0.2.7", 5555)})
    spoofed = stranger.get("/ui/login", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in spoofed.headers and "Secure" not in spoofed.headers["set-cookie"]
    forced = make_app(force_secure_cookies=True)
    assert "Secure" in forced.get("/ui/login").headers["set-cookie"]
    with pytest.raises(ValueError, match="not an IP address"):
        Settings(trusted_proxies="proxy.local")


# ---------- sign-in limits ----------

def test_sign_in_is_rate_limited_per_account(make_app: Callable[..., TestClient],
                                             caplog: pytest.LogCaptureFixture) -> None:
    client = make_app(sign_in_max_failures=3, sign_in_max_failures_per_ip=100)
    _user(client.app)
    _user(client.app, "ann", "agent", password="ann-password")
    for _ in range(3):
        assert sign_in(client, password="wrong-password").status_code == 401
    with caplog.at_level(logging.WARNING, logger="api.ui.routes"):
        limited = sign_in(client)  # the right password, too late
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert login_cookie.COOKIE not in limited.cookies
    assert any("too many failures" in r.getMessage() and "'sue'" in r.getMessage() for r in caplog.records)
    assert sign_in(client, "ann", "ann-password").status_code == 303  # another account is not affected
    assert sign_in(client, "SUE ", PASSWORD).status_code == 429  # the same account, however it is written


def test_sign_in_is_rate_limited_per_client_address(make_app: Callable[..., TestClient]) -> None:
    client = make_app(sign_in_max_failures=100, sign_in_max_failures_per_ip=4, trusted_proxies="10.0.0.1",
                      _client={"client": ("10.0.0.1", 4444)})
    _user(client.app)

    def attempt(name: str, forwarded_for: str) -> int:
        token = _form_token(client)
        return client.post("/ui/login", data={"name": name, "password": "nope", "csrf_token": token},
                           headers={"X-Forwarded-For": forwarded_for}, follow_redirects=False).status_code

    assert [attempt(f"user{i}", "198.51.100.1") for i in range(4)] == [401] * 4
    assert attempt("user9", "198.51.100.1") == 429  # the address, whatever the names
    assert attempt("user9", "203.0.113.5, 198.51.100.1") == 429  # the client cannot pick its address
    assert attempt("user9", "198.51.100.2") == 401  # another client behind the same proxy


def test_limiter_window_and_bounds() -> None:
    now = [1000.0]
    limiter = SignInLimiter(max_per_account=2, max_per_ip=10, window_s=60, clock=lambda: now[0], max_keys=50)
    limiter.failed("sue", "1.2.3.4")
    now[0] += 30
    limiter.failed("sue", "1.2.3.4")
    assert limiter.retry_after("sue", "5.6.7.8") == 30  # the first failure leaves the window in 30 s
    now[0] += 31
    assert limiter.retry_after("sue", "5.6.7.8") is None  # sliding: one failure left in the window
    limiter.failed("sue", "1.2.3.4")
    assert limiter.retry_after("sue", None) is not None
    limiter.succeeded("sue")
    assert limiter.retry_after("sue", None) is None
    for i in range(500):
        limiter.failed(f"made-up-{i}", f"10.0.{i // 250}.{i % 250}")
    assert len(limiter._accounts) <= 50 and len(limiter._ips) <= 50  # bounded memory

