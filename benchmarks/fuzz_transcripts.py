"""Mutated transcript documents through every entry point that reads transcript JSON: does each end clearly?

Why: bad input must be refused with a 4xx or one ``qa-engine: error:`` line naming the problem, never a 5xx, a
traceback, a hang or unbounded memory, and an accepted call's stored report must read back and export. From the
repository's sample transcripts (``tests/data/transcript_zh_good.json`` and the README's schema example, a
scored English report document with words) this script derives, with a fixed seed, structurally mutated documents (every
field dropped / null / of each wrong type / huge: 1e308, -0.0, NaN/Infinity tokens, 2**70, a 5000-digit integer,
1 MB strings), order and timing mutations (reversed, overlapping, end < start, zero-length, words outside their
utterance, unknown roles, duplicate keys, 100k utterances), text encodings (BOM, UTF-16, invalid UTF-8, lone
surrogates, NUL, RTL override, combining-character storms), JSON nested 100k deep, and raw byte mutations. Each
runs through:

    api     ``POST /api/v1/calls`` (application/json) on the real app (TestClient, SQLite); an accepted call is
            read back (``GET /api/v1/calls/{id}``) and exported (``GET /api/v1/calls/export``)
    check   ``qa-engine check FILE --json`` (the CLI's ``main`` in-process; ``--subprocess N`` also runs the
            first N cases of each class as real subprocesses and compares)
    batch   the document as the sidecar ``NAME.json`` of a recording in a ``qa-engine batch SOURCE`` folder
            (``--dry-run``, then the planning and the database claim of a real run, on SQLite or ``--batch-db``:
            everything the sidecar reaches before speech recognition)

(``qa-engine score`` reads recordings only; its transcripts are what ``check`` reads.) Per entry point and class
the table counts ``ok`` (accepted and scored), ``clear`` (a 4xx, or exit code 2 with one ``qa-engine: error:``
line), ``OTHER`` (5xx, an exception or traceback, an accepted call whose report does not read back or export),
``slow`` (over ``--slow-s``) and ``mem`` (peak RSS growth over ``--mem-mb``); then one line per OTHER cause.

    .venv/bin/python benchmarks/fuzz_transcripts.py [--seed 20261205] [--raw 30] [--only api,check,batch]
                                                    [--subprocess 2] [--batch-db postgresql://…/empty_db]

Linux only (the peak RSS comes from ``/proc/self/status``, reset through ``/proc/self/clear_refs``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
CLIP = DATA / "clips" / "zh_agent_greeting.flac"
OUTCOMES = ("ok", "clear", "OTHER", "slow", "mem")
BIG_INT_TOKEN = "9" * 5000
MB_STRING = "话" * (1 << 20)
API_FIELDS = {"agent": "alice", "started_at": "2026-12-01T09:00:00Z"}


@dataclass(frozen=True)
class Case:
    """One mutated document: ``kind`` groups it in the table, ``field`` is the path it damages (if one)."""

    kind: str
    name: str
    data: bytes
    field: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What an entry point did with a case: one of :data:`OUTCOMES` (before slow/mem) and why."""

    result: str
    detail: str


# -- the documents ---------------------------------------------------------------------------------------------
def seeds() -> dict[str, dict[str, Any]]:
    """The sample transcripts (the Mandarin test transcript, the README's English example with words) and a batch
    sidecar (what a transcript-shaped JSON next to a recording must look like in a ``qa-engine batch`` folder)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Transcript / report schema", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    example = example.replace('"findings": [', '"findings_": [')  # the README elides with "..."; keep it JSON
    doc = json.loads(re.sub(r"\.\.\.", "", example))
    sidecar = {"agent": "alice", "team": "t1", "language": "en", "call_id": "EN-1",
               "started_at": "2026-11-22T09:00:00Z", "agent_channel": 1}
    return {"zh": json.loads((DATA / "transcript_zh_good.json").read_text(encoding="utf-8")), "readme": doc,
            "sidecar": sidecar}


def dumps(doc: Any) -> bytes:
    """JSON as the tests write it; ``NaN``/``Infinity`` tokens and :data:`BIG_INT_TOKEN` are written raw."""
    text = json.dumps(doc, ensure_ascii=False)
    return text.replace(f'"{BIG_INT_TOKEN}"', BIG_INT_TOKEN).encode("utf-8")


WRONG_VALUES: dict[str, Any] = {
    "null": None, "string": "abc", "empty-string": "", "list": [1], "object": {"a": 1}, "true": True,
    "1e308": 1e308, "-1e308": -1e308, "-0.0": -0.0, "NaN": float("nan"), "Infinity": float("inf"),
    "-Infinity": float("-inf"), "2**70": 2**70, "-1": -1, "5000-digit": BIG_INT_TOKEN, "1MB-string": MB_STRING,
}


def _paths(doc: dict[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    """Every field of the document, its first utterance and that utterance's first word, as (name, key path)."""
    for key in doc:
        yield key, [key]
    utts = doc.get("utterances") or []
    if utts:
        for key in utts[0]:
            yield f"utterances[0].{key}", ["utterances", 0, key]
        words = utts[0].get("words") or []
        if words:
            for key in words[0]:
                yield f"utterances[0].words[0].{key}", ["utterances", 0, "words", 0, key]


def _with(doc: dict[str, Any], path: list[Any], value: Any, *, drop: bool = False) -> dict[str, Any]:
    copy = json.loads(json.dumps(doc))
    node = copy
    for step in path[:-1]:
        node = node[step]
    if drop:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return copy


def field_cases(seed: str, doc: dict[str, Any]) -> Iterator[Case]:
    """Every field dropped, null, of each wrong type and huge."""
    for name, path in _paths(doc):
        yield Case("field-dropped", f"{seed}:{name} dropped", dumps(_with(doc, path, None, drop=True)), name)
        for label, value in WRONG_VALUES.items():
            kind = "field-huge" if label in ("1e308", "-1e308", "2**70", "5000-digit", "1MB-string") else "field-type"
            yield Case(kind, f"{seed}:{name}={label}", dumps(_with(doc, path, value)), name)


def _utterances(doc: dict[str, Any], change: Callable[[list[dict[str, Any]]], None]) -> bytes:
    copy = json.loads(json.dumps(doc))
    change(copy["utterances"])
    return dumps(copy)


def _set_all(key: str, value: Callable[[int, dict[str, Any]], Any]) -> Callable[[list[dict[str, Any]]], None]:
    def change(utts: list[dict[str, Any]]) -> None:
        for i, u in enumerate(utts):
            u[key] = value(i, u)
    return change


def _shift_words(utts: list[dict[str, Any]]) -> None:
    for u in utts:
        u["words"] = [{"start": u["end"] + 100, "end": u["end"] + 101, "word": "x", "probability": 0.9}]


def _many(count: int) -> Callable[[list[dict[str, Any]]], None]:
    def change(utts: list[dict[str, Any]]) -> None:
        base = [{k: v for k, v in u.items() if k != "words"} for u in utts]
        utts[:] = [{**base[i % len(base)], "start": i * 2.0, "end": i * 2.0 + 1.5} for i in range(count)]
    return change


def order_cases(seed: str, doc: dict[str, Any]) -> Iterator[Case]:
    """Utterances out of order, overlapping, reversed in time, zero-length; words outside; roles; counts."""
    changes: dict[str, Callable[[list[dict[str, Any]]], None]] = {
        "reversed": lambda utts: utts.reverse(),
        "shuffled": lambda utts: random.Random(7).shuffle(utts),
        "overlapping": _set_all("end", lambda i, u: u["start"] + 60.0),
        "end<start": _set_all("end", lambda i, u: max(0.0, u["start"] - 1.0)),
        "zero-length": _set_all("end", lambda i, u: u["start"]),
        "all-start-at-zero": _set_all("start", lambda i, u: 0.0),
        "words-outside": _shift_words,
        "unknown-role": _set_all("role", lambda i, u: "supervisor"),
        "role-uppercase": _set_all("role", lambda i, u: str(u["role"]).upper()),
        "all-customer": _set_all("role", lambda i, u: "customer"),
        "all-unknown": _set_all("role", lambda i, u: "unknown"),
        "no-utterances": lambda utts: utts.clear(),
        "empty-texts": _set_all("text", lambda i, u: ""),
        "20000-utterances": _many(20_000),
        "100k-utterances": _many(100_000),
        "5000-words": lambda utts: utts[0].update(words=[
            {"start": utts[0]["start"], "end": utts[0]["start"], "word": "好"}] * 5000),
        "year-long-call": _set_all("end", lambda i, u: u["start"] + 7 * 24 * 3600.0 - 1),
    }
    for label, change in changes.items():
        yield Case("order", f"{seed}:{label}", _utterances(doc, change))
    text = dumps(doc).decode("utf-8")
    yield Case("duplicate-key", f"{seed}:language twice (bad last)", ('{"language": "zh", ' + text[1:]).replace(
        '"language": "zh", ', '"language": "zh", "language": 5, ', 1).encode("utf-8"), "language")
    yield Case("duplicate-key", f"{seed}:utterances twice", text.replace(
        '"utterances": [', '"utterances": [], "utterances": [', 1).encode("utf-8"), "utterances")
    yield Case("duplicate-key", f"{seed}:start twice", text.replace(
        '"start": ', '"start": "x", "start": ', 1).encode("utf-8"), "start")


TEXTS: dict[str, str] = {
    "lone-surrogate": "您好\ud800请问", "low-surrogate": "\udc00", "NUL": "您好\x00请问",
    "RTL-override": "\u202e您好请问",
    "combining-19k": "a" + "\u0301" * 19_000, "combining-100k": "a" + "\u0301" * 100_000,
    "zero-width": "您\u200b好\ufeff", "astral": "您好\U0001f600\U000e0001", "C1-controls": "\x85\x9b您好",
    "whitespace-only": " \t\u3000", "digits-40": "9" * 40, "newlines": "您好\n\r\u2028请问",
}


def text_cases(seed: str, doc: dict[str, Any]) -> Iterator[Case]:
    """Texts and encodings: surrogates, NUL, RTL, combining storms; BOM, UTF-16, invalid UTF-8."""
    for label, value in TEXTS.items():
        copy = json.loads(json.dumps(doc))
        for u in copy.get("utterances", []):
            u["text"] = value
        if "utterances" not in copy:  # a sidecar: its names
            copy.update(agent=value, team=value, call_id=value)
        encoded = json.dumps(copy, ensure_ascii=True).encode("ascii")  # surrogates travel as \ud800 escapes
        yield Case("text", f"{seed}:text {label}", encoded, "text")
    body = dumps(doc)
    yield Case("encoding", f"{seed}:UTF-8 BOM", b"\xef\xbb\xbf" + body)
    yield Case("encoding", f"{seed}:UTF-16-LE with BOM", body.decode("utf-8").encode("utf-16"))
    yield Case("encoding", f"{seed}:UTF-16-BE no BOM", body.decode("utf-8").encode("utf-16-be"))
    text_key = b'"text": "' if b'"text": "' in body else b'"agent": "'
    yield Case("encoding", f"{seed}:invalid UTF-8 in text", body.replace(text_key, text_key + b"\xff\xfe", 1))
    yield Case("encoding", f"{seed}:CESU surrogate bytes", body.replace(text_key, text_key + b"\xed\xa0\x80", 1))
    yield Case("encoding", f"{seed}:raw NUL byte", body.replace(text_key, text_key + b"\x00", 1))
    yield Case("encoding", f"{seed}:latin-1 file", body.decode("utf-8").encode("gb18030"))


def nesting_cases(seed: str, doc: dict[str, Any]) -> Iterator[Case]:
    """JSON nested 100k and 1000 deep, as a field value and as the whole document."""
    body = dumps(doc)
    for depth in (1_000, 100_000):
        deep = b"[" * depth + b"]" * depth
        key = b'"text": ' if b'"text": ' in body else b'"agent": '
        yield Case("nesting", f"{seed}:{key.decode()[1:-3]} nested {depth}",
                   body.replace(key, key + deep + b', "x": ', 1), "text")
        yield Case("nesting", f"{seed}:extra field nested {depth}", b'{"deep": ' + deep + b", " + body[1:])
        yield Case("nesting", f"{seed}:document nested {depth}", b"[" * depth + body + b"]" * depth)
        yield Case("nesting", f"{seed}:objects nested {depth}", b'{"a":' * depth + b"1" + b"}" * depth)


def raw_cases(seed: str, doc: dict[str, Any], count: int, rng: random.Random) -> Iterator[Case]:
    """Byte flips, deletions, insertions, truncations and duplicated chunks of the serialized document."""
    body = dumps(doc)
    for n in range(count):
        data = bytearray(body)
        op = ("flip", "delete", "insert", "truncate", "duplicate")[n % 5]
        at = rng.randrange(len(data))
        if op == "flip":
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif op == "delete":
            del data[at:at + rng.randint(1, 16)]
        elif op == "insert":
            data[at:at] = bytes(rng.choice(b'{}[]",:0123456789.eE-+ntfaluNI\\') for _ in range(rng.randint(1, 8)))
        elif op == "truncate":
            del data[at:]
        else:
            end = min(len(data), at + rng.randint(4, 64))
            data[end:end] = data[at:end]
        yield Case("raw-bytes", f"{seed}:{op} #{n} at {at}", bytes(data))


def all_cases(seed_value: int, raw: int) -> list[Case]:
    rng = random.Random(seed_value)
    cases: list[Case] = []
    for name, doc in seeds().items():
        ordered = order_cases(name, doc) if "utterances" in doc else iter(())
        cases += [*field_cases(name, doc), *ordered, *text_cases(name, doc), *nesting_cases(name, doc),
                  *raw_cases(name, doc, raw, rng)]
    return cases


# -- the entry points -----------------------------------------------------------------------------------------
def _capture(func: Callable[[], int]) -> tuple[int | str, str]:
    """Run a CLI ``main`` in-process: (exit code, or "exception: …", stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            return func(), err.getvalue()
        except BaseException as exc:  # noqa: BLE001 - anything escaping main is a traceback for the user
            return f"exception: {type(exc).__name__}: {str(exc)[:120]}", err.getvalue()


def _cli_outcome(rc: int | str, stderr: str, *, ok_codes: tuple[int, ...]) -> Outcome:
    if isinstance(rc, str):
        return Outcome("OTHER", rc)
    if "Traceback" in stderr:
        return Outcome("OTHER", "traceback: " + stderr.strip().splitlines()[-1][:160])
    if rc in ok_codes:
        return Outcome("ok", "")
    lines = stderr.strip().splitlines()
    if rc == 2 and lines and lines[0].startswith("qa-engine: error:"):
        return Outcome("clear", " / ".join(lines[:2])[:300])
    return Outcome("OTHER", f"exit {rc}: {(lines or [''])[-1][:160]}")


class CheckEntry:
    """``qa-engine check FILE --json``; exit 1 with "not scorable" is a scored call."""

    name = "check"

    def __init__(self, work: Path) -> None:
        self.file = work / "call.json"

    def __call__(self, case: Case) -> Outcome:
        from qa_engine.cli import main

        self.file.write_bytes(case.data)
        rc, stderr = _capture(lambda: main(["check", str(self.file), "--json"]))
        return _cli_outcome(rc, stderr, ok_codes=(0, 1))


class BatchEntry:
    """The case as a recording's sidecar: ``qa-engine batch --dry-run``, then planning and the claim's insert."""

    name = "batch"

    def __init__(self, work: Path, db_url: str | None = None) -> None:
        self.source = work / "batch-src"
        self.source.mkdir()
        shutil.copy(CLIP, self.source / "call.flac")
        self.data_dir = work / "batch-data"
        self.db = db_url or f"sqlite:///{work / 'batch.db'}"

    def __call__(self, case: Case) -> Outcome:
        from qa_engine.cli import main

        (self.source / "call.json").write_bytes(case.data)
        rc, stderr = _capture(lambda: main(["batch", str(self.source), "--dry-run", "--db", self.db,
                                            "--data-dir", str(self.data_dir)]))
        outcome = _cli_outcome(rc, stderr, ok_codes=(0,))
        if outcome.result != "ok":
            return outcome
        try:
            self._claim()
        except Exception as exc:  # noqa: BLE001 - a real run would stop here with a traceback
            return Outcome("OTHER", f"claim: {type(exc).__name__}: {str(exc).splitlines()[0][:140]}")
        return outcome

    def _claim(self) -> None:
        """What a real run does with the sidecar's fields before speech recognition: plan, insert the row."""
        from sqlalchemy import delete

        from qa_engine.app.batch import BatchOptions
        from qa_engine.app.batch.claims import BatchClaims
        from qa_engine.app.batch.runner import PackResolver, plan
        from qa_engine.app.database import make_engine, make_session_factory
        from qa_engine.app.models import Call

        engine = make_engine(self.db)
        try:
            sessions = make_session_factory(engine)
            store = BatchClaims(sessions)
            options = BatchOptions(source=self.source)
            for planned in plan(options, store, PackResolver(sessions, None)):
                store.claim(planned.pk, planned.fields())
                store.release_all()
                with sessions() as s:
                    s.execute(delete(Call).where(Call.id == planned.pk))
                    s.commit()
        finally:
            engine.dispose()


class ApiEntry:
    """``POST /api/v1/calls`` with the case as the JSON body; an accepted call is read back and exported."""

    name = "api"

    def __init__(self, work: Path) -> None:
        from fastapi.testclient import TestClient

        from api.main import create_app
        from qa_engine.app.settings import Settings
        from qa_engine.app.users import create_user

        self.stack = contextlib.ExitStack()
        app = create_app(Settings(data_dir=work / "api-data", db_url=f"sqlite:///{work / 'api.db'}", workers=0))
        self.client = self.stack.enter_context(TestClient(app, raise_server_exceptions=False))
        with app.state.session_factory() as session:
            _admin, key = create_user(session, "admin", "admin", None)
            create_user(session, "alice", "agent", "t1")
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def __call__(self, case: Case) -> Outcome:
        body = with_api_fields(case.data)
        response = self.client.post("/api/v1/calls", content=body, headers=self.headers)
        if response.status_code >= 500:
            return Outcome("OTHER", f"{response.status_code}: {response.text[:160]}")
        if response.status_code >= 400:
            return Outcome("clear", f"{response.status_code}: {_detail(response)}")
        return self._read_back(response.json()["id"])

    def _read_back(self, call_id: str) -> Outcome:
        got = self.client.get(f"/api/v1/calls/{call_id}", headers=self.headers)
        if got.status_code != 200:
            return Outcome("OTHER", f"accepted, GET {got.status_code}: {got.text[:140]}")
        exported = self.client.get("/api/v1/calls/export", headers=self.headers)  # every call (a few hundred)
        if exported.status_code != 200 or call_id not in exported.text:
            return Outcome("OTHER", f"accepted, export {exported.status_code}: {exported.text[:140]}")
        return Outcome("ok", got.json().get("status", ""))

    def close(self) -> None:
        self.stack.close()


def with_api_fields(data: bytes) -> bytes:
    """The service's own fields (agent, started_at) added to a JSON object body, leaving the rest byte for byte."""
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    stripped = data[len(bom):].lstrip()
    if not stripped.startswith(b"{") or stripped[1:].lstrip().startswith(b"}"):
        return data
    extra = json.dumps(API_FIELDS)[1:-1].encode("utf-8")
    return bom + b"{" + extra + b", " + stripped[1:]


def _detail(response: Any) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        return response.text[:200]
    return str(detail)[:300]


# -- measuring ------------------------------------------------------------------------------------------------
def _peak_rss() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def measure(entry: Callable[[Case], Outcome], case: Case, slow_s: float, mem_mb: float) -> tuple[Outcome, float]:
    """The entry point's outcome, turned into ``slow`` / ``mem`` when it took too long or too much memory."""
    _reset_peak()
    before = _peak_rss()
    t0 = time.perf_counter()
    try:
        outcome = entry(case)
    except Exception as exc:  # noqa: BLE001 - the harness must not stop on one case
        outcome = Outcome("OTHER", f"harness: {type(exc).__name__}: {traceback.format_exc(limit=2)[-200:]}")
    elapsed = time.perf_counter() - t0
    grown = (_peak_rss() - before) / 2**20
    if outcome.result != "OTHER" and elapsed > slow_s:
        return Outcome("slow", f"{elapsed:.1f} s ({outcome.result})"), elapsed
    if outcome.result != "OTHER" and grown > mem_mb:
        return Outcome("mem", f"{grown:.0f} MB ({outcome.result})"), elapsed
    return outcome, elapsed


def subprocess_sample(cases: list[Case], per_kind: int, work: Path) -> list[str]:
    """The first ``per_kind`` cases of each class through a real ``qa-engine check`` process: lines that differ."""
    exe = Path(sys.executable).with_name("qa-engine")
    seen: Counter[str] = Counter()
    lines = []
    in_process = CheckEntry(work)
    for case in cases:
        if seen[case.kind] >= per_kind:
            continue
        seen[case.kind] += 1
        path = work / "sub.json"
        path.write_bytes(case.data)
        done = subprocess.run([str(exe), "check", str(path), "--json"], capture_output=True, timeout=60)
        real = _cli_outcome(done.returncode, done.stderr.decode("utf-8", "replace"), ok_codes=(0, 1))
        inner = in_process(case)
        mark = "" if real.result == inner.result else "  <- differs from in-process"
        lines.append(f"| {case.name[:60]} | {real.result} | {inner.result} |{mark}")
    return lines


def report(results: dict[str, list[tuple[Case, Outcome]]], seconds: dict[str, float]) -> str:
    kinds = sorted({case.kind for rows in results.values() for case, _ in rows})
    out = ["| entry | class | cases | " + " | ".join(OUTCOMES) + " |", "|---|---|---:|" + "---:|" * len(OUTCOMES)]
    for entry, rows in results.items():
        for kind in [*kinds, "all"]:
            counts = Counter(o.result for c, o in rows if kind in ("all", c.kind))
            label = f"**{kind}**" if kind == "all" else kind
            out.append(f"| {entry} | {label} | {sum(counts.values())} | "
                       + " | ".join(str(counts[k]) for k in OUTCOMES) + " |")
    out.append("")
    out.append("Seconds per entry point: " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()))
    causes: dict[str, list[str]] = defaultdict(list)
    for entry, rows in results.items():
        for case, outcome in rows:
            if outcome.result in ("OTHER", "slow", "mem"):
                detail = outcome.detail if outcome.result != "OTHER" else re.sub(r"[0-9]+", "N", outcome.detail)
                key = f"{entry} {outcome.result}: {detail[:120]}"
                causes[key].append(case.name)
    out.append("")
    out.append("Causes (OTHER / slow / mem), with up to three cases each:" if causes else "No OTHER, slow or mem.")
    for key, names in sorted(causes.items()):
        out.append(f"- {key} — {len(names)}×: {'; '.join(names[:3])}")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--raw", type=int, default=30, help="raw byte mutations per sample document")
    parser.add_argument("--only", default="api,check,batch", help="entry points, comma-separated")
    parser.add_argument("--batch-db", default=None, metavar="URL",
                        help="batch: this database (an empty PostgreSQL one: its column widths and NUL rule apply) "
                             "instead of a new SQLite file")
    parser.add_argument("--slow-s", type=float, default=2.0)
    parser.add_argument("--mem-mb", type=float, default=256.0)
    parser.add_argument("--subprocess", type=int, default=1, metavar="N",
                        help="check: the first N cases of each class also as a real subprocess (0: none)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    cases = all_cases(args.seed, args.raw)
    results: dict[str, list[tuple[Case, Outcome]]] = {}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="fuzz-transcripts-") as tmp:
        work = Path(tmp)
        factories: dict[str, Callable[[Path], Any]] = {
            "api": ApiEntry, "check": CheckEntry, "batch": lambda path: BatchEntry(path, args.batch_db)}
        for name in args.only.split(","):
            entry = factories[name](work)
            t0 = time.perf_counter()
            results[name] = [(case, measure(entry, case, args.slow_s, args.mem_mb)[0]) for case in cases]
            seconds[name] = time.perf_counter() - t0
            if hasattr(entry, "close"):
                entry.close()
            sys.stderr.write(f"{name}: {len(cases)} cases in {seconds[name]:.0f} s\n")
        print(f"{len(cases)} cases from seed {args.seed}\n")
        print(report(results, seconds))
        if args.subprocess and "check" in results:
            print("\n`qa-engine check` as a subprocess vs in-process, first case of each class:\n")
            print("| case | subprocess | in-process |\n|---|---|---|")
            print("\n".join(subprocess_sample(cases, args.subprocess, work)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
