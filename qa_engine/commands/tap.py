"""``qa-engine tap AUDIO --url ws://HOST/api/v1/audiohook/ws --api-key K --client-secret S [--realtime]``.

Streams a recording to an AudioHook server as a live call (our own AudioHook client): prints the
server's transcripts as they come back (``--events``) and a one-line summary at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("tap", help="stream a recording to an AudioHook server as a live call",
                              description="Stream AUDIO (stereo: agent on --agent-channel) as an AudioHook "
                                          "client: open, 100 ms PCMU frames, pings, close.")
    p.add_argument("audio", help="the recording (any format qa-engine reads; resampled to 8 kHz)")
    p.add_argument("--url", required=True, help="ws://HOST:PORT/api/v1/audiohook/ws")
    p.add_argument("--api-key", required=True)
    p.add_argument("--client-secret", required=True, help="base64, as printed by 'qa-engine audiohook add-client'")
    p.add_argument("--realtime", action="store_true", help="pace the audio like a real call (default: as fast "
                                                          "as the server takes it)")
    p.add_argument("--speed", type=float, default=1.0, help="with --realtime: playback speed (2 = twice as fast)")
    p.add_argument("--agent-channel", type=int, default=0, help="which channel of AUDIO is the agent (default 0)")
    p.add_argument("--agent", default=None, help="agent name sent in customConfig.agent")
    p.add_argument("--team", default=None, help="team sent in customConfig.team")
    p.add_argument("--language", default="zh-CN", help="the open message's language (default zh-CN)")
    p.add_argument("--events", action="store_true", help="ask for transcripts as event messages and print them")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qa_engine.commands.audiohook_client import AudiohookClient, TapOptions, load_call

    from ..errors import QaEngineError

    config: dict[str, Any] = {k: v for k, v in (("agent", args.agent), ("team", args.team)) if v}
    if args.events:
        config["sendTranscripts"] = True
    options = TapOptions(agent_channel=args.agent_channel, realtime=args.realtime, speed=args.speed,
                         custom_config=config, language=args.language)

    def show(msg: dict[str, Any]) -> None:
        if args.events and msg.get("type") == "event":
            for entity in msg["parameters"].get("entities", []):
                sys.stdout.write(json.dumps(entity, ensure_ascii=False) + "\n")
        elif msg.get("type") == "disconnect":
            sys.stderr.write(f"qa-engine: server disconnected: {msg['parameters']}\n")

    audio = load_call(args.audio)
    client = AudiohookClient(args.url, args.api_key, args.client_secret, options, on_message=show)
    try:
        result = asyncio.run(client.run(audio))
    except OSError as exc:
        raise QaEngineError(f"{args.url}: cannot connect: {exc}") from None
    except Exception as exc:  # websockets' handshake errors (401 and others) name the status
        raise QaEngineError(f"{args.url}: {type(exc).__name__}: {exc}") from None
    sys.stdout.write(f"streamed {result.seconds_sent:.1f} s; session {options.session_id} "
                     f"{'closed' if result.closed else 'not closed'}; {len(result.received)} server message(s)\n")
    return 0 if result.closed else 1
