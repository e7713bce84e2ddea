"""Acceptance check for issue 16: a call with a spoken phone number, uploaded to a real ``qa-engine serve``.

SpokenWOZ ``SNG0072.wav`` (stereo, 8 kHz, English; the agent on channel 1) has the agent read out a guesthouse's
phone number, 1223247942, between 76.68 s and 81.91 s (the reference words, ``text_words/SNG0072.json``). The
script starts ``qa-engine serve`` on a fresh data folder, creates an admin, a supervisor and the agent, registers a
webhook, uploads the recording (as ``SNG0072.wav``, call id ``SNG0072``), waits for the score, overrides a finding
with a comment quoting the number, and then checks:

1. text: no part of the number (any 3 of its digits in a row, written as digits or as English digit words) in any
   answer: the call and its report, the call list, reviews, audit trail, the webhook's delivery payloads, the
   agent's scorecard and the weekly analysis (JSON and CSV), the Content-Disposition of the audio, and the
   server's own log;
2. audio: ``GET /api/v1/calls/{id}/audio`` is silent (or the tone) on the agent's channel over every masked word of
   the report (the words shown as ``*``) and over the reference span of the number, and unchanged away from the
   redactions; the unredacted upload is gone from the data folder.

Prints what it checked; exit status 0 when everything passed. Run: ``.venv/bin/python benchmarks/check_pii_serve.py``
(CPU is fine: about a minute).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "eval" / "audio_en" / "spokenwoz_stereo_calls"
AUDIO = DATA / "audio" / "SNG0072.wav"
WORDS = DATA / "text_words" / "SNG0072.json"
NUMBER = "1223247942"
AGENT_CHANNEL = 1
SCRIPT = Path(sys.executable).with_name("qa-engine")
SILENT_PEAK = 2.0 / 32768  # at most 2 LSB: silence (dither or resampling noise aside)
NO_SPEECH_DBFS = -50.0  # speech on this line is -30 to -14 dBFS, its background noise about -70
_DIGIT_WORDS = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                "six": "6", "seven": "7", "eight": "8", "nine": "9"}


def number_parts(text: str, number: str = NUMBER, run: int = 3) -> list[str]:
    """Pieces of ``number`` (``run`` digits or more in a row) in ``text``: digits or digit words, any separators.

    Decimal numbers (times such as ``67.122``, scores) are not read: a phone number is never written that way.
    """
    text = re.sub(r"(?<![\d.])\d+\.\d+(?![\d.])", " | ", text)
    words = re.sub(r"[A-Za-z]+", lambda m: _DIGIT_WORDS.get(m.group(0).lower(), " | "), text)
    found = []
    for seq in re.findall(r"\d(?:[\s\-.,/()+]*\d)*", words):
        digits = re.sub(r"\D", "", seq)
        for i in range(len(digits) - run + 1):
            piece = digits[i:i + run]
            if piece in number:
                found.append(seq.strip())
                break
    return found


def reference_span() -> tuple[float, float]:
    words = json.loads(WORDS.read_text(encoding="utf-8"))
    hits = [w for w in words if len(re.sub(r"\D", "", w["word"])) >= 3 and re.sub(r"\D", "", w["word"]) in NUMBER]
    return min(w["start"] for w in hits), max(w["end"] for w in hits)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_ENGINE_")}
    env.update(QA_ENGINE_LOG_FORMAT="json", QA_ENGINE_WEBHOOK_ALLOW_HOSTS="127.0.0.1")
    env.setdefault("QA_ENGINE_DEVICE", "cpu")
    return env


def _user(data_dir: Path, *args: str) -> dict[str, str]:
    proc = subprocess.run([str(SCRIPT), "users", "create", *args, "--data-dir", str(data_dir)], capture_output=True,
                          text=True, timeout=120, check=True, env=_env())
    return {"Authorization": f"Bearer {proc.stdout.strip().splitlines()[-1]}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the data folder and print its path")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="check-pii-"))
    data_dir = work / "data"
    root = _user(data_dir, "root", "--role", "admin")
    sue = _user(data_dir, "sue", "--role", "supervisor", "--team", "t1")
    _user(data_dir, "alice", "--role", "agent", "--team", "t1")
    port = _free_port()
    log = work / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(SCRIPT), "serve", "--data-dir", str(data_dir), "--port", str(port),
                                   "--workers", "1"], stdout=out, stderr=subprocess.STDOUT, env=_env())
    texts: dict[str, str] = {}
    failures: list[str] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            _wait_up(http, server, log)
            hook = http.post("/api/v1/webhooks", headers=root,
                             json={"url": "http://127.0.0.1:9/hook", "events": ["call.scored", "finding.critical"]})
            hook.raise_for_status()
            started = time.monotonic()
            with AUDIO.open("rb") as fh:
                created = http.post("/api/v1/calls", headers=sue, files={"file": (AUDIO.name, fh, "audio/wav")},
                                    data={"agent": "alice", "agent_channel": str(AGENT_CHANNEL), "language": "en",
                                          "call_id": AUDIO.stem})
            created.raise_for_status()
            call_pk = created.json()["id"]
            call = _poll(http, call_pk, sue)
            print(f"uploaded {AUDIO.name} (agent channel {AGENT_CHANNEL}, en): {call['status']} in "
                  f"{time.monotonic() - started:.0f} s, score {call['score']}")
            if call["status"] != "done":
                print(f"FAIL: the call was not scored: {call.get('error')}")
                return 1
            report = call["report"]
            texts["GET /calls/{id}"] = json.dumps(call, ensure_ascii=False)
            finding = next(f["rule_id"] for f in report["findings"] if f["status"] in ("pass", "fail"))
            over = http.post(f"/api/v1/calls/{call_pk}/findings/{finding}/override", headers=sue,
                             json={"status": "pass", "comment": f"customer was given the number {NUMBER} (1 2 2 3)"})
            texts["POST override (answer)"] = over.text
            audio = http.get(f"/api/v1/calls/{call_pk}/audio", headers=sue)
            # the ETag is a hash of the file's time and size (random hex digits): not text about the call
            texts["GET /calls/{id}/audio headers"] = json.dumps({k: v for k, v in audio.headers.items() if k != "etag"})
            for name, url, who in [
                ("GET /calls", "/api/v1/calls", sue),
                ("GET /calls/{id}/reviews", f"/api/v1/calls/{call_pk}/reviews", sue),
                ("GET /calls/{id}/audit", f"/api/v1/calls/{call_pk}/audit", root),
                ("GET /reviews", "/api/v1/reviews", sue),
                ("GET /scorecards/agents/alice", "/api/v1/scorecards/agents/alice", sue),
                ("GET /scorecards/agents/alice?format=csv", "/api/v1/scorecards/agents/alice?format=csv", sue),
                ("GET /analysis/weekly", "/api/v1/analysis/weekly", sue),
                ("GET /analysis/weekly?format=csv", "/api/v1/analysis/weekly?format=csv", sue),
                ("GET /webhooks/{id}/deliveries", f"/api/v1/webhooks/{hook.json()['id']}/deliveries?payload=true",
                 root),
                ("GET /calls/{id}/audio/original (admin)", f"/api/v1/calls/{call_pk}/audio/original", root),
            ]:
                response = http.get(url, headers=who)
                texts[f"{name} [{response.status_code}]"] = response.text if "audio/original" not in url else (
                    json.dumps(dict(response.headers)) + (response.text if response.status_code != 200 else ""))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    texts["server log"] = log.read_text(encoding="utf-8", errors="replace")

    print(f"\n1. text: no part of {NUMBER} (3+ digits in a row, digits or digit words) in any answer")
    for name, text in texts.items():
        parts = number_parts(text)
        print(f"   {'FAIL' if parts else 'ok  '} {name}: {len(text)} characters"
              + (f"; found {parts[:5]}" if parts else ""))
        if parts:
            failures.append(f"{name}: {parts[:5]}")
    masked = [(u["start"], w["start"], w["end"], w["word"]) for u in report["utterances"]
              if u["channel"] == AGENT_CHANNEL for w in u["words"] if "*" in w["word"]]
    shown = [u["text"] for u in report["utterances"] if "*" in u["text"]]
    print(f"   masked in the transcript: {shown}")

    print(f"\n2. audio: GET /calls/{{id}}/audio ({audio.headers.get('content-type')}, {len(audio.content)} bytes)")
    served, rate = sf.read(io.BytesIO(audio.content), dtype="float32", always_2d=True)
    original, orig_rate = sf.read(AUDIO, dtype="float32", always_2d=True)
    ok_format = rate == orig_rate and served.shape == original.shape
    print(f"   {'ok  ' if ok_format else 'FAIL'} same rate, channels and length as the upload: {rate} Hz, "
          f"{served.shape[1]} channel(s), {served.shape[0] / rate:.2f} s")
    if not ok_format:
        failures.append("served audio differs in rate or shape")
    print(f"   redactions in the report: {report.get('redactions')}")
    ref = reference_span()
    spans = [("masked word " + repr(word), start, end) for _, start, end, word in masked]
    spans.append((f"reference span of the number {ref[0]:.2f}-{ref[1]:.2f} s", ref[0], ref[1]))
    for label, start, end in spans:
        piece = served[int(start * rate):int(end * rate), AGENT_CHANNEL]
        before = original[int(start * rate):int(end * rate), AGENT_CHANNEL]
        silent = piece.size > 0 and float(np.abs(piece).max()) <= SILENT_PEAK
        tone = piece.size > 0 and _is_tone(piece, rate)
        # the reference span is the whole turn (its edges are the line's background noise): no speech left in it
        quiet = label.startswith("reference") and _loudest_db(piece, rate) <= NO_SPEECH_DBFS
        good = silent or tone or quiet
        print(f"   {'ok  ' if good else 'FAIL'} {label} [{start:.2f}-{end:.2f} s] on channel {AGENT_CHANNEL}: loudest "
              f"20 ms {_loudest_db(before, rate):.1f} dBFS in the upload -> {_loudest_db(piece, rate):.1f} dBFS served"
              f"{' (silence)' if silent else ' (tone)' if tone else ' (background noise only)' if quiet else ''}")
        if not good:
            failures.append(f"audio not redacted over {label}")
    if not masked:
        failures.append("no masked words in the report")
    windows = [(r["start"], r["end"], r["channel"]) for r in report.get("redactions", [])]
    keep = np.ones(served.shape, dtype=bool)
    for start, end, channel in windows:  # redacted windows grow by the margin and to the run of speech: 3 s slack
        a, b = max(0, int((start - 3.0) * rate)), int((end + 3.0) * rate)
        keep[a:b, slice(None) if channel is None else channel] = False
    same = np.abs(served[keep] - original[keep]).max() <= 1.0 / 32768 if keep.any() else True
    print(f"   {'ok  ' if same else 'FAIL'} unchanged away from the redactions ({keep.mean():.1%} of the samples)")
    if not same:
        failures.append("audio changed away from the redactions")
    leftovers = [p.name for p in (data_dir / "audio").rglob("*") if p.is_file() and ".redacted" not in p.name]
    print(f"   {'ok  ' if not leftovers else 'FAIL'} the unredacted upload is not kept in the data folder "
          f"({sorted(p.name for p in (data_dir / 'audio').rglob('*') if p.is_file())})")
    if leftovers:
        failures.append(f"unredacted audio kept: {leftovers}")
    print()
    if args.keep:
        print(f"data folder kept: {work}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("PASSED: no part of the number in any returned text; the served audio is silent over it")
    return 0


def _loudest_db(x: np.ndarray, rate: int) -> float:
    """The loudest 20 ms frame (RMS, dBFS); -120 for digital silence."""
    hop = max(1, int(rate * 0.02))
    n = x.size - x.size % hop
    if n == 0:
        return -120.0
    rms = np.sqrt(np.mean(x[:n].reshape(-1, hop).astype(np.float64) ** 2, axis=1))
    return float(max(-120.0, 20 * np.log10(rms.max() + 1e-12)))


def _is_tone(x: np.ndarray, rate: int) -> bool:
    """A quiet steady 1 kHz tone (``redact_audio(mode="tone")``): nearly all its energy at 1 kHz."""
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / rate)
    band = (freqs > 950) & (freqs < 1050)
    return bool(spectrum.sum() > 0 and spectrum[band].sum() / spectrum.sum() > 0.95)


def _wait_up(http: httpx.Client, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        try:
            if http.get("/api/v1/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit("server did not start")


def _poll(http: httpx.Client, call_pk: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        body: dict[str, Any] = http.get(f"/api/v1/calls/{call_pk}", headers=headers).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(1.0)
    raise SystemExit(f"call {call_pk} not scored in time")


if __name__ == "__main__":
    sys.exit(main())
