"""Decode + resample: every format/rate/layout we claim, real filtering, and every error message.

All audio is generated in tmp_path at test time (nothing shipped is needed here).
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from qa_engine import audio as audio_mod
from qa_engine.audio import DecodedAudio, channel_energy_db, decode_bytes, load_audio, sniff_format
from qa_engine.errors import AudioError

RATES = (8000, 11025, 22050, 44100, 48000)
# (container, subtype, suffix, rates it supports, duration tolerance in s)
ENCODINGS = [
    ("WAV", "PCM_16", "wav", RATES, 0.0),
    ("WAV", "PCM_24", "wav", RATES, 0.0),
    ("WAV", "PCM_32", "wav", RATES, 0.0),
    ("WAV", "FLOAT", "wav", RATES, 0.0),
    ("WAV", "ULAW", "wav", RATES, 0.0),
    ("WAV", "ALAW", "wav", RATES, 0.0),
    ("FLAC", "PCM_16", "flac", RATES, 0.0),
    ("OGG", "VORBIS", "ogg", RATES, 0.0),
    ("OGG", "OPUS", "opus", (8000, 48000), 0.03),  # Opus only codes 8/12/16/24/48 kHz
    ("MP3", "MPEG_LAYER_III", "mp3", RATES, 0.06),  # encoder delay/padding
]


def tone(freq: float, sr: int, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(sr * seconds))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_freq(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spec)])


def band_db(x: np.ndarray, sr: int, f0: float, width: float = 50.0) -> float:
    """Level of the strongest bin near ``f0`` relative to the strongest bin anywhere, in dB."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    near = spec[(freqs > f0 - width) & (freqs < f0 + width)].max()
    return float(20 * np.log10(near / spec.max() + 1e-20))


def write(path: Path, data: np.ndarray, sr: int, fmt: str = "WAV", subtype: str = "PCM_16") -> Path:
    sf.write(path, data, sr, format=fmt, subtype=subtype)
    return path


@pytest.mark.parametrize("stereo", [False, True], ids=["mono", "stereo"])
@pytest.mark.parametrize(
    ("fmt", "subtype", "suffix", "sr", "tol"),
    [(f, s, x, sr, tol) for f, s, x, rates, tol in ENCODINGS for sr in rates],
    ids=lambda v: str(v),
)
def test_decodes_every_format_rate_and_layout(tmp_path, fmt, subtype, suffix, sr, tol, stereo):
    seconds = 1.0
    left = tone(440, sr, seconds)
    data = np.stack([left, tone(880, sr, seconds, 0.3)], axis=1) if stereo else left
    path = write(tmp_path / f"clip.{suffix}", data, sr, fmt, subtype)

    got = load_audio(path)

    assert isinstance(got, DecodedAudio)
    assert got.sample_rate == 16000 and got.source_sample_rate == sr
    assert got.channels == (2 if stereo else 1)
    assert got.samples.dtype == np.float32 and got.samples.shape[0] == got.channels
    assert got.duration == pytest.approx(seconds, abs=tol + 1e-3)
    assert got.samples.shape[1] == pytest.approx(seconds * 16000, abs=16000 * tol + 2)
    assert got.format == fmt and got.codec == subtype and got.path == str(path)
    # channels keep their own content (no accidental downmix or swap)
    assert peak_freq(got.channel(0), 16000) == pytest.approx(440, abs=5)
    if stereo:
        assert peak_freq(got.channel(1), 16000) == pytest.approx(880, abs=5)


def test_telephony_tone_keeps_its_frequency_when_upsampled():
    got = decode_bytes(_wav_bytes(tone(1000, 8000, 2.0), 8000), "tone.wav")
    assert peak_freq(got.channel(0), 16000) == pytest.approx(1000, abs=2)
    # a proper polyphase filter leaves no image at 16000 - 1000 Hz, unlike zero-stuffing
    assert band_db(got.channel(0), 16000, 7000) < -60


def test_anti_aliasing_removes_content_above_new_nyquist():
    # 10 kHz at 48 kHz cannot exist at 16 kHz: naive decimation would fold it to 6 kHz
    # at full strength. A 6 kHz tone (below 8 kHz) must survive. A 500 Hz tone is the reference.
    sr = 48000
    above = tone(500, sr, 1.0, 0.4) + tone(10000, sr, 1.0, 0.4)
    below = tone(500, sr, 1.0, 0.4) + tone(6000, sr, 1.0, 0.4)
    naive = above[::3]
    assert band_db(naive, 16000, 6000) > -3  # the alias a naive decimator produces
    assert band_db(decode_bytes(_wav_bytes(above, sr, "FLOAT"), "hi.wav").channel(0), 16000, 6000) < -70
    assert band_db(decode_bytes(_wav_bytes(below, sr, "FLOAT"), "lo.wav").channel(0), 16000, 6000) > -3


def test_streamed_blocks_match_one_shot_resampling(tmp_path, monkeypatch):
    monkeypatch.setattr(audio_mod, "_BLOCK_FRAMES", 1000)  # force many blocks
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((22050 * 2, 2)) * 0.1).astype(np.float32)
    got = load_audio(write(tmp_path / "n.wav", data, 22050, subtype="FLOAT"))
    ref = soxr.resample(data, 22050, 16000, quality="HQ").T
    assert got.samples.shape == ref.shape
    np.testing.assert_allclose(got.samples, ref, atol=1e-5)


def test_same_rate_is_passed_through(tmp_path):
    data = tone(300, 16000, 0.5)
    got = load_audio(write(tmp_path / "a.wav", data, 16000, subtype="FLOAT"))
    np.testing.assert_array_equal(got.channel(0), data)


def test_target_rate_is_configurable(tmp_path):
    got = load_audio(write(tmp_path / "a.wav", tone(300, 44100), 44100), target_sr=8000)
    assert got.sample_rate == 8000 and got.samples.shape == (1, 8000)


def test_decode_bytes_matches_load_audio(tmp_path):
    path = write(tmp_path / "a.flac", tone(700, 8000), 8000, "FLAC")
    from_file, from_bytes = load_audio(path), decode_bytes(path.read_bytes(), "upload.flac")
    np.testing.assert_array_equal(from_file.samples, from_bytes.samples)
    assert from_bytes.path == "upload.flac"


def test_pyav_fallback_decodes_what_libsndfile_cannot(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "call.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=16000, layout="stereo")
        pcm = np.stack([tone(440, 16000, 1.0), tone(880, 16000, 1.0, 0.3)])
        for i in range(0, pcm.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, i:i + 1024]), format="fltp",
                                               layout="stereo")
            frame.sample_rate, frame.pts = 16000, i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)

    got = load_audio(path)
    assert got.codec == "aac" and got.channels == 2 and got.sample_rate == 16000
    assert got.duration == pytest.approx(1.0, abs=0.1)
    assert peak_freq(got.channel(1), 16000) == pytest.approx(880, abs=5)


def test_channel_energy_db_is_per_frame_and_channel():
    sr = 16000
    loud = tone(1000, sr, 1.0, 1.0)
    quiet = np.zeros_like(loud)
    quiet[sr // 2:] = tone(1000, sr, 0.5, 0.01)
    energy = channel_energy_db(np.stack([loud, quiet]), sr, frame_s=0.03)
    assert energy.shape == (int(np.ceil(sr / 480)), 2)
    assert energy[:, 0] == pytest.approx(-3.01, abs=0.1)  # full-scale sine power is 1/2
    assert energy[:10, 1].max() == pytest.approx(-120, abs=0.1)  # digital silence floor
    assert energy[-5:, 1] == pytest.approx(-43.0, abs=0.2)
    assert channel_energy_db(loud, sr).shape[1] == 1  # 1-D input is one channel


def test_sniffer_names_common_non_audio():
    assert sniff_format(b"\x89PNG\r\n\x1a\n....") == ("a PNG image", False)
    assert sniff_format(b"RIFF\x00\x00\x00\x00WAVEfmt ") == ("WAV", True)
    assert sniff_format(b"fLaC\x00") == ("FLAC", True)
    assert sniff_format(b"hello, this is text\n") == ("a text file", False)
    assert sniff_format(bytes(range(256))) is None


def test_sniffer_knows_non_ascii_text_whose_sample_ends_inside_a_character():
    """A Chinese note or JSON transcript: the 512-byte sample usually cuts a 3-byte character in two."""
    head = ("客户来电咨询宽带报修进度。\n" * 40).encode("utf-8")  # 40 bytes a line: byte 512 is mid-character
    assert sniff_format(head) == ("a text file", False)
    assert sniff_format(head[:200] + b"\xc0\xaf" + head[200:500]) is None  # invalid UTF-8 inside: not text


# --- errors: each names the file and the reason ------------------------------------------------


def _wav_bytes(data: np.ndarray, sr: int, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, data, sr, format="WAV", subtype=subtype)
    return buf.getvalue()


def _error(path: Path, **kwargs: object) -> AudioError:
    with pytest.raises(AudioError) as info:
        load_audio(path, **kwargs)  # type: ignore[arg-type]
    err = info.value
    assert err.path == str(path) and str(path) in str(err) and "\n" not in str(err)
    return err


def test_missing_file(tmp_path):
    assert "not found" in _error(tmp_path / "nope.wav").reason


def test_directory(tmp_path):
    assert "directory" in _error(tmp_path).reason


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert "empty (0 bytes)" in _error(path).reason


def test_header_only_wav_has_no_frames(tmp_path):
    path = tmp_path / "hdr.wav"
    path.write_bytes(_wav_bytes(np.zeros(0, np.float32), 8000))
    assert "no audio frames" in _error(path).reason


@pytest.mark.parametrize("level", [0.0, 10 ** (-70 / 20)], ids=["digital", "minus70dB"])
def test_silent_file(tmp_path, level):
    path = write(tmp_path / "quiet.wav", np.full((8000, 2), level, np.float32), 8000, subtype="FLOAT")
    reason = _error(path).reason
    assert reason.startswith("silent")
    assert ("digital silence" in reason) if level == 0 else ("-70.0 dBFS" in reason)


def test_one_silent_channel_is_fine(tmp_path):
    data = np.stack([tone(500, 8000), np.zeros(8000, np.float32)], axis=1)
    assert load_audio(write(tmp_path / "half.wav", data, 8000)).channels == 2


def test_random_bytes_are_corrupt(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8)))
    assert "corrupt" in _error(path).reason


def test_garbage_after_a_flac_magic_is_corrupt(tmp_path):
    path = tmp_path / "bad.flac"
    path.write_bytes(b"fLaC" + os.urandom(3000))
    assert "corrupt or truncated FLAC" in _error(path).reason


@pytest.mark.parametrize("cut", [4, 20, 30, 40])
def test_wav_cut_inside_header(tmp_path, cut):
    path = tmp_path / "cut.wav"
    path.write_bytes(_wav_bytes(tone(440, 8000), 8000)[:cut])
    assert "truncated WAV" in _error(path).reason


def test_wav_with_short_data_decodes_what_is_there(tmp_path, caplog):
    path = tmp_path / "short.wav"
    path.write_bytes(_wav_bytes(tone(440, 8000, 2.0), 8000)[: 44 + 8000 * 2])  # 1 of 2 seconds
    with caplog.at_level(logging.WARNING, logger="qa_engine.audio"):
        got = load_audio(path)
    assert got.duration == pytest.approx(1.0, abs=1e-3)
    assert "truncated" in caplog.text and str(path) in caplog.text


@pytest.mark.parametrize(
    ("payload", "looks_like"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "PNG image"),
        (b"call notes: customer was angry\n" * 20, "text file"),
        (b"%PDF-1.7\n" + bytes(100), "PDF document"),
        (b"<html><body>404</body></html>", "HTML"),
    ],
)
def test_non_audio_renamed_wav_is_unsupported(tmp_path, payload, looks_like):
    path = tmp_path / "call.wav"
    path.write_bytes(payload)
    reason = _error(path).reason
    assert reason.startswith("unsupported format") and looks_like in reason


def test_too_long_names_the_limit_and_the_fix(tmp_path):
    path = write(tmp_path / "long.wav", tone(300, 8000, 3.0), 8000)
    reason = _error(path, max_duration_s=2).reason
    assert "too long" in reason and "0:00:02 limit" in reason and "max_duration_s" in reason
    assert load_audio(path, max_duration_s=None).duration == pytest.approx(3.0)


def test_more_than_two_channels_is_refused(tmp_path):
    path = write(tmp_path / "surround.wav", np.tile(tone(300, 8000)[:, None], (1, 6)), 8000)
    assert "6 channels" in _error(path).reason


def _wav_with_fmt_field(offset: int, value: int) -> bytes:
    """A PCM WAV whose ``fmt `` chunk field at ``offset`` (0: format tag, 14: bits per sample) says ``value``."""
    data = bytearray(_wav_bytes(tone(440, 8000), 8000))
    data[20 + offset:22 + offset] = value.to_bytes(2, "little")
    return bytes(data)


@pytest.mark.parametrize(("offset", "value"), [(0, 0x1234), (14, 0)], ids=["unknown-format-tag", "zero-bits"])
def test_a_wav_whose_encoding_has_no_decoder_is_unsupported(tmp_path, offset, value):
    """ffmpeg opens such a file but has no decoder for its stream (PyAV gives no codec context): it was an
    AttributeError, an internal error, where a clear refusal belongs (found by benchmarks/fuzz_audio.py)."""
    path = tmp_path / "odd.wav"
    path.write_bytes(_wav_with_fmt_field(offset, value))
    reason = _error(path).reason
    assert "no decoder" in reason and "WAV" in reason


def test_float_samples_that_are_not_numbers_are_corrupt(tmp_path):
    """A float WAV with NaN/infinite samples (damaged exponent bytes) was called silent, or decoded into NaN that
    every later stage would have been fed; it is corrupt, and the message says where."""
    data = tone(440, 8000, 2.0)
    data[12000] = np.nan
    data[12001] = np.inf
    path = write(tmp_path / "nan.wav", data, 8000, subtype="FLOAT")
    reason = _error(path).reason
    assert "corrupt samples" in reason and "NaN or infinite" in reason and "1.50 s" in reason
    only_nan = np.full(8000, np.nan, dtype=np.float32)
    assert "corrupt samples" in _error(write(tmp_path / "all.wav", only_nan, 8000, subtype="FLOAT")).reason


def test_a_sample_rate_no_recorder_writes_is_a_corrupt_header(tmp_path):
    """A flipped byte made a WAV header say 999040 Hz: decoded, then the redacted FLAC copy could not be written
    (an internal LibsndfileError after the call was transcribed)."""
    data = bytearray(_wav_bytes(tone(440, 8000), 8000))
    data[24:28] = (999_040).to_bytes(4, "little")
    path = tmp_path / "fast.wav"
    path.write_bytes(bytes(data))
    assert "corrupt header: sample rate 999040 Hz is out of range" in _error(path).reason


def damaged_mp3(path: Path, sr: int = 8000, seconds: float = 6.0) -> Path:
    """An MP3 with 300 bytes (a few frames) cut from its middle: its Xing header still announces every frame."""
    buffer = io.BytesIO()
    sf.write(buffer, tone(440, sr, seconds, 0.3), sr, format="MP3")
    data = buffer.getvalue()
    path.write_bytes(data[:len(data) // 3] + data[len(data) // 3 + 300:])
    return path


def test_an_mp3_with_frames_cut_out_decodes_what_is_there(tmp_path, caplog):
    """``SoundFile.blocks`` filled the frames the header announced but the file no longer had with uninitialised
    memory (NaN, or stale samples heard as speech); the decode now ends where the data does, and says so."""
    path = damaged_mp3(tmp_path / "damaged.mp3")
    there = sf.read(path)[0].shape[0]
    with caplog.at_level(logging.WARNING, logger="qa_engine.audio"):
        got = load_audio(path)
    assert there < 6.0 * 8000 and got.duration == pytest.approx(there / 8000)
    assert np.isfinite(got.samples).all() and np.abs(got.samples).max() < 0.5
    assert f"ends after {there} of the 48000 frames" in caplog.text


def test_decode_bytes_errors_name_the_upload():
    with pytest.raises(AudioError, match=r"^upload\.mp3: file is empty"):
        decode_bytes(b"", "upload.mp3")


# --- the shipped synthetic calls -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["en", "zh"])
def test_shipped_calls_match_their_script(request, name):
    path = request.getfixturevalue(f"call_{name}_stereo")
    expected = request.getfixturevalue(f"call_{name}_expected")
    got = load_audio(path)
    assert got.source_sample_rate == 8000 and got.channels == 2 and got.duration <= 30.0
    assert got.duration == pytest.approx(expected["duration"], abs=0.01)
    energy = channel_energy_db(got.samples, got.sample_rate)
    for turn in expected["turns"]:
        if turn["overlaps_previous"]:
            continue
        frames = energy[int(turn["start"] / 0.03) + 3: int(turn["end"] / 0.03) - 3]
        own, other = frames[:, turn["channel"]], frames[:, 1 - turn["channel"]]
        # the speaker's own channel carries the turn; the other only its ~26-28 dB echo
        assert np.median(own - other) > 15, turn["text"]


def test_shipped_mono_call(call_en_mono, call_en_expected):
    got = load_audio(call_en_mono)
    assert got.channels == 1 and got.duration == pytest.approx(call_en_expected["duration"], abs=0.01)
