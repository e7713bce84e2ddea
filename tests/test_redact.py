"""Redacted audio (qa_engine.redact): spans silenced (or toned) on the speaker's channel, the rest untouched; a
spoken phone number in a generated call silenced so that ASR no longer hears it; ``qa-engine score --redact-audio``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from qa_engine.commands.score import _redacted_target
from qa_engine.errors import AudioError
from qa_engine.pii import find_pii_spans
from qa_engine.pipeline import CallInput
from qa_engine.redact import TONE_HZ, redact_audio, redaction_windows
from qa_engine.rules import load_pack
from qa_engine.scoring import redactions as report_redactions
from qa_engine.types import Redaction, Transcript, Utterance, Word


def test_spans_are_silenced_on_their_channel_with_a_margin_and_nothing_else_changes(call_en_stereo: Path,
                                                                                     tmp_path: Path) -> None:
    out = tmp_path / "red.flac"
    written = redact_audio(call_en_stereo, [Redaction(1.0, 2.0, 1, "phone"), Redaction(3.0, 3.5, None, "email")],
                           out, margin_s=0.1)
    before, rate = sf.read(call_en_stereo, dtype="int16", always_2d=True)
    after, rate2 = sf.read(out, dtype="int16", always_2d=True)
    assert written.content_type == "audio/flac" and rate2 == rate and after.shape == before.shape
    changed = before != after
    expected = np.zeros_like(changed)
    expected[int(0.9 * rate):int(2.1 * rate), 1] = True
    expected[int(2.9 * rate):int(3.6 * rate), :] = True  # no channel: every channel
    assert not (changed & ~expected).any()  # nothing outside the windows moved
    assert not after[int(0.9 * rate):int(2.1 * rate), 1].any() and not after[int(2.9 * rate):int(3.6 * rate)].any()
    assert abs(written.seconds - (1.2 + 2 * 0.7)) < 0.01


def test_tone_mode_and_wav_keeps_its_container(call_en_mono: Path, tmp_path: Path) -> None:
    out = tmp_path / "red.wav"
    written = redact_audio(call_en_mono, [Redaction(1.0, 2.0, 0, "phone")], out, margin_s=0.0, mode="tone")
    assert written.format == "WAV" and sf.info(out).format == "WAV"
    after, rate = sf.read(out, dtype="float32")
    piece = after[int(1.0 * rate) + 10:int(2.0 * rate) - 10]
    spectrum = np.abs(np.fft.rfft(piece)) ** 2
    peak = np.fft.rfftfreq(piece.size, 1 / rate)[int(np.argmax(spectrum))]
    assert abs(peak - TONE_HZ) < 5 and 0.05 < np.abs(piece).max() <= 0.11


def test_windows_widen_over_the_run_of_speech_within_the_room() -> None:
    frames = 1000  # 10 s at 10 ms
    energy = np.full((frames, 2), -70.0, dtype=np.float32)
    energy[300:520, 1] = -20.0  # speech on channel 1 from 3.0 to 5.2 s, with a short pause
    energy[400:420, 1] = -70.0
    late = Redaction(4.6, 5.0, 1, "phone", room=(2.0, 9.0))  # ASR put the number late: the speech began at 3.0
    narrow = Redaction(4.6, 5.0, 1, "phone", room=(4.5, 9.0))  # a word of the speaker ends at 4.5: not earlier
    assert redaction_windows([late], 2, 10.0, margin_s=0.0, energy=energy) == [[], [(3.0, 5.2)]]
    assert redaction_windows([narrow], 2, 10.0, margin_s=0.0, energy=energy) == [[], [(4.5, 5.2)]]
    assert redaction_windows([late], 2, 10.0, margin_s=0.0) == [[], [(4.6, 5.0)]]  # no energy: the words' times


def test_report_redactions_carry_the_speakers_channel_and_room() -> None:
    def utt(start: float, channel: int, *words: str) -> Utterance:
        ws = tuple(Word(start + i, start + i + 0.9, w, 1.0) for i, w in enumerate(words))
        return Utterance(start, ws[-1].end, "agent" if channel == 1 else "customer", "".join(words), ws, channel)

    t = Transcript("c", "en", 30.0, (utt(0.0, 0, "my", " number", " please"), utt(5.0, 1, "it's", " 122"),
                                     utt(7.0, 1, "-324", "-7942."), utt(12.0, 1, " bye")), agent_channel=1)
    found = report_redactions(t, find_pii_spans(t))
    assert [(r.channel, r.kind) for r in found] == [(1, "phone"), (1, "phone")]
    assert found[0].start == 6.0 and found[0].room == (5.9, 12.0)  # after "it's", before "bye" (same channel)


def test_report_redactions_of_text_only_speech_room_within_its_channel_and_deduplicated() -> None:
    """Without word timings the room runs between the channel's other utterances (a stereo call's channel-less speech
    is its own channel, not all speech); one redaction per distinct span, in time order."""
    def utt(start: float, end: float, channel: int | None, text: str = "okay") -> Utterance:
        return Utterance(start, end, "customer" if channel != 1 else "agent", text, (), channel)

    number = "my number is 13800138000"
    t = Transcript("c", "en", 20.0, (utt(0.0, 1.0, None), utt(1.0, 2.5, 1), utt(3.0, 4.0, None, number),
                                     utt(4.2, 5.0, 1), utt(6.0, 7.0, None), utt(8.0, 9.0, 1, number)),
                   agent_channel=1)
    spans = find_pii_spans(t)
    found = report_redactions(t, spans + spans)
    assert [(r.start, r.channel, r.exact) for r in found] == [(3.0, None, False), (8.0, 1, False)]
    assert found[0].room == (1.0, 6.0)  # channel None: after 0-1, before 6-7 (not the agent's 2.5 or 4.2)
    assert found[1].room == (5.0, 20.0)  # the agent's last utterance: to the end of the call


@pytest.fixture(scope="module")
def redacted_zh(pipeline_zh: Any, call_zh_stereo: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    report = pipeline_zh.score(CallInput(call_zh_stereo), pack=load_pack("zh-CN"))
    out = tmp_path_factory.mktemp("redact") / "call.redacted.flac"
    return report, redact_audio(call_zh_stereo, report.redactions, out)


def test_a_spoken_phone_number_is_silenced_and_no_longer_heard(redacted_zh: Any, pipeline_zh: Any,
                                                               call_zh_stereo: Path) -> None:
    # call_zh_stereo (Piper voices, scripts/make_test_audio.py): the customer reads a mobile number, the agent
    # repeats it
    report, written = redacted_zh
    assert {r.channel for r in report.redactions} == {0, 1} and {r.kind for r in report.redactions} == {"phone"}
    masked = [(u.channel, w) for u in report.transcript.utterances for w in u.words if "*" in w.word]
    assert masked
    after, rate = sf.read(written.path, dtype="int16", always_2d=True)
    before, _ = sf.read(call_zh_stereo, dtype="int16", always_2d=True)
    for channel, w in masked:
        assert not after[int(w.start * rate):int(w.end * rate), channel].any(), w
    assert (after[:int(5.0 * rate)] == before[:int(5.0 * rate)]).all()  # the greeting is untouched
    again = pipeline_zh.score(CallInput(written.path), pack=load_pack("zh-CN"))
    assert not again.redactions  # ASR on the redacted audio hears no number any more
    assert again.findings and next(f for f in again.findings if f.rule_id == "greeting").status == "pass"


def test_redacted_target_for_one_file_or_a_folder(tmp_path: Path) -> None:
    assert _redacted_target(str(tmp_path / "x.wav"), Path("a.flac"), 1) == tmp_path / "x.wav"
    assert _redacted_target(str(tmp_path / "out"), Path("d/a.mp3"), 2) == tmp_path / "out" / "a.redacted.flac"
    assert _redacted_target(str(tmp_path / "out"), Path("d/b.wav"), 2) == tmp_path / "out" / "b.redacted.wav"


def test_a_flac_with_a_corrupt_frame_is_redacted_as_it_was_decoded(tmp_path: Path) -> None:
    """libsndfile stops at a corrupt FLAC frame ("lost sync") where PyAV reads on; the call was transcribed through
    PyAV (load_audio), so redacting it must not fail the call with libsndfile's error."""
    from qa_engine.audio import load_audio

    sr = 8000
    t = np.arange(sr * 6) / sr
    sf.write(tmp_path / "ok.flac", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr)
    data = bytearray((tmp_path / "ok.flac").read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte inside a frame in the middle of the recording
    source = tmp_path / "corrupt.flac"
    source.write_bytes(bytes(data))
    with pytest.raises(sf.LibsndfileError):
        sf.read(source)
    decoded = load_audio(source)

    done = redact_audio(source, [Redaction(1.0, 2.0, None, "phone")], tmp_path / "out.flac")
    out, out_sr = sf.read(tmp_path / "out.flac", dtype="float32")
    assert out_sr == sr and done.frames == len(out)
    assert abs(len(out) / sr - decoded.duration) < 0.05
    assert not np.any(out[int(1.0 * sr):int(2.0 * sr)]) and np.abs(out[3 * sr:4 * sr]).max() > 0.2


def test_a_recording_without_a_decoder_is_a_clear_error(tmp_path: Path) -> None:
    """A WAV with an unknown format tag: PyAV opens it without a codec context; was an AttributeError."""
    sr = 8000
    sf.write(tmp_path / "ok.wav", (0.3 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)).astype(np.float32), sr)
    data = bytearray((tmp_path / "ok.wav").read_bytes())
    data[20:22] = (0x1234).to_bytes(2, "little")
    (tmp_path / "odd.wav").write_bytes(bytes(data))
    with pytest.raises(AudioError, match="no decoder"):
        redact_audio(tmp_path / "odd.wav", [Redaction(0.2, 0.4, None, "phone")], tmp_path / "out.wav")


def test_an_mp3_with_frames_cut_out_is_redacted_as_it_was_decoded(tmp_path: Path) -> None:
    """The file ends short of the frames its header announces; the redaction read uninitialised memory for the rest
    (NaN: an AssertionError inside soundfile writing the copy) and now ends where the data does, like load_audio."""
    from qa_engine.audio import load_audio
    from tests.test_audio import damaged_mp3

    source = damaged_mp3(tmp_path / "damaged.mp3")
    decoded = load_audio(source)
    done = redact_audio(source, [Redaction(1.0, 2.0, None, "phone", room=(0.0, 3.0))], tmp_path / "out.flac")
    out, sr = sf.read(tmp_path / "out.flac", dtype="float32")
    assert abs(done.frames / sr - decoded.duration) < 0.05 and np.abs(out).max() < 0.5
    assert not np.any(out[int(1.0 * sr):int(2.0 * sr)]) and np.abs(out[3 * sr:4 * sr]).max() > 0.2
