"""Glue between one AudioHook session and the rest of the service: live call, recording, stored call.

Who the call belongs to (documented in docs/audiohook.md):

- ``agent``: ``customConfig.agent``, else ``customConfig.agentName``, else ``audiohook:<client name>``;
- ``team``: the agent's team when the agent is a user (their record wins), else ``customConfig.team``, else the
  team given to ``qa-engine audiohook add-client --team``;
- language: ``customConfig.language``, else the open message's ``language`` (``zh-CN`` -> zh), else zh; a language
  the service does not transcribe and score refuses the ``open``;
- pack: ``customConfig.pack``, else the team's active pack / the language's default;
- channels: ``internal`` is the agent, ``external`` the customer (AudioHook's naming); the stored
  recording has the agent on channel 0.

At the end (``close`` or a dropped connection) the received audio is stored like an upload and a
``score_audio`` job is queued (:func:`qa_engine.app.live_calls.store_live_call`), so the worker scores it
with the full pipeline: one way to score a call. Here only the protocol's side remains: who is who in the
open message, the live transcript, the feed, and waking the workers.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
from fastapi import FastAPI

from api.audiohook.hub import LiveCallInfo, LiveHub
from api.audiohook.protocol import Media, ProtocolError, shown
from api.background import wake_workers
from qa_engine.app.audiohook_clients import AudiohookClient
from qa_engine.app.call_recorder import CallRecorder
from qa_engine.app.live_calls import FinishedLiveCall, call_team, choose_pack, store_live_call
from qa_engine.errors import PackError
from qa_engine.live import LiveCall
from qa_engine.pii import mask_text
from qa_engine.text import SUPPORTED_LANGUAGES, supported_language
from qa_engine.types import Role

logger = logging.getLogger(__name__)
ROLES: dict[str, Role] = {"internal": "agent", "external": "customer"}
DEFAULT_LANGUAGE = "zh"  # when neither customConfig nor the open message names one (docs/audiohook.md)


def _text(config: dict[str, Any], *names: str, limit: int = 128) -> str | None:
    for name in names:
        value = config.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:limit]
    return None


def _call_language(config: dict[str, Any], params: dict[str, Any]) -> str:
    """The call's Whisper language: ``customConfig.language``, else the open message's ``language``, else zh.

    Why refuse here: the live transcriber and the final scoring need a language the service knows; one it does not
    would open the session and fail later in the transcriber, with nothing for the client or the supervisor.

    Raises:
        ProtocolError: the language chosen is not a string or not one of :data:`SUPPORTED_LANGUAGES` (the client
            gets a ``disconnect`` naming it, masked and cut, and the accepted languages).
    """
    field, value = "customConfig.language", config.get("language")
    if value is None or (isinstance(value, str) and not value.strip()):  # customConfig leaves it to the open message
        field, value = "open parameter 'language'", params.get("language")
        if value is None:
            return DEFAULT_LANGUAGE
    code = supported_language(value) if isinstance(value, str) else None
    if code is None:
        raise ProtocolError(f"{field} {shown(value)} is not a language this service transcribes and scores "
                            f"(accepted: {', '.join(SUPPORTED_LANGUAGES)}, with a region such as zh-CN or en-US)")
    return code


class LiveTap:
    """Implements :class:`~api.audiohook.session.ConnectionHandler` for the service."""

    def __init__(self, app: FastAPI, hub: LiveHub, client: AudiohookClient, session_id: str,
                 send_event: Any = None) -> None:
        self.app, self.hub, self.client, self.session_id = app, hub, client, session_id
        self.settings = app.state.settings
        self.send_event = send_event
        self.info: LiveCallInfo | None = None
        self.call: LiveCall | None = None
        self.recorder: CallRecorder | None = None
        self.media: Media | None = None
        self.stored_channels: list[str] = []
        self.pack_id: str | None = None
        self.pack_given = False
        self.close_reason: str | None = None
        self.send_transcripts = False
        self.call_pk: str | None = None
        self._final_lock = threading.Lock()
        self._finalised = False

    # -- ConnectionHandler ----------------------------------------------------------------------
    def opened(self, params: dict[str, Any], media: Media | None) -> None:
        config = params.get("customConfig") or {}
        agent = _text(config, "agent", "agentName") or f"audiohook:{self.client.name}"
        team = call_team(self.app.state.session_factory, agent, _text(config, "team") or self.client.team)
        language = _call_language(config, params)
        self.send_transcripts = config.get("sendTranscripts") is True
        self.pack_id = _text(config, "pack", limit=64)
        self.pack_given = self.pack_id is not None
        try:
            pack = choose_pack(self.app.state.session_factory, self.app.state.pack_cache, pack_id=self.pack_id,
                               team=team, language=language)
        except PackError as exc:
            raise ProtocolError(f"customConfig.pack: {exc}") from None
        self.pack_id = pack.id
        self.info = LiveCallInfo(self.session_id, mask_text(str(params["conversationId"])), agent, team, language)
        self.media = media
        if media is None:  # a connection probe, or no format we can take: nothing to record
            return
        roles = [ROLES[name] for name in media.channels]
        # stored agent first (as most recordings are): the same call uploaded as a file then decodes the same
        self.stored_channels = sorted(media.channels, key=lambda name: name != "internal")
        order = [media.channels.index(name) for name in self.stored_channels]
        self.recorder = CallRecorder(self.settings.data_dir, len(roles), media.rate,
                                     self.settings.max_audio_duration_s, order)
        self.call = LiveCall(self.session_id, roles, language, pack, self.hub.transcriber, self._event)
        self.hub.add(self.info)

    def audio(self, pcm: np.ndarray, raw: bytes) -> None:
        if self.call is None or self.recorder is None:
            return
        self.recorder.write(raw)
        self.call.add_audio(pcm)

    def gap(self, seconds: float) -> None:
        """Discarded audio becomes silence in the recording; a gap past the longest call is refused, not written
        (one message would otherwise store hours of silence and queue hours of scoring)."""
        if self.call is None or self.recorder is None:
            return
        longest = self.settings.max_audio_duration_s
        if self.call.received_s + seconds > longest:
            raise ProtocolError(f"'discarded' of {seconds:g} s would make the call longer than the longest call "
                                f"accepted ({longest:g} s)")
        self.recorder.silence(seconds)
        self.call.skip(seconds)

    def closed(self, reason: str) -> None:
        self.close_reason = reason

    # -- events and the end of the call -------------------------------------------------------
    def _event(self, event: dict[str, Any]) -> None:
        if self.info is not None:
            self.hub.publish(self.info, event)
        if self.send_event is not None and event["type"] == "transcript":
            self.send_event(event)

    def finalise(self, wait_asr_s: float = 30.0) -> str | None:
        """Store the recording and queue its scoring (once; blocking: run it in a thread). Returns the call pk."""
        with self._final_lock:
            if self._finalised:
                return self.call_pk
            self._finalised = True
        try:
            return self._finalise(wait_asr_s)
        finally:
            if self.info is not None:
                self.info.state = "ended"
                self.hub.publish(self.info, {"type": "call_ended", "call": self.session_id,
                                             "call_id": self.call_pk, "reason": self.close_reason})
                self.hub.remove(self.session_id)

    def _finalise(self, wait_asr_s: float) -> str | None:
        if self.call is None or self.recorder is None or self.info is None or self.media is None:
            return None
        self.call.finish()
        if not self.call.wait_idle(wait_asr_s):
            logger.warning("live call %s: live transcripts still pending at the end of the call", self.session_id)
        self.call_pk = store_live_call(self.app.state.session_factory, self.settings.data_dir, self.recorder,
                                       self._finished(self.info, self.media))
        if self.call_pk is None:
            return None
        self.info.call_pk = self.call_pk
        wake_workers(self.app)
        return self.call_pk

    def _finished(self, info: LiveCallInfo, media: Media) -> FinishedLiveCall:
        """The call as the application layer files it; the agent is AudioHook's ``internal`` channel."""
        agent_channel = self.stored_channels.index("internal") if "internal" in self.stored_channels else None
        return FinishedLiveCall(session_id=self.session_id, conversation_id=info.conversation_id, agent=info.agent,
                                team=info.team, language=info.language, pack_id=self.pack_id,
                                pack_given=self.pack_given, creator=f"audiohook:{self.client.name}",
                                channels=len(media.channels), agent_channel=agent_channel, reason=self.close_reason)
