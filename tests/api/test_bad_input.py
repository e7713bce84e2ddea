"""Every bad input is a 4xx naming the problem: the ten causes of 5xx answers (and dropped connections) found by
fuzzing ``qa-engine serve``, one row per request, on SQLite and PostgreSQL.

The causes: lone surrogates in text; integers of hundreds or thousands of digits; wrong types in a transcript's
``words``/``probability``; dates near the years 1 and 9999 with offsets; ISO weeks at those ends; deeply nested
JSON and YAML; 5000-digit pack versions; times and durations that are not finite and non-negative; transcripts over
the limits; and an exception nothing handled (now a JSON 500 on a connection that stays open). The tenth, "database
is locked" with concurrent writers, is ``test_concurrency.py``. Property tests of the parsers are at the end.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import hypothesis
import pytest
import uvicorn
from fastapi.testclient import TestClient
from hypothesis import strategies as st
from sqlalchemy import event

from api.main import API_PREFIX, create_app
from qa_engine import transcript as transcript_module
from qa_engine.app import analysis, call_fields, call_query
from qa_engine.app.call_uploads import BODY_SOURCE
from qa_engine.app.errors import Invalid
from qa_engine.app.settings import Settings
from qa_engine.errors import TranscriptError

from .conftest import ZH_TRANSCRIPT
from .serve_process import free_port

Headers = dict[str, str]
P = API_PREFIX
GOOD: dict[str, Any] = {**ZH_TRANSCRIPT, "agent": "alice"}
ZH_PACK = """\
pack: zh-bad
version: {version}
language: zh
threshold: {threshold}
grades: {{good: 80, poor: 0}}
rules:
  - id: greeting
    type: phrase_in_window
    summary: greets
    weight: 10
    role: agent
    window: {{anchor: whole_call}}
    match: {{phrases: [您好]}}
"""


def utterance(**fields: Any) -> dict[str, Any]:
    return {"role": "agent", "start": 0.0, "end": 1.0, "text": "您好", **fields}


def with_utterance(**fields: Any) -> dict[str, Any]:
    return {**GOOD, "utterances": [utterance(**fields)]}


def raw(doc: dict[str, Any], *replacements: tuple[str, str]) -> bytes:
    """``doc`` as JSON text with markers replaced by text ``json.dumps`` cannot write (lone surrogates, huge numbers,
    NaN)."""
    text = json.dumps(doc, ensure_ascii=False)
    for marker, value in replacements:
        assert marker in text, marker
        text = text.replace(marker, value)
    return text.encode("utf-8")


def deep(levels: int, leaf: str = "1") -> str:
    return "[" * levels + leaf + "]" * levels


JSON = {"Content-Type": "application/json"}
YAML = {"Content-Type": "application/yaml"}
DIGITS_400 = "9" * 400
DIGITS_5000 = "9" * 5000
#: A transcript message starts with the path of the field it is about: ``utterances[0].words[1].start: ...``
FIELD_PATH = re.compile(r"^[a-z_]+(\[\d+\])?(\.[a-z_]+(\[\d+\])?)*: ")

#: (id, method, path, request keyword arguments, who sends it, expected status, text the answer must contain)
Case = tuple[str, str, str, dict[str, Any], str, int, str]
CASES: list[Case] = [
    # 1. lone surrogates (and NUL) in text
    ("surrogate in text", "POST", f"{P}/calls",
     {"content": raw(with_utterance(text="@@"), ('"@@"', '"a\\ud800b"')), "headers": JSON}, "admin", 422,
     "text: contains a lone surrogate"),
    ("surrogate in call_id", "POST", f"{P}/calls",
     {"content": raw({**GOOD, "call_id": "@@"}, ('"@@"', '"\\udfff"')), "headers": JSON}, "admin", 422,
     "call_id: contains a lone surrogate"),
    ("surrogate in agent", "POST", f"{P}/calls",
     {"content": raw({**GOOD, "agent": "@@"}, ('"@@"', '"al\\ud800"')), "headers": JSON}, "admin", 422,
     "agent: contains a lone surrogate"),
    ("surrogate in started_at", "POST", f"{P}/calls",
     {"content": raw({**GOOD, "started_at": "@@"}, ('"@@"', '"\\ud800"')), "headers": JSON}, "admin", 422,
     "started_at: contains a lone surrogate"),
    ("surrogate in a word", "POST", f"{P}/calls",
     {"content": raw(with_utterance(words=[{"start": 0, "end": 1, "word": "@@"}]), ('"@@"', '"\\ud800"')),
      "headers": JSON}, "admin", 422, "words[0].word: contains a lone surrogate"),
    ("surrogate in a speaker", "POST", f"{P}/calls",
     {"content": raw(with_utterance(speaker="@@"), ('"@@"', '"\\ud800"')), "headers": JSON}, "admin", 422,
     "speaker: contains a lone surrogate"),
    ("NUL in text", "POST", f"{P}/calls", {"json": with_utterance(text="a\x00b")}, "admin", 422,
     "text: contains a NUL character"),
    ("NUL in call_id", "POST", f"{P}/calls", {"json": {**GOOD, "call_id": "a\x00b"}}, "admin", 422,
     "call_id: contains a NUL character"),
    ("surrogate in a review comment", "POST", f"{P}/calls/{{call}}/findings/greeting/override",
     {"content": raw({"status": "fail", "comment": "@@"}, ('"@@"', '"\\ud800"')), "headers": JSON}, "admin", 422,
     '"loc":["body","comment"]'),
    ("surrogate (as UTF-8 bytes) in a path", "GET", f"{P}/calls/%ED%A0%80", {}, "admin", 404, "not found"),
    ("surrogate in a scorecard name", "GET", f"{P}/scorecards/agents/%ED%A0%80", {}, "admin", 404, "not found"),
    # 2. integers of hundreds or thousands of digits
    ("400-digit end", "POST", f"{P}/calls",
     {"content": raw(with_utterance(end=7777), ("7777", DIGITS_400)), "headers": JSON}, "admin", 422,
     "end: must be between 0 and"),
    ("400-digit duration", "POST", f"{P}/calls",
     {"content": raw({**GOOD, "duration": 7777}, ("7777", DIGITS_400)), "headers": JSON}, "admin", 422,
     "duration: must be between 0 and"),
    ("400-digit agent_channel", "POST", f"{P}/calls",
     {"content": raw({**GOOD, "agent_channel": 7777}, ("7777", DIGITS_400)), "headers": JSON}, "admin", 422,
     "agent_channel:"),
    ("5000-digit number in a transcript", "POST", f"{P}/calls",
     {"content": raw({**GOOD, "duration": 7777}, ("7777", DIGITS_5000)), "headers": JSON}, "admin", 422,
     "number in the JSON is too long"),
    ("5000-digit number in a JSON body", "POST", f"{P}/packs/zh-CN/rescore",
     {"content": raw({"version": 7777}, ("7777", DIGITS_5000)), "headers": JSON}, "admin", 422,
     "number in the JSON is too long"),
    ("400-digit job id", "GET", f"{P}/jobs/{DIGITS_400}", {}, "admin", 422, "job_id"),
    ("400-digit review id", "GET", f"{P}/reviews/{DIGITS_400}", {}, "admin", 422, "review_id"),
    ("400-digit limit", "GET", f"{P}/calls?limit={DIGITS_400}", {}, "admin", 422, "limit"),
    ("400-digit score", "GET", f"{P}/calls?min_score={DIGITS_400}", {}, "admin", 422, "min_score"),
    ("1e400 duration", "POST", f"{P}/calls",
     {"content": raw({**GOOD, "duration": 7777}, ("7777", "1e400")), "headers": JSON}, "admin", 422,
     "duration: must be a finite number"),
    # 3. wrong types in a transcript
    ("words is a string", "POST", f"{P}/calls", {"json": with_utterance(words="abc")}, "admin", 422,
     "words: must be a list"),
    ("words is a number", "POST", f"{P}/calls", {"json": with_utterance(words=5)}, "admin", 422,
     "words: must be a list"),
    ("a word is a string", "POST", f"{P}/calls", {"json": with_utterance(words=["x"])}, "admin", 422,
     "words[0]: expected an object"),
    ("probability is a string", "POST", f"{P}/calls",
     {"json": with_utterance(words=[{"start": 0, "end": 1, "word": "x", "probability": "hi"}])}, "admin", 422,
     "probability: must be a number"),
    ("probability is a list", "POST", f"{P}/calls",
     {"json": with_utterance(words=[{"start": 0, "end": 1, "word": "x", "probability": [1]}])}, "admin", 422,
     "probability: must be a number"),
    ("probability above 1", "POST", f"{P}/calls",
     {"json": with_utterance(words=[{"start": 0, "end": 1, "word": "x", "probability": 7}])}, "admin", 422,
     "probability: must be between 0 and 1"),
    ("word is an object", "POST", f"{P}/calls",
     {"json": with_utterance(words=[{"start": 0, "end": 1, "word": {"a": 1}}])}, "admin", 422,
     "word: must be a string"),
    ("channel is a string", "POST", f"{P}/calls", {"json": with_utterance(channel="left")}, "admin", 422,
     "channel: must be a whole number"),
    ("role is a list", "POST", f"{P}/calls", {"json": with_utterance(role=["agent"])}, "admin", 422,
     "role: must be one of"),
    ("text is a number", "POST", f"{P}/calls", {"json": with_utterance(text=5)}, "admin", 422,
     "text: must be a string"),
    ("call_id is a list", "POST", f"{P}/calls", {"json": {**GOOD, "call_id": [1]}}, "admin", 422,
     "call_id: must be a string"),
    ("agent_channel_reason is a list", "POST", f"{P}/calls", {"json": {**GOOD, "agent_channel_reason": [1]}},
     "admin", 422, "agent_channel_reason: must be a string"),
    ("agent is an object", "POST", f"{P}/calls", {"json": {**GOOD, "agent": {"name": "alice"}}}, "admin", 422,
     "agent: must be a non-empty string, got an object"),
    # 4. dates near the years 1 and 9999, with offsets
    ("to=9999-12-31 (the last day: no upper bound)", "GET", f"{P}/calls?to=9999-12-31", {}, "admin", 200, "items"),
    ("from=0001-01-01", "GET", f"{P}/calls?from=0001-01-01", {}, "admin", 200, "items"),
    ("to=9999-12-31T23:59:59.999999", "GET", f"{P}/calls?to=9999-12-31T23:59:59.999999", {}, "admin", 200, "items"),
    ("from at year 1 with a positive offset", "GET", f"{P}/calls",
     {"params": {"from": "0001-01-01T00:00:00+05:00"}}, "admin", 422, "query parameter 'from'"),
    ("to at year 9999 with a negative offset", "GET", f"{P}/calls",
     {"params": {"to": "9999-12-31T23:59:59-05:00"}}, "admin", 422, "query parameter 'to'"),
    ("started_at at year 1 with a positive offset", "POST", f"{P}/calls",
     {"json": {**GOOD, "started_at": "0001-01-01T00:00:00+05:00"}}, "admin", 422, "started_at:"),
    ("started_at at year 9999 with a negative offset", "POST", f"{P}/calls",
     {"json": {**GOOD, "started_at": "9999-12-31T23:59:59.999999-14:00"}}, "admin", 422, "started_at:"),
    ("rescore from year 1 with an offset", "POST", f"{P}/packs/zh-CN/rescore",
     {"json": {"from": "0001-01-01T00:00:00+05:00"}}, "admin", 422, "from"),
    ("rescore to year 9999 with an offset", "POST", f"{P}/packs/zh-CN/rescore",
     {"json": {"to": "9999-12-31T23:59:59-05:00"}}, "admin", 422, "to"),
    ("scorecard over every day", "GET", f"{P}/scorecards/teams/t1?from=0001-01-01&to=9999-12-31", {}, "admin",
     200, "trend"),
    ("calibration over every day", "GET", f"{P}/calibration?from=0001-01-01&to=9999-12-31", {}, "admin", 200,
     "rules"),
    # 5. ISO weeks at the ends of the calendar
    ("week 0001-W01 (no week before it)", "GET", f"{P}/analysis/weekly?week=0001-W01", {}, "admin", 422,
     "query parameter 'week'"),
    ("week 9999-W52 (ends in the year 10000)", "GET", f"{P}/analysis/weekly?week=9999-W52", {}, "admin", 422,
     "query parameter 'week'"),
    ("week 0001-W02", "GET", f"{P}/analysis/weekly?week=0001-W02", {}, "admin", 200, "0001-W02"),
    ("week 9999-W51", "GET", f"{P}/analysis/weekly?week=9999-W51", {}, "admin", 200, "9999-W51"),
    # 6. deeply nested JSON and YAML
    ("JSON 100 000 deep", "POST", f"{P}/calls", {"content": deep(100_000).encode(), "headers": JSON}, "admin", 422,
     "nested"),
    ("JSON 500 deep inside a transcript", "POST", f"{P}/calls",
     {"content": raw({**GOOD, "extra": 7777}, ("7777", deep(500))), "headers": JSON}, "admin", 422,
     "JSON nested deeper than 64 levels"),
    ("JSON 100 000 deep to a model", "PUT", f"{P}/teams/t1/pack",
     {"content": deep(100_000).encode(), "headers": JSON}, "admin", 422, "nested"),
    ("JSON 900 deep to a model", "POST", f"{P}/calls/{{call}}/findings/greeting/override",
     {"content": raw({"status": "fail", "comment": 7777}, ("7777", deep(900))), "headers": JSON}, "admin", 422,
     "comment"),
    ("YAML 50 000 deep (flow)", "POST", f"{P}/packs/validate", {"content": deep(50_000).encode(), "headers": YAML},
     "admin", 422, "nest"),
    ("YAML 500 deep (block)", "POST", f"{P}/packs/validate",
     {"content": "".join(" " * i + "- \n" for i in range(500)).encode(), "headers": YAML}, "admin", 422,
     "YAML nested deeper than"),
    ("YAML 20 000 deep (mappings)", "POST", f"{P}/packs/validate",
     {"content": ("{a: " * 20_000 + "1" + "}" * 20_000).encode(), "headers": YAML}, "admin", 422,
     "YAML nested deeper than"),
    ("YAML alias", "POST", f"{P}/packs/validate", {"content": b"a: &x [1]\nb: *x\n", "headers": YAML}, "admin",
     422, "aliases"),
    # 7. 5000-digit pack versions (and other numbers)
    ("pack version of 5000 digits", "POST", f"{P}/packs/validate",
     {"content": ZH_PACK.format(version=DIGITS_5000, threshold=80).encode(), "headers": YAML}, "admin", 422,
     "field 'version'"),
    ("pack version of 5000 digits, uploaded", "POST", f"{P}/packs",
     {"content": ZH_PACK.format(version=DIGITS_5000, threshold=80).encode(), "headers": YAML}, "admin", 422,
     "field 'version'"),
    ("pack version of 400 digits", "POST", f"{P}/packs/validate",
     {"content": ZH_PACK.format(version=DIGITS_400, threshold=80).encode(), "headers": YAML}, "admin", 422,
     "field 'version'"),
    ("quoted pack version of 5000 characters", "POST", f"{P}/packs/validate",
     {"content": ZH_PACK.format(version=f'"{DIGITS_5000}"', threshold=80).encode(), "headers": YAML}, "admin", 422,
     "field 'version'"),
    ("pack threshold of 5000 digits", "POST", f"{P}/packs/validate",
     {"content": ZH_PACK.format(version='"1.0"', threshold=DIGITS_5000).encode(), "headers": YAML}, "admin", 422,
     "field 'threshold'"),
    ("pack version query of 5000 digits", "GET", f"{P}/packs/zh-CN?version={DIGITS_5000}", {}, "admin", 422,
     "version"),
    # 8. times and durations: finite and not negative
    ("negative start", "POST", f"{P}/calls", {"json": with_utterance(start=-5)}, "admin", 422,
     "start: must be between 0 and"),
    ("end of 1e308", "POST", f"{P}/calls", {"json": with_utterance(end=1e308)}, "admin", 422,
     "end: must be between 0 and"),
    ("end before start", "POST", f"{P}/calls", {"json": with_utterance(start=5, end=1)}, "admin", 422,
     "end: 1.0 is before start (5.0)"),
    ("NaN duration", "POST", f"{P}/calls",
     {"content": raw({**GOOD, "duration": 7777}, ("7777", "NaN")), "headers": JSON}, "admin", 422,
     "duration: must be a finite number"),
    ("-Infinity start", "POST", f"{P}/calls",
     {"content": raw(with_utterance(start=7777), ("7777", "-Infinity")), "headers": JSON}, "admin", 422,
     "start: must be a finite number"),
    ("negative duration", "POST", f"{P}/calls", {"json": {**GOOD, "duration": -5}}, "admin", 422,
     "duration: must be between 0 and"),
    ("duration of 1e308", "POST", f"{P}/calls", {"json": {**GOOD, "duration": 1e308}}, "admin", 422,
     "duration: must be between 0 and"),
    ("word end of 1e308", "POST", f"{P}/calls",
     {"json": with_utterance(words=[{"start": 0, "end": 1e308, "word": "x"}])}, "admin", 422,
     "words[0].end: must be between 0 and"),
    ("NaN score filter", "GET", f"{P}/calls?min_score=nan", {}, "admin", 422, "min_score"),
]


@pytest.fixture()
def senders(client: TestClient, make_user: Callable[..., Headers]) -> dict[str, Any]:
    """Users (admin ``root``; agent ``alice`` and supervisor ``sue`` of t1) and one scored call of alice's."""
    admin = make_user("root", "admin")
    headers = {"admin": admin, "agent": make_user("alice", "agent", "t1"),
               "supervisor": make_user("sue", "supervisor", "t1")}
    created = client.post(f"{P}/calls", json=GOOD, headers=admin)
    assert created.status_code == 201, created.text
    return {"headers": headers, "call": created.json()["id"]}


def check(client: TestClient, senders: dict[str, Any], case: Case) -> str | None:
    """What is wrong with the answer to ``case``, or None."""
    name, method, path, kwargs, who, expected, names = case
    request = {**kwargs, "headers": {**senders["headers"][who], **kwargs.get("headers", {})}}
    try:
        response = client.request(method, path.replace("{call}", senders["call"]), **request)
    except Exception as exc:  # the in-process transport re-raises what the app did not handle
        return f"{name}: {type(exc).__name__}: {str(exc)[:200]}"
    body = response.text[:300]
    if response.status_code != expected:
        return f"{name}: {response.status_code} (expected {expected}): {body}"
    if names not in response.text:
        return f"{name}: the answer does not name {names!r}: {body}"
    if not response.headers.get("content-type", "").startswith("application/json"):
        return f"{name}: not JSON ({response.headers.get('content-type')})"
    return None


def test_bad_input_is_a_4xx_naming_the_problem(client: TestClient, senders: dict[str, Any]) -> None:
    """Every row of :data:`CASES` against one service (one per database backend); all failing rows are listed."""
    assert len({case[0] for case in CASES}) == len(CASES), "duplicate case names"
    failures = [problem for case in CASES if (problem := check(client, senders, case)) is not None]
    assert not failures, f"{len(failures)} of {len(CASES)} cases:\n" + "\n".join(failures)


def test_transcript_limits_answer_422_naming_the_limit(client: TestClient, senders: dict[str, Any],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    admin = senders["headers"]["admin"]
    monkeypatch.setattr(transcript_module, "MAX_UTTERANCES", 3)
    monkeypatch.setattr(transcript_module, "MAX_WORDS_PER_UTTERANCE", 2)
    monkeypatch.setattr(transcript_module, "MAX_TEXT_LENGTH", 10)
    too_many = client.post(f"{P}/calls", json={**GOOD, "utterances": [utterance(start=i, end=i + 1)
                                                                         for i in range(4)]}, headers=admin)
    assert too_many.status_code == 422 and "at most 3 utterances, got 4" in too_many.text, too_many.text
    words = [{"start": 0, "end": 1, "word": "x"}] * 3
    too_many_words = client.post(f"{P}/calls", json=with_utterance(words=words), headers=admin)
    assert too_many_words.status_code == 422 and "at most 2 words per utterance" in too_many_words.text
    too_long = client.post(f"{P}/calls", json=with_utterance(text="很" * 11), headers=admin)
    assert too_long.status_code == 422 and "text: is longer than 10 characters" in too_long.text


def test_a_transcript_body_with_a_byte_order_mark_is_scored(client: TestClient, senders: dict[str, Any]) -> None:
    """Found by benchmarks/fuzz_transcripts.py: a UTF-8 BOM was a 422 ("Unexpected UTF-8 BOM") while the same file
    passed to ``qa-engine check`` and a batch manifest were read; now all three read it."""
    body = b"\xef\xbb\xbf" + json.dumps({**GOOD, "call_id": "bom-1"}).encode("utf-8")
    created = client.post(f"{P}/calls", content=body, headers={**senders["headers"]["admin"], **JSON})
    assert created.status_code == 201, created.text
    call = client.get(f"{P}/calls/{created.json()['id']}", headers=senders["headers"]["admin"])
    assert call.status_code == 200 and call.json()["status"] == "done", call.text


def test_a_long_transcript_is_indexed_with_one_insert(client: TestClient, senders: dict[str, Any]) -> None:
    """Found by benchmarks/fuzz_transcripts.py: a transcript at the 20 000-utterance limit took over 2 s, most of
    it inserting its search rows one by one (an INSERT and a fetch of the new id per utterance)."""
    inserts: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SEARCH_UTTERANCES"):
            inserts.append(statement)

    utterances = [utterance(start=i * 2.0, end=i * 2.0 + 1.5, text=f"第{i}句 您好") for i in range(300)]
    engine = client.app.state.db_engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", count)
    try:
        created = client.post(f"{P}/calls", json={**GOOD, "utterances": utterances},
                              headers=senders["headers"]["admin"])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert created.status_code == 201, created.text
    assert len(inserts) == 1, f"{len(inserts)} INSERT statements for 300 utterances"
    found = client.get(f"{P}/search?q=第299句", headers=senders["headers"]["admin"])
    assert found.status_code == 200 and created.json()["id"] in found.text, found.text


def test_an_unhandled_exception_is_a_json_500_on_an_open_connection(settings: Settings) -> None:
    """The last resort, over real HTTP: a bug answers JSON (with an id to find it in the log), and the client's
    kept-alive connection still works (Starlette's own 500 re-raises, and uvicorn then closes the connection: the
    client's next request on it was a dropped connection)."""
    app = create_app(settings)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken-for-test", broken)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{server.config.port}", timeout=30) as http:
            for _ in range(3):  # the same connection each time
                response = http.get("/broken-for-test")
                assert response.status_code == 500
                assert response.json()["detail"].startswith("internal error (logged as ")
            assert http.get(f"{P}/health").status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# --- Properties of the parsers ---------------------------------------------------------------------------------------

#: UTC and the zones furthest ahead of and behind it: a day's start there is up to 14 hours before or 12 after UTC's
EXTREME_ZONES: tuple[tzinfo, ...] = (UTC, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12"))
PROPERTY_SETTINGS = hypothesis.settings(max_examples=150, deadline=None, derandomize=True, database=None)
text_with_anything = st.text(alphabet=st.characters(codec=None), max_size=40)  # surrogates and NUL included
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | text_with_anything
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(text_with_anything, inner, max_size=4), max_leaves=12)


@PROPERTY_SETTINGS
@hypothesis.given(value=st.one_of(
    text_with_anything,
    st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
    st.dates().map(lambda d: d.isoformat()),
    st.builds(lambda y, rest: f"{y:04d}{rest}", st.sampled_from([1, 2, 9998, 9999]),
              st.sampled_from(["-01-01", "-12-31", "-01-01T00:00:00+05:00", "-12-31T23:59:59.999999-14:00",
                               "-12-31T23:59:59+14:00", "-01-01T00:00:00-00:30", "-W01", "-W52", "-W53"]))))
def test_date_parsers_answer_a_value_or_invalid(value: str) -> None:
    """The query and field parsers of dates and weeks return a value or raise Invalid (422), never anything else,
    also where a day's start in the call centre's zone falls outside the years 1 to 9999 in UTC."""
    parsers = [lambda: call_fields.started_at({"started_at": value}, BODY_SOURCE),
               lambda: analysis.parse_week(value, date(2026, 12, 5))]
    for zone in EXTREME_ZONES:
        parsers += [lambda zone=zone: call_query.CallFilters(date_from=value).conditions(zone),
                    lambda zone=zone: call_query.CallFilters(date_to=value).conditions(zone)]
    for parse in parsers:
        try:
            parse()
        except Invalid:
            pass


@PROPERTY_SETTINGS
@hypothesis.given(extra=st.dictionaries(st.sampled_from(["call_id", "duration", "agent_channel", "agent_speaker",
                                                         "agent_confidence", "agent_channel_reason", "language"]),
                                        json_values, max_size=3),
                  fields=st.dictionaries(st.sampled_from(["role", "start", "end", "text", "words", "channel",
                                                         "speaker"]), json_values, max_size=3),
                  word=st.dictionaries(st.sampled_from(["start", "end", "word", "text", "probability"]), json_values,
                                       max_size=3))
def test_json_fields_parse_or_answer_invalid(extra: dict[str, Any], fields: dict[str, Any],
                                            word: dict[str, Any]) -> None:
    """A transcript body with any JSON in its fields is parsed into a call or refused with Invalid naming a field."""
    words = [{"start": 0, "end": 1, "word": "x", **word}]
    doc = {**GOOD, **extra, "utterances": [utterance(**{"words": words, **fields})]}
    body = json.dumps(doc, ensure_ascii=True).encode()  # lone surrogates travel as \\ud800 escapes
    try:
        parsed = call_fields.json_document(body, BODY_SOURCE)
        transcript_module.transcript_from_dict(parsed, BODY_SOURCE)
    except Invalid as exc:
        assert "JSON" in str(exc), exc
    except TranscriptError as exc:
        assert FIELD_PATH.match(str(exc)) or str(exc).startswith("expected"), exc
    else:
        for u in transcript_module.transcript_from_dict(parsed, BODY_SOURCE).utterances:
            assert math.isfinite(u.start) and 0 <= u.start <= u.end
