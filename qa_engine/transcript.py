"""The transcript document: the JSON schema shared by ``qa-engine score`` and ``qa-engine check``.

Only ``language`` and ``utterances[].role/start/end/text`` are required when reading, so that
transcripts from other systems (or typed by hand for a test) can be scored without ASR.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from .errors import TranscriptError
from .text import to_simplified
from .types import Role, Transcript, Utterance, Word, to_plain

ROLES = ("agent", "customer", "unknown")


def utterance_from_words(words: tuple[Word, ...], language: str, role: Role, channel: int | None) -> Utterance:
    """One utterance from the words ASR recognised in one speech region (``words`` must not be empty).

    Why here: the batch pipeline and the live call both build utterances from Whisper words and
    must build them the same way, or a live alert and the final score read different text.
    ``language`` is the Whisper code (see :func:`qa_engine.text.asr_language`); for "zh" every word
    is converted to Simplified (Whisper often answers Mandarin in Traditional) and the spaces
    Whisper puts between Chinese words are removed.
    """
    if not words:
        raise ValueError("an utterance needs at least one word")
    if language == "zh":
        words = tuple(replace(w, word=to_simplified(w.word)) for w in words)
    text = "".join(w.word for w in words).strip()
    if language == "zh":
        text = text.replace(" ", "")
    return Utterance(start=words[0].start, end=words[-1].end, role=role, text=text, words=words, channel=channel)


def transcript_to_dict(transcript: Transcript) -> dict[str, Any]:
    """The stable JSON form documented in the README."""
    return {
        "call_id": transcript.call_id,
        "language": transcript.language,
        "duration": round(transcript.duration, 3),
        "agent_channel": transcript.agent_channel,
        "agent_channel_reason": transcript.agent_channel_reason,
        **_agent_speaker_fields(transcript),
        "utterances": [_utterance_to_dict(u) for u in transcript.utterances],
    }


def _agent_speaker_fields(transcript: Transcript) -> dict[str, Any]:
    """Only diarized mono calls carry these (older documents and stereo calls stay as they were)."""
    if transcript.agent_speaker is None:
        return {}
    return {"agent_speaker": transcript.agent_speaker, "agent_confidence": transcript.agent_confidence}


def _utterance_to_dict(u: Utterance) -> dict[str, Any]:
    return {
        "role": u.role,
        "start": round(u.start, 3),
        "end": round(u.end, 3),
        "text": u.text,
        "channel": u.channel,
        "speaker": u.speaker,
        "words": [
            {"start": round(w.start, 3), "end": round(w.end, 3), "word": w.word,
             "probability": round(w.probability, 4)}
            for w in u.words
        ],
    }


def _num(value: Any, where: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TranscriptError(f"{where}: field '{field}' must be a number, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise TranscriptError(f"{where}: field '{field}' must be finite, got {value!r}")
    return float(value)


def transcript_from_dict(doc: Any, source: str = "transcript") -> Transcript:
    """Validate and convert a transcript document; errors name the utterance and field."""
    if not isinstance(doc, dict):
        raise TranscriptError(f"{source}: expected a JSON object at the top level")
    language = doc.get("language")
    if not isinstance(language, str) or not language:
        raise TranscriptError(f"{source}: missing required field 'language' (e.g. \"zh\" or \"en\")")
    raw_utts = doc.get("utterances")
    if not isinstance(raw_utts, list):
        raise TranscriptError(f"{source}: missing required field 'utterances' (a list)")
    utts: list[Utterance] = []
    for i, raw in enumerate(raw_utts):
        where = f"{source}: utterances[{i}]"
        if not isinstance(raw, dict):
            raise TranscriptError(f"{where}: expected an object")
        role = raw.get("role")
        if role not in ROLES:
            raise TranscriptError(f"{where}: field 'role' must be one of {', '.join(ROLES)}, got {role!r}")
        text = raw.get("text")
        if not isinstance(text, str):
            raise TranscriptError(f"{where}: field 'text' must be a string")
        start = _num(raw.get("start"), where, "start")
        end = _num(raw.get("end"), where, "end")
        if end < start:
            raise TranscriptError(f"{where}: 'end' ({end}) is before 'start' ({start})")
        words = tuple(_word_from_dict(w, f"{where}.words[{j}]") for j, w in enumerate(raw.get("words") or []))
        channel = raw.get("channel")
        utts.append(Utterance(start=start, end=end, role=role, text=text, words=words,
                              channel=channel if isinstance(channel, int) else None,
                              speaker=raw.get("speaker") if isinstance(raw.get("speaker"), str) else None))
    utts.sort(key=lambda u: (u.start, u.end))
    duration = doc.get("duration")
    if duration is None:
        duration = max((u.end for u in utts), default=0.0)
    agent_channel = doc.get("agent_channel")
    return Transcript(
        call_id=str(doc.get("call_id") or Path(source).stem),
        language=language,
        duration=_num(duration, source, "duration"),
        utterances=tuple(utts),
        agent_channel=agent_channel if isinstance(agent_channel, int) else None,
        agent_channel_reason=doc.get("agent_channel_reason"),
        agent_speaker=doc.get("agent_speaker") if isinstance(doc.get("agent_speaker"), str) else None,
        agent_confidence=_optional_num(doc.get("agent_confidence"), source, "agent_confidence"),
    )


def _optional_num(value: Any, where: str, field: str) -> float | None:
    return None if value is None else _num(value, where, field)


def _word_from_dict(raw: Any, where: str) -> Word:
    if not isinstance(raw, dict):
        raise TranscriptError(f"{where}: expected an object")
    return Word(start=_num(raw.get("start"), where, "start"), end=_num(raw.get("end"), where, "end"),
                word=str(raw.get("word", raw.get("text", ""))),
                probability=float(raw.get("probability", 1.0)))


def load_transcript(path: str | Path) -> Transcript:
    """Read a transcript JSON file; malformed JSON is reported with line and column."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TranscriptError(f"{p}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"{p}: cannot read ({exc})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"{p}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    return transcript_from_dict(doc, str(p))


__all__ = ["load_transcript", "transcript_from_dict", "transcript_to_dict", "to_plain", "utterance_from_words"]
