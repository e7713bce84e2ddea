"""PII detection: recall on identifiers and precision against hard negatives, before/after/baselines.

The corpus is generated with a fixed seed (and written to ``benchmarks/data/pii_corpus.jsonl``):
Chinese and English call sentences holding identifiers (mobiles, 10-digit remains of mobiles,
landlines, US numbers, ID numbers with X, bank cards, e-mail addresses) written the ways speech
and ASR write them (digits of several scripts, spoken numerals 幺/两/洞, 大写, English words with
double/triple/oh, groups with spaces, dashes, dots, brackets, +86, fillers, a dropped digit),
some split over two utterances of one speaker; and sentences holding hard negatives (prices,
amounts, dates, times, durations, counts, years, staff and train numbers).  A second, English part
reads numbers in pairs and groups ("five five five, twelve thirty-four", "card ending nineteen
oh five"), with hard negatives read the same way (prices, years, durations, counts, ages); the
"pairs" and "pneg" columns are its recall and its negatives kept.

Scoring, per masker:
* recall: an identifier counts as caught when none of its digits (or address characters) is
  left readable; "≥4 leak" counts identifiers with 4 or more consecutive digits left readable,
  "all leak" those with every digit readable (the whole number shown, in one or two pieces);
* precision: masked stretches that touch an identifier / all masked stretches;
* negatives kept: hard negatives with no character masked.

Maskers: the masker in ``qa_engine.pii`` (whole transcript: numbers split over utterances too);
the masker as it was at git HEAD ("before", per utterance; skipped when git or HEAD's file is
missing); a plain-regex baseline; Microsoft Presidio's analyzer, English only, pattern
recognizers with a blank spaCy pipeline (no model download), when presidio-analyzer is
installed (it is not a project dependency).

    .venv/bin/python benchmarks/bench_pii.py [--seed 16] [--n 400] [--no-write]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa_engine import pii
from qa_engine.types import Transcript, Utterance

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "benchmarks" / "data" / "pii_corpus.jsonl"
TARGET_RECALL, TARGET_PRECISION = 0.99, 0.95

SCRIPTS = {"ascii": "0123456789", "fullwidth": "０１２３４５６７８９", "arabic": "٠١٢٣٤٥٦٧８٩".replace("８", "٨"),
           "cn": "零一二三四五六七八九", "cn_spoken": "洞幺两三四五六七八九", "daxie": "零壹贰叁肆伍陆柒捌玖"}
EN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

ZH_ID = ["我的手机号是{x}", "您的号码是{x}对吗？", "好的，{x}，我记一下", "身份证号{x}", "卡号是{x}，谢谢", "电话：{x}",
         "嗯，是{x}", "您登记的联系电话是{x}，没错吧", "我想查一下话费，手机号是{x}", "座机是{x}"]
EN_ID = ["my number is {x}", "it's {x}, correct?", "you can reach me at {x}", "the card number is {x}", "sure, {x}",
         "my ID is {x} thanks", "Just to confirm, your phone is {x}.", "call me back on {x} please",
         "my email is {x}", "{x} is my cell"]
ZH_NEG = ["您的套餐是每月{n}元，包含30G流量", "总共{price}元", "这个月话费两千四百九十九元", "我是八月二号办的卡",
          "{date}开通的",
          "宽带{y}年{m}月{d}日到期", "预计{hh}:{mm}上门", "三点半之前给您回电", "大概需要{k}分钟", "这已经是第{k}次了",
          "我二零一五年就办了", "1000M宽带每年1200元", "您好，工号{staff}为您服务", "我住在建国路{k}号",
          "流量还剩{k}.{d}G",
          "优惠{k}%", "一共{big}元", "{k}个月以后", "从{hh}:{mm}到{hh2}:{mm}", "打九五折"]
EN_NEG = ["your plan is {n} dollars a month", "it costs ${price}", "the total is {price} dollars", "it was on {date}",
          "on March {d}, {y}", "the technician comes at {hh}:{mm}", "it will take {k} minutes",
          "this is the {k}th time I'm calling", "about {big} users are affected", "the train ID is TR{staff}",
          "I live at {k} Elm Street", "it's {k} percent off", "between {hh}:{mm} and {hh2}:{mm}", "{k} lines",
          "travel time is {k} minutes and it costs {k2}.{mm} pounds", "we have {big} customers", "in {y} I moved",
          "you used {k} gigabytes", "my agent number is {staff}", "it was {k} or {k2} days ago"]
# numbers read in pairs or groups, as English speakers read phone and card numbers ("twelve thirty-four")
EN_PAIR_ID = [t for t in EN_ID if "email" not in t] + ["my card ending {x}", "the last four are {x}", "last four {x}",
                                                      "card ending in {x}"]
EN_PAIR_NEG = ["it's {pair} dollars a month", "I called {tens} times", "{year} was a bad year",
               "it took {pair} minutes", "you used {tens} gigabytes", "on the {tens} third",
               "it was one hundred and {teen} dollars", "back in {year}", "it's {year4} a month",
               "I'm {pair} and she's {tens}", "between {teen} thirty and {teen}",
               "from {year} to {year}", "about {teen} or {tens} people", "my phone bill was {pair} dollars",
               "the card costs {year4} a month", "that's {pair} percent off", "I've had this account {teen} years"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


@dataclass
class Item:
    """One test case: one or two utterances, identifier spans and negative spans per utterance."""

    lang: str
    texts: list[str]
    ids: list[list[tuple[int, int]]] = field(default_factory=list)   # per utterance
    negs: list[list[tuple[int, int]]] = field(default_factory=list)
    kind: str = ""
    split: bool = False
    pairs: bool = False  # numbers read in pairs ("twelve thirty-four")


def _number(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["mobile", "mobile", "mobile10", "landline", "us", "id", "card"])
    if kind == "mobile":
        return kind, "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
    if kind == "mobile10":  # ASR dropped a digit
        return kind, "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(8))
    if kind == "landline":
        return kind, rng.choice("2345678") + "".join(rng.choice("0123456789") for _ in range(rng.choice([6, 7])))
    if kind == "us":
        return kind, rng.choice("23456789") + "".join(rng.choice("0123456789") for _ in range(9))
    if kind == "id":
        body = rng.choice("123456") + "".join(rng.choice("0123456789") for _ in range(16))
        return kind, body + rng.choice("0123456789X")
    return kind, rng.choice("3456") + "".join(rng.choice("0123456789") for _ in range(rng.choice([15, 16, 18])))


def _render(rng: random.Random, number: str, lang: str) -> str:
    digits, x = number.rstrip("X"), ("X" if number.endswith("X") else "")
    if lang == "en" and rng.random() < 0.45:
        units, i = [], 0
        while i < len(digits):
            d = digits[i]
            run = len(digits[i:]) - len(digits[i:].lstrip(d))
            n = rng.choice([k for k in (3, 2, 1) if k <= run]) if rng.random() < 0.5 else 1
            word = rng.choice(["oh", "zero", "o"]) if d == "0" else EN[int(d)]
            units.append({3: "triple ", 2: "double ", 1: ""}[n] + word)
            i += n
        out = units[0]
        for u in units[1:]:
            out += rng.choice([" ", " ", " ", ", ", " - ", " dash ", " uh "]) + u
        return out + (" x" if x else "")
    if lang == "zh":
        script = rng.choice(["ascii", "ascii", "ascii", "fullwidth", "cn", "cn_spoken", "daxie", "mixed"])
    else:
        script = rng.choice(["ascii", "ascii", "ascii", "fullwidth", "arabic"])
    chars = [SCRIPTS[rng.choice(["ascii", "cn", "cn_spoken"]) if script == "mixed" else script][int(d)] for d in digits]
    groups = rng.choice(["none", "none", "3-4-4", "4s", "3-3-4"])
    sep = rng.choice([" ", "-", " - ", ".", "，", " 嗯 ", ", "] if lang == "zh" else [" ", "-", " - ", ".", ", "])
    if groups == "none":
        body = "".join(chars)
    else:
        sizes = {"3-4-4": [3, 4, 4, 4, 4], "4s": [4] * 5, "3-3-4": [3, 3, 4, 4, 4]}[groups]
        parts, i = [], 0
        for size in sizes:
            if i < len(chars):
                parts.append("".join(chars[i:i + size]))
                i += size
        if i < len(chars):
            parts.append("".join(chars[i:]))
        body = sep.join(parts)
    if len(digits) == 11 and rng.random() < 0.2:
        body = rng.choice(["+86 ", "+86-", "(+86) "]) + body
    if len(digits) == 10 and lang == "en" and groups == "none" and script == "ascii" and rng.random() < 0.5:
        body = f"({body[:3]}) {body[3:6]}-{body[6:]}"
    return body + x


def _pair_word(rng: random.Random, two: str) -> str:
    """Two digits read as one number ("34" thirty-four, "12" twelve, "05" oh five)."""
    a, b = int(two[0]), int(two[1])
    if a == 0:
        return f"{rng.choice(['oh', 'zero'])} {EN[b]}"
    if a == 1:
        return TEENS[b]
    if b == 0:
        return TENS[a]
    return TENS[a] + rng.choice(["-", " "]) + EN[b]


def _render_pairs(rng: random.Random, digits: str) -> str:
    """Digits read in groups: a group of 4 as two pairs, of 2 as one pair, of 3 digit by digit ("x00": x hundred)."""
    sizes = {7: [3, 4], 8: [4, 4], 10: [3, 3, 4], 11: [3, 4, 4], 4: [4]}.get(len(digits)) or [4] * (len(digits) // 4)
    sizes[-1] += len(digits) - sum(sizes)
    groups, i = [], 0
    for size in sizes:
        g = digits[i:i + size]
        i += size
        if len(g) == 3:
            groups.append(f"{EN[int(g[0])]} hundred" if g[1:] == "00" and g[0] != "0" else
                          " ".join("oh" if d == "0" else EN[int(d)] for d in g))
        else:
            groups.append(" ".join(_pair_word(rng, g[k:k + 2]) if k + 1 < len(g) else EN[int(g[k])]
                                   for k in range(0, len(g), 2)))
    out = groups[0]
    for g in groups[1:]:
        out += rng.choice([" ", ", ", " - "]) + g
    return out.capitalize() if rng.random() < 0.1 else out


def _pair_number(rng: random.Random, cue: bool) -> tuple[str, str]:
    if cue:
        return "last4", "".join(rng.choice("0123456789") for _ in range(4))
    kind = rng.choice(["us", "us", "landline", "mobile", "card"])
    if kind == "us":
        return kind, rng.choice(["800", "888"] + [f"{rng.randint(201, 989)}"]) + "".join(
            rng.choice("0123456789") for _ in range(7))
    if kind == "landline":
        return kind, rng.choice("2345678") + "".join(rng.choice("0123456789") for _ in range(6))
    if kind == "mobile":
        return kind, "07" + "".join(rng.choice("0123456789") for _ in range(9))
    return kind, rng.choice("3456") + "".join(rng.choice("0123456789") for _ in range(15))


def _year(rng: random.Random) -> str:
    y = rng.randint(1950, 2030)
    if y == 2000:
        return "two thousand"
    return _pair_word(rng, str(y)[:2]) + " " + _pair_word(rng, str(y)[2:])


def build_pair_items(seed: int, n: int) -> list[Item]:
    """``n`` English items with identifiers read in pairs (a quarter split over two utterances) and ``n`` with
    numbers read the same way that are no identifier (prices, years, durations, counts, ages, times)."""
    rng = random.Random(seed + 1)  # its own stream: the rest of the corpus stays as it was
    items: list[Item] = []
    for _ in range(n):
        tpl = rng.choice(EN_PAIR_ID)
        kind, digits = _pair_number(rng, "four" in tpl or "ending" in tpl)
        body = _render_pairs(rng, digits)
        pre, post = tpl.split("{x}")
        cuts = [j for j in range(1, len(body)) if body[j - 1] == " " and body[:j].strip() and body[j:].strip()]
        if kind != "last4" and cuts and rng.random() < 0.25:  # split between two words
            j = rng.choice(cuts)
            a, b = pre + body[:j], body[j:] + post
            items.append(Item("en", [a, b], [[(len(pre), len(a))], [(0, len(body) - j)]], [[], []], "pairs_" + kind,
                              True, True))
        else:
            text = pre + body + post
            items.append(Item("en", [text], [[(len(pre), len(pre) + len(body))]], [[]], "pairs_" + kind, pairs=True))
    for _ in range(n):
        tpl = rng.choice(EN_PAIR_NEG)
        two = f"{rng.randint(11, 99)}"
        text = tpl.format(pair=_pair_word(rng, two) + (" " + _pair_word(rng, f"{rng.randint(10, 99)}")
                                                       if rng.random() < 0.4 else ""),
                          tens=TENS[rng.randint(2, 9)], teen=rng.choice(TEENS), year=_year(rng),
                          year4=_pair_word(rng, f"{rng.randint(10, 99)}") + " " + _pair_word(rng, "99"))
        items.append(Item("en", [text], [[]], [[(0, len(text))]], "negative", pairs=True))
    return items


def _email(rng: random.Random, lang: str) -> str:
    name = rng.choice(["john", "maria", "zhang.wei", "li_jing", "ahmed77", "priya.k"])
    domain = rng.choice(["gmail.com", "qq.com", "163.com", "outlook.com", "acme.co.uk"])
    if rng.random() < 0.5:
        return f"{name}@{domain}"
    d = domain.replace(".", " dot " if lang == "en" else " 点 ")
    return f"{name.replace('.', ' dot ')} {'at' if lang == 'en' else '艾特'} {d}"


def _fill_negative(rng: random.Random, tpl: str) -> str:
    y = rng.randint(2015, 2025)
    return tpl.format(n=rng.randint(19, 399), price=rng.choice(["2,499", "1,299.99", "49.99", "388", "12,800"]),
                      date=rng.choice([f"{y}-0{rng.randint(1, 9)}-{rng.randint(10, 28)}", f"{rng.randint(1, 12)}/"
                                       f"{rng.randint(1, 28)}/{y}", f"{y}/{rng.randint(1, 12)}/{rng.randint(1, 28)}"]),
                      y=y, m=rng.randint(1, 12), d=rng.randint(1, 28), hh=rng.randint(8, 20), hh2=rng.randint(8, 20),
                      mm=rng.choice(["00", "15", "30", "45"]), k=rng.randint(2, 120), k2=rng.randint(2, 60),
                      staff=rng.randint(1000, 9999), big=rng.choice(["1,234,567", "12,000", "3,500", "250,000"]))


def _latin(c: str) -> bool:
    return c.isascii() and c.isalpha()


def build_corpus(seed: int, n: int) -> list[Item]:
    """``n`` items with identifiers and ``n`` with hard negatives, half Chinese, half English."""
    rng = random.Random(seed)
    items: list[Item] = []
    for i in range(n):
        lang = "zh" if i % 2 == 0 else "en"
        tpl = rng.choice(ZH_ID if lang == "zh" else EN_ID)
        if rng.random() < 0.1:
            kind, body = "email", _email(rng, lang)
        else:
            kind, number = _number(rng)
            body = _render(rng, number, lang)
        pre, post = tpl.split("{x}")
        if kind != "email" and rng.random() < 0.25:  # split over two utterances of the speaker
            cuts = [j for j in range(1, len(body)) if not (_latin(body[j - 1]) and _latin(body[j]))
                    and body[:j].strip() and body[j:].strip()]  # ASR splits between words, not inside one
            j = rng.choice(cuts)
            a, b = pre + body[:j], body[j:] + post
            items.append(Item(lang, [a, b], [[(len(pre), len(a))], [(0, len(body) - j)]], [[], []], kind, True))
        else:
            text = pre + body + post
            items.append(Item(lang, [text], [[(len(pre), len(pre) + len(body))]], [[]], kind))
    for i in range(n):
        lang = "zh" if i % 2 == 0 else "en"
        tpl = rng.choice(ZH_NEG if lang == "zh" else EN_NEG)
        text = _fill_negative(rng, tpl)
        items.append(Item(lang, [text], [[]], [[(0, len(text))]], "negative"))
    return items


# --- maskers ---------------------------------------------------------------------------------

Masker = Callable[[Item], list[str]]


def _transcript(item: Item) -> Transcript:
    utts = []
    t = 0.0
    for i, text in enumerate(item.texts):
        utts.append(Utterance(t, t + 2.0, "customer", text, channel=0))
        t += 2.5
        if i == 0 and len(item.texts) > 1:
            utts.append(Utterance(t - 0.4, t - 0.1, "agent", "嗯" if item.lang == "zh" else "okay", channel=1))
    return Transcript(call_id="b", language=item.lang, duration=t, utterances=tuple(utts))


def mask_new(item: Item) -> list[str]:
    masked = pii.mask_transcript(_transcript(item))
    return [u.text for u in masked.utterances if u.role == "customer"]


def load_head_masker() -> Callable[[str], str] | None:
    """``mask_text`` of qa_engine/pii.py as committed at git HEAD, or None."""
    try:
        src = subprocess.run(["git", "show", "HEAD:qa_engine/pii.py"], cwd=ROOT, capture_output=True, text=True,
                             check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    src = src.replace("from . import", "from qa_engine import").replace("from .", "from qa_engine.")  # (relative)
    path = Path(tempfile.mkdtemp()) / "pii_head.py"
    path.write_text(src, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("pii_head", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there while the class is defined
    spec.loader.exec_module(module)
    fn = getattr(module, "mask_text", None)
    return fn if callable(fn) else None


_REGEX_BASELINE = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"             # e-mail
    r"|\d{17}[\dXx]|\d{15,19}"                  # ID numbers, cards
    r"|\+?\(?\d{1,4}\)?[\s.-]?\d{3,4}[\s.-]?\d{4}")  # phone numbers


def _spans_to_mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for a, b in spans:
        for k in range(a, b):
            if not chars[k].isspace():
                chars[k] = "*"
    return "".join(chars)


def mask_regex(item: Item) -> list[str]:
    return [_spans_to_mask(t, [m.span() for m in _REGEX_BASELINE.finditer(t)]) for t in item.texts]


def presidio_masker() -> Callable[[Item], list[str]] | None:
    """Presidio's AnalyzerEngine with its pattern recognizers only (blank spaCy, no model), or None."""
    try:
        import spacy
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
    except ImportError:
        return None
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)  # no network: it falls back to its snapshot

    class BlankSpacy(SpacyNlpEngine):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(models=[{"lang_code": "en", "model_name": "blank"}])

        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    engine = BlankSpacy()
    engine.load()
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    entities = ["PHONE_NUMBER", "CREDIT_CARD", "EMAIL_ADDRESS", "US_SSN", "IBAN_CODE"]

    def mask(item: Item) -> list[str]:
        return [_spans_to_mask(t, [(r.start, r.end) for r in analyzer.analyze(t, language="en", entities=entities)])
                for t in item.texts]

    return mask


# --- scoring ---------------------------------------------------------------------------------

@dataclass
class Score:
    ids: int = 0
    caught: int = 0
    leaked4: int = 0
    leaked_all: int = 0
    negs: int = 0
    negs_kept: int = 0
    masked_tp: int = 0
    masked_fp: int = 0
    by: dict[str, list[int]] = field(default_factory=dict)  # group -> [caught, total]

    def add_group(self, key: str, ok: bool) -> None:
        c = self.by.setdefault(key, [0, 0])
        c[0] += ok
        c[1] += 1


def _stretches(orig: str, masked: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    start = None
    for i, (a, b) in enumerate(zip(orig, masked, strict=False)):
        if a != b and start is None:
            start = i
        elif a == b and start is not None and not a.isspace() and a not in "-.,，、()":
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, len(orig)))
    return out


def score(items: list[Item], masker: Masker, langs: tuple[str, ...]) -> tuple[Score, float]:
    s = Score()
    t0 = time.perf_counter()
    outputs = [masker(item) if item.lang in langs else None for item in items]
    elapsed = time.perf_counter() - t0
    for item, out in zip(items, outputs, strict=True):
        if out is None:
            continue
        if item.kind == "negative":
            s.negs += 1
            kept = all(o == m for o, m in zip(item.texts, out, strict=True))
            s.negs_kept += kept
            if item.pairs:
                s.add_group("pairs-neg", kept)
            s.masked_fp += sum(len(_stretches(o, m)) for o, m in zip(item.texts, out, strict=True))
            continue
        s.ids += 1
        left = ""
        ok = True
        for text, masked, spans in zip(item.texts, out, item.ids, strict=True):
            for a, b in spans:
                readable = "".join(m if m == o else " " for o, m in zip(text[a:b], masked[a:b], strict=True))
                ok = ok and all(w.lower() in _ALLOWED_LEFT for w in re.findall(r"[^\W_]+", readable))
                left += readable + "|"
            for a, b in _stretches(text, masked):
                if any(a < y and x < b for x, y in spans):
                    s.masked_tp += 1
                else:
                    s.masked_fp += 1
        s.caught += ok
        readable_digits = _digits_only(left)
        s.leaked4 += bool(re.search(r"[0-9]{4}", readable_digits))
        s.leaked_all += item.kind != "email" and len(re.sub(r"\D", "", readable_digits)) >= len(
            re.sub(r"\D", "", _digits_only("".join(item.texts))))
        s.add_group(f"{item.lang}{'-split' if item.split else ''}", ok)
        s.add_group(item.kind, ok)
        if item.pairs:
            s.add_group("pairs", ok)
    return s, elapsed


# what may stay readable inside an identifier's stretch: spoken separators and fillers
_ALLOWED_LEFT = {"dash", "uh", "um", "x", "at", "dot", "艾特", "点", "嗯"}


_DIGIT_MAP = {c: str(i) for chars in SCRIPTS.values() for i, c in enumerate(chars)}
_WORD_MAP = {w: str(i) for i, w in enumerate(EN)} | {"oh": "0", "o": "0"} | {w: f"1{i}" for i, w in enumerate(TEENS)} \
    | {w: f"{i}0" for i, w in enumerate(TENS) if w}


def _digits_only(left: str) -> str:
    out = []
    for tok in re.findall(r"[A-Za-z]+|.", left):
        if tok in _DIGIT_MAP:
            out.append(_DIGIT_MAP[tok])
        elif tok.lower() in _WORD_MAP:
            out.append(_WORD_MAP[tok.lower()])
        elif tok.lower() in {"double", "triple"}:
            continue
        else:
            out.append("|" if not tok.isspace() else "")
    return "".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--n", type=int, default=400, help="identifier items and negative items each")
    ap.add_argument("--no-write", action="store_true", help="do not write benchmarks/data/pii_corpus.jsonl")
    args = ap.parse_args()
    items = build_corpus(args.seed, args.n) + build_pair_items(args.seed, args.n // 4)
    if not args.no_write:
        CORPUS.parent.mkdir(parents=True, exist_ok=True)
        with CORPUS.open("w", encoding="utf-8") as fh:
            for it in items:
                fh.write(json.dumps({"lang": it.lang, "kind": it.kind, "split": it.split, "texts": it.texts,
                                     "identifier_spans": it.ids, "negative_spans": it.negs}, ensure_ascii=False) + "\n")
    n_ids = sum(it.kind != "negative" for it in items)
    n_pairs = sum(it.pairs and it.kind != "negative" for it in items)
    print(f"PII corpus: {n_ids} identifiers ({sum(it.split for it in items)} split over two utterances, {n_pairs} "
          f"read in pairs), {len(items) - n_ids} hard negatives ({sum(it.pairs for it in items) - n_pairs} read in "
          f"pairs), zh+en, seed {args.seed}")
    maskers: list[tuple[str, Masker | None, tuple[str, ...]]] = [("qa_engine.pii (after)", mask_new, ("zh", "en"))]
    head = load_head_masker()
    maskers.append(("git HEAD masker (before)",
                    (lambda it: [head(t) for t in it.texts]) if head else None, ("zh", "en")))
    maskers.append(("plain regex baseline", mask_regex, ("zh", "en")))
    maskers.append(("Presidio analyzer, patterns only (en)", presidio_masker(), ("en",)))
    maskers.append(("qa_engine.pii (after), en only", mask_new, ("en",)))
    print(f"{'masker':<40}{'recall':>8}{'zh':>7}{'en':>7}{'split':>7}{'≥4 leak':>8}{'all leak':>9}{'precision':>10}"
          f"{'neg kept':>9}{'pairs':>7}{'pneg':>7}{'ms/item':>8}")
    verdicts = []
    for name, masker, langs in maskers:
        if masker is None:
            print(f"{name:<40}  (skipped: not available)")
            continue
        s, elapsed = score(items, masker, langs)

        def rate(key: str, sc: Score = s) -> str:
            c = sc.by.get(key)
            return f"{c[0] / c[1]:.1%}" if c and c[1] else "-"

        split = [sum(x) for x in zip(*(v for k, v in s.by.items() if k.endswith("-split")), strict=False)] or [0, 0]
        recall = s.caught / s.ids if s.ids else 0.0
        precision = s.masked_tp / (s.masked_tp + s.masked_fp) if s.masked_tp + s.masked_fp else 0.0
        print(f"{name:<40}{recall:>8.1%}{rate('zh') if 'zh' in langs else '-':>7}{rate('en'):>7}"
              f"{(split[0] / split[1] if split[1] else 0):>7.1%}{s.leaked4:>8}{s.leaked_all:>9}{precision:>10.1%}"
              f"{s.negs_kept / s.negs if s.negs else 0:>9.1%}{rate('pairs'):>7}{rate('pairs-neg'):>7}"
              f"{elapsed / max(1, s.ids + s.negs) * 1000:>8.3f}")
        if masker is mask_new and langs == ("zh", "en"):
            verdicts.append((recall, precision))
            kinds = {k: v for k, v in s.by.items() if "-" not in k and k not in ("zh", "en", "pairs")}
            print("    by kind: " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(kinds.items())))
    recall, precision = verdicts[0]
    ok = recall >= TARGET_RECALL and precision >= TARGET_PRECISION
    print(f"target: recall ≥ {TARGET_RECALL:.0%}, precision ≥ {TARGET_PRECISION:.0%}: {'ok' if ok else 'BELOW TARGET'}")
    sys.exit(0)


if __name__ == "__main__":
    main()
