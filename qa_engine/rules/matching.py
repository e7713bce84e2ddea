"""Fuzzy phrase and pattern matching against prepared utterances.

Speed matters (hundreds of calls a second on one core), so the work is split:

* per pack, every phrase is normalised once and indexed by its sound-code bigrams (Chinese)
  or token prefixes (English) in a :class:`PhraseBook`;
* per call, every utterance is normalised once (:class:`Prepared`) and looks up which phrases
  share at least one gram with it: only those reach rapidfuzz.

Chinese is compared in the sound-code space of :func:`qa_engine.text.sound_codes`, where an
exact character match and a homophone (来点 ~ 来电) are both equal; similarity is reported
as 1.0 for the exact characters and 0.95 for a pure homophone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from time import monotonic
from typing import Any

import re2
from rapidfuzz import fuzz

from .. import native
from ..text import is_cjk, normalize, normalize_many, sound_codes, sound_codes_many, to_simplified
from ..types import Utterance
from .literals import Prefiltered
from .safe_regex import RE2_UNANCHORED, compile_user_pattern, match_spans, to_re2_syntax
from .schema import MatchSpec
from .time_limit import Deadline

logger = logging.getLogger(__name__)

__all__ = ["Hit", "Matcher", "PhraseBook", "Prepared", "compile_pattern", "pattern_source", "prepare",
           "prepare_call"]

EN_STOPWORDS = frozenset(
    "a an the i im you your youre we it its is are was be been to of for in on at and or so "
    "that this with me my do can will would could have has had just please ok okay um uh yes "
    "yeah no not".split()
)
NEGATIONS = {
    "zh": ("不", "没", "别", "未", "无", "非"),
    "en": ("not", "no", "never", "dont", "didnt", "doesnt", "isnt", "wasnt", "cant", "cannot", "wont",
           "havent", "hasnt", "arent", "nothing"),
}
HOMOPHONE_SIMILARITY = 0.95
#: A fuzzy match of a phrase this short (sound codes, one per syllable) that is a syllable short must be the phrase
#: clipped at one end (您说的是 heard as 说的是): with a syllable missing inside, a four-syllable phrase still scores
#: 0.857 against everyday speech (稍等一下 in 介绍一下, benchmarks/bench_phrase_recall.py).
SHORT_PHRASE = 4
#: building the Prepared objects (and screening them) in C: qa_engine/native/_prepare.c, or None
_NATIVE_PREPARE = native.load("_prepare")
#: the C phrase search and screen filter (qa_engine/native/_match.c), None: the Python reference below runs
_NATIVE_MATCH = native.load("_match")
#: the matcher screen's literal items found in C (qa_engine/native/_screen.c), or None
_SCREEN = native.load("_screen")


@dataclass(slots=True)
class Prepared:
    """One utterance, normalised once per call; ``codes`` has the same length as ``norm``."""

    index: int
    utt: Utterance
    norm: str
    codes: str
    role: str  # the utterance's role (a field, not a property: checks read it for every utterance)
    candidates: frozenset[int] | None = None
    cache: dict[int, Hit | None] = field(default_factory=dict)
    # what the pack's MatcherScreen found here (None: not screened yet; UNSCREENED: never screened, the matchers'
    # own gates decide): the screen and the indexes of its code-space and text-space items that occur here
    found: ScreenFound | None = field(default=None, repr=False, compare=False)
    # the call's rule-evaluation deadline (given by CallContext), checked before each uncached match
    deadline: Deadline | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Hit:
    """Where a matcher fired in one utterance."""

    start: int
    end: int
    similarity: float
    phrase: str


def _en_key(tok: str) -> str:
    """An English token's index key: a short token itself, a long one its first three letters (``<ple``).

    Only the start: ASR and inflection change a word's ending more than its start, and an ending key (``ing>``,
    ``nge>``) made most long phrases candidates of most utterances (and fuzzy "exchange" found in "plans change").
    """
    return tok if len(tok) < 5 else "<" + tok[:3]


def grams_of(codes: str, family: str, unigrams: bool = True) -> set[str]:
    """The index keys of a text: code bigrams (+unigrams) for zh, token keys for en."""
    if family == "zh":
        grams = {codes[i:i + 2] for i in range(len(codes) - 1)}
        if unigrams:
            grams.update(codes)
        return grams
    return {tok if len(tok) < 5 else "<" + tok[:3] for tok in codes.split()}  # _en_key, inlined (every utterance)


def prepare_all(utts: tuple[Utterance, ...] | list[Utterance], family: str,
                deadline: Deadline | None = None) -> list[Prepared]:
    """Normalise a whole call in one pass (one opencc call, one pinyin pass); ``deadline``: the call's rule-evaluation
    deadline, which the prepared utterances carry."""
    norms = normalize_many([u.text for u in utts], family)
    codes = sound_codes_many(norms) if family == "zh" else norms
    if _NATIVE_PREPARE is not None:
        return _NATIVE_PREPARE.build_prepared(Prepared, utts, norms, codes, deadline, None, None, None, None)[0]
    # positional: keyword arguments cost as much again, per utterance of every call
    return [Prepared(i, u, n, c, u.role, None, {}, None, deadline)
            for i, (u, n, c) in enumerate(zip(utts, norms, codes, strict=True))]


def prepare_call(utts: tuple[Utterance, ...] | list[Utterance], family: str, screen: MatcherScreen,
                 deadline: Deadline | None = None) -> tuple[list[Prepared], list[Prepared], list[Prepared]]:
    """:func:`prepare_all` screened by ``screen`` (:meth:`MatcherScreen.scan_all`), and of those the agent's
    and the customer's utterances: what :class:`~.context.CallContext` starts from."""
    if _NATIVE_PREPARE is None:
        return _prepare_call_python(utts, family, screen, deadline)
    norms = normalize_many([u.text for u in utts], family)
    codes = sound_codes_many(norms) if family == "zh" else norms
    if not screen.complete:
        return _NATIVE_PREPARE.build_prepared(Prepared, utts, norms, codes, deadline, None, None, None, UNSCREENED)
    texts = _NONE_FOUND if screen.match_text is _no_match else None  # None: scanned when a matcher asks
    if screen.native_codes is not None:
        return _NATIVE_PREPARE.build_prepared(Prepared, utts, norms, codes, deadline, screen, screen.native_codes,
                                              texts, None, True)
    return _NATIVE_PREPARE.build_prepared(Prepared, utts, norms, codes, deadline, screen, screen.match_codes, texts,
                                          None)


def _prepare_call_python(utts: tuple[Utterance, ...] | list[Utterance], family: str, screen: MatcherScreen,
                         deadline: Deadline | None = None) -> tuple[list[Prepared], list[Prepared], list[Prepared]]:
    """:func:`prepare_call` in Python: the reference the C version must equal."""
    prepared = prepare_all(utts, family, deadline)
    screen.scan_all(prepared)
    return (prepared, [p for p in prepared if p.role == "agent"], [p for p in prepared if p.role == "customer"])


def prepare(index: int, utt: Utterance, family: str) -> Prepared:
    p = prepare_all([utt], family)[0]
    p.index = index
    return p


@dataclass(frozen=True)
class _Phrase:
    source: str
    norm: str
    codes: str
    fuzzy: bool  # long enough for fuzzy matching (short phrases must match exactly)


class PhraseBook:
    """All phrases of one pack, normalised once and indexed by gram."""

    def __init__(self, family: str) -> None:
        self.family = family
        self.phrases: list[_Phrase] = []
        # the phrases as the native search reads them: (codes, norm, source, fuzzy, phrase), by id
        self.rows: list[tuple[str, str, str, bool, _Phrase]] = []
        self._ids: dict[str, int] = {}
        self.index: dict[str, set[int]] = {}
        self.keys: frozenset[str] = frozenset()
        self.unigrams = False
        self.matchers: list[Matcher] = []  # every matcher compiled against this book (for the screen)
        self._screen: MatcherScreen | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Packs travel to batch worker processes by pickle; RE2 sets cannot, so the screen is rebuilt there."""
        return {**self.__dict__, "_screen": None}

    def screen(self) -> MatcherScreen:
        """The screen over all this book's matchers (rebuilt when a matcher was added since)."""
        screen = self._screen
        if screen is None or screen.size != len(self.matchers):
            screen = self._screen = MatcherScreen(self.matchers, self.family)
        return screen

    def add(self, phrase: str) -> int | None:
        norm = normalize(phrase, self.family)
        if not norm:
            return None
        codes = sound_codes(norm) if self.family == "zh" else norm
        if codes in self._ids:
            return self._ids[codes]
        pid = len(self.phrases)
        if self.family == "zh":
            fuzzy = len(norm) >= 4
            keys = [codes] if len(codes) == 1 else [codes[i:i + 2] for i in range(len(codes) - 1)]
        else:
            toks = norm.split()
            fuzzy = len(norm) >= 6
            content = [t for t in toks if t not in EN_STOPWORDS] or toks
            keys = [_en_key(t) for t in content]
        ph = _Phrase(phrase, norm, codes, fuzzy)
        self.phrases.append(ph)
        self.rows.append((ph.codes, ph.norm, ph.source, ph.fuzzy, ph))
        self._ids[codes] = pid
        for k in keys:
            self.index.setdefault(k, set()).add(pid)
        self.keys = frozenset(self.index)
        self.unigrams = self.unigrams or (self.family == "zh" and len(codes) == 1)
        return pid

    def candidates(self, p: Prepared) -> frozenset[int]:
        """Phrase ids sharing at least one gram with the utterance (cached on it)."""
        if p.candidates is None:
            found = p.found
            screen = found[0] if found is not None else None
            if screen is not None and screen is self._screen:  # the keys the screen found there
                p.candidates = screen.candidates(found[1])  # type: ignore[index]
                return p.candidates
            hits: set[int] = set()
            index = self.index
            for g in self.keys.intersection(grams_of(p.codes, self.family, self.unigrams)):
                hits |= index[g]
            p.candidates = frozenset(hits)
        return p.candidates


def pattern_source(pattern: str, family: str) -> str:
    """A pattern as written, moved to the text space matching uses (hanzi -> sound codes for zh)."""
    if family == "zh":
        pattern = to_simplified(pattern)
        pattern = "".join(sound_codes(ch) if is_cjk(ch) else ch for ch in pattern)
    return pattern


def compile_pattern(pattern: str, family: str) -> Any:
    """Compile a pack pattern for the text space matching uses, on RE2 (linear time; see :mod:`.safe_regex`)."""
    return compile_user_pattern(pattern_source(pattern, family))


class Matcher:
    """A compiled :class:`MatchSpec`: ``find(prepared)`` returns the best hit or None."""

    _next_id = 0
    #: the best hit in an utterance, cached on it: the native find bound to this matcher where built, else
    #: :meth:`_find_python`.  An attribute, not a method: the checks ask ~50 times per call, and a Python frame in
    #: front of the C find cost ~600 instructions each time.
    find: Callable[[Prepared], Hit | None]

    def __init__(self, spec: MatchSpec, book: PhraseBook, default_threshold: int) -> None:
        Matcher._next_id += 1
        self.key = Matcher._next_id
        self.family = book.family
        self.book = book
        self.threshold = spec.threshold or default_threshold
        self.ids = frozenset(i for i in (book.add(p) for p in spec.phrases) if i is not None)
        family = self.family
        self.pattern = (Prefiltered([pattern_source(p, family) for p in spec.patterns], compile_user_pattern)
                        if spec.patterns else None)
        # matched on the normalised text itself: no homophones (see MatchSpec.exact_patterns)
        self.exact_pattern = (Prefiltered([to_simplified(p) if family == "zh" else p for p in spec.exact_patterns],
                                          compile_user_pattern)
                              if spec.exact_patterns else None)
        allow = [normalize(a, self.family) for a in spec.allow]
        self.allow = [sound_codes(a) if self.family == "zh" else a for a in allow if a]
        self.allow_pattern = (Prefiltered([pattern_source(p, family) for p in spec.allow_patterns],
                                          compile_user_pattern)
                              if spec.allow_patterns else None)
        self.negate = spec.negate
        self._neg_codes = tuple(sound_codes(n) for n in NEGATIONS["zh"]) if self.family == "zh" else ()
        self._key_gate: re.Pattern[str] | None | bool = False  # built on first use
        # what the native search needs of this matcher (see qa_engine/native/_match.c: search)
        zh = family == "zh"
        negs = (self._neg_codes if zh else NEGATIONS["en"]) if self.negate else None
        self._search_cfg = (book.rows, zh, negs, self.threshold, Hit, 1.0, HOMOPHONE_SIMILARITY,
                            "_fuzzy_zh" if zh else "_fuzzy_en",
                            None if zh else (fuzz.partial_ratio_alignment, fuzz.ratio))  # en: _fuzzy_en in C
        self._find_cfg = (self.key, self._search_cfg,
                          tuple(c for _, c in self.pattern.parts) if self.pattern is not None else None,
                          tuple(c for _, c in self.exact_pattern.parts) if self.exact_pattern is not None else None,
                          bool(self.allow or self.allow_pattern), self.ids, book, monotonic, RE2_UNANCHORED)
        self.find = (partial(_NATIVE_MATCH.find, self._find_cfg, self) if _NATIVE_MATCH is not None
                     else self._find_python)
        book.matchers.append(self)

    def key_gate(self) -> re.Pattern[str] | None:
        """zh: a regex that finds one of this matcher's phrase index keys (code bigrams, or the
        code of a one-character phrase) in an utterance's codes.  When it finds none, no phrase
        of the matcher is among :meth:`PhraseBook.candidates` and the phrases are skipped
        without computing the utterance's grams.  None for en (token keys need the tokens)."""
        if self._key_gate is False:
            gate = None
            if self.family == "zh":
                keys = [g for g, pids in self.book.index.items() if not pids.isdisjoint(self.ids)]
                if keys and all(k and "\n" not in k for k in keys):
                    gate = re.compile("|".join(re.escape(k) for k in sorted(keys)))
            self._key_gate = gate
        return self._key_gate  # type: ignore[return-value]

    def may_hit(self, utts: list[Prepared]) -> list[Prepared]:
        """The utterances of ``utts`` (in order) this matcher may hit: those the screen cannot rule out.

        Why: a check that scans a whole role asks ~40 times per call and the screen rules out most; one
        filter here is cheaper than as many :meth:`find` calls that each answer None.
        """
        if _NATIVE_MATCH is None:
            return self._may_hit_python(utts)
        screen = self.book._screen
        plan = screen.plans.get(self.key) if screen is not None else None
        if plan is None:
            return utts
        return _NATIVE_MATCH.may_hit(utts, screen, plan.codes, plan if plan.text else None)

    def _may_hit_python(self, utts: list[Prepared]) -> list[Prepared]:
        """:meth:`may_hit` in Python (the reference of the native one)."""
        screen = self.book._screen
        plan = screen.plans.get(self.key) if screen is not None else None
        if plan is None:
            return utts
        codes, text = plan.codes, plan.text
        return [p for p in utts if p.found is None or p.found[0] is not screen
                or not codes.isdisjoint(p.found[1]) or (text and plan.may_match_text(p.norm))]

    def _find_python(self, p: Prepared) -> Hit | None:
        """:meth:`find` in Python: the reference of the native one, which also hands it what it does not handle
        (an utterance the screen has not seen or never sees, a matcher the screen has no plan for)."""
        cached = p.cache.get(self.key, False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        found = p.found
        if found is None:
            found = p.found = self.book.screen().scan(p)
        screen = found[0]
        live: _Live | None = None
        if screen is not None:  # can this matcher hit here? (runs ~200 times per call)
            plan = screen.plans.get(self.key)
            if plan is not None:
                codes_live = _NOTHING if plan.codes.isdisjoint(found[1]) else plan.codes.intersection(found[1])
                text_live = _NOTHING
                if plan.text and plan.may_match_text(p.norm):
                    if found[2] is None:  # the text space: scanned on the first question that needs it
                        found = p.found = screen.with_text(p)
                    if not plan.text.isdisjoint(found[2]):  # type: ignore[arg-type]
                        text_live = plan.text.intersection(found[2])  # type: ignore[arg-type]
                if not codes_live and not text_live:
                    return None
                live = (plan, codes_live, text_live)
        deadline = p.deadline
        if deadline is not None and monotonic() > deadline.at:  # (inlined: ~30 uncached matches per call)
            deadline.check()
        hit = self._find(p.codes, p, live)
        if hit is not None and (self.allow or self.allow_pattern):
            masked = self._mask_allowed(p.codes)
            if masked != p.codes:
                hit = self._find(masked, p, None)  # masking can make a pattern match ([^x]): not screened
        p.cache[self.key] = hit
        return hit

    def _mask_allowed(self, codes: str) -> str:
        chars = list(codes)
        spans: list[tuple[int, int]] = []
        for a in self.allow:
            start = codes.find(a)
            while start >= 0:
                spans.append((start, start + len(a)))
                start = codes.find(a, start + 1)
        if self.allow_pattern is not None:
            spans.extend(m.span() for m in self.allow_pattern.finditer(codes))
        for s, e in spans:
            for i in range(s, e):
                chars[i] = "\x00" if not chars[i].isspace() else chars[i]
        return "".join(chars)

    def _negated(self, codes: str, start: int) -> bool:
        if not self.negate:
            return False
        if self.family == "zh":
            before = codes[max(0, start - 2):start]
            return any(n in before for n in self._neg_codes)
        words = codes[:start].split()[-2:]
        return any(w in NEGATIONS["en"] for w in words)

    def _find(self, codes: str, p: Prepared, live: _Live | None) -> Hit | None:
        """The best hit in ``codes`` (``p.codes``, or a copy with allowed spans masked); ``live``: this matcher's
        items the screen found in ``p`` (None: not screened, every pattern and candidate is tried)."""
        pattern = self.pattern
        exact = self.exact_pattern
        if live is not None:
            plan, codes_live, text_live = live
            if pattern is not None and plan.pattern_part:  # only the patterns the screen found here, in order
                for i in _in_order([plan.pattern_part[j] for j in codes_live if j in plan.pattern_part]):
                    for a, b in match_spans(pattern.parts[i][1], codes):
                        if b > a and not self._negated(codes, a):
                            return Hit(a, b, 1.0, p.norm[a:b])  # readable, not codes
            if exact is not None and plan.exact_part:
                exact_live = text_live if self.family == "zh" else codes_live
                for i in _in_order([plan.exact_part[j] for j in exact_live if j in plan.exact_part]):
                    for a, b in match_spans(exact.parts[i][1], p.norm):
                        if b > a and not self._negated(codes, a):
                            return Hit(a, b, 1.0, p.norm[a:b])
            if plan.key_items.isdisjoint(codes_live):
                return None  # no phrase of this matcher shares a gram with the utterance
        else:
            if pattern is not None and (pattern.gate is None or pattern.gate.search(codes) is not None):
                for m in pattern.finditer(codes):
                    if m.end() > m.start() and not self._negated(codes, m.start()):
                        return Hit(m.start(), m.end(), 1.0, p.norm[m.start():m.end()])
            if exact is not None:
                # norm and codes have the same length: carry the allow mask over to the text
                text = p.norm if codes is p.codes else "".join(
                    "\x00" if c == "\x00" else n for c, n in zip(codes, p.norm, strict=True))
                for m in exact.finditer(text):
                    if m.end() > m.start() and not self._negated(codes, m.start()):
                        return Hit(m.start(), m.end(), 1.0, p.norm[m.start():m.end()])
            if not self.ids:
                return None
            gate = self.key_gate()
            if gate is not None and gate.search(p.codes) is None:  # p.codes: the grams' text
                return None
        pids = self.ids & self.book.candidates(p)
        if _NATIVE_MATCH is not None:
            return _NATIVE_MATCH.search(self._search_cfg, pids, codes, p.norm, self)
        return self._phrase_hit(pids, codes, p.norm)

    def _phrase_hit(self, pids: frozenset[int], codes: str, norm: str) -> Hit | None:
        """The best hit of the phrases ``pids`` in ``codes`` (the Python reference of the native ``search``)."""
        best: Hit | None = None
        phrases = self.book.phrases
        # the phrases said as written first: the first with an exact hit (in the candidates' order) is the answer,
        # found without scoring the others fuzzily; only a similarity of 1.0 ends the search (see _exact)
        said: dict[int, Hit] = {}
        for pid in pids:
            ph = phrases[pid]
            if ph.codes in codes:
                hit = self._exact(ph, codes, norm)
                if hit is not None:
                    if hit.similarity >= 1.0:
                        return hit
                    said[pid] = hit
        fuzzy = self._fuzzy_en if self.family == "en" else self._fuzzy_zh  # (chosen once: ~45 alignments per call)
        for pid in pids:
            hit = said.get(pid)
            if hit is None:
                hit = fuzzy(phrases[pid], codes)
            if hit is not None and (best is None or hit.similarity > best.similarity):
                best = hit
        return best

    def _exact(self, ph: _Phrase, codes: str, norm: str) -> Hit | None:
        """The phrase's first occurrence that is not negated (zh: exact codes; en: whole words).

        Its similarity is 1.0 unless (zh) the characters differ (a homophone: 0.95).  A fuzzy match never
        reaches 1.0 (that needs the exact codes, which this found, or a negated spot, which it skipped), so a
        1.0 here is the best any phrase can do.
        """
        if self.family == "en":
            padded = f" {codes} "
            start = padded.find(f" {ph.norm} ")
            while start >= 0:
                if not self._negated(codes, start):
                    return Hit(start, start + len(ph.norm), 1.0, ph.source)
                start = padded.find(f" {ph.norm} ", start + 1)
            return None
        start = codes.find(ph.codes)
        while start >= 0:
            if not self._negated(codes, start):
                end = start + len(ph.codes)
                sim = 1.0 if norm[start:end] == ph.norm else HOMOPHONE_SIMILARITY
                return Hit(start, end, sim, ph.source)
            start = codes.find(ph.codes, start + 1)
        return None

    def _fuzzy_zh(self, ph: _Phrase, codes: str) -> Hit | None:
        """A fuzzy match of a phrase without an exact one, in the sound codes."""
        if not ph.fuzzy or len(codes) * 100 < len(ph.codes) * self.threshold:
            return None  # the utterance is too short to hold the phrase (partial_ratio would align it inside)
        al = fuzz.partial_ratio_alignment(ph.codes, codes, score_cutoff=self.threshold)
        if al is None or self._negated(codes, al.dest_start):
            return None
        if len(ph.codes) <= SHORT_PHRASE and al.dest_end - al.dest_start < len(ph.codes) \
                and codes[al.dest_start:al.dest_end] not in (ph.codes[1:], ph.codes[:-1]):
            return None  # misheard or clipped at an edge, not a syllable missing inside: 介绍一下 is not 稍等一下
        return Hit(al.dest_start, al.dest_end, round(al.score / 100.0, 3), ph.source)

    def _fuzzy_en(self, ph: _Phrase, text: str) -> Hit | None:
        """A fuzzy match of a phrase without an exact one, snapped to whole words."""
        if not ph.fuzzy or len(text) * 100 < len(ph.norm) * self.threshold:
            return None
        al = fuzz.partial_ratio_alignment(ph.norm, text, score_cutoff=self.threshold)
        if al is None:
            return None
        # token level: snap the aligned span to whole words and score the word window
        s = text.rfind(" ", 0, al.dest_start) + 1
        e = text.find(" ", max(al.dest_end - 1, s))
        e = len(text) if e < 0 else e
        window = text[s:e]
        score = fuzz.ratio(ph.norm, window)
        if score < self.threshold:
            n = len(ph.norm.split())
            words = text[s:].split()[:n]
            window = " ".join(words)
            score = fuzz.ratio(ph.norm, window)
            e = s + len(window)
        if score < self.threshold or self._negated(text, s):
            return None
        return Hit(s, e, round(score / 100.0, 3), ph.source)


#: every character Python's ``str.split()`` splits on (the English token keys come from it), as an RE2 class body
_WS = "".join(f"\\x{{{c:x}}}" for c in (*range(0x9, 0xE), *range(0x1C, 0x21), 0x85, 0xA0, 0x1680,
                                         *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000))
_SCREEN_MAX_MEM = 64 << 20  # the sets hold every pattern of a pack: more room than one pattern gets


def _en_key_pattern(key: str) -> str:
    """RE2 pattern found in an English text exactly when ``key`` is among its :func:`grams_of` keys."""
    if key.startswith("<"):  # a token of five or more characters starting with key[1:]
        return f"(?:^|[{_WS}]){re2_escape(key[1:])}[^{_WS}]{{2}}"
    return f"(?:^|[{_WS}]){re2_escape(key)}(?:[{_WS}]|$)"


def re2_escape(literal: str) -> str:
    """``literal`` as an RE2 pattern that matches exactly it (every non-alphanumeric escaped as \\x{..})."""
    return "".join(c if c.isascii() and c.isalnum() else f"\\x{{{ord(c):x}}}" for c in literal)


class MatcherScreen:
    """Which of a pack's matchers can hit an utterance: one RE2 set pass over its codes (and one over its text).

    Why: a call asks ~200 (matcher, utterance) questions and ~95 % find nothing, each still costing a few
    microseconds of gates.  The sets hold every phrase index key of the book and every pattern of every
    matcher; one pass per utterance says which occur, and the utterance keeps just those item indexes
    (``Prepared.found``).  Everything else is derived only when a matcher asks: whether it can hit here
    (its items and the found ones are disjoint: it cannot), the utterance's phrase candidates (exactly
    :meth:`PhraseBook.candidates`: the ids of the keys it holds) and the matcher's patterns that match
    somewhere in it (the others cannot yield a hit, so ``_find`` skips them).  Deriving on demand matters:
    the per-utterance bookkeeping, not the RE2 pass, was most of the screen's cost.
    When a set cannot be built nothing is screened (every matcher runs in full).
    Where qa_engine/native/_screen.c is built, ``native_codes`` finds what ``match_codes`` finds, for a fraction
    of the cost (see :func:`_native_screen`); ``Prepared.found[1]`` is sorted either way.
    """

    def __init__(self, matchers: list[Matcher], family: str) -> None:
        self.size = len(matchers)
        self.family = family
        book_index: dict[str, set[int]] = matchers[0].book.index if matchers else {}
        keys = sorted(book_index)
        # codes space: the book's keys first (item i < n_keys: key i), then each matcher's patterns;
        # text space: the exact patterns (en: the codes are the text, so one space holds both)
        self.n_keys = len(keys)
        self.key_pids: list[frozenset[int]] = [frozenset(book_index[k]) for k in keys]
        codes = [re2_escape(k) if family == "zh" else _en_key_pattern(k) for k in keys]
        text: list[str] = []
        codes_sources: list[str] = []  # the pattern sources (Python syntax) of the codes space after the keys
        codes_items: dict[int, set[int]] = {m.key: set() for m in matchers}
        text_items: dict[int, set[int]] = {m.key: set() for m in matchers}
        key_items: dict[int, set[int]] = {m.key: set() for m in matchers}
        parts: dict[int, tuple[dict[int, int], dict[int, int]]] = {m.key: ({}, {}) for m in matchers}
        for i, pids in enumerate(self.key_pids):
            for m in matchers:
                if not m.ids.isdisjoint(pids):
                    key_items[m.key].add(i)
                    codes_items[m.key].add(i)
        for m in matchers:
            for spec, part_of in ((m.pattern, parts[m.key][0]), (m.exact_pattern, parts[m.key][1])):
                if spec is None:
                    continue
                in_codes = spec is m.pattern or family != "zh"
                space, owned = (codes, codes_items[m.key]) if in_codes else (text, text_items[m.key])
                for part, src in enumerate(spec.sources):
                    part_of[len(space)] = part
                    owned.add(len(space))
                    if in_codes:
                        codes_sources.append(src)
                    space.append(to_re2_syntax(src))
        literals: dict[int, tuple[str, ...] | None] = {}
        for m in matchers:
            parts_alts = [alts for alts, _ in m.exact_pattern.parts] if m.exact_pattern is not None else []
            literals[m.key] = (None if any(alts is None for alts in parts_alts)
                               else tuple(dict.fromkeys(x for alts in parts_alts for x in alts or ())))
        self.plans: dict[int, _Plan] = {
            k: _Plan(frozenset(codes_items[k]), frozenset(text_items[k]), frozenset(key_items[k]), *parts[k],
                     text_literals=literals[k])
            for k in codes_items}
        self.match_codes = _build_set(codes) if codes else _no_match
        self.match_text = _build_set(text) if text else _no_match
        self.complete = self.match_codes is not None and self.match_text is not None
        if not self.complete:
            logger.debug("matcher screen off: RE2 refused a set")
        # the codes space screened in C (qa_engine/native/_screen.c), equal to match_codes: None where not built
        self.native_codes: Any = None
        if _SCREEN is not None and self.complete and codes:
            self.native_codes = _native_screen(keys, family, codes[len(keys):], codes_sources)

    def scan(self, p: Prepared) -> ScreenFound:
        """What the screen finds in one utterance (``Prepared.found``)."""
        if not self.complete:
            return UNSCREENED
        return (self, sorted(self.match_codes(p.codes.encode("utf-8"))), self.match_text(p.norm.encode("utf-8")))

    def scan_all(self, utts: list[Prepared]) -> None:
        """Screen every utterance of a call (C-level loops: this runs for every utterance of every call)."""
        if not self.complete:
            for p in utts:
                p.found = UNSCREENED
            return
        codes = map(sorted, map(self.match_codes, map(str.encode, [p.codes for p in utts])))
        texts = _NONE_FOUND if self.match_text is _no_match else None  # None: scanned when a matcher asks
        for p, c in zip(utts, codes, strict=True):
            p.found = (self, c, texts)

    def with_text(self, p: Prepared) -> ScreenFound:
        """``p.found`` with its text space scanned (the few text-space patterns are asked about rarely)."""
        assert p.found is not None
        return (self, p.found[1], self.match_text(p.norm.encode("utf-8")))

    def candidates(self, codes_found: list[int]) -> frozenset[int]:
        """The phrase ids of the book's keys among the found items."""
        n = self.n_keys
        pids = self.key_pids
        return frozenset().union(*[pids[i] for i in codes_found if i < n])


@dataclass(frozen=True, slots=True)
class _Plan:
    """One matcher's items in a :class:`MatcherScreen`: what makes it live in an utterance, and what they are."""

    codes: frozenset[int]  # its items in the codes space (phrase keys and patterns)
    text: frozenset[int]  # its items in the text space (zh exact patterns)
    key_items: frozenset[int]  # the phrase keys among ``codes``
    pattern_part: dict[int, int]  # item -> index of the pattern in ``Matcher.pattern``
    exact_part: dict[int, int]  # item -> index of the pattern in ``Matcher.exact_pattern``
    # strings one of which every match of a text-space item holds (None: not known): without one, no scan
    text_literals: tuple[str, ...] | None = None

    def may_match_text(self, norm: str) -> bool:
        """Whether a text-space item of the matcher may match ``norm`` (one of their required literals is in it)."""
        literals = self.text_literals
        if literals is None:
            return True
        if len(literals) == 1:  # the usual case (又): no generator
            return literals[0] in norm
        return any(x in norm for x in literals)


ScreenFound = tuple[MatcherScreen | None, list[int], list[int] | None]
#: what ``Matcher.find`` hands ``_find``: the matcher's plan and its items found in the codes and the text
_Live = tuple[_Plan, frozenset[int], frozenset[int]]
#: ``Prepared.found`` of an utterance that is never screened (its matchers run their own gates only)
UNSCREENED: ScreenFound = (None, [], [])
_NONE_FOUND: list[int] = []
_NOTHING: frozenset[int] = frozenset()


def _in_order(parts: list[int]) -> list[int]:
    """``parts`` sorted (most hold one: no sort call then)."""
    if len(parts) > 1:
        parts.sort()
    return parts


def _no_match(_text: bytes) -> list[int]:
    """The match function of an empty set."""
    return _NONE_FOUND


def _build_set(patterns: list[str]) -> Any:
    """An unanchored RE2 set of ``patterns`` (its match function: UTF-8 bytes -> indexes), None if RE2 refuses."""
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _SCREEN_MAX_MEM
    rset = re2.Set.SearchSet(options)
    try:
        for pattern in patterns:
            rset.Add(pattern)
        rset.Compile()
    except re2.error:
        return None
    return rset._set.Match  # the binding itself: no per-call wrapper


# ---- the codes space screened in C (qa_engine/native/_screen.c) ---------------------------------------------------
# An item found by RE2 in ``codes`` is found there by the C screen too: one Aho-Corasick pass finds the book's keys
# and the patterns that are a finite set of literals (each literal with where it must stand: the flags below) or
# such sets with gaps of any characters between them (chains: ``A.{0,24}B``); only the other patterns go to a smaller
# RE2 set, called where every gate group of one of them occurs (a group: literals one of which every match holds).
# Why: the RE2 binding costs ~6k instructions an utterance, ~1k of them the search; the pass costs far less.
_AT_START, _AT_END, _TOKEN_START, _TOKEN_END, _TAIL2, _GATE, _SEGMENT = 1, 2, 4, 8, 16, 32, 64
_GATE_GROUP_SHIFT = 8  # a gate's flags: _GATE | its group << _GATE_GROUP_SHIFT
_UNBOUNDED = -1  # a gap's upper bound where it has none (.{3,})
_EXPANSIONS_MAX = 512  # literals one pattern may expand to (past that it stays an RE2 pattern)
_CLASS_MAX = 64  # characters one class may stand for in an expansion
# the pattern syntax where Python's parser (which the expansions and required literals come from) and RE2 agree:
# no inline flags other than (?:, escapes of punctuation and of the classes to_re2_syntax rewrites, counted repeats
_SAFE_ESCAPE = re.compile(r"\\(?:[^0-9A-Za-z]|[dDwWsSbBntrfv])")
_SAFE_REPEAT = re.compile(r"\{\d+(?:,\d*)?\}")
_Expansion = tuple[bool, str, bool]  # (must start the text, literal, must end the text)


def _safe_syntax(src: str) -> bool:
    """Whether ``src`` reads the same to Python's parser and to RE2 (as far as literals go)."""
    rest = _SAFE_REPEAT.sub("", _SAFE_ESCAPE.sub("", src))
    return "\\" not in rest and "{" not in rest and "}" not in rest and "(?" not in rest.replace("(?:", "")


def _concat(left: list[_Expansion], right: list[_Expansion]) -> list[_Expansion] | None:
    """Every expansion of ``left`` followed by one of ``right`` (those anchors make impossible dropped)."""
    out: list[_Expansion] = []
    for a_start, a, a_end in left:
        for b_start, b, b_end in right:
            if (a_end and b) or (b_start and a):  # text after the end, or before the start
                continue
            out.append((a_start or b_start, a + b, a_end or b_end))
            if len(out) > _EXPANSIONS_MAX:
                return None
    return out


def _expand(seq: Any) -> list[_Expansion] | None:
    """The literals a parsed pattern (Python's ``re._parser``) matches, or None when they are not few and finite."""
    from re import _constants as sre_c  # type: ignore[attr-defined]

    out: list[_Expansion] | None = [(False, "", False)]
    for op, av in seq:
        part: list[_Expansion] | None
        if op is sre_c.LITERAL:
            part = [(False, chr(av), False)]
        elif op is sre_c.IN:
            chars: list[str] = []
            for item_op, item_av in av:
                if item_op is sre_c.LITERAL:
                    chars.append(chr(item_av))
                elif item_op is sre_c.RANGE and item_av[1] - item_av[0] < _CLASS_MAX:
                    chars.extend(map(chr, range(item_av[0], item_av[1] + 1)))
                else:  # a negated class, a category (\d): not a few literals
                    return None
            part = [(False, c, False) for c in dict.fromkeys(chars)][:_CLASS_MAX + 1]
            if len(part) > _CLASS_MAX:
                return None
        elif op is sre_c.BRANCH:
            part = []
            for branch in av[1]:
                sub = _expand(branch)
                if sub is None:
                    return None
                part.extend(sub)
        elif op is sre_c.SUBPATTERN:
            _group, add_flags, del_flags, sub_seq = av
            part = _expand(sub_seq) if not add_flags and not del_flags else None
        elif op is sre_c.MAX_REPEAT or op is sre_c.MIN_REPEAT:
            low, high, sub_seq = av
            sub = _expand(sub_seq)
            if sub is None or high > 4:
                return None
            part = []
            for count in range(low, high + 1):
                times: list[_Expansion] | None = [(False, "", False)]
                for _ in range(count):
                    times = _concat(times, sub) if times is not None else None
                if times is None:
                    return None
                part.extend(times)
        elif op is sre_c.AT and av is sre_c.AT_BEGINNING:
            part = [(True, "", False)]
        elif op is sre_c.AT and av is sre_c.AT_END:
            part = [(False, "", True)]
        else:
            return None
        out = _concat(out, part) if out is not None and part is not None else None
        if out is None:
            return None
    return out


#: a pattern that is literals apart: its segments' expansions, the gap (.{lo,hi}) before each segment, and the
#: least gap after the last one
_Chain = tuple[list[list[_Expansion]], list[tuple[int, int]], int]


def _parsed(src: str) -> list[Any] | None:
    """``src`` parsed by Python's ``re._parser``, or None where RE2 may read it differently or it has flags."""
    from re import _parser as sre_parse  # type: ignore[attr-defined]

    if not _safe_syntax(src):
        return None
    try:
        parsed = sre_parse.parse(src)
    except re.error:
        return None
    return None if parsed.state.flags & ~re.UNICODE else list(parsed)


def _chain(src: str) -> _Chain | None:
    """``src`` as segments of literals with gaps of any characters but a newline (``A.{0,24}B``) between them (and
    before the first and after the last), or None where it is not such a pattern."""
    from re import _constants as sre_c  # type: ignore[attr-defined]

    seq = _parsed(src)
    if seq is None:
        return None
    pieces: list[list[Any]] = [[]]
    gaps: list[tuple[int, int]] = []
    for op, av in seq:
        if op is sre_c.ANY:  # one character but a newline
            gaps.append((1, 1))
            pieces.append([])
            continue
        if op is sre_c.MAX_REPEAT or op is sre_c.MIN_REPEAT:
            low, high, sub = av
            if len(sub) == 1 and sub[0][0] is sre_c.ANY:  # (no DOTALL: the flags were checked)
                gaps.append((low, _UNBOUNDED if high is sre_c.MAXREPEAT else high))
                pieces.append([])
                continue
        pieces[-1].append((op, av))
    if not gaps:
        return None
    lead, trail = pieces[0] == [], pieces[-1] == []
    inner = pieces[1 if lead else 0:len(pieces) - 1 if trail else len(pieces)]
    if not inner or any(not piece for piece in inner):
        return None
    segments = [_expand(piece) for piece in inner]
    if any(x is None or any(not literal for _, literal, _ in x) for x in segments):
        return None
    leading = gaps[0] if lead else (0, 0)
    between = gaps[1 if lead else 0:len(gaps) - 1 if trail else len(gaps)]
    trailing = gaps[-1][0] if trail else 0
    return [list(dict.fromkeys(x)) for x in segments if x is not None], [leading, *between], trailing


def _expansions(src: str) -> list[_Expansion] | None:
    """The literals (with their anchors) one of which occurs where the pattern ``src`` matches, and only there; None
    where the pattern is not such a finite set or an empty match is possible."""
    parsed = _parsed(src)
    found = _expand(parsed) if parsed is not None else None
    if found is None or any(not x for _, x, _ in found):
        return None
    return list(dict.fromkeys(found))


def _required_groups(seq: Any) -> list[tuple[str, ...]]:
    """Sets of literals, every match of a parsed pattern holding one literal of each set (its gate groups): each
    run of literals, each class of a few characters, and the groups of each part that every match passes."""
    from re import _constants as sre_c  # type: ignore[attr-defined]

    groups: list[tuple[str, ...]] = []
    run: list[str] = []
    for op, av in [*seq, (None, None)]:
        if op is sre_c.LITERAL:
            run.append(chr(av))
            continue
        if run:
            groups.append(("".join(run),))
            run = []
        if op is sre_c.IN and all(item_op is sre_c.LITERAL for item_op, _ in av) and len(av) <= _CLASS_MAX:
            groups.append(tuple(dict.fromkeys(chr(c) for _, c in av)))
        elif op is sre_c.SUBPATTERN and not av[1] and not av[2]:
            groups.extend(_required_groups(av[3]))
        elif (op is sre_c.MAX_REPEAT or op is sre_c.MIN_REPEAT) and av[0] >= 1:
            groups.extend(_required_groups(av[2]))
        elif op is sre_c.BRANCH:  # one literal of a group of each branch (its most selective: longest, fewest)
            branches = [_required_groups(branch) for branch in av[1]]
            if all(branches):
                best = [min(b, key=lambda g: (-min(map(len, g)), len(g))) for b in branches]
                union = tuple(dict.fromkeys(x for g in best for x in g))
                if len(union) <= _CLASS_MAX:
                    groups.append(union)
    return groups


def _gate_groups(src: str) -> list[tuple[str, ...]]:
    """The gate groups of the pattern ``src`` (none where Python's parser and RE2 may read it differently)."""
    parsed = _parsed(src)
    return [g for g in _required_groups(parsed) if all(g)][:64] if parsed is not None else []


def _native_screen(keys: list[str], family: str, patterns: list[str], sources: list[str]) -> Any:
    """The C screen of a codes space, ``keys`` (the book's) then ``patterns`` (RE2 syntax, from ``sources``): the
    keys and the finite patterns as literals, the chains, the other patterns in an RE2 set behind their gates; None
    where it cannot be built (``match_codes`` screens then)."""
    assert _SCREEN is not None
    literals: list[tuple[str, int, int]] = []
    regex: list[str] = []
    regex_items: list[int] = []
    regex_groups: list[int] = []
    chains: list[tuple[int, int, int, int]] = []  # (item, its first segment, segments, least gap after the last)
    segment_gaps: list[tuple[int, int]] = []  # each segment's gap before it (the first's: the least only counts)
    for item, key in enumerate(keys):
        if family == "zh":
            literals.append((key, item, 0))
        elif key.startswith("<") and len(key) > 1:  # _en_key_pattern: a long token starting with key[1:]
            literals.append((key[1:], item, _TOKEN_START | _TAIL2))
        elif not key.startswith("<"):  # a whole token
            literals.append((key, item, _TOKEN_START | _TOKEN_END))
        else:
            regex.append(_en_key_pattern(key))
            regex_items.append(item)
            regex_groups.append(0)
    for offset, (pattern, src) in enumerate(zip(patterns, sources, strict=True)):
        item = len(keys) + offset
        expansions = _expansions(src)
        if expansions is not None:
            literals.extend((x, item, _AT_START * start | _AT_END * end) for start, x, end in expansions)
            continue
        chain = _chain(src)
        if chain is not None and len(chain[0]) <= 64:  # (the C keeps which segments stand in 64 bits)
            segments, gaps, trailing = chain
            chains.append((item, len(segment_gaps), len(segments), trailing))
            for segment, gap in zip(segments, gaps, strict=True):
                literals.extend((x, len(segment_gaps), _SEGMENT | _AT_START * start | _AT_END * end)
                                for start, x, end in segment)
                segment_gaps.append(gap)
            continue
        groups = _gate_groups(src)
        literals.extend((x, len(regex), _GATE | group << _GATE_GROUP_SHIFT)
                        for group, alts in enumerate(groups) for x in alts)
        regex.append(pattern)
        regex_items.append(item)
        regex_groups.append(len(groups))
    match = _build_set(regex) if regex else None
    if (regex and match is None) or any(not x for x, _, _ in literals):
        return None
    try:
        return _SCREEN.Screen(literals, len(keys) + len(patterns), match, regex_items, regex_groups, chains,
                              segment_gaps)
    except OverflowError:  # past what the C indexes (65,535 distinct characters): RE2 alone screens
        return None
