"""Utterance sentiment in [-1, 1] from a small call-centre lexicon (zh and en), offline and cheap.

Why a lexicon and not a model: it runs on every call the rules check (thousands a second on one core), needs no
download, and its reasons are readable. The whole call's text is joined once and scanned in one pass (Chinese: a
numpy table of the character pairs that can start a term picks the few positions to try; English: one precompiled
regular expression); each hit is mapped back to its utterance by offset, and only hits pay for a look at the few
characters before them (negation flips and damps a term, an intensifier strengthens it). Sarcasm markers
(呵呵, 真是服了, "yeah right", "great, just great") are lexicon entries of their own, longer than the words they
contain, so the longer reading wins.

An utterance's score is its summed term weights squashed as ``s / sqrt(s*s + ALPHA)`` (VADER's normalisation);
no hit gives 0.0. The word lists are our own, written for call-centre speech.

The scan and the speaker summary run in C (:mod:`qa_engine.native._sentiment`: a prefix tree of the same tables)
where it was built; the Python code below is the reference they must equal (:func:`_score_texts_python`,
:func:`_summary_dict_python`) and runs where it was not, or with ``QA_ENGINE_NATIVE=0``.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, compress
from operator import attrgetter
from typing import Any

import numpy as np

from . import native
from .text import language_family
from .types import Transcript, evolve, evolve_each

__all__ = ["ALPHA", "SpeakerSentiment", "annotate", "score_texts", "speaker_summary", "summary_dict"]

#: Squashing constant: a summed weight of 2 reads as about 0.7, 4 as about 0.9.
ALPHA = 4.0
NEGATION_FACTOR = -0.7
INTENSIFIER_FACTOR = 1.5
DAMPENER_FACTOR = 0.6
#: characters a hit may look back for a negator or intensifier (never into the previous text)
ZH_BACK = 6
EN_BACK = 25

ZH_LEXICON: dict[str, float] = {
    # complaints, anger, escalation
    "投诉": -2.0, "我要投诉": -2.5, "举报": -2.0, "曝光": -2.0, "12315": -2.0, "消协": -2.0, "工信部": -2.0,
    "太慢了": -2.0, "慢死了": -2.5, "太差了": -2.5, "差劲": -2.5, "太差": -2.5, "很差": -2.0, "垃圾": -3.0,
    "骗子": -3.0, "骗人": -2.5, "坑人": -2.5, "被坑": -2.5, "忽悠": -2.5, "敷衍": -2.5, "无语": -2.0,
    "失望": -2.5, "生气": -2.0, "气死": -3.0, "火大": -2.5, "烦死了": -2.5, "很烦": -2.0, "烦人": -2.0,
    "不满意": -2.5, "不满": -2.0, "不行": -1.0, "没用": -2.0, "有什么用": -2.0, "浪费时间": -2.5,
    "浪费": -1.5, "怎么回事": -1.5, "到底": -1.0, "搞什么": -2.0, "凭什么": -2.0, "什么态度": -2.5,
    "态度差": -3.0, "态度太差": -3.0, "态度不好": -2.5, "离谱": -2.5, "过分": -2.0, "太过分": -2.5,
    "受不了": -2.0, "崩溃": -2.0, "糟糕": -2.0, "算了": -1.5, "不管了": -1.5, "懒得": -1.5, "还没": -1.0,
    "还是没": -1.5, "又断了": -1.5, "又坏了": -1.5, "第三次": -1.5, "好几次": -1.5, "多少次": -2.0,
    "说了多少遍": -2.5, "说了好几遍": -2.5, "说过了": -1.0, "一直没": -1.5, "没人管": -2.5, "没人理": -2.5,
    "没解决": -2.0, "没有解决": -2.0, "解决不了": -2.0, "不解决": -2.0, "扣费": -1.0, "乱扣": -2.5,
    "乱收费": -2.5, "莫名其妙": -2.0, "坑": -1.5, "退款": -0.5, "赔偿": -1.0, "着急": -1.0, "急死": -2.0,
    "难受": -1.5, "麻烦死了": -2.5, "不靠谱": -2.0, "太坑": -2.5, "恶心": -2.5, "差评": -2.5, "退货": -0.5,
    "故障": -0.5, "问题": -0.3, "不能用": -1.5, "不好": -1.5, "不太好": -1.2, "用不了": -1.5, "打不通": -1.0,
    "上不了网": -1.0,
    # sarcasm and resignation
    "呵呵": -2.0, "真是服了": -2.5, "服了": -2.0, "真行": -1.5, "好棒棒": -2.0, "可真是": -1.0,
    "你们可真": -1.5, "行吧": -0.7, "就这样吧": -1.0, "随便吧": -1.0, "爱咋咋地": -2.5,
    # thanks, satisfaction, resolution
    "谢谢": 1.5, "感谢": 1.5, "多谢": 1.5, "太好了": 2.5, "太感谢": 2.5, "好的": 0.3, "满意": 2.0,
    "不错": 1.5, "很好": 1.5, "挺好": 1.5, "真好": 1.5, "解决了": 2.0, "搞定了": 2.0, "好了": 0.7,
    "明白了": 0.7, "清楚了": 0.7, "辛苦": 1.5, "麻烦你了": 1.0, "麻烦您了": 1.0, "专业": 1.5, "耐心": 1.5,
    "放心": 1.0, "高兴": 2.0, "开心": 2.0, "棒": 2.0, "完美": 2.5, "没问题": 1.0, "可以了": 0.8,
    "帮大忙": 2.0, "及时": 1.0, "贴心": 2.0, "周到": 2.0, "给力": 2.0, "靠谱": 1.5, "好评": 2.0,
    "满分": 2.5, "赞": 1.5, "优秀": 2.0, "挺快": 1.5, "很快": 1.5, "方便": 1.0,
    # questions and set phrases that contain a term but say nothing about the speaker's mood
    "解决了吗": 0.0, "好了吗": 0.0, "满意吗": 0.0, "不好意思": 0.0, "好的吗": 0.0, "不客气": 0.3, "不用谢": 0.3,
}
ZH_NEGATORS = ("一点也不", "一点都不", "不是很", "不怎么", "不太", "并不", "并没有", "从来不", "从没", "从不",
               "没有", "不是", "不", "没", "毫不", "未")  # not 别: 特别 is an intensifier
ZH_INTENSIFIERS = ("非常", "特别", "十分", "极其", "实在", "真的", "真是", "太", "很", "超", "好", "真", "挺")
ZH_DAMPENERS = ("有点", "有些", "稍微", "一点")
#: thanks are never negated: "nothing else, thanks" / 没有了，谢谢 end calls politely
ZH_UNNEGATED = frozenset({"谢谢", "感谢", "多谢", "好的", "辛苦", "麻烦你了", "麻烦您了"})

EN_LEXICON: dict[str, float] = {
    # complaints, anger, escalation
    "ridiculous": -2.5, "unacceptable": -2.5, "terrible": -2.5, "awful": -2.5, "horrible": -2.5, "worst": -3.0,
    "useless": -2.5, "pathetic": -2.5, "disappointed": -2.0, "disappointing": -2.0, "frustrated": -2.0,
    "frustrating": -2.0, "annoyed": -2.0, "annoying": -2.0, "angry": -2.5, "furious": -3.0, "upset": -2.0,
    "fed up": -2.5, "sick of": -2.5, "sick and tired": -3.0, "waste of time": -2.5, "wasting my time": -2.5,
    "complain": -1.5, "complaint": -1.5, "rude": -2.5, "incompetent": -3.0, "a joke": -2.0, "nonsense": -2.0,
    "unbelievable": -1.5, "are you kidding": -2.0, "you kidding me": -2.0, "what the hell": -2.5, "damn": -2.0,
    "hate": -2.5, "bad": -1.5, "poor": -1.0, "too slow": -2.0, "so slow": -2.0, "still not": -1.5,
    "still no": -1.5, "still waiting": -2.0, "been waiting": -1.5, "third time": -1.5, "second time": -1.0,
    "again and again": -2.0, "over and over": -2.0, "nobody": -1.0, "no one called": -2.0, "hung up": -1.5,
    "lied": -2.5, "scam": -3.0, "rip off": -3.0, "ripoff": -3.0, "forget it": -2.0, "whatever": -1.0,
    "cancel": -0.7, "refund": -0.5, "wrong": -1.0, "broken": -1.0, "problem": -0.3, "outrageous": -3.0,
    "disgusting": -3.0, "fault": -1.0, "not working": -1.0, "doesnt work": -1.0, "doesn't work": -1.0,
    "escalate": -1.5, "supervisor": -1.0, "manager": -0.5, "lawyer": -2.0, "never again": -2.5,
    "dont bother": -2.0, "don't bother": -2.0, "give up": -2.0, "i give up": -2.5, "stupid": -2.5,
    "seriously": -1.0, "confusing": -1.0, "confused": -0.7, "unhappy": -2.0, "mess": -1.5,
    # sarcasm
    "great, just great": -2.5, "just great": -2.0, "yeah right": -2.0, "yeah, right": -2.0, "oh great": -1.5,
    "oh, great": -1.5, "thanks for nothing": -3.0, "oh wonderful": -1.5, "oh, wonderful": -1.5,
    "big help": -1.0, "real helpful": -1.5, "so helpful": -0.5, "sure you will": -1.5, "oh perfect": -1.5,
    "oh, perfect": -1.5, "lovely, just lovely": -2.5,
    # thanks, satisfaction, resolution
    "thank you": 1.5, "thanks": 1.5, "thanks a lot": 2.0, "thank you so much": 2.5, "thanks so much": 2.5,
    "thank you very much": 2.5, "great": 2.0, "perfect": 2.5, "excellent": 2.5, "wonderful": 2.5,
    "awesome": 2.5, "amazing": 2.5, "good": 1.2, "nice": 1.2, "helpful": 2.0, "appreciate": 2.0,
    "appreciated": 2.0, "happy": 2.0, "glad": 1.8, "pleased": 2.0, "satisfied": 2.0, "sorted": 1.2,
    "resolved": 1.5, "fixed": 1.2, "that works": 1.0, "love": 2.0, "lovely": 2.0, "fantastic": 2.5,
    "brilliant": 2.5, "fine": 0.5, "okay": 0.2, "cool": 1.0, "no problem": 1.0, "no worries": 1.0,
    "all set": 1.0, "quick": 0.8, "easy": 1.0, "kind": 1.0, "patient": 1.0, "relieved": 1.5,
    "makes sense": 0.7, "exactly": 0.5, "wow": 0.5, "no thank you": 1.0, "no thanks": 0.8,
    "not a problem": 1.0,
    # set phrases that contain a term but say nothing about the speaker's mood
    "good morning": 0.0, "good afternoon": 0.0, "good evening": 0.0, "good day": 0.0, "good night": 0.3,
    "kind of": 0.0, "what kind": 0.0, "any kind": 0.0, "no problem at all": 1.0,
}
EN_NEGATORS = ("not", "no", "never", "dont", "don't", "doesnt", "doesn't", "didnt", "didn't", "isnt", "isn't",
               "wasnt", "wasn't", "arent", "aren't", "cant", "can't", "cannot", "wont", "won't", "hardly",
               "nothing", "neither", "nor", "without", "aint", "ain't")
EN_INTENSIFIERS = ("very", "so", "really", "extremely", "totally", "absolutely", "super", "incredibly",
                   "completely", "too", "truly", "quite", "highly", "utterly")
EN_DAMPENERS = ("a bit", "a little", "kinda", "sort of", "slightly", "somewhat")
EN_UNNEGATED = frozenset({"thank you", "thanks", "thanks a lot", "thank you so much", "thanks so much",
                          "thank you very much", "appreciate", "appreciated", "okay"})


#: A family's scorer: the texts -> the summed term weights of each text with a hit, by index (most texts have none).
_Scorer = Callable[[Sequence[str]], dict[int, float]]


def _alternation(words: Sequence[str]) -> str:
    """Longest first, so that at one position the longer entry (a sarcasm marker, 不满意) wins."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


def _trie(words: Sequence[str]) -> str:
    """The words as a prefix tree of nested groups: one branch per first character, so a position that starts no
    term fails at once (a flat alternation tries every word). Longer words win (the optional tail is greedy)."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        if "" in node:
            return "(?:" + "|".join(branches) + ")?"
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(root)


def _cased(*word_lists: Iterable[str]) -> bool:
    """Whether any word has a character with another case: if none has, lowering the text cannot make or break a
    hit (a character lowers only to cased ones), so the Chinese scan skips ``str.lower`` (and its check)."""
    return any(ch != ch.lower() or ch != ch.upper() for words in word_lists for word in words for ch in word)


def _joined(texts: Sequence[str], prefix: str, sep: str, suffix: str, fold_case: bool) -> tuple[str, Sequence[str]]:
    """``prefix + sep.join(texts) + suffix`` (lower-cased when ``fold_case``) and the texts whose offsets it keeps.

    A few characters lower-case to two (İ -> i̇): then each text is lowered first, so offsets stay those of the texts.
    """
    joined = prefix + sep.join(texts) + suffix
    if fold_case:
        lowered = joined.lower()
        if len(lowered) == len(joined):
            return lowered, texts
        texts = [t.lower() for t in texts]
        joined = prefix + sep.join(texts) + suffix
    return joined, texts


def _build_zh() -> _Scorer:
    """The Chinese scorer. A term can only start where the first two characters begin a term (or the first is a
    one-character term): numpy finds those few positions in one pass over the call's code points (a table lookup
    per pair), and only they are tried, longest term first, by slicing the text (the regex tried every position
    and cost twice as much). Only a hit after a character that ends a modifier looks back for it."""
    negator = re.compile(f"(?:{_alternation(ZH_NEGATORS)})(?:{_alternation(ZH_INTENSIFIERS)})?$")
    intensifier = re.compile(f"(?:{_alternation(ZH_INTENSIFIERS)})$")
    dampener = re.compile(f"(?:{_alternation(ZH_DAMPENERS)})$")
    modifiers = (*ZH_NEGATORS, *ZH_INTENSIFIERS, *ZH_DAMPENERS)
    last_chars = frozenset(w[-1] for w in modifiers)
    back = ZH_BACK
    weights = ZH_LEXICON
    fold_case = _ZH_FOLD_CASE

    # the characters that open a term, or come second in one -> 1..; any other (a code point past the BMP clips to
    # the table's last entry) -> 0; a pair of codes -> the lengths of the terms it can start, longest first
    heads = sorted({w[0] for w in weights} | {w[1] for w in weights if len(w) > 1})
    width = len(heads) + 1
    code = np.zeros(0x10001, dtype=np.min_scalar_type(width * width))
    for c, ch in enumerate(heads, 1):
        code[ord(ch)] = c
    lengths: list[tuple[int, ...]] = [()] * (width * width)
    for word in weights:
        first = int(code[ord(word[0])]) * width
        for pair in range(first, first + width) if len(word) == 1 else (first + int(code[ord(word[1])]),):
            lengths[pair] = tuple(sorted({*lengths[pair], len(word)}, reverse=True))
    opens = np.array(list(map(bool, lengths)))

    def look_back(text: str, lo: int, s: int, term: str) -> float:
        if term not in ZH_UNNEGATED and negator.search(text, lo, s):
            return NEGATION_FACTOR
        if intensifier.search(text, lo, s):
            return INTENSIFIER_FACTOR
        return DAMPENER_FACTOR if dampener.search(text, lo, s) else 1.0

    def scores(texts: Sequence[str]) -> dict[int, float]:
        # (the separator after the last text too: every position has a pair)
        joined, texts = _joined(texts, "", "\n", "\n", fold_case)
        codes = code.take(np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32), mode="clip")
        pairs = codes[:-1] * width + codes[1:]
        at = np.flatnonzero(opens.take(pairs))
        lens = np.fromiter(map(len, texts), dtype=np.intp, count=len(texts))
        ends = np.cumsum(lens + 1)  # where the next text starts
        owner = ends.searchsorted(at, "right")
        sums: dict[int, float] = {}
        end = 0  # of the last hit: hits do not overlap (the regex scan's order)
        for s, i, pair, lo in zip(at.tolist(), owner.tolist(), pairs.take(at).tolist(),
                                  (ends - lens - 1).take(owner).tolist(), strict=True):
            if s < end:
                continue
            for n in lengths[pair]:
                term = joined[s:s + n]
                if term in weights:
                    break
            else:
                continue
            end = s + n
            w = weights[term]
            if w and s > lo and joined[s - 1] in last_chars:  # never into the previous text
                w *= look_back(joined, max(lo, s - back), s, term)
            sums[i] = sums.get(i, 0.0) + w
        return sums

    return scores


def _build_en() -> _Scorer:
    """The English scorer: one regex scan of the call. Terms only start after a space (the text is joined with
    spaces and punctuation that can open a word is turned into spaces first), so the pattern begins with a literal
    space and the regex engine jumps from space to space instead of trying the lexicon at every letter. A hit looks
    at the two words before it only when one could modify it."""
    terms = re.compile(" " + _trie(list(EN_LEXICON)) + r"\b")
    weights = {" " + k: v for k, v in EN_LEXICON.items()}  # keyed by the matched text, with its leading space
    back = EN_BACK
    sep = "\n "  # between texts (each text starts after a space, as the first after the joined text's own)
    negators = frozenset(EN_NEGATORS)
    intensifiers = frozenset(EN_INTENSIFIERS)
    dampeners = frozenset(EN_DAMPENERS)
    unnegated = frozenset(" " + k for k in EN_UNNEGATED)
    # the last words that can change a hit (the word before it may still be a negator: "not very helpful")
    triggers = negators | intensifiers | dampeners | {d.rsplit(" ", 1)[-1] for d in dampeners}

    def factor(term: str, last: str, before: str) -> float:
        if term not in unnegated and (last in negators or (before in negators and last.isalpha())):
            return NEGATION_FACTOR
        if last in intensifiers:
            return INTENSIFIER_FACTOR
        return DAMPENER_FACTOR if last in dampeners or f"{before} {last}" in dampeners else 1.0

    def scores(texts: Sequence[str]) -> dict[int, float]:
        joined, texts = _joined(texts, " ", sep, "", True)
        joined = joined.translate(_EN_OPENERS)
        # where each text starts (one more entry, past the end: bisect needs no bound)
        starts = list(accumulate(map(len(sep).__add__, map(len, texts)), initial=1))
        sums: dict[int, float] = {}
        for m in terms.finditer(joined):
            s = m.start() + 1  # the match starts at the space before its term
            term = m.group()
            i = bisect_right(starts, s) - 1
            w = weights[term]
            lo = starts[i]
            if s > lo and w:  # the clause before the term, never in the previous text ("no, thanks")
                words = joined[max(lo, s - back):s - 1].rsplit(" ", 2)
                last = words[-1]
                before = words[-2] if len(words) > 1 else ""
                if last in triggers or before in negators:
                    w *= factor(term, last, before)
            sums[i] = sums.get(i, 0.0) + w
        return sums

    return scores


#: Characters that can open a word without a space before them (quotes, brackets, dashes): spaces for English.
_EN_OPENERS = str.maketrans({c: " " for c in "\"“”‘([{/-—–…*"} | {"’": "'"})

_SCORERS: dict[str, _Scorer] = {}


def _scorer(language: str | None) -> _Scorer:
    fam = language_family(language)
    found = _SCORERS.get(fam)
    if found is None:
        found = _SCORERS[fam] = _build_zh() if fam == "zh" else _build_en()
    return found


#: lowering the text cannot change a Chinese hit (no term or modifier has a cased character)
_ZH_FOLD_CASE = _cased(ZH_LEXICON, ZH_NEGATORS, ZH_INTENSIFIERS, ZH_DAMPENERS)
_NATIVE = native.load("_sentiment")


def _native_scorers() -> dict[str, Any] | None:
    """The C scorers of both families, built once from the tables above (None: the module is not built or off)."""
    if _NATIVE is None:
        return None
    factors = {"alpha": ALPHA, "negation": NEGATION_FACTOR, "intensifier": INTENSIFIER_FACTOR,
               "dampener": DAMPENER_FACTOR}
    return {
        "zh": _NATIVE.Scorer(family="zh", lexicon=ZH_LEXICON, unnegated=ZH_UNNEGATED, negators=ZH_NEGATORS,
                             intensifiers=ZH_INTENSIFIERS, dampeners=ZH_DAMPENERS, back=ZH_BACK,
                             fold_case=_ZH_FOLD_CASE, openers={}, **factors),
        "en": _NATIVE.Scorer(family="en", lexicon=EN_LEXICON, unnegated=EN_UNNEGATED, negators=EN_NEGATORS,
                             intensifiers=EN_INTENSIFIERS, dampeners=EN_DAMPENERS, back=EN_BACK, fold_case=True,
                             openers={c: ord(to) for c, to in _EN_OPENERS.items()}, **factors),
    }


_NATIVE_SCORERS = _native_scorers()


def score_texts(texts: Sequence[str], language: str | None) -> list[float]:
    """One sentiment in [-1, 1] per text (0.0 for a text with no lexicon term), rounded to 3 decimals."""
    if _NATIVE_SCORERS is not None:
        scores: list[float] = _NATIVE_SCORERS[language_family(language)].scores(texts)
        return scores
    return _score_texts_python(texts, language)


def _score_texts_python(texts: Sequence[str], language: str | None) -> list[float]:
    """:func:`score_texts` in Python: the reference of the C scan."""
    out = [0.0] * len(texts)
    if texts:
        for i, x in _scorer(language)(texts).items():
            if x:
                out[i] = round(x / math.sqrt(x * x + ALPHA), 3)
    return out


def annotate(transcript: Transcript) -> Transcript:
    """The transcript with every utterance's ``sentiment`` filled (computed on the text as it is: unmasked).

    Masking replaces digits with ``*`` and no lexicon term holds a digit run that masking would touch, so the
    score of the masked text is the same (tested); scoring before masking keeps it independent of masking options.
    """
    utts = transcript.utterances
    if not utts:
        return transcript
    scores = score_texts(list(map(_TEXT, utts)), transcript.language)
    if utts[0].sentiment is None:  # a fresh transcript: every utterance gets its value
        return evolve(transcript, utterances=evolve_each(utts, "sentiment", scores))
    # annotated before (a call checked again): utterances whose value did not change are kept as they are
    new = tuple(u if u.sentiment == v else evolve(u, sentiment=v) for u, v in zip(utts, scores, strict=True))
    if all(a is b for a, b in zip(new, utts, strict=True)):
        return transcript
    return evolve(transcript, utterances=new)


_TEXT = attrgetter("text")
_ROLE = attrgetter("role")
_SENTIMENT = attrgetter("sentiment")


@dataclass(frozen=True)
class SpeakerSentiment:
    """One party's sentiment over the call: first and last turns, mean, and the change (end - start).

    ``start``/``end`` average the first/last third of the turns (1 to ``EDGE_TURNS``) so one flat "ok" does not
    decide them on a long call, while a short call still compares its first and last words.
    """

    start: float
    end: float
    mean: float
    trend: float
    turns: int


EDGE_TURNS = 3


def speaker_summary(values: Sequence[float]) -> SpeakerSentiment | None:
    """The summary of one party's utterance sentiments in time order (None without turns)."""
    return SpeakerSentiment(**_party(values)) if values else None


def _party(values: Sequence[float]) -> dict[str, Any]:
    """:func:`speaker_summary`'s fields of one party's (non-empty) sentiments, as the report has them."""
    k = max(1, min(EDGE_TURNS, len(values) // 3))
    start = sum(values[:k]) / k
    end = sum(values[-k:]) / k
    mean = sum(values) / len(values)
    return {"start": round(start, 3), "end": round(end, 3), "mean": round(mean, 3), "trend": round(end - start, 3),
            "turns": len(values)}


_PARTIES = ("agent", "customer")
#: the C summary adds a party's values as sum() does where it adds floats one by one, left to right (Python 3.12's
#: sum compensates: there the Python path runs)
_NATIVE_SUMMARY = _NATIVE.summary if _NATIVE is not None and sum([1e16, 1.0, -1e16]) == 0.0 else None


def summary_dict(transcript: Transcript) -> dict[str, Any]:
    """``{"agent": {start, end, mean, trend, turns}, "customer": {...}}`` for the parties that spoke.

    Utterances without a sentiment (a transcript not annotated) are scored here.
    """
    if _NATIVE_SUMMARY is not None:
        found: dict[str, Any] | None = _NATIVE_SUMMARY(transcript.utterances, _PARTIES, EDGE_TURNS)
        if found is not None:  # (None: a sentiment is not a float, e.g. not annotated)
            return found
    return _summary_dict_python(transcript)


def _summary_dict_python(transcript: Transcript) -> dict[str, Any]:
    """:func:`summary_dict` in Python: the reference of the C summary, and the path for transcripts it leaves."""
    utts = transcript.utterances
    values = list(map(_SENTIMENT, utts))
    if None in values:
        values = score_texts(list(map(_TEXT, utts)), transcript.language)
    roles = list(map(_ROLE, utts))
    out: dict[str, Any] = {}
    for role in _PARTIES:
        # (the values as stored: a -0.0 sums as 0.0, as the sums start from the integer 0)
        mine = list(compress(values, map(role.__eq__, roles)))
        if mine:
            out[role] = _party(mine)
    return out
