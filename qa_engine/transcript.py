"""The transcript document: the JSON schema shared by ``qa-engine score`` and ``qa-engine check``.

Only ``language`` and ``utterances[].role/start/end/text`` are required when reading, so that
transcripts from other systems (or typed by hand for a test) can be scored without ASR.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from .acoustics import acoustics_from_dict, acoustics_to_dict
from .errors import TranscriptError
from .json_text import JsonTextError, load_json
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
        **({} if transcript.acoustics is None else {"acoustics": acoustics_to_dict(transcript.acoustics)}),
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


#: Limits of a transcript document (a 4-hour call has a few thousand utterances of a few dozen words each); an
#: error names the limit. Times are seconds from the start of the call: finite, not negative, at most a week.
MAX_UTTERANCES = 20_000
MAX_WORDS_PER_UTTERANCE = 5_000
MAX_TEXT_LENGTH = 20_000
MAX_NAME_LENGTH = 256
MAX_SECONDS = 7 * 24 * 3600.0
MAX_CHANNEL = 63


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored or sent as UTF-8 text (NUL, a lone surrogate), or None when it can."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"contains a lone surrogate (\\u{ord(value[exc.start]):04x}), which is not valid Unicode text"
    return None


def _str(value: Any, where: str, field: str, max_length: int, *, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise TranscriptError(f"{_at(where, field)}: must be a string, got {_kind(value)}")
    if not empty and not value.strip():
        raise TranscriptError(f"{_at(where, field)}: must not be empty")
    if len(value) > max_length:
        raise TranscriptError(f"{_at(where, field)}: is longer than {max_length} characters ({len(value)})")
    problem = text_problem(value)
    if problem is not None:
        raise TranscriptError(f"{_at(where, field)}: {problem}")
    return value


def _optional_str(value: Any, where: str, field: str, max_length: int = MAX_NAME_LENGTH) -> str | None:
    return None if value is None else _str(value, where, field, max_length)


def _kind(value: Any) -> str:
    """A short description of a wrong value (never the value itself: it may be huge)."""
    if value is None:
        return "nothing (null or missing)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _num(value: Any, where: str, field: str, *, low: float = 0.0, high: float = MAX_SECONDS) -> float:
    """A finite number between ``low`` and ``high`` (times: not negative, at most :data:`MAX_SECONDS`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TranscriptError(f"{_at(where, field)}: must be a number, got {_kind(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise TranscriptError(f"{_at(where, field)}: must be a finite number, got {value!r}")
    if not low <= value <= high:  # int and float compare exactly, however many digits the int has
        raise TranscriptError(f"{_at(where, field)}: must be between {low:g} and {high:g}, got {_shown(value)}")
    return float(value)


def _shown(value: float) -> str:
    """A number for a message: a huge integer by its size (printing it could take long, or fail past 4300 digits)."""
    if isinstance(value, float) or abs(value) < 10**30:
        return repr(value)
    return f"a number of about {int(value.bit_length() * math.log10(2)) + 1} digits"


def _time(value: Any, where: str, field: str) -> float:
    return _num(value, where, field)


def _optional_int(value: Any, where: str, field: str, high: int = MAX_CHANNEL) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        shown = _shown(value) if isinstance(value, int) and not isinstance(value, bool) else _kind(value)
        raise TranscriptError(f"{_at(where, field)}: must be a whole number from 0 to {high}, got {shown}")
    return value


def transcript_from_dict(doc: Any, source: str = "transcript") -> Transcript:
    """Validate and convert a transcript document; errors name the field by its path (``utterances[0].start``).

    Every field is checked for its type; times are finite, not negative and at most :data:`MAX_SECONDS`, with
    ``start <= end``; text holds no NUL or lone surrogate; the document stays within :data:`MAX_UTTERANCES`,
    :data:`MAX_WORDS_PER_UTTERANCE` and :data:`MAX_TEXT_LENGTH`. ``source`` (a file name) leads each message and
    gives a missing ``call_id``; "" for a request body, where the path alone says where. Raises
    :class:`TranscriptError`.
    """
    try:
        return _transcript(doc, Path(source).stem or "transcript")
    except TranscriptError as exc:
        if not source:
            raise
        raise TranscriptError(f"{source}: {exc}") from None


def _transcript(doc: Any, default_call_id: str) -> Transcript:
    if not isinstance(doc, dict):
        raise TranscriptError("expected a JSON object at the top level")
    language = doc.get("language")
    if not isinstance(language, str) or not language:
        raise TranscriptError("language: required (a language code such as \"zh\" or \"en\")")
    language = _str(language, "", "language", 32)
    raw_utts = doc.get("utterances")
    if not isinstance(raw_utts, list):
        raise TranscriptError("utterances: required (a list)")
    if len(raw_utts) > MAX_UTTERANCES:
        raise TranscriptError(f"utterances: at most {MAX_UTTERANCES} utterances, got {len(raw_utts)}")
    utts = [_utterance_from_dict(raw, f"utterances[{i}]") for i, raw in enumerate(raw_utts)]
    utts.sort(key=lambda u: (u.start, u.end))
    duration = doc.get("duration")
    if duration is None:
        duration = max((u.end for u in utts), default=0.0)
    return Transcript(
        call_id=_call_id(doc.get("call_id"), default_call_id),
        language=language,
        duration=_time(duration, "", "duration"),
        utterances=tuple(utts),
        agent_channel=_optional_int(doc.get("agent_channel"), "", "agent_channel"),
        agent_channel_reason=_optional_str(doc.get("agent_channel_reason"), "", "agent_channel_reason",
                                           MAX_TEXT_LENGTH),
        agent_speaker=_optional_str(doc.get("agent_speaker"), "", "agent_speaker"),
        agent_confidence=_optional_num(doc.get("agent_confidence"), "", "agent_confidence"),
        acoustics=acoustics_from_dict(doc.get("acoustics"), "acoustics"),
    )


def _at(where: str, field: str) -> str:
    """The path of ``field`` inside ``where`` (``utterances[0]`` and ``start``: ``utterances[0].start``)."""
    return f"{where}.{field}" if where else field


def _call_id(value: Any, default: str) -> str:
    """The document's ``call_id`` (a string, or a whole number as some systems send); ``default`` if absent."""
    if value is None or value == "":
        return default
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**64:
        return str(value)
    return _str(value, "", "call_id", MAX_NAME_LENGTH)


def _utterance_from_dict(raw: Any, where: str) -> Utterance:
    if not isinstance(raw, dict):
        raise TranscriptError(f"{where}: expected an object, got {_kind(raw)}")
    role = raw.get("role")
    if not isinstance(role, str) or role not in ROLES:
        shown = repr(role) if isinstance(role, str) and len(role) <= 32 and text_problem(role) is None else _kind(role)
        raise TranscriptError(f"{_at(where, 'role')}: must be one of {', '.join(ROLES)}, got {shown}")
    text = _str(raw.get("text"), where, "text", MAX_TEXT_LENGTH)
    start = _time(raw.get("start"), where, "start")
    end = _time(raw.get("end"), where, "end")
    if end < start:
        raise TranscriptError(f"{_at(where, 'end')}: {end} is before start ({start})")
    raw_words = raw.get("words")
    if raw_words is None:
        raw_words = []
    if not isinstance(raw_words, list):
        raise TranscriptError(f"{_at(where, 'words')}: must be a list of objects, got {_kind(raw_words)}")
    if len(raw_words) > MAX_WORDS_PER_UTTERANCE:
        raise TranscriptError(f"{_at(where, 'words')}: at most {MAX_WORDS_PER_UTTERANCE} words per utterance, "
                              f"got {len(raw_words)}")
    words = tuple(_word_from_dict(w, f"{where}.words[{j}]") for j, w in enumerate(raw_words))
    return Utterance(start=start, end=end, role=role, text=text, words=words,  # type: ignore[arg-type]
                     channel=_optional_int(raw.get("channel"), where, "channel"),
                     speaker=_optional_str(raw.get("speaker"), where, "speaker"))


def _optional_num(value: Any, where: str, field: str) -> float | None:
    """An optional confidence: a finite number from 0 to 1."""
    return None if value is None else _num(value, where, field, high=1.0)


def _word_from_dict(raw: Any, where: str) -> Word:
    if not isinstance(raw, dict):
        raise TranscriptError(f"{where}: expected an object, got {_kind(raw)}")
    start = _time(raw.get("start"), where, "start")
    end = _time(raw.get("end"), where, "end")
    if end < start:
        raise TranscriptError(f"{_at(where, 'end')}: {end} is before start ({start})")
    field = "word" if "word" in raw else "text"
    word = _str(raw.get(field, ""), where, field, MAX_TEXT_LENGTH)
    probability = raw.get("probability")
    return Word(start=start, end=end, word=word,
                probability=1.0 if probability is None else _num(probability, where, "probability", high=1.0))


def load_transcript(path: str | Path) -> Transcript:
    """Read a transcript JSON file (UTF-8, a byte-order mark allowed); malformed JSON is reported with line and
    column, and a too-long number or too-deep nesting by name (:func:`qa_engine.json_text.load_json`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TranscriptError(f"{p}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"{p}: cannot read ({exc})") from None
    try:
        doc = load_json(text)
    except JsonTextError as exc:
        raise TranscriptError(f"{p}: {exc}") from None
    return transcript_from_dict(doc, str(p))


__all__ = ["MAX_SECONDS", "MAX_TEXT_LENGTH", "MAX_UTTERANCES", "MAX_WORDS_PER_UTTERANCE", "load_transcript",
           "text_problem", "transcript_from_dict", "transcript_to_dict", "to_plain", "utterance_from_words"]
