"""Metadata of an uploaded call (agent, team, started_at, pack ...), checked the same way for JSON and forms.

Every error is a 4xx naming the field by its path, in the user's terms (``started_at: must be ...``); ``source`` says
where the field was read when that helps (``form``), and is "" for a JSON body, whose field paths say it all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_engine.app.access import as_utc, supervised_teams
from qa_engine.app.errors import Forbidden, Invalid
from qa_engine.app.models import User
from qa_engine.json_text import MAX_JSON_DEPTH, JsonTextError, load_json
from qa_engine.transcript import text_problem

LANGUAGE = re.compile(r"^(auto|[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?)$")
MAX_AGENT_CHANNEL = 63
#: How a wrong value is described (the value itself may be huge or deeply nested).
JSON_KINDS: dict[type, str] = {list: "a list", dict: "an object"}


def unprocessable(message: str) -> Invalid:
    return Invalid(message)


def lead(source: str) -> str:
    """What a message starts with to say where the input was read: nothing for a JSON body (``source`` "")."""
    return f"{source}: " if source else ""


def named(source: str, field: str) -> str:
    """How a message names a field: ``agent`` in a JSON body, ``form: agent`` in a form."""
    return f"{lead(source)}{field}"


def shown(value: Any) -> str:
    """A wrong value as a message shows it: short scalars as they are, anything else by its kind (it may be huge)."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 100 else f"a string of {len(value)} characters"
    if value is None or isinstance(value, bool | float) or (isinstance(value, int) and abs(value) < 10**30):
        return repr(value)
    return JSON_KINDS.get(type(value), "a number too long to show")


def optional_str(doc: Mapping[str, Any], field: str, source: str, max_length: int = 256) -> str | None:
    value = doc.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise unprocessable(f"{named(source, field)}: must be a non-empty string, got {shown(value)}")
    if len(value.strip()) > max_length:
        raise unprocessable(f"{named(source, field)}: is longer than {max_length} characters")
    problem = text_problem(value)
    if problem is not None:
        raise unprocessable(f"{named(source, field)}: {problem}")
    return value.strip()


def started_at(doc: Mapping[str, Any], source: str) -> datetime | None:
    value = optional_str(doc, "started_at", source)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise unprocessable(f"{named(source, 'started_at')}: must be an ISO 8601 date-time "
                            f"(e.g. 2025-01-31T09:30:00+08:00), got {value!r}") from None
    return utc_moment(parsed, named(source, 'started_at'))


def utc_moment(moment: datetime, name: str) -> datetime:
    """``moment`` in UTC (naive: taken as UTC); 422 naming ``name`` when that falls outside the years 1 to 9999.

    ``0001-01-01T00:00:00+05:00`` is a valid date-time whose UTC instant is in the year 0: Python cannot hold it.
    """
    try:
        converted = as_utc(moment)
    except OverflowError:
        raise unprocessable(f"{name}: {moment.isoformat()} is outside the years 0001 to 9999 once converted to UTC"
                            ) from None
    assert converted is not None
    return converted


def json_document(raw: bytes, source: str, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """A JSON object from a request body; 422 naming the problem for anything else.

    Non-UTF-8 text and whatever :func:`qa_engine.json_text.load_json` refuses (malformed JSON, numbers over 4300
    digits, nesting deeper than ``max_depth``, checked without recursion) are refused.
    """
    try:
        doc = load_json(raw.decode("utf-8"), max_depth)
    except UnicodeDecodeError:
        raise unprocessable(f"{lead(source)}not UTF-8 text") from None
    except JsonTextError as exc:
        raise unprocessable(f"{lead(source)}{exc}") from None
    if not isinstance(doc, dict):
        raise unprocessable(f"{lead(source)}expected a JSON object at the top level")
    return doc


def language(doc: Mapping[str, Any], source: str) -> str | None:
    value = optional_str(doc, "language", source, max_length=16)
    if value is not None and not LANGUAGE.match(value):
        raise unprocessable(f"{named(source, 'language')}: must be a language code such as zh, en or zh-CN "
                            f"(or auto), got {value!r}")
    return value


def agent_channel(doc: Mapping[str, Any], source: str) -> int | None:
    value = doc.get("agent_channel")
    if value is None or value == "":
        return None
    try:
        channel = int(value)
    except (TypeError, ValueError):
        channel = -1
    if isinstance(value, bool) or not 0 <= channel <= MAX_AGENT_CHANNEL:
        raise unprocessable(f"{named(source, 'agent_channel')}: must be the agent's channel number, counted "
                            f"from 0 (0 or 1 for a stereo call), got {shown(value)}")
    return channel


def resolve_agent(session: Session, user: User, doc: Mapping[str, Any], source: str, *,
                  agent_uploads: bool = True) -> tuple[str, str | None]:
    """The call's agent and team, checked against what ``user`` may upload.

    The team of a call always comes from its agent's user record (:func:`agent_team`), so an agent's call is
    seen by that agent's supervisors and by no other team's; a ``team`` field that contradicts it is refused.
    ``agent_uploads``: whether agents may upload their own calls (``QA_ENGINE_AGENT_UPLOADS``; default no).
    """
    if user.role == "agent" and not agent_uploads:
        raise Forbidden("agents may not upload calls on this service (QA_ENGINE_AGENT_UPLOADS is off): "
                        "a supervisor or admin uploads them")
    agent_name = optional_str(doc, "agent", source, 128) or (user.name if user.role == "agent" else None)
    given_team = optional_str(doc, "team", source, 128)
    if agent_name is None:
        raise unprocessable(f"{named(source, 'agent')}: required (the agent's user name)")
    if user.role == "agent" and agent_name != user.name:
        raise Forbidden(f"agent: an agent can only upload their own calls ({user.name!r})")
    agent = session.scalar(select(User).where(User.name == agent_name))
    if user.role == "supervisor":
        teams = supervised_teams(session, user)
        if agent is None or agent.team not in teams:
            raise unprocessable(f"{named(source, 'agent')}: no agent named {agent_name!r} in your team"
                                f"{'s' if len(teams) > 1 else ''} ({', '.join(map(repr, teams)) or 'none'})")
    if agent is None:
        raise unprocessable(f"{named(source, 'agent')}: no user named {agent_name!r} "
                            "(create one with 'qa-engine users create NAME --role agent')")
    try:
        team = agent_team(agent, given_team)
    except ValueError as exc:
        raise unprocessable(f"{named(source, 'team')}: {exc}") from None
    return agent_name, team


def agent_team(agent: User | None, given: str | None) -> str | None:
    """The team of a call by ``agent``: the one on the agent's user record, whatever the call's metadata says.

    ``given`` (the uploader's or a sidecar's ``team``) is used only when the agent has no user record or no team.

    Raises:
        ValueError: ``given`` names another team than the agent's record (the message says both).
    """
    if agent is None or not agent.team:
        return given
    if given is not None and given != agent.team:
        raise ValueError(f"agent {agent.name!r} is in team {agent.team!r}, not {given!r} (a call's team is its "
                         "agent's team; leave 'team' out or change the agent's team)")
    return agent.team
