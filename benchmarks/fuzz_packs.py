"""Fuzz rule-pack validation: mutated packs must be accepted and run, or refused with a clear pack error.

Starts from the standard packs (rules/packs/zh-CN.yaml, en.yaml) and the README's pack examples, mutates the parsed
document structurally (drop / duplicate / retype fields at every path) and adds hostile documents (deep condition
trees, huge N-of, recursive refs, regexes RE2 refuses or that blow its memory, phrases that normalise to nothing,
emoji / surrogates / NUL, YAML alias bombs, huge documents) and raw byte mutations of the YAML text. Each case runs
in a forked child with a memory bound, through both ways a pack arrives:

* ``upload``: ``parse_upload`` (``POST /packs`` and ``/packs/validate``; bodies over 1 MiB are the edge's 413);
* ``file``:   ``load_pack(PATH)`` (``qa-engine packs validate PATH``, bundled packs: aliases allowed).

A pack that parses is run on three small transcripts (``score_transcript``), its docs rendered (``pack_markdown``)
and its report serialised as the API does (``json.dumps(allow_nan=False)``).

Outcomes: ``ran`` (accepted and ran), ``error`` (PackError / Invalid naming where: field, rule, path or line),
``vague`` (the project's error without a location), ``OTHER`` (any other exception: a bug), ``slow`` (> 2 s),
``memory`` (over the bound). Fixed seed; prints a table per entry point and the distinct OTHER / slow / memory /
vague cases.

    PYTHONPATH=. .venv/bin/python benchmarks/fuzz_packs.py [--per-path N] [--bytes N] [--seed S] [--only CLASS]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import re
import resource
import signal
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SLOW_S = 2.0
KILL_S = 12.0
MEMORY_BOUND = 1 << 30  # address space a child may add (1 GiB)
MAX_UPLOAD = 1 << 20  # the service's default max_pack_body_mb
OUTCOMES = ("ran", "error", "vague", "OTHER", "slow", "memory")
LOCATION = re.compile(r"field '|rule '|rules\[|line \d|position \d|when|define|pack'|top level")

HUGE_INT = 10**30
VALUES: dict[str, Any] = {
    "null": None, "list": [1, "x"], "dict": {"k": "v"}, "huge_int": HUGE_INT, "nan": math.nan, "inf": math.inf,
    "-inf": -math.inf, "big_float": 1e308, "negative": -5, "zero": 0, "empty": "", "100k": "好" * 100_000, "bool": True,
    "float": 0.5, "emoji": "👍🏽\u200d🔥", "surrogate": "\ud800x", "nul": "a\x00b", "empty_list": [],
    "empty_dict": {},
}


# ---------------------------------------------------------------------------------------------- base documents

def base_docs() -> dict[str, dict[str, Any]]:
    """The standard packs and one pack made of the README's YAML examples."""
    docs = {name: yaml.safe_load((ROOT / "rules" / "packs" / f"{name}.yaml").read_text("utf-8"))
            for name in ("zh-CN", "en")}
    readme = (ROOT / "README.md").read_text("utf-8")
    rules: list[Any] = []
    full: dict[str, Any] | None = None
    for block in re.findall(r"```yaml\n(.*?)```", readme, flags=re.S):
        try:
            doc = yaml.safe_load(block)
        except yaml.YAMLError:
            continue
        if isinstance(doc, dict) and "pack" in doc:
            full = doc
            rules += doc.get("rules", [])
        elif isinstance(doc, list) and all(isinstance(r, dict) and "id" in r for r in doc):
            rules += doc
    if full is not None:
        docs["readme"] = {**full, "pack": "readme", "rules": rules}
    return docs


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from paths(v, (*prefix, i))


def parent_of(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


def dump(doc: Any) -> str:
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10**9)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # surrogates: written as "\ud800" escapes
        text = yaml.safe_dump(doc, allow_unicode=False, sort_keys=False, width=10**9)
    return text


# ---------------------------------------------------------------------------------------------- cases

Case = tuple[str, str, str]  # (class, label, YAML text)


def signature(doc: dict[str, Any], path: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a path means, whatever the rule's position: rules[3].match.phrases[2] -> (rule type, match, phrases, #)."""
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        rule = doc["rules"][path[1]]
        head: tuple[Any, ...] = ("rule", rule.get("type") if isinstance(rule, dict) else None)
        path = path[2:]
    else:
        head = ()
    return head + tuple("#" if isinstance(p, int) else p for p in path)


def distinct_paths(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """One path per :func:`signature`: every field of every rule type once."""
    seen: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for path in paths(doc):
        if path:
            seen.setdefault(signature(doc, path), path)
    return list(seen.values())


def structural(docs: dict[str, dict[str, Any]], rng: random.Random, per_path: int) -> Iterator[Case]:
    """At every distinct path of each base document: drop it, duplicate it (list items), give it ``per_path``
    random wrong values, and every number a huge, a 1e308, a negative and a fractional value."""
    for name, doc in docs.items():
        for path in distinct_paths(doc):
            d = copy.deepcopy(doc)
            parent = parent_of(d, path)
            value = parent[path[-1]]
            del parent[path[-1]]
            yield "drop", f"{name}:{path}", dump(d)
            if isinstance(parent, list):
                d = copy.deepcopy(doc)
                parent = parent_of(d, path)
                parent.insert(path[-1], copy.deepcopy(value))
                yield "duplicate", f"{name}:{path}", dump(d)
            kinds = rng.sample(sorted(VALUES), per_path)
            if isinstance(value, int | float) and not isinstance(value, bool):
                kinds += [k for k in ("huge_int", "big_float", "negative", "float") if k not in kinds]
            for kind in kinds:
                d = copy.deepcopy(doc)
                parent_of(d, path)[path[-1]] = copy.deepcopy(VALUES[kind])
                yield f"retype:{kind}", f"{name}:{path}", dump(d)


def with_rules(doc: dict[str, Any], *rules: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "rules": [*doc["rules"][:2], *rules]}


def condition(when: Any, **extra: Any) -> dict[str, Any]:
    return {"id": "fuzz", "type": "condition", "summary": "fuzz", "expect": "present", "when": when, **extra}


def phrase_rule(phrases: Any = None, patterns: Any = None) -> dict[str, Any]:
    match: dict[str, Any] = {}
    if phrases is not None:
        match["phrases"] = phrases
    if patterns is not None:
        match["patterns"] = patterns
    return {"id": "fuzz", "type": "phrase_in_window", "summary": "fuzz", "role": "agent",
            "window": {"anchor": "whole_call"}, "match": match}


def nested(depth: int, op: str = "not") -> str:
    """A condition tree ``depth`` levels deep, as YAML flow text (yaml.dump would recurse)."""
    if op == "not":
        return "{not: " * depth + "{role: agent}" + "}" * depth
    return "{all: [" * depth + "{role: agent}" + "]}" * depth


def hostile(docs: dict[str, dict[str, Any]]) -> Iterator[Case]:
    zh = docs["zh-CN"]
    head = dump(with_rules(zh))
    for depth in (9, 100, 10_000):
        for op in ("not", "all"):
            yield "deep_tree", f"{op} x{depth}", (head + f"  - {{id: fuzz, type: condition, summary: s, "
                                                      f"expect: present, when: {nested(depth, op)}}}\n")
    yield "deep_tree", "yaml list x100000", head + "  - " + "[" * 100_000 + "]" * 100_000 + "\n"
    leaves = [{"role": "agent"}] * 50
    for n in (HUGE_INT, 10**100, -1, 0, 2.5, math.nan, "3", None):
        yield "huge_n_of", f"n={n!r}", dump(with_rules(zh, condition({"at_least": {"n": n, "of": leaves}})))
    yield "huge_n_of", "of x10000", dump(with_rules(zh, condition({"at_least": {"n": 1, "of": leaves * 200}})))
    yield "huge_n_of", "repeated min huge", dump(with_rules(zh, condition(
        {"repeated": {"of": {"role": "agent"}, "min": HUGE_INT}})))
    yield "huge_n_of", "within_turns huge", dump(with_rules(zh, condition(
        {"after": {"ref": {"role": "agent"}, "within_turns": 10**40}})))
    yield "huge_n_of", "fan-out 50^8", dump(with_rules(zh, condition(_fanout(8))))
    refs = {
        "mutual": {"a": {"after": {"ref": "b"}}, "b": {"after": {"ref": "a"}}},
        "self": {"a": {"before": {"ref": "a"}}},
        "later": {"a": {"after": {"ref": "b"}}, "b": {"role": "agent"}},
        "chain x50": {f"d{i}": ({"role": "agent"} if i == 0 else {"all": [{"after": {"ref": f"d{i - 1}"}},
                                                                           {"before": {"ref": f"d{i - 1}"}}]})
                      for i in range(50)},
        "non-str name": {5: {"role": "agent"}},
        "ref to list": {"a": {"role": "agent"}},
    }
    for label, define in refs.items():
        ref: Any = ["a"] if label == "ref to list" else next(iter(define))
        last = list(define)[-1] if label == "chain x50" else ref
        yield "recursive_ref", label, dump(with_rules(zh, condition({"after": {"ref": last}}, define=define)))
    yield "recursive_ref", "define is a list", dump(with_rules(zh, condition({"role": "agent"}, define=[1])))
    yield "recursive_ref", "define null", dump(with_rules(zh, condition({"role": "agent"}, define=None)))
    rejected = [r"(a)\1", r"(?=x)y", r"(?<!不)能", r"a++", r"(?>a)", r"(?P=n)", "[", "a{2,1}", "x{100000}",
                r"\p{Foo}", "(?i", "*", "\\"]
    blowers = [r"((a{100}){100}){100}", r"\w{1000}", r"(\d|\w|.){500}", r"[一-龥]{200}", "(好|" * 200 + "x" + ")" * 200,
               "|".join(["您好很高兴为您服务"] * 60), r"(.*){1000}", "您" * 500, ".{1000}" * 5]
    for pat in rejected + blowers:
        kind = "regex_rejected" if pat in rejected else "regex_memory"
        yield kind, f"patterns {pat[:30]!r}", dump(with_rules(zh, phrase_rule(["您好"], [pat])))
        yield kind, f"when.regex {pat[:30]!r}", dump(with_rules(zh, condition({"regex": pat})))
        yield kind, f"unless {pat[:30]!r}", dump(with_rules(zh, condition({"regex": "好", "unless": pat})))
    empties = ["！！！", "   ", "。，、", "\u200b\u200b", "\u0301", "---", "\t\n", "😀", "\ufeff", "  ...  ", "〇"]
    for p in empties:
        yield "phrase_empty", f"phrases {p!r}", dump(with_rules(zh, phrase_rule([p])))
        yield "phrase_empty", f"when.phrase {p!r}", dump(with_rules(zh, condition({"phrase": [p]})))
        en = with_rules(docs["en"], phrase_rule([p]))
        yield "phrase_empty", f"en phrases {p!r}", dump(en)
    weird = ["👍🏽\u200d🔥", "\ud800", "a\x00b", "\U0010ffff", "\x1b[31m", "‮rtl", "\ufffe"]
    for w in weird:
        for label, d in (("phrase", with_rules(zh, phrase_rule([w, "您好"]))),
                         ("pattern", with_rules(zh, phrase_rule(["您好"], [w]))),
                         ("summary", with_rules(zh, {**phrase_rule(["您好"]), "summary": w})),
                         ("pack name", {**zh, "name": w}), ("grade label", {**zh, "grades": {w: 0}}),
                         ("rule key", with_rules(zh, {**phrase_rule(["您好"]), w: 1})),
                         ("define name", with_rules(zh, condition({"role": "agent"}, define={w: {"role": "agent"}}))),
                         ("message", with_rules(zh, {**phrase_rule(["您好"]), "messages": {"fail": w + "{x}{"}}))):
            yield "unicode", f"{label} {w!r}", dump(d)
    for template in ("{why:>400000000}", "{why:{why}}", "{summary.__class__.__mro__}", "{0}", "{", "{why:.2}"):
        yield "message_format", template[:30], dump(with_rules(zh, condition(
            {"role": "agent"}, messages={"pass": template, "fail": template})))
    yield from bombs(head)
    yield from huge(zh)


def _fanout(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"role": "agent"}
    for _ in range(depth):
        node = {"any": [node, node]}
    return node


def bombs(head: str) -> Iterator[Case]:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    yield "alias_bomb", "billion laughs (top level)", "\n".join(lines) + "\n" + head
    rule = "  - {id: fuzz, type: phrase_in_window, summary: s, role: agent, window: {anchor: whole_call}, "
    defs = "x_defs: {" + ", ".join(lines).replace(": &", ": &") + "}, "
    yield "alias_bomb", "billion laughs (phrases)", head + rule + defs + "match: {phrases: *a9}}\n"
    tree = ", ".join(f"a{i}: &c{i} {{any: [" + ", ".join([f"*c{i - 1}"] * 9) + "]}" for i in range(1, 10))
    yield "alias_bomb", "billion laughs (when tree)", head + "  - {id: fuzz, type: condition, summary: s, expect: " \
        "present, define: {a0: &c0 {role: agent}, " + tree + "}, when: *c9}\n"
    yield "alias_bomb", "billion laughs (in rule)", head + "  - &r {id: fuzz, type: condition, summary: s, expect: " \
        "present, when: {role: agent}, x: [" + ",".join(["*r"] * 3) + "]}\n"
    yield "alias_bomb", "recursive alias", head + "  - &r [*r]\n"
    merge = "base: &b {id: m, type: condition, summary: s, expect: present, when: {role: agent}}\n"
    yield "alias_bomb", "merge key <<", merge + head + "  - {<<: *b, id: merged}\n"
    yield "alias_bomb", "python tag", head + "  - !!python/object/apply:os.system ['true']\n"
    yield "alias_bomb", "binary/set/timestamp tags", head.replace('version: 1.', 'version: !!timestamp 2024-01-01\n#') \
        + "  - !!set {a, b}\n"


def huge(zh: dict[str, Any]) -> Iterator[Case]:
    yield "huge_doc", "100k-char phrase", dump(with_rules(zh, phrase_rule(["好" * 100_000])))
    yield "huge_doc", "100k-char pattern", dump(with_rules(zh, phrase_rule(["您好"], ["好" * 100_000])))
    yield "huge_doc", "20k phrases", dump(with_rules(zh, phrase_rule([f"短语{i}您好" for i in range(20_000)])))
    patterns = [f"您好{i}(请|稍)等" for i in range(2_000)]
    yield "huge_doc", "2k patterns", dump(with_rules(zh, phrase_rule(["您好"], patterns)))
    yield "huge_doc", "3k rules", dump({**zh, "rules": [{**zh["rules"][0], "id": f"r{i}"} for i in range(3_000)]})
    yield "huge_doc", "600 condition rules", dump({**zh, "rules": [
        {**condition(_fanout(7)), "id": f"c{i}"} for i in range(600)]})
    yield "huge_doc", "500 grades", dump({**zh, "grades": {f"g{i}": i / 5 for i in range(500)}})
    yield "huge_doc", "5000-digit int", dump(zh).replace("version:", "weight_x: " + "9" * 5000 + "\nversion:", 1)
    yield "huge_doc", "1e308 floats", dump(zh).replace("weight: 15", "weight: 1e308", 1)
    yield "huge_doc", "long key", dump({**zh, "k" * 100_000: 1})


def byte_mutations(docs: dict[str, dict[str, Any]], rng: random.Random, count: int) -> Iterator[Case]:
    texts = [(ROOT / "rules" / "packs" / f"{n}.yaml").read_bytes() for n in ("zh-CN", "en")]
    specials = [b"\x00", b"\xff", b"\t", b":", b"&a ", b"*a", b"!!", b"{", b"[", b"'", b'"', b"\n", b"- ", b"%YAML",
                b"\xed\xa0\x80", b"\xef\xbb\xbf", b"---\n", b"? ", b"|", b"\\"]
    for i in range(count):
        data = bytearray(rng.choice(texts))
        for _ in range(rng.randint(1, 8)):
            if not data:
                break
            op = rng.randrange(5)
            pos = rng.randrange(len(data))
            if op == 0:
                data[pos] = rng.randrange(256)
            elif op == 1:
                data[pos:pos] = rng.choice(specials)
            elif op == 2:
                del data[pos:pos + rng.randint(1, 200)]
            elif op == 3:
                end = pos + rng.randint(1, 400)
                data[pos:pos] = data[pos:end] * rng.randint(2, 50)
            else:
                data = data[:pos]
        yield "bytes", f"#{i}", data.decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------------------------- running one case

def transcripts() -> list[Any]:
    from qa_engine.types import Transcript, Utterance

    zh = (Utterance(0, 2, "agent", "您好很高兴为您服务，请问有什么可以帮您"),
          Utterance(2.5, 5, "customer", "我要投诉，网又断了，太差了"), Utterance(5.2, 9, "agent", "非常抱歉，请稍等"),
          Utterance(25, 28, "agent", "久等了，保证退款，还有什么需要吗"), Utterance(28, 29, "customer", "没有了"))
    en = (Utterance(0, 2, "agent", "thank you for calling, how can I help"), Utterance(2, 4, "customer",
          "this is ridiculous, my name is Ann"), Utterance(4, 7, "agent", "sorry, one moment please, your name?"))
    return [Transcript("z", "zh", 30.0, zh), Transcript("e", "en", 8.0, en), Transcript("x", "zh", 1.0, ())]


def exercise(pack: Any, calls: list[Any]) -> None:
    """What the service does with a stored pack: score calls, render its docs and answers as JSON."""
    from qa_engine.report import report_to_dict
    from qa_engine.rules.docs import pack_markdown
    from qa_engine.scoring import score_transcript

    for call in calls:
        json.dumps(report_to_dict(score_transcript(call, pack)), allow_nan=False)
    pack_markdown(pack)
    json.dumps([r.model_dump(mode="json", exclude_none=True) for r in pack.rules], allow_nan=False)


def classify(exc: BaseException) -> str:
    from qa_engine.app.errors import Invalid
    from qa_engine.errors import PackError

    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, PackError | Invalid):
        return "error" if LOCATION.search(str(exc)) else "vague"
    return "OTHER"


def decode_body(raw: bytes) -> str:
    """The service's decoding of a pack body (``api.routers.packs``), also on trees from before it named the byte."""
    try:
        from api.routers.packs import decode_pack_body
    except ImportError:  # the old edge: the same refusal, without a location
        from qa_engine.app.errors import Invalid

        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("body: not UTF-8 text") from None
    return decode_pack_body(raw)


def run_case(entry: str, text: str, calls: list[Any]) -> tuple[str, str]:
    """(outcome, detail) of one entry point on one YAML text, in this (child) process."""
    import tempfile

    from qa_engine.app.pack_admin import parse_upload
    from qa_engine.rules.pack import load_pack

    raw = text.encode("utf-8", "surrogateescape")
    try:
        if entry == "upload":
            if len(raw) > MAX_UPLOAD:
                return "error", "413 body too large"
            pack = parse_upload(decode_body(raw))
        else:
            with tempfile.NamedTemporaryFile(suffix=".yaml") as file:
                file.write(raw)
                file.flush()
                pack = load_pack(file.name)
        exercise(pack, calls)
    except BaseException as exc:  # noqa: BLE001 - every exception is a result here
        outcome = classify(exc)
        return outcome, f"{type(exc).__name__}: {str(exc)[:300]}"
    return "ran", ""


def forked(entry: str, text: str, calls: list[Any]) -> tuple[str, str, float]:
    """Run one case in a forked child with a memory bound and a hard time limit."""
    read_fd, write_fd = os.pipe()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        vm = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (vm + MEMORY_BOUND, vm + MEMORY_BOUND))
        sys.setrecursionlimit(10_000)
        try:
            outcome, detail = run_case(entry, text, calls)
        except BaseException as exc:  # noqa: BLE001
            outcome, detail = "memory" if isinstance(exc, MemoryError) else "OTHER", repr(exc)[:300]
        os.write(write_fd, json.dumps([outcome, detail]).encode())
        os._exit(0)
    os.close(write_fd)
    deadline = t0 + KILL_S
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_fd)
            return "slow", f"killed after {KILL_S:g} s", KILL_S
        time.sleep(0.005)
    elapsed = time.monotonic() - t0
    data = b""
    while chunk := os.read(read_fd, 65536):
        data += chunk
    os.close(read_fd)
    if not data:
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        return ("memory" if sig in (signal.SIGABRT, signal.SIGSEGV, signal.SIGKILL) else "OTHER"), \
            f"child died (status {status}, signal {sig})", elapsed
    outcome, detail = json.loads(data)
    if outcome in ("ran", "error", "vague") and elapsed > SLOW_S:
        return "slow", f"{elapsed:.1f} s ({outcome}) {detail}", elapsed
    return outcome, detail, elapsed


# ---------------------------------------------------------------------------------------------- table

def table(title: str, counts: dict[str, Counter[str]]) -> str:
    lines = [f"### {title}", "", "| mutation class | cases | " + " | ".join(OUTCOMES) + " |",
             "|---|---:|" + "---:|" * len(OUTCOMES)]
    total: Counter[str] = Counter()
    for cls in sorted(counts, key=lambda c: (c.startswith("retype:"), c)):
        row = counts[cls]
        total.update(row)
        lines.append(f"| {cls} | {sum(row.values())} | " + " | ".join(str(row[o]) for o in OUTCOMES) + " |")
    lines.append(f"| **all** | {sum(total.values())} | " + " | ".join(f"**{total[o]}**" for o in OUTCOMES) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-path", type=int, default=2, help="random wrong values at each distinct path (default 2)")
    ap.add_argument("--bytes", type=int, default=200, help="raw byte mutations (default 200)")
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--only", default="", help="run only the mutation classes that start with this")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    import qa_engine.app.pack_admin  # noqa: F401 - import (and warm) everything once; children are forked
    from qa_engine.rules import load_pack

    load_pack("zh-CN")
    calls = transcripts()
    docs = base_docs()
    cases: list[Case] = [*structural(docs, rng, args.per_path), *hostile(docs), *byte_mutations(docs, rng, args.bytes)]
    cases = [c for c in cases if c[0].startswith(args.only)]
    counts: dict[str, dict[str, Counter[str]]] = {"upload": defaultdict(Counter), "file": defaultdict(Counter)}
    problems: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    t0 = time.monotonic()
    for cls, label, text in cases:
        for entry in ("upload", "file"):
            outcome, detail, _ = forked(entry, text, calls)
            group = cls.split(":")[0]
            counts[entry][group if group != "retype" else cls][outcome] += 1
            if outcome in ("OTHER", "slow", "memory", "vague"):
                key = (entry, outcome, re.sub(r"\d+", "N", detail)[:120])
                problems[key].append(f"{cls} {label}")
    print(f"pack fuzz: seed {args.seed}, {len(cases)} cases x 2 entry points, "
          f"{time.monotonic() - t0:.0f} s\n")
    print(table("upload (POST /packs: parse_upload)", counts["upload"]) + "\n")
    print(table("file (qa-engine packs validate: load_pack)", counts["file"]) + "\n")
    if problems:
        print("### Distinct OTHER / slow / memory / vague results\n")
        for (entry, outcome, detail), labels in sorted(problems.items()):
            print(f"- {entry} {outcome} ×{len(labels)}: `{detail}` — e.g. {labels[0][:150]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
