"""Metadata of an uploaded call (agent, team, started_at, pack ...), checked the same way for JSON and forms.

Every error is a 4xx naming the field; ``source`` (``body`` or ``form``) says where the field was read.
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

LANGUAGE = re.compile(r"^(auto|[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?)$")
MAX_AGENT_CHANNEL = 63


def unprocessable(message: str) -> Invalid:
    return Invalid(message)


def optional_str(doc: Mapping[str, Any], field: str, source: str, max_length: int = 256) -> str | None:
    value = doc.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise unprocessable(f"{source}: field '{field}' must be a non-empty string, got {value!r}")
    if len(value.strip()) > max_length:
        raise unprocessable(f"{source}: field '{field}' is longer than {max_length} characters")
    return value.strip()


def started_at(doc: Mapping[str, Any], source: str) -> datetime | None:
    value = optional_str(doc, "started_at", source)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise unprocessable(f"{source}: field 'started_at' must be an ISO 8601 date-time "
                            f"(e.g. 2025-01-31T09:30:00+08:00), got {value!r}") from None
    return as_utc(parsed)


def language(doc: Mapping[str, Any], source: str) -> str | None:
    value = optional_str(doc, "language", source, max_length=16)
    if value is not None and not LANGUAGE.match(value):
        raise unprocessable(f"{source}: field 'language' must be a language code such as zh, en or zh-CN "
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
        raise unprocessable(f"{source}: field 'agent_channel' must be the agent's channel number, counted "
                            f"from 0 (0 or 1 for a stereo call), got {value!r}")
    return channel


def resolve_agent(session: Session, user: User, doc: Mapping[str, Any], source: str) -> tuple[str, str | None]:
    """The call's agent and team, checked against what ``user`` may upload."""
    agent_name = optional_str(doc, "agent", source, 128) or (user.name if user.role == "agent" else None)
    team = optional_str(doc, "team", source, 128)
    if agent_name is None:
        raise unprocessable(f"{source}: missing field 'agent' (the agent's user name)")
    if user.role == "agent" and agent_name != user.name:
        raise Forbidden(f"field 'agent': an agent can only upload their own calls ({user.name!r})")
    agent = session.scalar(select(User).where(User.name == agent_name))
    if user.role == "supervisor":
        teams = supervised_teams(session, user)
        if agent is None or agent.team not in teams or (team and team not in teams):
            raise unprocessable(f"{source}: field 'agent': no agent named {agent_name!r} in your team"
                                f"{'s' if len(teams) > 1 else ''} ({', '.join(map(repr, teams)) or 'none'})")
    if agent is None:
        raise unprocessable(f"{source}: field 'agent': no user named {agent_name!r} "
                            "(create one with 'qa-engine users create NAME --role agent')")
    return agent_name, team or agent.team
