"""``transcript_from_dict`` checks every field of a transcript document: a value or a TranscriptError naming it.

Property tests (hypothesis) over arbitrary JSON in every field, and over valid documents (which round-trip through
``transcript_to_dict``); then the limits and the cases found by fuzzing the service, one by one.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from qa_engine import transcript as transcript_module
from qa_engine.errors import TranscriptError
from qa_engine.transcript import MAX_SECONDS, load_transcript, text_problem, transcript_from_dict, transcript_to_dict

SETTINGS = hypothesis.settings(max_examples=200, deadline=None, derandomize=True, database=None)
any_text = st.text(alphabet=st.characters(codec=None), max_size=30)  # lone surrogates and NUL included
scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300, max_value=10**400)
           | st.floats() | any_text)
json_like = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner,
                                                                                            max_size=3), max_leaves=8)
UTTERANCE_FIELDS = ["role", "start", "end", "text", "words", "channel", "speaker"]
WORD_FIELDS = ["start", "end", "word", "text", "probability"]
DOC_FIELDS = ["call_id", "language", "duration", "agent_channel", "agent_channel_reason", "agent_speaker",
              "agent_confidence", "utterances"]


def base_doc() -> dict[str, Any]:
    return {"language": "zh", "utterances": [
        {"role": "agent", "start": 0.0, "end": 1.0, "text": "您好",
         "words": [{"start": 0.0, "end": 0.5, "word": "您", "probability": 0.9}]}]}


@SETTINGS
@hypothesis.given(doc_fields=st.dictionaries(st.sampled_from(DOC_FIELDS), json_like, max_size=3),
                  utterance_fields=st.dictionaries(st.sampled_from(UTTERANCE_FIELDS), json_like, max_size=3),
                  word_fields=st.dictionaries(st.sampled_from(WORD_FIELDS), json_like, max_size=3))
def test_any_field_value_gives_a_transcript_or_a_transcript_error(
        doc_fields: dict[str, Any], utterance_fields: dict[str, Any], word_fields: dict[str, Any]) -> None:
    doc = base_doc()
    doc["utterances"][0]["words"][0].update(word_fields)
    doc["utterances"][0].update(utterance_fields)
    doc.update(doc_fields)
    try:
        transcript = transcript_from_dict(doc, "doc")
    except TranscriptError as exc:
        assert str(exc).startswith("doc"), exc
        assert text_problem(str(exc)) is None  # the message itself can be sent as UTF-8
        return
    # accepted: every time finite, in range and ordered; every text storable; and it survives the round trip
    assert 0 <= transcript.duration <= MAX_SECONDS
    for u in transcript.utterances:
        assert 0 <= u.start <= u.end <= MAX_SECONDS and text_problem(u.text) is None
        for w in u.words:
            assert 0 <= w.start <= w.end <= MAX_SECONDS and 0 <= w.probability <= 1 and text_problem(w.word) is None
    assert text_problem(transcript.call_id) is None and text_problem(transcript.language) is None
    json.dumps(transcript_to_dict(transcript), allow_nan=False).encode("utf-8")
    again = transcript_from_dict(transcript_to_dict(transcript), "doc")
    assert len(again.utterances) == len(transcript.utterances)


times = st.floats(min_value=0, max_value=3600, allow_nan=False)
plain_text = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20)


@st.composite
def valid_documents(draw: st.DrawFn) -> dict[str, Any]:
    utterances = []
    for _ in range(draw(st.integers(0, 5))):
        start, length = draw(times), draw(times)
        words = [{"start": start, "end": start, "word": draw(plain_text),
                  "probability": draw(st.floats(0, 1))} for _ in range(draw(st.integers(0, 3)))]
        utterances.append({"role": draw(st.sampled_from(transcript_module.ROLES)), "start": start,
                           "end": start + length, "text": draw(plain_text), "words": words,
                           "channel": draw(st.none() | st.integers(0, 1)),
                           "speaker": draw(st.none() | st.just("spk0"))})
    return {"call_id": draw(plain_text.filter(str.strip)), "language": "zh",
            "utterances": utterances}


@SETTINGS
@hypothesis.given(doc=valid_documents())
def test_valid_documents_round_trip(doc: dict[str, Any]) -> None:
    transcript = transcript_from_dict(doc, "doc")
    back = transcript_from_dict(json.loads(json.dumps(transcript_to_dict(transcript))), "doc")
    assert sorted((u.role, u.text, len(u.words)) for u in back.utterances) == \
        sorted((u.role, u.text, len(u.words)) for u in transcript.utterances)
    assert math.isclose(back.duration, transcript.duration, abs_tol=1e-3)


def utterance(**fields: Any) -> dict[str, Any]:
    return {"role": "agent", "start": 0.0, "end": 1.0, "text": "hi", **fields}


@pytest.mark.parametrize(("doc", "message"), [
    pytest.param({"language": "zh", "utterances": [utterance(text="a\ud800")]}, "text: contains a lone",
                 id="surrogate in text"),
    pytest.param({"language": "zh", "call_id": "\udfff", "utterances": []}, "call_id: contains a lone",
                 id="surrogate in call_id"),
    pytest.param({"language": "zh", "utterances": [utterance(text="a\x00")]}, "text: contains a NUL",
                 id="NUL in text"),
    pytest.param({"language": "zh", "utterances": [utterance(end=10**400)]}, "end: must be between 0 and 604800, "
                 "got a number of about 401 digits", id="400-digit end"),
    pytest.param({"language": "zh", "utterances": [utterance(words="abc")]}, "words: must be a list",
                 id="words a string"),
    pytest.param({"language": "zh", "utterances": [utterance(words=[{"start": 0, "end": 1, "probability": "x"}])]},
                 "words[0].probability: must be a number, got a string", id="probability a string"),
    pytest.param({"language": "zh", "utterances": [utterance(start=-5)]}, "start: must be between 0",
                 id="negative start"),
    pytest.param({"language": "zh", "utterances": [utterance(end=1e308)]}, "end: must be between 0",
                 id="end 1e308"),
    pytest.param({"language": "zh", "utterances": [utterance(start=math.nan)]}, "start: must be a finite",
                 id="NaN start"),
    pytest.param({"language": "zh", "duration": math.inf, "utterances": []}, "duration: must be a finite",
                 id="infinite duration"),
    pytest.param({"language": "zh", "duration": True, "utterances": []}, "duration: must be a number, got a "
                 "boolean", id="boolean duration"),
    pytest.param({"language": "zh", "utterances": [utterance(channel=True)]}, "channel: must be a whole",
                 id="boolean channel"),
    pytest.param({"language": "zh", "agent_confidence": 2, "utterances": []}, "agent_confidence: must be between "
                 "0 and 1", id="confidence above 1"),
    pytest.param({"language": ["zh"], "utterances": []}, "language:", id="language a list"),
])
def test_each_bad_field_is_named(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(TranscriptError) as error:
        transcript_from_dict(doc, "doc")
    assert message in str(error.value)


def test_limits_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transcript_module, "MAX_UTTERANCES", 2)
    monkeypatch.setattr(transcript_module, "MAX_WORDS_PER_UTTERANCE", 1)
    monkeypatch.setattr(transcript_module, "MAX_TEXT_LENGTH", 5)
    with pytest.raises(TranscriptError, match="at most 2 utterances, got 3"):
        transcript_from_dict({"language": "zh", "utterances": [utterance()] * 3})
    word = {"start": 0, "end": 1, "word": "x"}
    with pytest.raises(TranscriptError, match="at most 1 words per utterance, got 2"):
        transcript_from_dict({"language": "zh", "utterances": [utterance(words=[word, word])]})
    with pytest.raises(TranscriptError, match="text: is longer than 5 characters"):
        transcript_from_dict({"language": "zh", "utterances": [utterance(text="abcdef")]})


def test_a_numeric_call_id_is_kept_as_text() -> None:
    assert transcript_from_dict({"language": "zh", "call_id": 12345, "utterances": []}).call_id == "12345"


GOOD_FILE_TEXT = json.dumps({"language": "zh", "utterances": [utterance()]})
SCRIPT = Path(sys.executable).with_name("qa-engine")


@pytest.mark.parametrize(("text", "message"), [
    pytest.param('{"language": "zh", "utterances": ' + "[" * 100_000 + "]" * 100_000 + "}",
                 "JSON nested deeper than 64 levels", id="nested 100k deep"),
    pytest.param('{"language": "zh", "x": ' + "[" * 1000 + "]" * 1000 + ', "utterances": []}',
                 "JSON nested deeper than 64 levels", id="nested 1000 deep (loads, then counted)"),
    pytest.param('{"language": "zh", "duration": ' + "9" * 5000 + ', "utterances": []}',
                 "a number in the JSON is too long", id="5000-digit integer"),
])
def test_a_transcript_file_python_cannot_read_is_a_transcript_error(tmp_path: Path, text: str,
                                                                    message: str) -> None:
    """Found by benchmarks/fuzz_transcripts.py: these were a RecursionError / ValueError traceback in ``check``."""
    path = tmp_path / "call.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TranscriptError) as error:
        load_transcript(path)
    assert str(error.value) == f"{path}: {message}" or str(error.value).startswith(f"{path}: {message} (")


def test_check_on_a_deeply_nested_file_is_one_error_line(tmp_path: Path) -> None:
    """The installed console script: exit code 2 and one ``qa-engine: error:`` line, no traceback."""
    path = tmp_path / "deep.json"
    path.write_text('{"language": "zh", "utterances": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    done = subprocess.run([str(SCRIPT), "check", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"qa-engine: error: {path}: JSON nested deeper than 64 levels\n"


def test_a_transcript_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Windows editors write a UTF-8 BOM; ``json.loads`` alone refuses it ("Unexpected UTF-8 BOM")."""
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD_FILE_TEXT.encode("utf-8"))
    assert load_transcript(path).utterances[0].text == utterance()["text"]
