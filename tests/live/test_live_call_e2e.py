"""A recorded stereo call streamed live (our tap client) end to end: live transcripts on the supervisors'
feed (role-scoped), the call stored and scored by the worker, findings equal to scoring the file.

The comparison file is the recording as the platform would have it: G.711 μ-law, agent on channel 0
(streaming is lossy only by that codec). Streams faster than real time; the model loads once (pipeline_zh).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import select

from api.background import make_worker
from api.routers import live as live_router
from qa_engine.app.models import Call
from qa_engine.commands.audiohook_client import AudiohookClient, TapOptions, load_call
from qa_engine.live.codec import ulaw_decode, ulaw_encode
from qa_engine.pipeline import CallInput


class FeedReader(threading.Thread):
    """Reads the SSE feed as one user until ``stop_on`` arrives or the deadline passes."""

    def __init__(self, url: str, headers: dict[str, str], stop_on: str | None, seconds: float) -> None:
        super().__init__(daemon=True)
        self.url, self.headers, self.stop_on, self.seconds = url, headers, stop_on, seconds
        self.events: list[dict[str, Any]] = []
        self.ready = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + self.seconds
        with httpx.stream("GET", self.url, headers=self.headers, timeout=30) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    self.events.append(event)
                    self.ready.set()
                    if event["type"] == self.stop_on:
                        return
                if time.monotonic() > deadline:
                    return


NUMBER_LIKE = re.compile(r"[0-9一二三四五六七八九零〇幺两]{4,}")


def _cjk_strings(value: Any) -> list[str]:
    """Every string with Chinese text in ``value`` (the transcripts inside AudioHook event entities)."""
    if isinstance(value, str):
        return [value] if re.search(r"[\u4e00-\u9fff]", value) else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _cjk_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _cjk_strings(v)]
    return []


def test_streamed_call_matches_file_scoring(make_server: Any, pipeline_zh: Any, call_zh_stereo: Path,
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_router, "KEEPALIVE_S", 0.3)
    server = make_server(pipeline_zh)
    supervisor = server.user("sue", "supervisor", "t1")
    other_agent = server.user("bob", "agent", "t1")
    feed_url = f"{server.http}/api/v1/live/events"
    sue = FeedReader(feed_url, supervisor, "call_ended", 120)
    bob = FeedReader(feed_url, other_agent, None, 4)
    sue.start()
    bob.start()
    assert sue.ready.wait(10) and bob.ready.wait(10)  # both got their snapshot

    stereo = load_call(str(call_zh_stereo))
    options = TapOptions(agent_channel=0, custom_config={"agent": "alice", "team": "t1", "sendTranscripts": True})
    client = AudiohookClient(server.ws_url, server.client.api_key, server.client.client_secret, options)
    result = asyncio.run(client.run(stereo))
    assert result.closed
    seqs = [m["seq"] for m in result.received]
    assert seqs == list(range(1, len(seqs) + 1))
    events = [m for m in result.received if m["type"] == "event"]
    assert events, "transcripts come back as AudioHook event messages"

    sue.join(60)
    bob.join(10)
    kinds = [e["type"] for e in sue.events]
    assert kinds[0] == "snapshot" and "call_started" in kinds and kinds[-1] == "call_ended"
    transcripts = [e for e in sue.events if e["type"] == "transcript"]
    assert {t["utterance"]["role"] for t in transcripts} == {"agent", "customer"}
    agent_text = "".join(t["utterance"]["text"] for t in transcripts if t["utterance"]["role"] == "agent")
    assert "帮您" in agent_text and "手机号" in agent_text  # Whisper base on TTS speech: not every word
    assert [e["type"] for e in bob.events] == ["snapshot"]  # another agent's call is not on bob's feed
    # the customer reads a mobile number and the agent repeats it: masked on the feed and in AudioHook events
    shown = [t["utterance"]["text"] for t in transcripts] + _cjk_strings([m.get("parameters") for m in events])
    assert shown and not [x for x in shown if NUMBER_LIKE.search(x)], shown
    assert any("*" in x for x in shown)

    call_pk = sue.events[-1]["call_id"]
    assert make_worker(server.app).run_once()
    with server.app.state.session_factory() as db:
        call = db.scalars(select(Call).where(Call.id == call_pk)).one()
        assert call.status == "done" and call.agent == "alice" and call.agent_channel == 0
        stored = call.report
        audio_path = call.audio_path
    assert stored is not None and audio_path is not None

    # the file the platform would have recorded: μ-law, agent on channel 0
    pcm, rate = sf.read(str(call_zh_stereo), dtype="int16")
    ulaw = ulaw_decode(ulaw_encode(pcm.reshape(-1))).reshape(-1, 2)
    recorded = tmp_path / "call_ulaw.wav"
    sf.write(str(recorded), ulaw, rate, subtype="ULAW")
    kept, _ = sf.read(audio_path, dtype="int16")
    # the stored recording is the audio received, with the spoken number silenced on each speaker's channel
    redacted = np.zeros(ulaw.shape, dtype=bool)
    for r in stored["redactions"]:
        lo, hi = max(0, int((r["start"] - 3.0) * rate)), int((r["end"] + 3.0) * rate)  # margin, widening
        redacted[lo:hi, r["channel"]] = True
        assert not kept[int(r["start"] * rate):int(r["end"] * rate), r["channel"]].any()
    assert stored["redactions"] and kept.shape == ulaw.shape and np.array_equal(kept[~redacted], ulaw[~redacted])
    report = pipeline_zh.score(CallInput(recorded, agent_channel=0))
    assert {f["rule_id"]: f["status"] for f in stored["findings"]} == {f.rule_id: f.status for f in report.findings}
    assert stored["score"] == report.score

    # the call is visible in the API like an uploaded one
    response = httpx.get(f"{server.http}/api/v1/calls/{call_pk}", headers=supervisor, timeout=10)
    assert response.status_code == 200
    assert httpx.get(f"{server.http}/api/v1/calls/{call_pk}", headers=other_agent, timeout=10).status_code == 404
