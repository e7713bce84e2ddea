"""Pages of the web UI: sign-in/out and the page shells; the data comes from ``/api/v1`` in the browser.

Every page needs a signed-in user (else a redirect to the sign-in page). Pages hold no call data of their
own: the browser fetches it from the JSON API with the session cookie, so the UI can show no more than the
API allows. The call page still checks visibility itself so another user's call answers 404 at once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from qa_engine.app.access import get_visible_call, teams_of
from qa_engine.app.errors import NotFound
from qa_engine.app.models import User
from qa_engine.app.sign_in import authenticate, user_by_id

from ..deps import SessionDep, SettingsDep
from . import i18n, login_cookie

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)
NAV = {"admin": ("dashboard", "calls", "analysis", "packs", "live"),
       "supervisor": ("dashboard", "calls", "analysis", "packs", "live"),
       "agent": ("me", "calls", "dashboard", "packs")}
NAV_URLS = {"dashboard": "/ui/", "calls": "/ui/calls", "analysis": "/ui/analysis", "packs": "/ui/packs",
            "live": "/ui/live", "me": "/ui/me"}


def _current(request: Request, session: SessionDep, secret: str) -> tuple[User, str] | None:
    cookie = request.cookies.get(login_cookie.COOKIE)
    data = login_cookie.decode(secret, cookie)
    user = user_by_id(session, data.user_id) if data else None
    return (user, cookie) if user is not None and cookie else None


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if target and target.startswith("/ui") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ui/"


def _render(request: Request, template: str, lang: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    t = i18n.translator(lang)
    response = TEMPLATES.TemplateResponse(request, template, {"t": t, "lang": lang, "messages": i18n.catalogue(lang),
                                                          **context}, status_code=status_code)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, samesite="lax")
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(request: Request, session: SessionDep, settings: SettingsDep, name: str, active: str,
          status_code: int = 200, **context: Any) -> Response:
    current = _current(request, session, settings.secret_key)
    lang = i18n.language(request)
    if current is None:
        return RedirectResponse(f"/ui/login?next={quote(str(request.url.path))}", status_code=status.HTTP_303_SEE_OTHER)
    user, cookie = current
    nav = [(key, NAV_URLS[key]) for key in NAV[user.role]]
    page_user = {"name": user.name, "role": user.role, "team": user.team, "teams": teams_of(session, user)}
    return _render(request, name, lang, status_code=status_code, user=page_user, nav=nav, active=active,
                   csrf=login_cookie.csrf_token(settings.secret_key, cookie), **context)


@router.get("/", response_class=RedirectResponse)
def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=status.HTTP_307_TEMPORARY_REDIRECT)


@router.get("/ui/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002 - the query name
    return _render(request, "login.html", i18n.language(request), next=_safe_next(next), error=None)


@router.post("/ui/login", response_class=HTMLResponse)
def login(request: Request, session: SessionDep, settings: SettingsDep,
          name: Annotated[str, Form(max_length=128)] = "", password: Annotated[str, Form(max_length=1024)] = "",
          api_key: Annotated[str, Form(max_length=256)] = "", next: Annotated[str, Form(max_length=512)] = "/ui/",  # noqa: A002
          ) -> Response:
    """Sign in with a name and password, or with an API key; sets the signed session cookie."""
    lang = i18n.language(request)
    user = authenticate(session, name=name, password=password, api_key=api_key)
    if user is None:
        time.sleep(0.2)  # a little friction for guessing
        return _render(request, "login.html", lang, status_code=status.HTTP_401_UNAUTHORIZED,
                       next=_safe_next(next), error="login.error", entered_name=name)
    response = RedirectResponse(_safe_next(next if next != "/ui/" else ("/ui/me" if user.role == "agent" else "/ui/")),
                                status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(login_cookie.COOKIE, login_cookie.encode(settings.secret_key, user.id),
                        max_age=login_cookie.LIFETIME_S, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/ui/logout")
def logout(request: Request, settings: SettingsDep,
           csrf_token: Annotated[str, Form(max_length=128)] = "") -> Response:
    cookie = request.cookies.get(login_cookie.COOKIE)
    if cookie and not login_cookie.csrf_ok(settings.secret_key, cookie, csrf_token):
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="missing or wrong csrf_token")
    response = RedirectResponse("/ui/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(login_cookie.COOKIE, path="/")
    return response


@router.get("/ui/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    return _page(request, session, settings, "dashboard.html", "dashboard")


@router.get("/ui/calls", response_class=HTMLResponse)
def calls(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    return _page(request, session, settings, "calls.html", "calls")


@router.get("/ui/calls/{call_id}", response_class=HTMLResponse)
def call_page(call_id: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    current = _current(request, session, settings.secret_key)
    if current is not None:
        try:
            get_visible_call(session, current[0], call_id[:64])
        except NotFound:
            return _page(request, session, settings, "not_found.html", "calls", status_code=404)
    return _page(request, session, settings, "call.html", "calls", call_id=call_id)


@router.get("/ui/me", response_class=HTMLResponse)
def me(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    return _page(request, session, settings, "me.html", "me")


@router.get("/ui/live", response_class=HTMLResponse)
def live(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    return _page(request, session, settings, "live.html", "live")


@router.get("/ui/packs", response_class=HTMLResponse)
def packs(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    return _page(request, session, settings, "packs.html", "packs")


@router.get("/ui/analysis", response_class=HTMLResponse)
def analysis(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    return _page(request, session, settings, "analysis.html", "analysis")


STATIC = (Path(__file__).parent / "static").resolve()
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}


@router.get("/ui/static/{name}")
def static_file(name: str) -> Response:
    """The UI's own CSS/JS/SVG (a flat folder: no sub-paths, nothing outside it)."""
    path = (STATIC / name).resolve()
    if path.parent != STATIC or path.suffix not in STATIC_TYPES or not path.is_file():
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"no static file {name!r}")
    return FileResponse(path, media_type=STATIC_TYPES[path.suffix], headers={"Cache-Control": "max-age=300"})
