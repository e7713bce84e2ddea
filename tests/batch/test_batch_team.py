"""A batch file's team is its agent's (from the user record) when the agent is a user; a sidecar cannot move it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qa_engine.app.batch.claims import BatchClaims
from qa_engine.app.batch.runner import BatchOptions, PackResolver, plan
from qa_engine.app.users import create_user


def test_the_agents_record_decides_the_team(source: Path, sessions: Any) -> None:
    with sessions() as session:
        create_user(session, "alice", "agent", "t9")  # the sidecar of en1 says t1
    planned = plan(BatchOptions(source=source), BatchClaims(sessions), PackResolver(sessions, None))
    teams = {p.record.call_id: p.record.team for p in planned}
    assert teams["EN-1"] == "t9"  # alice's record wins
    assert teams["zh1"] == "t2"  # bob is no user: the sidecar's team
