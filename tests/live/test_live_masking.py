"""The live feed masks identifiers, numbers read over two utterances included (the first part is held back)."""

from __future__ import annotations

from typing import Any

import numpy as np

from qa_engine.live import LiveCall, LiveTranscriber, UtteranceJob
from qa_engine.live.segmenter import Segment
from qa_engine.rules import load_pack
from qa_engine.types import Word


class _NoAsr(LiveTranscriber):
    def __init__(self) -> None:  # never started: the test hands words to the call itself
        pass


def _call(events: list[dict[str, Any]]) -> LiveCall:
    return LiveCall("c1", ["agent", "customer"], "en", load_pack("en"), _NoAsr(), on_event=events.append)


def _hear(call: LiveCall, channel: int, start: float, *words: str) -> None:
    """As the transcriber reports an utterance: one word per second from ``start``."""
    ws = tuple(Word(start + i, start + i + 0.9, w, 1.0) for i, w in enumerate(words))
    seg = Segment(start, ws[-1].end, ws[-1].end, np.zeros(0, dtype=np.float32))
    with call._lock:
        call._pending += 1
        call._pending_starts.append(start)
    call._on_words(UtteranceJob(seg, channel, "en", 0.0, call._on_words, 0.0, context=call.channels[channel]), ws)


def _texts(events: list[dict[str, Any]]) -> list[str]:
    return [e["utterance"]["text"] for e in events if e["type"] == "transcript"]


def test_a_number_split_over_two_utterances_is_masked_in_both() -> None:
    events: list[dict[str, Any]] = []
    call = _call(events)
    _hear(call, 1, 0.0, " It's", " 138")
    assert _texts(events) == []  # ends with digits: held until the speaker's next utterance shows more
    _hear(call, 0, 2.2, " Okay.")  # the other party in between: shown at once
    _hear(call, 1, 3.0, " 1234", " 5678.")
    assert _texts(events) == ["Okay."]  # the number may go on still
    _hear(call, 1, 6.0, " Is", " that", " right?")
    assert _texts(events) == ["Okay.", "It's ***", "**** ****.", "Is that right?"]


def test_a_short_number_is_shown_once_the_speaker_moves_on_or_the_call_ends() -> None:
    events: list[dict[str, Any]] = []
    call = _call(events)
    _hear(call, 1, 0.0, " Room", " 12")
    _hear(call, 1, 3.0, " on", " the", " top", " floor.")
    assert _texts(events) == ["Room 12", "on the top floor."]  # 2 digits: not an identifier
    _hear(call, 0, 9.0, " Number", " 42")
    assert _texts(events)[-1] != "Number 42"
    call.finish()  # nothing more will come: shown as it is
    assert _texts(events)[-1] == "Number 42"


def test_identifiers_in_one_utterance_and_alerts_are_masked() -> None:
    events: list[dict[str, Any]] = []
    call = _call(events)
    _hear(call, 1, 0.0, " my", " card", " is", " 4111", " 1111", " 1111", " 1111", " thanks")
    assert _texts(events) == ["my card is **** **** **** **** thanks"]
    assert all("4111" not in str(e) for e in events)
