"""End of a live call: store the recording and queue its scoring, the way an uploaded recording is.

Why a use case of its own: a call heard live is scored like any other call, by the worker running the
``score_audio`` job with the full pipeline (one way to score a call). This module is the bridge from the
AudioHook edge, which knows the protocol, to that path: it takes plain values and a session factory, so it
needs no web framework and can be tested with a recorder and a database alone. Waking the workers, and
telling the live feed, stay at the edge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_engine.app import jobs
from qa_engine.app.audio_files import commit_staged
from qa_engine.app.call_fields import agent_team
from qa_engine.app.call_recorder import CallRecorder
from qa_engine.app.models import Call, User, new_call_id
from qa_engine.app.pack_cache import PackCache
from qa_engine.app.packs import resolve_pack
from qa_engine.pii import mask_text
from qa_engine.rules import Pack

logger = logging.getLogger(__name__)
JOB_KIND = "score_audio"
RECORDING_TYPE = "audio/wav"


@dataclass(frozen=True)
class FinishedLiveCall:
    """What is known about a live call when it ends (from the open message and the connection).

    ``agent_channel`` is the agent's channel in the stored recording (None when unknown); ``channels`` how many
    the recording has. ``creator`` names the AudioHook client in the job (``audiohook:<name>``).
    """

    session_id: str
    conversation_id: str
    agent: str
    team: str | None
    language: str
    pack_id: str | None
    pack_given: bool
    creator: str
    channels: int
    agent_channel: int | None
    reason: str | None


def call_team(session_factory: Callable[[], Session], agent: str, given: str | None) -> str | None:
    """The team of a live call by ``agent``: the agent's user record's team when the agent is a user.

    ``given`` (``customConfig.team`` or the client's team) counts only for agents without a user record or team.
    A live call is not refused for a contradicting team (its audio would be lost): the record wins, with a warning.
    """
    with session_factory() as session:
        user = session.scalar(select(User).where(User.name == agent))
    try:
        return agent_team(user, given)
    except ValueError as exc:
        logger.warning("live call of agent %r: %s; using the agent's team", agent, exc)
        return user.team if user is not None else given


def choose_pack(session_factory: Callable[[], Session], pack_cache: PackCache, *, pack_id: str | None,
                team: str | None, language: str) -> Pack:
    """The pack the live call is followed with (and later scored with), as :func:`resolve_pack` chooses it.

    Raises:
        PackError: ``pack_id`` names no known pack.
    """
    with session_factory() as session:
        return resolve_pack(session, pack_cache, pack_id=pack_id, team=team, language=language)


def store_live_call(session_factory: Callable[[], Session], data_dir: Path, recorder: CallRecorder,
                    call: FinishedLiveCall) -> str | None:
    """Store the recording, file the call and queue its ``score_audio`` job in one transaction.

    Returns the new call's id, or None when no audio was received (nothing to score). The caller wakes the
    workers. A mono recording has no agent channel: the pipeline separates the speakers itself.
    """
    staged = recorder.finish()
    if staged is None:
        return None
    path = commit_staged(data_dir, staged)
    label = mask_text(call.conversation_id)  # stored, listed and sent masked, like an uploaded call id
    with session_factory() as session:
        row = Call(id=new_call_id(), call_id=label, agent=call.agent, team=call.team,
                   language=call.language, pack=call.pack_id, source="audio", status="queued",
                   content_hash=staged.sha256, audio_path=str(path), audio_filename=f"{label}.wav",
                   audio_content_type=RECORDING_TYPE, audio_bytes=staged.size,
                   agent_channel=call.agent_channel if call.channels > 1 else None, duration=recorder.duration)
        session.add(row)
        jobs.enqueue(session, JOB_KIND, call_pk=row.id, created_by=call.creator,
                     payload={"live_session": call.session_id, "reason": call.reason, "pack_given": call.pack_given,
                              "truncated": recorder.truncated})
        session.commit()
        call_pk = row.id
    logger.info("live call %s (conversation %s) stored as call %s (%.1f s, %s)", call.session_id,
                label, call_pk, recorder.duration, call.reason)
    return call_pk


__all__ = ["FinishedLiveCall", "call_team", "choose_pack", "store_live_call"]
