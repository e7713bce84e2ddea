"""Pages of the web UI: sign-in/out and the page shells; the data comes from ``/api/v1`` in the browser.

Every page needs a signed-in user (else a redirect to the sign-in page). Pages hold no call data of their
own: the browser fetches it from the JSON API with the session cookie, so the UI can show no more than the
API allows. The call page still checks visibility itself so another user's call answers 404 at once.

Sign-in creates a server-side session (:mod:`qa_engine.app.login_sessions`); sign-out (a POST with the session's
CSRF token) revokes it. The sign-in form carries a signed double-submit CSRF token (:mod:`.login_cookie`), and
failed sign-ins are limited per account and per client address (429 with ``Retry-After``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from qa_engine.app.access import get_visible_call, require_role, teams_of
from qa_engine.app.errors import Forbidden, NotFound
from qa_engine.app.login_sessions import SessionPolicy, create_session, revoke_session
from qa_engine.app.scorecards import require_agent
from qa_engine.app.settings import Settings
from qa_engine.app.sign_in import SignInLimiter, authenticate

from ..deps import SecretKeyDep, SessionDep, SettingsDep, signed_in_user
from ..security_headers import client_ip
from . import i18n, login_cookie

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
NAV = {"admin": ("dashboard", "inbox", "calls", "search", "analysis", "packs", "live", "calibration"),
       "supervisor": ("dashboard", "inbox", "calls", "search", "analysis", "packs", "live", "calibration"),
       "agent": ("me", "calls", "search", "dashboard", "packs")}
NAV_URLS = {"dashboard": "/ui/", "calls": "/ui/calls", "analysis": "/ui/analysis", "packs": "/ui/packs",
            "live": "/ui/live", "me": "/ui/me", "search": "/ui/search", "calibration": "/ui/calibration",
            "inbox": "/ui/inbox"}


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if target and target.startswith("/ui") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ui/"


def _render(request: Request, template: str, lang: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    t = i18n.translator(lang)
    settings: Settings = request.app.state.settings
    response = TEMPLATES.TemplateResponse(request, template, {"t": t, "lang": lang, "messages": i18n.catalogue(lang),
                                                          "timezone": settings.timezone, **context},
                                          status_code=status_code)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/",
                            secure=login_cookie.secure(request, settings))
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(request: Request, session: SessionDep, secret: bytes, name: str, active: str,
          status_code: int = 200, **context: Any) -> Response:
    current = signed_in_user(request, session)
    lang = i18n.language(request)
    if current is None:
        return RedirectResponse(f"/ui/login?next={quote(str(request.url.path))}", status_code=status.HTTP_303_SEE_OTHER)
    user, token = current
    nav = [(key, NAV_URLS[key]) for key in NAV[user.role]]
    page_user = {"name": user.name, "role": user.role, "team": user.team, "teams": teams_of(session, user)}
    return _render(request, name, lang, status_code=status_code, user=page_user, nav=nav, active=active,
                   csrf=login_cookie.csrf_token(secret, token), **context)


def _sign_in_page(request: Request, settings: Settings, secret: bytes, *, next_url: str | None,
                  status_code: int = 200, error: str | None = None, entered_name: str = "") -> HTMLResponse:
    """The sign-in form with its CSRF token; (re)sets the nonce cookie the token is bound to."""
    nonce = login_cookie.sign_in_nonce(request)
    response = _render(request, "login.html", i18n.language(request), status_code=status_code,
                       next=_safe_next(next_url), error=error, entered_name=entered_name,
                       csrf=login_cookie.sign_in_token(secret, nonce))
    login_cookie.set_sign_in_nonce(response, request, settings, nonce)
    return response


def _limiter(request: Request) -> SignInLimiter:
    limiter: SignInLimiter = request.app.state.sign_in_limiter  # one per app: see api.main.create_app
    return limiter


@router.get("/", response_class=RedirectResponse)
def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=status.HTTP_307_TEMPORARY_REDIRECT)


@router.get("/ui/login", response_class=HTMLResponse)
def login_page(request: Request, settings: SettingsDep, secret: SecretKeyDep,
               next: str | None = None) -> HTMLResponse:  # noqa: A002 - the query name
    return _sign_in_page(request, settings, secret, next_url=next)


@router.post("/ui/login", response_class=HTMLResponse)
def login(request: Request, session: SessionDep, settings: SettingsDep, secret: SecretKeyDep,
          name: Annotated[str, Form(max_length=128)] = "", password: Annotated[str, Form(max_length=1024)] = "",
          api_key: Annotated[str, Form(max_length=256)] = "", next: Annotated[str, Form(max_length=512)] = "/ui/",  # noqa: A002
          csrf_token: Annotated[str, Form(max_length=128)] = "") -> Response:
    """Sign in with a name and password, or with an API key; starts a server-side session (cookie: its token).

    Refused with 403 without the form's CSRF token (the page is shown again with a fresh one), and with 429 and
    ``Retry-After`` after too many failures for the account or from the client address.
    """
    if not login_cookie.sign_in_ok(secret, request.cookies.get(login_cookie.SIGN_IN_COOKIE), csrf_token):
        return _sign_in_page(request, settings, secret, next_url=next, status_code=status.HTTP_403_FORBIDDEN,
                             error="login.expired", entered_name=name)
    limiter, ip = _limiter(request), client_ip(request)
    account = "" if api_key else name
    wait = limiter.retry_after(account, ip)
    if wait is not None:
        logger.warning("sign-in refused (too many failures) for %r from %s; retry in %d s", account[:128], ip, wait)
        throttled = _sign_in_page(request, settings, secret, next_url=next,
                                  status_code=status.HTTP_429_TOO_MANY_REQUESTS, error="login.throttled",
                                  entered_name=name)
        throttled.headers["Retry-After"] = str(wait)
        return throttled
    user = authenticate(session, name=name, password=password, api_key=api_key)
    if user is None:
        limiter.failed(account, ip)
        logger.info("sign-in failed for %r from %s", account[:128] if account else "(API key)", ip)
        time.sleep(0.2)  # a little friction for guessing
        return _sign_in_page(request, settings, secret, next_url=next, status_code=status.HTTP_401_UNAUTHORIZED,
                             error="login.error", entered_name=name)
    limiter.succeeded(account)
    revoke_session(session, request.cookies.get(login_cookie.COOKIE))  # a session of whoever signed in here before
    token = create_session(session, user, SessionPolicy.from_settings(settings), client_ip=ip)
    request.state.user_name = user.name  # for the access log
    response = RedirectResponse(_safe_next(next if next != "/ui/" else ("/ui/me" if user.role == "agent" else "/ui/")),
                                status_code=status.HTTP_303_SEE_OTHER)
    login_cookie.set_session(response, request, settings, token)
    login_cookie.clear_sign_in_nonce(response, request, settings)
    return response


@router.post("/ui/logout")
def logout(request: Request, session: SessionDep, settings: SettingsDep, secret: SecretKeyDep,
           csrf_token: Annotated[str, Form(max_length=128)] = "") -> Response:
    """Sign out: revokes the server-side session (the cookie is worthless afterwards, kept or not)."""
    token = request.cookies.get(login_cookie.COOKIE)
    if token and not login_cookie.csrf_ok(secret, token, csrf_token):
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="missing or wrong csrf_token")
    revoke_session(session, token)
    response = RedirectResponse("/ui/login", status_code=status.HTTP_303_SEE_OTHER)
    login_cookie.clear_session(response, request, settings)
    return response


@router.get("/ui/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, secret: SecretKeyDep) -> Response:
    return _page(request, session, secret, "dashboard.html", "dashboard")


@router.get("/ui/calls", response_class=HTMLResponse)
def calls(request: Request, session: SessionDep, secret: SecretKeyDep) -> Response:
    return _page(request, session, secret, "calls.html", "calls")


@router.get("/ui/calls/{call_id}", response_class=HTMLResponse)
def call_page(call_id: str, request: Request, session: SessionDep, secret: SecretKeyDep) -> Response:
    current = signed_in_user(request, session)
    if current is not None:
        try:
            get_visible_call(session, current[0], call_id[:64])
        except NotFound:
            return _page(request, session, secret, "not_found.html", "calls", status_code=404)
    return _page(request, session, secret, "call.html", "calls", call_id=call_id)


@router.get("/ui/me", response_class=HTMLResponse)
def me(request: Request, session: SessionDep, secret: SecretKeyDep) -> Response:
    return _page(request, session, secret, "me.html", "me")


@router.get("/ui/agents/{name}", response_class=HTMLResponse)
def agent_page(name: str, request: Request, session: SessionDep, secret: SecretKeyDep) -> Response:
    """A supervisor's drill-down on one agent (their supervisors and admins); an agent's own name goes to /ui/me."""
    current = signed_in_user(request, session)
    if current is not None and current[0].role == "agent" and current[0].name == name:
        return RedirectResponse("/ui/me", status_code=status.HTTP_303_SEE_OTHER)
    if current is not None:
        try:
            require_role(current[0], "supervisor", "admin")
            require_agent(session, current[0], name[:128])
        except (NotFound, Forbidden):
            return _page(request, session, secret, "not_found.html", "dashboard", status_code=404)
    return _page(request, session, secret, "agent.html", "dashboard", agent_name=name)


@router.get("/ui/inbox", response_class=HTMLResponse)
def inbox(request: Request, session: SessionDep, secret: SecretKeyDep) -> Response:
    """The supervisor inbox (review queue and sampling plans); agents get the not-found page, as the API's 403."""
    current = signed_in_user(request, session)
    if current is not None and current[0].role == "agent":
        return _page(request, session, secret, "not_found.html", "me", status_code=404)
    return _page(request, session, secret, "inbox.html", "inbox")


@router.get("/ui/live", response_class=HTMLResponse)
def live(request: Request, session: SessionDep, secret: SecretKeyDep) -> Response:
    return _page(request, session, secret, "live.html", "live")


@router.get("/ui/packs", response_class=HTMLResponse)
def packs(request: Request, session: SessionDep, secret: SecretKeyDep) -> Response:
    return _page(request, session, secret, "packs.html", "packs")


@router.get("/ui/analysis", response_class=HTMLResponse)
def analysis(request: Request, session: SessionDep, secret: SecretKeyDep) -> Response:
    return _page(request, session, secret, "analysis.html", "analysis")


@router.get("/ui/search", response_class=HTMLResponse)
def search(request: Request, session: SessionDep, secret: SecretKeyDep) -> Response:
    return _page(request, session, secret, "search.html", "search")


@router.get("/ui/calibration", response_class=HTMLResponse)
def calibration(request: Request, session: SessionDep, secret: SecretKeyDep) -> Response:
    return _page(request, session, secret, "calibration.html", "calibration")


STATIC = (Path(__file__).parent / "static").resolve()
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}


@router.get("/ui/static/{name}")
def static_file(name: str) -> Response:
    """The UI's own CSS/JS/SVG (a flat folder: no sub-paths, nothing outside it)."""
    path = (STATIC / name).resolve()
    if path.parent != STATIC or path.suffix not in STATIC_TYPES or not path.is_file():
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"no static file {name!r}")
    return FileResponse(path, media_type=STATIC_TYPES[path.suffix], headers={"Cache-Control": "max-age=300"})
