#!/usr/bin/env bash
# Stream a call to a running `qa-engine serve` with Genesys' reference AudioHook client (an independent
# implementation of the protocol), optionally with a server-initiated pause/resume, and print every AudioHook
# message both ways (type, seq, serverseq/clientseq, position). Interoperability check, not part of the tests.
#
# Usage:
#   scripts/reference_client.sh REF_DIR --url WS_URL --api-key KEY --client-secret SECRET --audio FILE
#       [--agent-channel N] [--language zh-CN] [--custom-config JSON]
#       [--admin-key KEY --pause-after SECONDS --pause-for SECONDS] [--log FILE] [--no-build]
#
#   REF_DIR         local checkout of purecloudlabs/audiohook-reference-implementation (client/ and app/audiohook/);
#                   nothing of it is copied here. The client is built in place (npm install + tsc in REF_DIR/client;
#                   app/node_modules is linked to the client's when missing, so the library finds uuid).
#   --audio FILE    any audio ffmpeg reads; converted to 8 kHz mu-law WAV under a temporary folder. The reference
#                   client sends WAV channel 0 as 'external' (customer) and channel 1 as 'internal' (agent);
#                   --agent-channel N (default 0) names the input channel that carries the agent and the channels
#                   are ordered to match. A mono input is sent as one channel.
#   --pause-after/--pause-for   POST /api/v1/live/calls/{session}/pause, then .../resume (needs --admin-key: an
#                   admin or supervisor API key); the client should answer 'paused' and 'resumed'.
#   --log FILE      the client's debug log (default: a temporary file, path printed at the end).
#
# Example (service on port 8765, client made with `qa-engine audiohook add-client ...`):
#   scripts/reference_client.sh ~/src/audiohook-reference-implementation --url ws://127.0.0.1:8765/api/v1/audiohook/ws \
#       --api-key KEY --client-secret SECRET --audio tests/data/call_zh_stereo.flac --language zh-CN \
#       --custom-config '{"sendTranscripts":true}' --admin-key ADMIN_KEY --pause-after 8 --pause-for 4
#
# Needs node/npm (npm registry for the first build), ffmpeg, python3 and `script` (util-linux): the reference
# client puts stdin in raw mode, which needs a terminal, so it runs under `script` when stdin is not one.
set -euo pipefail

die() { echo "reference_client.sh: error: $*" >&2; exit 2; }
[ $# -ge 1 ] || die "usage: $0 REF_DIR --url WS_URL --api-key KEY --client-secret SECRET --audio FILE [options]"
REF=$(cd "$1" && pwd) || die "no such folder: $1"
shift
URL="" KEY="" SECRET="" AUDIO="" AGENT_CH=0 LANGUAGE="" CUSTOM="" ADMIN="" PAUSE_AFTER="" PAUSE_FOR=4 LOG="" BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --url) URL=$2; shift 2 ;;
    --api-key) KEY=$2; shift 2 ;;
    --client-secret) SECRET=$2; shift 2 ;;
    --audio) AUDIO=$2; shift 2 ;;
    --agent-channel) AGENT_CH=$2; shift 2 ;;
    --language) LANGUAGE=$2; shift 2 ;;
    --custom-config) CUSTOM=$2; shift 2 ;;
    --admin-key) ADMIN=$2; shift 2 ;;
    --pause-after) PAUSE_AFTER=$2; shift 2 ;;
    --pause-for) PAUSE_FOR=$2; shift 2 ;;
    --log) LOG=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    *) die "unknown option: $1" ;;
  esac
done
[ -n "$URL" ] && [ -n "$KEY" ] && [ -n "$SECRET" ] && [ -n "$AUDIO" ] || die "--url, --api-key, --client-secret and --audio are required"
[ -f "$REF/client/package.json" ] || die "$REF does not look like the reference implementation (no client/package.json)"
[ -z "$PAUSE_AFTER" ] || [ -n "$ADMIN" ] || die "--pause-after needs --admin-key"
case "$AGENT_CH" in 0|1) ;; *) die "--agent-channel must be 0 or 1" ;; esac

WORK=$(mktemp -d)
LOG=${LOG:-$WORK/client.log}

# -- build ------------------------------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
  (cd "$REF/client" && npm install --no-audit --no-fund --loglevel=error)
  if [ -d "$REF/app" ] && [ ! -e "$REF/app/node_modules" ]; then
    ln -s ../client/node_modules "$REF/app/node_modules"
  fi
  (cd "$REF/client" && npx tsc --project tsconfig.json)
fi
ENTRY=""
for candidate in "$REF/client/dist/client/src/index.js" "$REF/client/dist/index.js" "$REF/client/dist/src/index.js"; do
  if [ -f "$candidate" ]; then ENTRY=$candidate; break; fi
done
[ -n "$ENTRY" ] || die "no built client under $REF/client/dist (run without --no-build)"

# -- audio: 8 kHz mu-law WAV, customer (external) on channel 0, agent (internal) on channel 1 -------------------
WAV=$WORK/call.wav
CHANNELS=$(ffprobe -v error -select_streams a:0 -show_entries stream=channels -of csv=p=0 "$AUDIO")
if [ "$CHANNELS" = 2 ]; then
  OTHER=$((1 - AGENT_CH))
  ffmpeg -hide_banner -loglevel error -y -i "$AUDIO" -af "pan=stereo|c0=c$OTHER|c1=c$AGENT_CH" -ar 8000 \
    -acodec pcm_mulaw -map_metadata -1 -fflags +bitexact "$WAV"
else
  ffmpeg -hide_banner -loglevel error -y -i "$AUDIO" -ac 1 -ar 8000 -acodec pcm_mulaw -map_metadata -1 \
    -fflags +bitexact "$WAV"
fi

# -- run --------------------------------------------------------------------------------------------------
ARGS=("$ENTRY" "$URL" --wavfile "$WAV" --api-key "$KEY" --client-secret "$SECRET" --session-log-level debug)
[ -z "$LANGUAGE" ] || ARGS+=(--language "$LANGUAGE")
[ -z "$CUSTOM" ] || ARGS+=(--custom-config "$CUSTOM")
CMD="node"
for a in "${ARGS[@]}"; do CMD+=" $(printf '%q' "$a")"; done
script -qfec "$CMD" "$LOG" > /dev/null 2>&1 < /dev/null &
CLIENT=$!

if [ -n "$PAUSE_AFTER" ]; then
  BASE=$(sed -E 's#^ws#http#; s#/audiohook/ws.*$##' <<<"$URL")
  SID=""
  for _ in $(seq 1 50); do
    SID=$(sed 's/\x1b\[[0-9;]*m//g' "$LOG" 2>/dev/null | grep -oE 'SessionId: [0-9a-f-]{36}' | head -1 | cut -d' ' -f2 || true)
    [ -n "$SID" ] && break
    sleep 0.2
  done
  [ -n "$SID" ] || { kill "$CLIENT" 2>/dev/null || true; die "the client did not start a session (see $LOG)"; }
  sleep "$PAUSE_AFTER"
  echo "pause:  $(curl -s -w ' HTTP %{http_code}' -X POST -H "Authorization: Bearer $ADMIN" "$BASE/live/calls/$SID/pause")"
  sleep "$PAUSE_FOR"
  echo "resume: $(curl -s -w ' HTTP %{http_code}' -X POST -H "Authorization: Bearer $ADMIN" "$BASE/live/calls/$SID/resume")"
fi
STATUS=0
wait "$CLIENT" || STATUS=$?

# -- report: one line per AudioHook message, both directions, from the client's debug log ------------------------
python3 - "$LOG" <<'EOF'
import json, re, sys
text = re.sub(r"\x1b\[[0-9;]*m", "", open(sys.argv[1], errors="replace").read()).replace("\r", "")
start = re.compile(r"\[(\d\d:\d\d:\d\d\.\d+)\] \w+: (sendMessage - Sending message|on\w+Message - (?:state=[\w-]+, Message\}?)?):? ?\{")
decoder = json.JSONDecoder()
server_seqs, client_seqs = [], []
for m in start.finditer(text):
    try:
        msg, _ = decoder.raw_decode(text, m.end() - 1)
    except ValueError:
        continue
    if not isinstance(msg, dict) or "type" not in msg:
        continue
    params = msg.get("parameters", {})
    extra = " " + json.dumps(params, ensure_ascii=False)[:100] if msg["type"] in ("resumed", "close", "disconnect", "error", "event") else ""
    if m.group(2).startswith("send"):
        client_seqs.append(msg["seq"])
        print(f"{m.group(1)} client->server {msg['type']:9} seq={msg['seq']:<4} serverseq={msg['serverseq']:<4} position={msg['position']}{extra}")
    else:
        server_seqs.append(msg["seq"])
        print(f"{m.group(1)} server->client {msg['type']:9} seq={msg['seq']:<4} clientseq={msg['clientseq']:<4}{extra}")
ok = lambda s: s == list(range(1, len(s) + 1))
print(f"client seq 1..{len(client_seqs)} without gaps: {ok(client_seqs)}; server seq 1..{len(server_seqs)} without gaps: {ok(server_seqs)}")
for line in text.splitlines():
    if re.search(r"\] (WARN|ERROR):", line):
        print(line)
EOF
echo "client log: $LOG (exit status $STATUS)"
exit "$STATUS"
