"""The call's language at ``open`` and audio during a pause, against the real server (uvicorn, loopback).

A language the service cannot transcribe and score used to open the session anyway and fail later in the
transcriber thread (a server log line, nothing for the supervisor or the Genesys admin); now ``open`` is refused
at once with a ``disconnect`` that names the language and the accepted ones. Audio frames that arrive while the
stream is paused (in flight when the client paused) are discarded, as the AudioHook protocol lets a server do.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from api.audiohook.hub import get_hub
from qa_engine.app.models import Call, Job

from .test_audiohook_hostile import _disconnect_info, _session
from .test_audiohook_protocol import PCMU_STEREO, Peer


def _open_params(**params: Any) -> dict[str, Any]:
    return {"organizationId": str(uuid.uuid4()), "conversationId": str(uuid.uuid4()), "participant": {},
            "media": [PCMU_STEREO], **params}


@pytest.mark.parametrize(("params", "quoted"), [
    ({"language": "xx-unknown"}, "'xx-unknown'"),
    ({"language": ""}, "''"),
    ({"language": "auto"}, "'auto'"),  # the live tap decodes every utterance in one given language
    ({"language": 5}, "5"),
    ({"language": "zh" + "x" * 10_000}, "'zhxxxxxx"),
    ({"language": "en-US", "customConfig": {"language": "xx"}}, "'xx'"),
    ({"customConfig": {"language": ["zh"]}}, "['zh']"),
])
def test_open_with_a_language_the_service_cannot_handle_is_refused(make_server: Any, params: dict[str, Any],
                                                                   quoted: str) -> None:
    server = make_server()

    async def scenario(peer: Peer) -> None:
        await peer.send("open", _open_params(**params))
        info = await _disconnect_info(peer)
        assert "language" in info and quoted in info, info
        assert "accepted: zh" in info and "en" in info, info
        assert len(info) < 300, info  # a 10 kB value is not echoed back
        assert not get_hub(server.app).calls  # never a live call

    _session(server, scenario)
    with server.app.state.session_factory() as db:
        assert db.scalars(select(Call)).first() is None and db.scalars(select(Job)).first() is None


def test_refused_language_is_quoted_masked(make_server: Any) -> None:
    server = make_server()

    async def scenario(peer: Peer) -> None:
        await peer.send("open", _open_params(language="13812345678"))  # a client's value is PII-masked when quoted
        info = await _disconnect_info(peer)
        assert "13812345678" not in info and "language" in info, info

    _session(server, scenario)


@pytest.mark.parametrize(("params", "language"), [
    ({"language": "en-US"}, "en"),
    ({"language": "zh-TW"}, "zh"),
    ({"language": "cmn-Hans-CN"}, "zh"),
    ({"language": None}, "zh"),  # not given: the documented default
    ({"language": "xx-unknown", "customConfig": {"language": "en"}}, "en"),  # customConfig wins, as documented
])
def test_supported_languages_open(make_server: Any, params: dict[str, Any], language: str) -> None:
    server = make_server()

    async def scenario(peer: Peer) -> None:
        opened = await peer.open(**params)
        assert opened["type"] == "opened" and opened["parameters"]["media"], opened
        [call] = get_hub(server.app).calls.values()
        assert call.language == language
        await peer.send("close", {"reason": "end"})
        assert (await peer.recv())["type"] == "closed"

    _session(server, scenario)


def test_audio_while_paused_is_discarded_not_an_error(make_server: Any) -> None:
    """Frames in flight when the client paused are dropped: not recorded, and the session goes on."""
    server = make_server()

    async def scenario(peer: Peer) -> None:
        await peer.open()
        await peer.audio(5)
        await peer.send("paused")
        await peer.audio(3)  # in flight: discarded
        await peer.send("resumed", {"start": "PT0.5S", "discarded": "PT2S"})
        await peer.audio(2)
        await peer.send("ping")
        assert (await peer.recv())["type"] == "pong"  # no disconnect came before the pong
        await peer.send("close", {"reason": "end"})
        assert (await peer.recv())["type"] == "closed"

    _session(server, scenario)
    with server.app.state.session_factory() as db:
        call = db.scalars(select(Call)).one()
    assert call.duration == pytest.approx(2.7, abs=0.01)  # 0.5 s + 2 s discarded + 0.2 s; not the 0.3 s sent paused
