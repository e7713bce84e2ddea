"""Find and mask customer phone, ID and bank-card numbers and e-mail addresses in every text the engine returns.

What counts as a number: any decimal digit in any script (``1``, full-width ``１``, Arabic-Indic
``١``…), Chinese numerals read digit by digit (一二三…, 零/〇/洞 = 0, 幺 = 1, 两 = 2, 拐 = 7,
勾 = 9, 大写 壹贰叁…), English digit words (``zero``/``oh``/``o`` … ``nine``, ``double five``,
``triple one``) and numbers read in pairs, two digits each (``ten`` … ``nineteen``, ``twenty`` …
``ninety``, ``thirty-four``/``thirty four``: "five five five, twelve thirty-four" is 7 digits),
mixed freely.  ``[<digit>] hundred`` ("eight hundred, five five five…") counts no digit: it joins a
run and is masked with it, but never makes one, so "one hundred and five" stays readable.
Digits form one *run* when only separators stand between them: spaces, dashes, dots, commas,
slashes, brackets, ``+`` (``+86``, ``(555) 123-4567``), spoken separators (``dash``, 杠) and
fillers (嗯, 呃, uh, um).

A run is an identifier when it has
* 7 or more digits (mobiles 11, IDs 15/18 with a trailing X, cards 16-19, landlines 7-8, and the
  10- or 8-digit remains of a mobile that ASR dropped a digit from), or
* 4 or more digits right after a cue (手机, 尾号, 卡号, 验证码, phone, card, last four…; the
  "four" of "last four" is the cue's, not the number's: "last four twelve thirty-four").

Before runs are formed, digits that read as something else are set aside and stay readable:
amounts (``2,499元``, ``$1,299.99``, ``1234万``), counts and durations with a unit (``105
minutes``, ``30G``), dates (``2024-03-12``, ``3/12/2024``, ``March 12, 2024``), times
(``10:30``) and thousands-grouped numbers (``1,234,567``).  Numbers written with place words
(两千四百九十九元, 八月二号, one hundred and five) never form runs, and a short run of number
words followed by a unit (``forty nine ninety nine dollars``, ``nineteen ninety nine a month``)
is not an identifier, even after a cue.  A compact date such as ``20240312`` and order numbers
of 7+ digits are masked: they read as identifiers, and an order number can identify the
customer too.  A year read in pairs (``twenty twenty-four``) is 4 digits: readable unless a cue
is right before it.

A number read over several utterances (ASR splits ``122`` | ``-324-7942.``) is found by
reading consecutive utterances of the same speaker (same channel, speaker and role) together
when less than ``max_gap_s`` (5 s) lies between them; utterances of the other party in between
(``嗯``, ``okay``) do not break the chain, and filler-only utterances of the same speaker are
skipped.

Masking style: **every digit of an identifier becomes ``*``** (``***********``, ``***-****-****``,
``**** *** ****``), nothing is kept.  The design's 138****5678 shows 7 of 11 digits; with ASR
splitting and re-reading numbers the shown parts of several readings add up to the whole
number, so no part is kept.  Separators stay, and every masked character becomes one ``*``,
so the text keeps its length: word timings and character positions still line up, and an
utterance's words are masked exactly where its text is.  E-mail addresses keep only ``@``,
dots and spaces (``****.*****@*****.***``).

Entry points: :func:`mask_text` (one string), :func:`mask_utterance`, :func:`mask_transcript`
(texts and words, across utterances), :func:`find_pii_spans` (what was masked, with word
indices and times, for silencing the audio), :func:`redact_transcript` (both at once) and
:func:`mask_call` (a transcript and its findings, consistently).
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from operator import attrgetter, is_
from typing import Literal, NamedTuple

import re2

from . import native
from .types import Finding, Transcript, Utterance, Word, build, evolve, evolve_each

logger = logging.getLogger(__name__)
_NATIVE = native.load("_pii")  # qa_engine/native/_pii.c: _flag's pass over a call's strings (None: Python's)

__all__ = [
    "MIN_DIGITS", "MIN_DIGITS_AFTER_CUE", "MAX_GAP_S", "PiiKind", "PiiSpan", "PiiMatch",
    "find_pii", "mask_text", "mask_utterance", "mask_transcript", "find_pii_spans", "redact_transcript",
    "mask_finding", "mask_call", "redact_call", "mask_data", "mask_optional", "mask_at", "may_continue",
]

MIN_DIGITS = 7            # a run this long is an identifier (landline, partly heard mobile, ID, card)
MIN_DIGITS_AFTER_CUE = 4  # ... or this long right after 手机/尾号/卡号/phone/card...
MAX_GAP_S = 5.0           # utterances of one speaker closer than this are read together

PiiKind = Literal["phone", "id_number", "bank_card", "number", "email"]

# --- patterns ---------------------------------------------------------------------------------

# Chinese numerals read digit by digit: 零〇○洞 0, 一幺壹 1, 二两兩贰貳 2, 三叁參叄 3, 四肆 4, 五伍 5,
# 六陆陸 6, 七拐柒 7, 八捌 8, 九勾玖 9
_CN_DIGITS = "零〇○洞一幺壹二两兩贰貳三叁參叄四肆五伍六陆陸七拐柒八捌九勾玖"
_DIGIT_CHAR = rf"[\d{_CN_DIGITS}]"  # \d: every Unicode decimal digit (full width, Arabic-Indic, Devanagari...)
_EN_WORDS = ("zero", "oh", "o", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# numbers read in pairs or groups ("twelve thirty-four", "nineteen eighty-five"): two digits each
_EN_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
             "nineteen")
_EN_TENS = ("twenty", "thirty", "forty", "fourty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_PAIR_WORDS = (*_EN_TEENS, *_EN_TENS)
_SEP_CHARS = r"[\s\-‐‑‒–—―－_.．。,，、·・/／\\()（）\[\]【】+＋]"
_ZH_FILLERS = "嗯|呃|额|啊|哦|噢|唔|诶|欸|横杠|杠"
_EN_FILLERS = "uh|um|umm|er|erm|ah|hmm|dash|hyphen"


class _Patterns:
    """The unit, token, run and pair patterns in one of five forms.

    ``ci``: any text (English words matched case-insensitively); ``low``: ASCII text that was
    lower-cased first (no re.IGNORECASE: several times faster); ``digits``: text with no English
    number word (units are digit characters: the patterns start with a character class, which
    re scans for quickly).  ``pairs`` adds the words read in pairs ("twelve", "thirty-four", two
    digits each) and "<digit> hundred" (no digit of its own: it joins a run, never makes one);
    only texts holding such a word take it (``ci`` always has it).  All forms find the same
    units in the text they are for.
    """

    def __init__(self, form: str, pairs: bool = False) -> None:
        self.pairs = pairs
        if form == "digits":
            unit = _DIGIT_CHAR
            token = _DIGIT_CHAR + "+"
            filler = rf"(?:{_ZH_FILLERS}|(?i:(?<![A-Za-z])(?:{_EN_FILLERS})(?![A-Za-z])))"
        else:
            nb, na = (r"(?<![A-Za-z'’])", r"(?![A-Za-z'’])") if form == "ci" else (r"(?<![a-z'’])", r"(?![a-z'’])")
            words = "(?:" + "|".join(_EN_WORDS) + ")"
            mult = r"(?:double|triple)[\s-]+"
            ci = "(?i:" if form == "ci" else "(?:"
            grouped = ""
            if pairs:  # tried first: "seventy" before "seven", "five hundred" before "five"
                ones = "(?:" + "|".join(_EN_WORDS[3:]) + ")"
                tens, teens = "|".join(_EN_TENS), "|".join(_EN_TEENS)
                grouped = rf"(?P<h>(?:{ones}[\s-]+)?hundred)|(?P<p>(?:{tens})(?:[\s-]+{ones}{na})?|{teens})|"
            plain = grouped.replace("(?P<h>", "(?:").replace("(?P<p>", "(?:")
            unit = rf"(?:{_DIGIT_CHAR}|{ci}{nb}(?:{plain}(?:{mult})?{words}){na})|{ci}{nb}{mult}){_DIGIT_CHAR})"
            token = rf"{_DIGIT_CHAR}|{ci}{nb}(?:{grouped}(?P<m1>{mult})?{words}){na})" \
                    rf"|{ci}{nb}(?P<m2>{mult})){_DIGIT_CHAR}"
            filler = rf"(?:{_ZH_FILLERS}|{ci}(?<![A-Za-z])(?:{_EN_FILLERS})(?![A-Za-z])))"
        # possessive and lazy: separators, fillers and units never overlap, so nothing is lost by not
        # backtracking, and the common case (digit after digit) is tried first
        sep = rf"{_SEP_CHARS}{{0,4}}+(?:{filler}{_SEP_CHARS}{{0,3}}+){{0,2}}?"
        self.token = re.compile(token)
        # two units at least: one token is never enough (the most, "triple x", is 3 < MIN_DIGITS_AFTER_CUE)
        self.run = re.compile(rf"{unit}(?:{sep}{unit})+")
        self.pair = re.compile(rf"{unit}{sep}{unit}")
        self.gate = re.compile(unit)
        self.filler = filler


_CI = _Patterns("ci", pairs=True)
_LOW = _Patterns("low")
_LOW_PAIRS = _Patterns("low", pairs=True)
_DIGITS = _Patterns("digits")
_LATIN = re.compile(r"[A-Za-z]")
_HAS_DIGIT = re.compile(r"\d")
_FILLER_ONLY = re.compile(
    rf"(?:\s|[{re.escape('.,，。、!！?？…~-')}]|{_CI.filler}|(?i:okay|ok|yeah|yes|right|mhm|uh-huh)|对|好|是)*")

# Digits that read as something else, set aside before runs are formed.
_NUM = r"(?>\d{1,3}(?:,\d{3})++(?:\.\d++)?(?![\d,])|\d{1,8}+(?:\.\d++)?(?!\d))"
_ZH_UNITS = ("元(?!旦|宵)|块|圆|角|毛钱|万|亿|千|百|美元|美金|港币|欧元|英镑|日元|人民币|刀|％|%|个|次|分钟|分|秒|"
             "小时|天|日|号(?!码)|月|年|岁|周|兆|人|台|条|件|张|位|遍|点|倍|期|楼|层|栋|室|单元|米|公里|斤|克|度|套|份|户|折|G|M|K|T")
_EN_UNITS = ("dollars?|bucks|cents?|yuan|rmb|usd|euros?|pounds?|percent|minutes?|mins?|hours?|hrs?|seconds?|secs?|"
             "gigabytes?|megabytes?|kilobytes?|terabytes?|gigs?|"
             "days?|weeks?|months?|years?|times|gigs?|gb|mb|kb|tb|megs?|k|m|people|users|customers|calls|items|points|"
             "miles|km|kg|lbs|am|pm|a\\.m\\.|p\\.m\\.|o'clock|st|nd|rd|th")
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
# tried where a run of ASCII/Unicode digits starts
_PROTECT_AT = re.compile("|".join([
    _NUM + rf"\s?(?:{_ZH_UNITS}|(?i:(?:{_EN_UNITS})(?![A-Za-z])))",             # 2499元 30G 105 minutes
    r"\d{1,2}[:：]\d{2}(?:[:：]\d{2})?(?!\d)",                                      # 10:30
    r"(?:19|20)\d{2}([-/.])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])(?!\d)",   # 2024-03-12
    r"(?:0?[1-9]|[12]\d|3[01])([-/.])(?:0?[1-9]|[12]\d|3[01])\2(?:19|20)\d{2}(?!\d)",  # 12/03/2024
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])",                                    # 1,234,567
]))
_CURRENCY = "$¥￥€£"
_AMOUNT = re.compile(_NUM)
_DAY_YEAR = re.compile(r"\d{1,2}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{2}(?!\d)")      # (March) 12, 2024
_MONTH_BEFORE = re.compile(rf"(?i:(?<![A-Za-z])(?:{_MONTHS})[a-z]*\.?\s+)$")
_CN_YEAR = re.compile(r"[零〇○一二三四五六七八九两]{2,4}(?=年)")                       # 二零一五年
_DIGIT_RUN = re.compile(r"\d+")
# words after which 4-6 digits are an identifier (the tail of a phone or card number, a code)
_ZH_CUES = ("手机", "电话", "号码", "卡号", "身份证", "证件", "尾号", "账号", "帐号", "户号", "座机", "固话", "验证码",
            "密码", "联系方式", "微信", "qq")
_EN_CUES = ("phone", "cell", "mobile", "card", "account", "acct", "id", "ssn", "social security", "ending in",
            "ends in", "last four", "last 4", "pin", "passcode", "code", "zip", "postcode", "passport", "license",
            "licence", "extension", "ext", "number", "digits")
_CUES = _ZH_CUES + _EN_CUES
# a cue inside one of these is not one: a staff or order number is not the customer's
_NOT_CUES = ("电话费", "话费", "number of", "numbers of", "agent number", "employee number", "staff number",
             "badge number", "room number", "flight number", "train number", "model number", "order number",
             "ticket number", "reference number", "version number", "house number", "agent id", "staff id",
             "employee id", "train id", "order id", "ticket id", "area code")
_CUE_WINDOW = 24  # characters before a run where a cue is looked for
_CUE_GAP = 10     # at most this many characters (no digit) between the cue and the run
_X_AFTER = re.compile(r"[\s\-]?(?:[xX×ｘＸ](?![A-Za-z])|叉|艾克斯)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TLD = "com|net|org|edu|gov|cn|io|co|uk|us|de|info|biz|me|ca|au|jp|hk|tw"
_DOT = r"(?:\s(?:dot|点)\s|\.)"
_EMAIL_SPOKEN = re.compile(
    rf"(?i:(?<![A-Za-z0-9])[a-z0-9][a-z0-9._-]*(?:\s(?:dot|underscore|dash)\s[a-z0-9._-]+)*"
    rf"\s?(?:\sat\s|\s?@\s?|\s?艾特\s?)[a-z0-9-]+(?:{_DOT}[a-z0-9-]+)*{_DOT}(?:{_TLD})(?![A-Za-z0-9]))")
_DOTTED = re.compile(rf"(?i:\w\.(?:{_TLD})(?![A-Za-z]))")


class PiiMatch(NamedTuple):
    """One identifier found in a string: its extent, kind, digit count and the character ranges masked."""

    start: int
    end: int
    kind: PiiKind
    digits: int
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class PiiSpan:
    """Where one identifier (or one part of it, when split over utterances) was spoken.

    ``utterance_index`` is the index into ``transcript.utterances``; ``word_indices`` the words
    of that utterance that were masked (empty when the utterance has no words); ``start``/``end``
    (seconds) cover those words, or the whole utterance when it has no word timings
    (``exact`` False).  Parts of one identifier read over several utterances share ``group``.
    """

    utterance_index: int
    kind: PiiKind
    start: float
    end: float
    word_indices: tuple[int, ...]
    group: int
    exact: bool = True


def _kind(digits: int, has_x: bool) -> PiiKind:
    if has_x or digits in (15, 18):
        return "id_number"
    if 16 <= digits <= 19:
        return "bank_card"
    if 7 <= digits <= 13:
        return "phone"
    return "number"


_WORD_HINTS = ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "double", "triple",
               *_EN_PAIR_WORDS, "hundred")
# a word read in pairs, or "hundred": the text takes the pairs form (the others never need it)
_PAIR_WORD = re.compile(rf"(?<![a-z'’])(?:{'|'.join((*_EN_PAIR_WORDS, 'hundred'))})(?![a-z'’])")
_O_ALONE = re.compile(r"o(?![a-z'’])(?<![a-z'’]o)")


def _ascii_letter(c: str) -> bool:
    return "a" <= c <= "z" or "A" <= c <= "Z"


def _word_units(low: str) -> int:
    """How many English digit words ``low`` (lower case) seems to have: 0, 1 or 2 (two or more)."""
    n = 0
    for w in _WORD_HINTS:
        if w in low:
            i = low.find(w)
            while i >= 0:
                j = i + len(w)
                if (i == 0 or not _ascii_letter(low[i - 1])) and (j == len(low) or not _ascii_letter(low[j])):
                    n += 1
                    if n > 1:
                        return n
                i = low.find(w, j)
    if "o" in low and (n or " o " in low or _DIGITS.gate.search(low)):  # "o" (zero) counts next to digits
        n += len(_O_ALONE.findall(low))
    return min(n, 2)


def _form(s: str) -> tuple[_Patterns, str, int]:
    """The pattern form for ``s``, the string to match it on (lower-cased for English words) and
    how many English digit words it seems to have (0, 1, 2+)."""
    if s.isascii():
        low = s.lower()
        words = _word_units(low)
        if not words:
            return _DIGITS, s, 0
        return (_LOW_PAIRS if _PAIR_WORD.search(low) else _LOW), low, words
    if not _LATIN.search(s):
        return _DIGITS, s, 0
    words = _word_units(s.casefold())  # casefold: "ſix" reads "six", as re.IGNORECASE matches it
    return (_CI, s, words) if words else (_DIGITS, s, 0)


_NO_UNITS: tuple[int, _Patterns, str] = (0, _DIGITS, "")


def _level(s: str | None) -> tuple[int, _Patterns, str]:
    """How far ``s`` needs looking at, with its pattern form and the string to match on.

    0: no digit unit; 1: some; 2: an e-mail address may be there; 3: two units side by side
    (a run may start here)."""
    if not s:
        return _NO_UNITS
    pat, m, words = _form(s)
    if words < 2 and _DIGITS.gate.search(m) is None:  # no digit character: a pair needs two words
        return (2 if _may_have_email(s) else (1 if words else 0)), pat, m
    if pat.pair.search(m) is not None:
        return 3, pat, m
    return (2 if _may_have_email(s) else 1), pat, m


def _may_have_email(s: str) -> bool:
    """``s`` may hold an e-mail address (written, or spoken: "john dot smith at gmail dot com")."""
    if "@" in s or "艾特" in s:
        return True
    if " at " not in s and " AT " not in s and " At " not in s:
        return False
    return " dot " in s or " DOT " in s or " Dot " in s or "点" in s or _DOTTED.search(s) is not None


# --- many strings at once: which of them need looking at ------------------------------------------------------

_SEP = "\x00"  # joins the strings: no pattern here matches it, so no match runs from one string into the next
# every decimal digit of the BMP (what \d matches there) and the Chinese digits: re scans a plain class several
# times faster than one with \d in it; strings with characters beyond the BMP are scanned with \d itself
_BMP_DIGITS = "".join(filter(str.isdecimal, map(chr, range(0x10000))))
_BMP_UNIT = rf"[{re.escape(_BMP_DIGITS)}{_CN_DIGITS}]"
_DIGIT_LINE = re.compile(rf"{_BMP_UNIT}[^{_SEP}]*")  # from a string's first digit on
_DIGIT_LINE_ANY = re.compile(rf"{_DIGIT_CHAR}[^{_SEP}]*")


def _run4(unit: str) -> re.Pattern[str]:
    """Runs of four digits or more in the digits form (units are single characters): what ``_DIGITS.run`` finds
    there, less the shorter runs.  A run's separators and fillers are never in doubt (no filler starts like a unit
    or a separator), so the same runs come out with no backtracking (possessive), next digits are taken first,
    and fillers are only tried before a character that can start one: twice as fast."""
    first = "".join(sorted({f[0] for f in _EN_FILLERS.split("|")}))
    may_fill = rf"(?=(?i:{'|'.join(first)})|[{''.join(sorted({f[0] for f in _ZH_FILLERS.split('|')}))}])"
    sep = rf"{_SEP_CHARS}{{0,4}}+(?:{may_fill}{_DIGITS.filler}{_SEP_CHARS}{{0,3}}+){{0,2}}+"
    return re.compile(rf"{unit}(?:{unit}|{sep}{unit}){{3,}}+")


_RUN4 = _run4(_BMP_UNIT)
_RUN4_ANY = _run4(_DIGIT_CHAR)


def _re2_class(chars: Iterable[str]) -> str:
    """The characters as the inside of an RE2 character class."""
    return "".join(f"\\x{{{ord(c):x}}}" for c in sorted(set(chars)))


# the characters beyond ASCII that case-fold to ASCII letters (str.casefold; none beyond the BMP): "ﬁve" reads "five"
_FOLDS_TO_ASCII = (  # ß İ ŉ ſ ǰ ẖ ẗ ẘ ẙ ẚ ẞ, the Kelvin sign, the ligatures ﬀ to ﬆ
    "\u00df\u0130\u0149\u017f\u01f0\u1e96\u1e97\u1e98\u1e99\u1e9a\u1e9e"
    "\u212a\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06")
_AT = "(?: at | AT | At )"
_TLD_FIRST = "".join(sorted({t[0] for t in _TLD.split("|")}))
_EMAIL_DOT = rf"(?: dot | DOT | Dot |点|\.[{_TLD_FIRST}{_TLD_FIRST.upper()}ıİ])"
# in the UTF-8 strings: an English digit word ("o" too) between ASCII non-letters or a character that case-folds to
# ASCII letters (what _word_units may count), or what _may_have_email looks for (an "@", or " at " with " dot " or a
# dot before what may be a top-level domain, re.IGNORECASE's "i" included); RE2 finds them in one linear pass where re
# would try every alternative at every letter
_HINT = re2.compile(
    rf"(?:^|[^A-Za-z])((?i:{'|'.join((*_WORD_HINTS, 'o'))}))(?:[^A-Za-z]|$)"
    rf"|([{_re2_class(_FOLDS_TO_ASCII)}]|@|艾特|{_AT}[^\x00]*?{_EMAIL_DOT}|{_EMAIL_DOT}[^\x00]*?{_AT})".encode()
)._regexp.Match  # the binding itself: no per-call wrapper
_UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED


class _Flags(NamedTuple):
    """What one pass over a call's joined strings found (see :func:`_flag`)."""

    joined: str
    encoded: bytes   # ``joined`` in UTF-8
    words: set[int]  # the strings that may hold an English digit word or an e-mail address
    # from the native scan (``joined`` and ``encoded`` are then empty): what _digit_runs, _may_start and
    # _digit_strings give
    scanned: tuple[dict[int, list[tuple[int, int]]], list[int], list[int]] | None = None

    @property
    def bmp(self) -> bool:
        """``joined`` has no character beyond the BMP (where a plain class of digits scans faster than ``\\d``)."""
        return self.joined.isascii() or len(self.joined.encode("utf-16-le", "surrogatepass")) == 2 * len(self.joined)


def _flag(strings: Sequence[str | None]) -> _Flags | None:
    """The strings that may hold an English digit word or an e-mail address, from one pass over them (with the
    native module, its runs, starts and digit strings too); None if they cannot be joined.

    A string not flagged is in the digits form (``_form`` finds no word in it) and cannot hold an address.
    """
    if _NATIVE is None:
        return _python_flag(strings)
    scanned = _NATIVE.scan(strings)
    if scanned is None:
        return None
    words, runs, starts, digits = scanned
    return _Flags("", b"", words, (runs, starts, digits))


def _python_flag(strings: Sequence[str | None]) -> _Flags | None:
    """:func:`_flag` in Python (the reference of the native scan): the strings joined and the flagged ones."""
    try:
        joined = _SEP.join(strings)  # type: ignore[arg-type]  # (mostly no None)
    except TypeError:
        joined = _SEP.join([s or "" for s in strings])
    if joined.count(_SEP) != len(strings) - 1:
        return None
    try:
        encoded = joined.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return None
    words: set[int] = set()
    i = last = pos = 0
    while (spans := _HINT(_UNANCHORED, encoded, pos, len(encoded)))[0][0] >= 0:
        a = spans[1][0] if spans[1][0] >= 0 else spans[2][0]
        i += encoded.count(b"\0", last, a)
        last = a
        words.add(i)
        pos = encoded.find(b"\0", a)  # on to the next string (the separator is the non-letter before its start)
        if pos < 0:
            break
    return _Flags(joined, encoded, words)


def _python_scan(strings: Sequence[str | None]
                 ) -> tuple[set[int], dict[int, list[tuple[int, int]]], list[int], list[int]] | None:
    """What the native ``scan`` gives, from the Python reference: words, runs, starts, digit strings (or None)."""
    flags = _python_flag(strings)
    if flags is None:
        return None
    return flags.words, _digit_runs(flags), _may_start(flags), _digit_strings(flags)


def _digit_strings(flags: _Flags) -> list[int]:
    """The strings with a digit character, in order (one pass over the joined strings)."""
    if flags.scanned is not None:
        return flags.scanned[2]
    joined = flags.joined
    digits: list[int] = []
    i = last = 0
    for m in (_DIGIT_LINE if flags.bmp else _DIGIT_LINE_ANY).finditer(joined):
        a = m.start()
        i += joined.count(_SEP, last, a)
        last = a
        digits.append(i)
    return digits


def _levels(strings: Sequence[str | None]) -> tuple[list[tuple[int, _Patterns, str]], list[int]]:
    """``_level`` of every string, and the indices of those above 0 in order; only flagged strings are looked at."""
    flags = _flag(strings)
    if flags is None:
        info = [_level(s) for s in strings]
        return info, [i for i, x in enumerate(info) if x[0]]
    return _digit_levels(strings, flags, _word_levels(strings, flags.words))


def _word_levels(strings: Sequence[str | None], words: set[int]) -> list[tuple[int, _Patterns, str]]:
    """``_level`` of the strings in ``words``; the others have level 0 here."""
    info = [_NO_UNITS] * len(strings)
    for i in words:
        info[i] = _level(strings[i])
    return info


def _digit_levels(strings: Sequence[str | None], flags: _Flags,
                  info: list[tuple[int, _Patterns, str]]) -> tuple[list[tuple[int, _Patterns, str]], list[int]]:
    """``info`` with the level of each string with digits and no word hint filled in, and the indices above 0."""
    words = flags.words
    digits = _digit_strings(flags)
    for i in digits:
        if i not in words:
            s = strings[i]
            assert s is not None
            info[i] = (3 if _DIGITS.pair.search(s) else 1), _DIGITS, s  # as _level: no word, no address
    if not words:
        return info, digits
    return info, sorted(i for i in words.union(digits) if info[i][0])


def _in_code(s: str, start: int, end: int) -> bool:
    """A short run glued to Latin letters is part of a code (train TR0922, booking EY5923AZ), not a number."""
    return ((start > 0 and s[start - 1].isascii() and s[start - 1].isalpha())
            or (end < len(s) and s[end].isascii() and s[end].isalpha()))


def _protected(text: str) -> list[tuple[int, int]]:
    """Spans of digits that read as amounts, counts, durations, dates or times."""
    out: list[tuple[int, int]] = []
    done = 0
    for d in _DIGIT_RUN.finditer(text):
        pos = d.start()
        if pos < done or (pos > 0 and text[pos - 1] in ",."):
            continue
        m = _PROTECT_AT.match(text, pos)
        if m is None and pos > 0 and (text[pos - 1] in _CURRENCY or (pos > 1 and text[pos - 2] in _CURRENCY
                                                                        and text[pos - 1] == " ")):
            m = _AMOUNT.match(text, pos)
        if m is None and pos > 3 and (m := _DAY_YEAR.match(text, pos)) is not None:
            if not _MONTH_BEFORE.search(text, max(0, pos - 12), pos):
                m = None
        if m is not None:
            out.append(m.span())
            done = m.end()
    if "年" in text:
        out += [m.span() for m in _CN_YEAR.finditer(text)]
    return out


def _cue_before(text: str, start: int) -> bool:
    """A cue (手机, 尾号, card, last four...) ends at most _CUE_GAP characters, none a digit, before ``start``."""
    w = text[max(0, start - _CUE_WINDOW):start].lower()
    for c in _CUES:
        i = w.rfind(c)
        if i < 0:
            continue
        j = i + len(c)
        tail = w[j:]
        if len(tail) > _CUE_GAP or _HAS_DIGIT.search(tail):
            continue
        if c.isascii() and ((i > 0 and w[i - 1].isalpha()) or (tail and tail[0].isalpha())):
            continue  # inside a longer word ("idea", "pinch", "numbered")
        if any(n in w[max(0, i - 10):j + 4] for n in _NOT_CUES):
            continue  # 电话费, "number of"
        return True
    return False


def _enough_units(pat: _Patterns, work: str) -> bool:
    """Cheap upper bound: ``work`` has enough digit units for an identifier (4: the fewest, after a cue)."""
    if pat.pairs:  # a unit may be two digits: no cheap bound
        return True
    n = len(pat.gate.findall(work))
    if pat is not _DIGITS:
        n += work.count("double") + 2 * work.count("triple")  # (lower case: one match, 2 or 3 digits)
    return n >= MIN_DIGITS_AFTER_CUE


def find_pii(text: str) -> list[PiiMatch]:
    """Every identifier in ``text`` (numbers and e-mail addresses), in order."""
    pat, work, _ = _form(text)
    return _find(text, pat, work, pat.pair.search(work) is not None)


# digits in one token by the group that matched last: a digit (word), "double x"/"triple x", a pair ("thirty-four"),
# "<digit> hundred" (none of its own: it never makes a run an identifier, only joins one)
_TOKEN_DIGITS: dict[str | None, Callable[[re.Match[str]], int]] = {
    None: lambda t: 1,
    "m1": lambda t: 2 if t.group("m1")[0] in "dD" else 3,
    "m2": lambda t: 2 if t.group("m2")[0] in "dD" else 3,
    "p": lambda t: 2,
    "h": lambda t: 0,
}


def _count(pat: _Patterns, work: str, start: int, end: int) -> tuple[int, list[tuple[int, int]]]:
    """The number of digits in the run ``work[start:end]`` and the character ranges they take."""
    ranges: list[tuple[int, int]] = []
    digits = 0
    if pat is _DIGITS:  # tokens are groups of digit characters: one digit each
        if work[start:end].isdecimal():  # one token: the common "13812345678"
            return end - start, [(start, end)]
        for t in pat.token.finditer(work, start, end):
            digits += t.end() - t.start()
            ranges.append(t.span())
        return digits, ranges
    for t in pat.token.finditer(work, start, end):
        digits += _TOKEN_DIGITS[t.lastgroup](t)
        if ranges and ranges[-1][1] == t.start():
            ranges[-1] = (ranges[-1][0], t.end())
        else:
            ranges.append(t.span())
    return digits, ranges


def _find(text: str, pat: _Patterns, work: str, pair: bool) -> list[PiiMatch]:
    found: list[PiiMatch] = []
    if pair:
        if pat is _DIGITS:
            found = _keep_runs(text, pat, work, [m.span() for m in _RUN4_ANY.finditer(work)])
        elif _enough_units(pat, work):
            found = _keep_runs(text, pat, work, [m.span() for m in pat.run.finditer(work)])
    if _may_have_email(text):
        for rx in (_EMAIL, _EMAIL_SPOKEN):
            for m in rx.finditer(text):
                if not any(f.start < m.end() and m.start() < f.end and f.kind == "email" for f in found):
                    found.append(PiiMatch(m.start(), m.end(), "email", 0, (m.span(),)))
        found.sort(key=lambda f: f.start)
    return found


def _keep_runs(text: str, pat: _Patterns, work: str, runs: Sequence[tuple[int, int]]) -> list[PiiMatch]:
    """The identifiers among the runs ``work[start:end]`` of ``text`` (amounts, dates and times in them set aside);
    natively where every run is nine decimal digits or more, or seven or eight with no unit after them and no
    currency sign or decimal point before (the common cases: each is an identifier)."""
    if _NATIVE is not None and work is text and (found := _NATIVE.long_runs(text, runs, PiiMatch)) is not None:
        return found
    return _python_keep_runs(text, pat, work, runs)


def _python_keep_runs(text: str, pat: _Patterns, work: str, runs: Iterable[tuple[int, int]]) -> list[PiiMatch]:
    """:func:`_keep_runs` in Python (the reference of the native ``long_runs``).

    A run of nine or more decimal digits and nothing else needs no look at what is protected: every protected
    span ends before a digit is next (``(?!\\d)``), is digits with at most one separator between them (which would
    have joined the run), or starts with at most eight digits.
    """
    found: list[PiiMatch] = []
    protected: list[tuple[int, int]] | None = None
    for start, end in runs:
        if end - start >= 9 and work[start:end].isdecimal():
            _add(found, text, start, end, end - start, [(start, end)])
            continue
        digits, ranges = _count(pat, work, start, end)
        if digits < MIN_DIGITS_AFTER_CUE:
            continue
        if protected is None:
            protected = _protected(text)
        cut = [(max(a, start), min(b, end)) for a, b in protected if a < end and start < b]
        if cut:  # an amount, date or time inside: the digits around it are read again without it
            chars = list(work[start:end])
            for a, b in cut:
                chars[a - start:b - start] = "\0" * (b - a)
            piece = "".join(chars)
            for sub in pat.run.finditer(piece):
                n, r = _count(pat, piece, *sub.span())
                _add(found, text, start + sub.start(), start + sub.end(), n, [(a + start, b + start) for a, b in r])
        else:
            _add(found, text, start, end, digits, ranges)
    return found


_LAST = re.compile(r"(?i:(?<![A-Za-z])last\s+)$")
# what makes number words before it an amount, a duration or a count ("forty nine ninety nine dollars", "a month")
_WORD_UNIT = re.compile(rf"\s?(?i:(?:(?:a|an|per|each)\s+)?(?:{_EN_UNITS})(?![A-Za-z]))")


def _unit_after(text: str, end: int) -> bool:
    """A run ending in a number word is followed by a unit: an amount, duration or count read out, not a number
    (runs of digit characters have theirs set aside before, in ``_protected``)."""
    return _ascii_letter(text[end - 1]) and _WORD_UNIT.match(text, end) is not None


def _add(found: list[PiiMatch], text: str, start: int, end: int, digits: int, ranges: list[tuple[int, int]]) -> None:
    """Keep the run ``text[start:end]`` of ``digits`` digits when it is an identifier."""
    if digits < MIN_DIGITS and len(ranges) > 1 and _LAST.search(text, max(0, start - 8), start) \
            and text[ranges[0][0]:ranges[0][1]].lower() in ("four", "4"):
        start, ranges, digits = ranges[1][0], ranges[1:], digits - 1  # "last four | 1234": the cue's "four"
    if digits < MIN_DIGITS and (digits < MIN_DIGITS_AFTER_CUE or _in_code(text, start, end)
                                or not _cue_before(text, start) or _unit_after(text, end)):
        return
    has_x = False
    if digits >= 14 and (x := _X_AFTER.match(text, end)):
        has_x = True
        end = x.end()
        ranges.append((x.end() - len(x.group(0).lstrip(" -")), x.end()))
    found.append(PiiMatch(start, end, _kind(digits, has_x), digits, tuple(ranges)))


_NOT_SPACE = re.compile(r"\S")
_NOT_SPACE_AT_DOT = re.compile(r"[^\s@.]")


def _apply(s: str, ranges: Sequence[tuple[int, int]], *, email: bool = False) -> str:
    """``s`` with every character in ``ranges`` but spaces (and, for addresses, ``@`` and dots) made ``*``."""
    return _python_apply(s, ranges, email=email) if _NATIVE is None else _NATIVE.mask(s, ranges, email)


def _python_apply(s: str, ranges: Iterable[tuple[int, int]], *, email: bool = False) -> str:
    """``s`` with every character in ``ranges`` but spaces (and, for addresses, ``@`` and dots) made ``*``."""
    rx = _NOT_SPACE_AT_DOT if email else _NOT_SPACE
    out: list[str] = []
    pos = 0
    for a, b in sorted(ranges):
        a = max(a, pos)
        b = min(b, len(s))
        if a >= b:
            continue
        out.append(s[pos:a])
        seg = s[a:b]
        out.append("*" * len(seg) if len(seg) == 1 or (seg.isalnum() and not email) else rx.sub("*", seg))
        pos = b
    out.append(s[pos:])
    return "".join(out)


def _mask_matches(s: str, matches: Sequence[PiiMatch]) -> str:
    out = _apply(s, [r for m in matches if m.kind != "email" for r in m.ranges])
    emails = [r for m in matches if m.kind == "email" for r in m.ranges]
    return _apply(out, emails, email=True) if emails else out


def mask_text(text: str) -> str:
    """Mask every identifier in ``text`` (one string on its own; length preserving)."""
    if len(text) < 2:
        return text
    matches = find_pii(text)
    return _mask_matches(text, matches) if matches else text


# --- across utterances ----------------------------------------------------------------------

class _Part(NamedTuple):
    """The part of one identifier that lies in one utterance's string."""

    ranges: Sequence[tuple[int, int]]
    kind: PiiKind
    group: int


def _find_in_strings(utts: Sequence[Utterance], strings: Sequence[str | None], max_gap_s: float,
                     groups: list[int]) -> dict[int, list[_Part]]:
    """Identifiers in each utterance's string, numbers split over one speaker's utterances included.

    ``groups`` is a one-element counter shared by calls, so that group numbers stay unique.
    """
    out: dict[int, list[_Part]] = {}
    flags = _flag(strings)
    # a number read over several utterances: an utterance that starts with a digit continues the
    # previous utterance of its speaker when that one ends with a digit, less than max_gap_s before
    has_units: Callable[[int], bool]
    if flags is None:
        info, cands = _levels(strings)
        has_units = set(cands).__contains__
        starts = [i for i in cands if _starts_with_unit(strings[i])]
    else:
        words = flags.words
        info = _word_levels(strings, words)
        has_units = partial(_has_units, strings, info, words)
        starts = [i for i in _may_start(flags) if _starts_with_unit(strings[i]) and has_units(i)]
    link_prev = _links(utts, strings, has_units, starts, max_gap_s) if starts else {}
    if not link_prev:  # each string on its own
        if flags is None:
            todo = [i for i in cands if info[i][0] >= 2]
            runs: dict[int, list[tuple[int, int]]] = {}
        else:
            runs = _digit_runs(flags)
            todo = sorted(runs.keys() | [i for i in words if info[i][0] >= 2]) if words else list(runs)
        for i in todo:
            s = strings[i]
            assert s is not None
            if i in runs:
                found = _keep_runs(s, _DIGITS, s, runs[i])
            else:
                level, pat, work = info[i]
                found = _find(s, pat, work, level == 3)
            if found:
                out[i] = [_Part(m.ranges, m.kind, g) for g, m in enumerate(found, groups[0] + 1)]
                groups[0] += len(found)
        return out
    if flags is not None:
        info, cands = _digit_levels(strings, flags, info)
    linked_of: dict[int, list[int]] = {}
    chains: list[list[int]] = []
    for i in sorted(cands, key=lambda i: utts[i].start):
        j = link_prev.get(i)
        if j is not None and j in linked_of:
            linked_of[j].append(i)
            linked_of[i] = linked_of[j]
        else:
            linked_of[i] = [i]
            chains.append(linked_of[i])
    for linked in chains:
        if any(info[i][0] >= 2 for i in linked):
            _find_linked(linked, strings, info, out, groups)
    return out


def _has_units(strings: Sequence[str | None], info: list[tuple[int, _Patterns, str]], words: set[int],
               i: int) -> bool:
    """Whether string ``i`` has a digit unit (level 1 or more, as ``_levels`` has it; ``info`` holds the levels of
    ``words``, the strings with a word hint: any other is in the digits form, with no address)."""
    s = strings[i]
    return info[i][0] > 0 if i in words else s is not None and _DIGITS.gate.search(s) is not None


def _digit_runs(flags: _Flags) -> dict[int, list[tuple[int, int]]]:
    """The runs of four digits or more (digits form) in each string with no word hint, in order, from one pass
    over the joined strings (no run crosses the separator)."""
    if flags.scanned is not None:
        return flags.scanned[0]
    joined, words = flags.joined, flags.words
    runs: dict[int, list[tuple[int, int]]] = {}
    if _MAY_RUN(_UNANCHORED, flags.encoded, 0, len(flags.encoded))[0][0] < 0:
        return runs  # no four digits close enough anywhere (one RE2 pass, a few times faster than the run pattern)
    i = last = 0
    for m in (_RUN4 if flags.bmp else _RUN4_ANY).finditer(joined):
        a, b = m.span()
        i += joined.count(_SEP, last, a)
        last = a
        if i not in words:
            base = joined.rfind(_SEP, 0, a) + 1
            runs.setdefault(i, []).append((a - base, b - base))
    return runs


def _links(utts: Sequence[Utterance], strings: Sequence[str | None], has_units: Callable[[int], bool],
           starts: list[int], max_gap_s: float) -> dict[int, int]:
    """For each utterance in ``starts`` that continues a number: the utterance it continues (``has_units``: whether
    an utterance's string has a digit unit, level 1 or more)."""
    n = len(utts)
    order = list(range(n))
    if any(utts[i].start > utts[i + 1].start for i in range(n - 1)):
        order.sort(key=lambda i: utts[i].start)
    rank = {i: r for r, i in enumerate(order)}
    link_prev: dict[int, int] = {}
    for i in starts:
        u = utts[i]
        key = (u.channel, u.speaker, u.role)
        k = rank[i] - 1
        while k >= 0:
            j = order[k]
            v = utts[j]
            if u.start - v.end > max_gap_s and u.start - v.start > 60.0:
                break
            k -= 1
            if (v.channel, v.speaker, v.role) != key:
                continue  # the other party's "嗯", "okay" in between
            sj = strings[j]
            if not (units := has_units(j)) and sj is not None and _FILLER_ONLY.fullmatch(sj):
                continue  # the same speaker's own filler
            if units and u.start - v.end <= max_gap_s and _ends_with_unit(sj):
                link_prev[i] = j
            break
    return link_prev


_EDGE_CHARS = " \t\n-‐‑‒–—―－_.．。,，、·・/／\\()（）[]【】+＋!！?？…~:：;；\"'“”嗯呃额啊哦噢唔"


_EN_WORD_SET = frozenset(_EN_WORDS) | {"double", "triple", "hundred"} | frozenset(_EN_PAIR_WORDS)
_LONGEST_WORD = max(map(len, _EN_WORD_SET))
_EDGE_CLASS = "[" + re.escape(_EDGE_CHARS) + "]"
_EDGE_FILLER = rf"(?i:(?<![A-Za-z])(?:{_EN_FILLERS})(?![A-Za-z]))|{_ZH_FILLERS}"
# separators, punctuation and fillers at the start or end of an utterance ("dash one two", "138 嗯")
_EDGE_FILLER_START = re.compile(rf"^(?:{_EDGE_CLASS}|{_EDGE_FILLER})+")
_EDGE_FILLER_END = re.compile(rf"(?:{_EDGE_CLASS}|{_EDGE_FILLER})+$")
_WORD_EDGE = re.compile(r"[A-Za-z]+")
# what an utterance's first character or word must be for _EDGE_FILLER_START to strip it or for it to be a unit
_EDGE_FIRST = frozenset(_EDGE_CHARS + "".join(f[0] for f in _ZH_FILLERS.split("|")))
_EDGE_WORDS = _EN_WORD_SET | frozenset(_EN_FILLERS.split("|"))


# in the UTF-8 strings: four digits with at most what a run's separators and fillers take between each two (four
# separators and two fillers, each with three more), of what they are made of (a superset of _RUN4's runs)
_RUN_GAP = 4 + 2 * (max(map(len, (*_ZH_FILLERS.split("|"), *_EN_FILLERS.split("|")))) + 3)
_GAP_CHARS = (*filter(str.isspace, map(chr, range(0x10000))), *(c for c in _SEP_CHARS if re.fullmatch(_SEP_CHARS, c)),
              *_ZH_FILLERS, *_EN_FILLERS, *_EN_FILLERS.upper(), "\u017f")  # ſ: re.IGNORECASE's "s"
_RE2_UNIT = rf"[{_re2_class(_BMP_DIGITS + _CN_DIGITS)}\x{{10000}}-\x{{10ffff}}]"
_MAY_RUN = re2.compile(
    rf"{_RE2_UNIT}(?:[{_re2_class(set(_GAP_CHARS) - {'|'})}]{{0,{_RUN_GAP}}}{_RE2_UNIT}){{3}}".encode()
)._regexp.Match


# in the UTF-8 strings: where one may start with a digit unit, past separators and fillers (a superset of
# _starts_with_unit's, in one RE2 pass: no look-around, any character beyond the BMP taken for a digit)
_UNIT_START = re2.compile((
    rf"(?:^|\x00)(?:[{_re2_class(_EDGE_CHARS)}]|{_ZH_FILLERS}|(?i:{_EN_FILLERS}))*"
    rf"(?:[{_re2_class([*_CN_DIGITS, *filter(str.isdigit, map(chr, range(0x10000)))])}\x{{10000}}-\x{{10ffff}}]"
    rf"|(?i:{'|'.join(sorted(_EN_WORD_SET - {'o'}))})|[oO](?:[^A-Za-z]|$))").encode()
)._regexp.Match


def _may_start(flags: _Flags) -> list[int]:
    """The strings that may start with a digit unit (all those _starts_with_unit says do, and a few more)."""
    if flags.scanned is not None:
        return flags.scanned[1]
    encoded = flags.encoded
    found: list[int] = []
    k = last = pos = 0
    while (a := _UNIT_START(_UNANCHORED, encoded, pos, len(encoded))[0][0]) >= 0:
        k += encoded.count(b"\0", last, a)  # separators before the match
        last = a
        found.append(k + 1 if encoded[a] == 0 else k)  # matched at the separator before the string, or at the start
        pos = encoded.find(b"\0", a + 1)
        if pos < 0:
            break
    return found


def _ends_with_unit(s: str | None) -> bool:
    """``s`` ends with a digit or a digit word (separators, punctuation and fillers aside)."""
    if not s:
        return False
    t = _EDGE_FILLER_END.sub("", s)
    if not t:
        return False
    c = t[-1]
    if c.isdigit() or c in _CN_DIGITS:
        return True
    if not (c.isascii() and c.isalpha()):
        return False
    tail = t[-_LONGEST_WORD:]
    k = len(tail)
    while k > 0 and tail[k - 1].isascii() and tail[k - 1].isalpha():
        k -= 1
    return tail[k:].lower() in _EN_WORD_SET and (k > 0 or len(t) == len(tail)
                                                 or not t[-_LONGEST_WORD - 1].isalpha())


def _starts_with_unit(s: str | None) -> bool:
    """``s`` starts with a digit or a digit word (separators, punctuation and fillers aside)."""
    if not s:
        return False
    c = s[0]
    if c.isascii() and c.isalpha():  # a first word that is neither a filler nor a digit word: it stays first
        w = _WORD_EDGE.match(s)
        if w is not None and w.group(0).lower() not in _EDGE_WORDS:
            return False
    elif not (c in _EDGE_FIRST or c.isdigit() or c in _CN_DIGITS):  # "我…", "您…": nothing stripped, no unit
        return False
    t = _EDGE_FILLER_START.sub("", s)
    if not t:
        return False
    c = t[0]
    if c.isdigit() or c in _CN_DIGITS:
        return True
    if not (c.isascii() and c.isalpha()):
        return False
    m = _WORD_EDGE.match(t)
    return m is not None and m.group(0).lower() in _EN_WORD_SET


def _find_linked(linked: list[int], strings: Sequence[str | None], info: list[tuple[int, _Patterns, str]],
                 out: dict[int, list[_Part]], groups: list[int]) -> None:
    """Identifiers in utterances whose strings continue one another (one when ``linked`` has one)."""
    if len(linked) == 1:
        i = linked[0]
        s = strings[i]
        level, pat, work = info[i]
        if level < 2 or s is None:
            return
        for m in _find(s, pat, work, level == 3):
            groups[0] += 1
            out.setdefault(i, []).append(_Part(m.ranges, m.kind, groups[0]))
        return
    joined_parts: list[str] = []
    offsets: list[int] = []
    pos = 0
    for i in linked:
        s = strings[i]
        assert s is not None
        offsets.append(pos)
        joined_parts.append(s)
        pos += len(s) + 1
    joined = " ".join(joined_parts)
    for m in find_pii(joined):
        groups[0] += 1
        parts: dict[int, list[tuple[int, int]]] = {}
        for a, b in m.ranges:
            k = bisect_right(offsets, a) - 1
            while k < len(linked) and a < b:
                lo = offsets[k]
                hi = lo + len(joined_parts[k])
                if a < hi:
                    parts.setdefault(k, []).append((a - lo, min(b, hi) - lo))
                a = max(a, hi + 1)
                k += 1
        for k, ranges in parts.items():
            out.setdefault(linked[k], []).append(_Part(ranges, m.kind, groups[0]))


def _all_units(s: str) -> list[tuple[int, int]]:
    pat, work, _ = _form(s)
    return [t.span() for t in pat.token.finditer(work)]


class _Redacted(NamedTuple):
    """A masked transcript, where its identifiers were spoken, its utterance texts and which utterances changed."""

    transcript: Transcript
    spans: list[PiiSpan]
    texts: list[str]
    changed: list[int]  # the indices of the utterances replaced, in order


def _redact(t: Transcript, max_gap_s: float, want_spans: bool) -> _Redacted:
    utts = t.utterances
    texts = [u.text for u in utts]
    groups = [0]
    text_parts = _find_in_strings(utts, texts, max_gap_s, groups)
    if not any(map(_WORDS, utts)):  # text only (no word timings): nothing to mask in words
        if not text_parts:
            return _Redacted(t, [], texts, [])
        return _masked_texts(t, text_parts, texts, want_spans)
    word_strings = ["".join(w.word for w in u.words) if u.words else None for u in utts]
    if all(ws is None or ws == u.text for ws, u in zip(word_strings, utts, strict=True)):
        word_parts = {i: p for i, p in text_parts.items() if utts[i].words}  # one search serves both
    else:
        word_parts = _find_in_strings(utts, word_strings, max_gap_s, groups)
    if not text_parts and not word_parts:
        return _Redacted(t, [], texts, [])
    new_utts = list(utts)
    spans: list[PiiSpan] = []
    changed: list[int] = []
    for i in sorted(set(text_parts) | set(word_parts)):
        u = utts[i]
        tp = text_parts.get(i)
        wp = word_parts.get(i)
        ws = word_strings[i]
        if u.words and ws is not None and wp is None and tp is not None:
            # found in the text only (the words read differently): mask every digit in the words
            groups[0] += 1
            wp = [_Part(_all_units(ws), tp[0].kind, groups[0])]
        if tp is None and wp is not None:
            groups[0] += 1
            tp = [_Part(_all_units(u.text), wp[0].kind, groups[0])]
        text = u.text
        if tp:
            text = _mask_parts(text, tp)
        words = u.words
        if u.words and ws is not None and wp:
            masked = _mask_parts(ws, wp)
            new_words: list[Word] = []
            pos = 0
            for w in u.words:
                n = len(w.word)
                piece = masked[pos:pos + n]
                new_words.append(w if piece == w.word else evolve(w, word=piece))
                pos += n
            words = tuple(new_words)
            if want_spans:
                starts = [0]
                for w in u.words:
                    starts.append(starts[-1] + len(w.word))
                for p in wp:
                    idx = sorted({bisect_right(starts, c) - 1 for a, b in p.ranges for c in range(a, b)
                                  if not ws[c].isspace()})
                    idx = [j for j in idx if 0 <= j < len(u.words)]
                    if idx:
                        spans.append(_span(i, p.kind, min(u.words[j].start for j in idx),
                                           max(u.words[j].end for j in idx), tuple(idx), p.group, True))
        elif want_spans and tp:
            spans += [_span(i, p.kind, u.start, u.end, (), p.group, False) for p in tp]
        if text != u.text or words is not u.words:
            new_utts[i] = evolve(u, text=text, words=words)
            changed.append(i)
    return _Redacted(evolve(t, utterances=tuple(new_utts)), spans, texts, changed)


_WORDS = attrgetter("words")


def _masked_texts(t: Transcript, text_parts: dict[int, list[_Part]], texts: list[str],
                  want_spans: bool) -> _Redacted:
    """``_redact`` for a transcript with no word timings: only texts are masked, spans cover whole utterances."""
    utts = t.utterances
    items = sorted(text_parts.items())
    spans = _whole_spans(utts, items) if want_spans else []
    changed: list[int] = []
    masked: list[str] = []
    for i, tp in items:
        if (text := _mask_parts(texts[i], tp)) != texts[i]:
            changed.append(i)
            masked.append(text)
    new_utts = list(utts)
    for i, u in zip(changed, evolve_each([utts[i] for i in changed], "text", masked), strict=True):
        new_utts[i] = u  # the copies made in one loop (in C where qa_engine.native._evolve is built)
    return _Redacted(evolve(t, utterances=tuple(new_utts)), spans, texts, changed)


def _whole_spans(utts: tuple[Utterance, ...], items: list[tuple[int, list[_Part]]]) -> list[PiiSpan]:
    """One span per part of each utterance in ``items`` (index, parts), covering the whole utterance."""
    return _python_whole_spans(utts, items) if _NATIVE is None else _NATIVE.whole_spans(PiiSpan, utts, items)


def _python_whole_spans(utts: tuple[Utterance, ...], items: list[tuple[int, list[_Part]]]) -> list[PiiSpan]:
    """:func:`_whole_spans` in Python (the reference of the native ``whole_spans``)."""
    return [_span(i, p.kind, (u := utts[i]).start, u.end, (), p.group, False) for i, tp in items for p in tp]


def _span(i: int, kind: PiiKind, start: float, end: float, word_indices: tuple[int, ...], group: int,
          exact: bool) -> PiiSpan:
    """``PiiSpan(...)`` built by :func:`qa_engine.types.build` (one per identifier of every call)."""
    return build(PiiSpan, utterance_index=i, kind=kind, start=start, end=end, word_indices=word_indices, group=group,
                 exact=exact)


def _mask_parts(s: str, parts: Sequence[_Part]) -> str:
    if _NATIVE is not None and len(parts) == 1 and parts[0].kind != "email":
        return _NATIVE.mask(s, parts[0].ranges, False)  # what the lines below give for one part
    if len(parts) == 1 and parts[0].kind != "email" and len(ranges := parts[0].ranges) == 1:
        a, b = ranges[0]  # the common case: one run of digits, masked whole
        if 0 <= a < b <= len(s) and (seg := s[a:b]).isalnum():
            return s[:a] + "*" * len(seg) + s[b:]
    out = _apply(s, [r for p in parts if p.kind != "email" for r in p.ranges])
    emails = [r for p in parts if p.kind == "email" for r in p.ranges]
    return _apply(out, emails, email=True) if emails else out


def redact_transcript(t: Transcript, *, max_gap_s: float = MAX_GAP_S) -> tuple[Transcript, list[PiiSpan]]:
    """The masked transcript and where its identifiers were spoken (for silencing the audio)."""
    masked, spans, _, _ = _redact(t, max_gap_s, True)
    return masked, spans


def mask_transcript(t: Transcript, *, max_gap_s: float = MAX_GAP_S) -> Transcript:
    """A copy of the transcript whose utterance texts and words are masked (across utterances)."""
    return _redact(t, max_gap_s, False).transcript


def find_pii_spans(t: Transcript, *, max_gap_s: float = MAX_GAP_S) -> list[PiiSpan]:
    """Where each identifier was spoken: utterance, masked words and their times, kind."""
    return _redact(t, max_gap_s, True).spans


def mask_utterance(u: Utterance) -> Utterance:
    """Mask one utterance's text and words (numbers split across its words included)."""
    t = Transcript(call_id="", language="", duration=u.end, utterances=(u,))
    return _redact(t, MAX_GAP_S, False).transcript.utterances[0]


# --- findings -------------------------------------------------------------------------------

_QUOTE_MIN = 6  # the shortest piece of a masked utterance text looked for in findings' sentences


def _strings_in(v: object, out: list[str]) -> None:
    """Append the strings in ``v`` (dict values, list and tuple items, at any depth) to ``out``."""
    if isinstance(v, str):
        out.append(v)
    elif isinstance(v, dict):
        for x in v.values():
            _strings_in(x, out)
    elif isinstance(v, (list, tuple)):
        for x in v:
            _strings_in(x, out)


def _swap(v: object, masked: dict[str, str]) -> object:
    """``v`` with each string in ``masked`` replaced by its masked form (the same object when nothing changed)."""
    if isinstance(v, str):
        return masked.get(v, v)
    if isinstance(v, dict):
        new = {k: _swap(x, masked) for k, x in v.items()}
        return v if all(new[k] is x for k, x in v.items()) else new
    if isinstance(v, (list, tuple)):
        items = [_swap(x, masked) for x in v]
        return v if all(a is b for a, b in zip(items, v, strict=True)) else type(v)(items)
    return v


def _mask_texts(strings: Iterable[str]) -> dict[str, str]:
    """``mask_text`` of each string, for those it changes; only the strings one pass over them all flags are
    looked at one by one (no digit and no word or address hint: nothing to find; digits only: the digits form,
    where the runs of four units or more found in the same pass are all there is to look at)."""
    strings = list(strings)
    flags = _flag(strings)
    done: dict[str, str] = {}
    if flags is None:
        for s in strings:
            if (masked := mask_text(s)) is not s:
                done[s] = masked
        return done
    for i, runs in _digit_runs(flags).items():
        s = strings[i]
        if found := _keep_runs(s, _DIGITS, s, runs):
            done[s] = _mask_matches(s, found)
    for i in flags.words:
        s = strings[i]
        if (masked := mask_text(s)) is not s:
            done[s] = masked
    return done


def _quoted(s: str, changed: dict[str, str]) -> str:
    """``s`` with the utterance texts of the call it quotes, also cut short ("...number is 1436671…"), masked as
    the call's transcript masked them."""
    if _NATIVE is not None and (done := _NATIVE.quoted(s, changed, _QUOTE_MIN)) is not None:
        return done
    return _python_quoted(s, changed)


def _python_quoted(s: str, changed: dict[str, str]) -> str:
    """:func:`_quoted` in Python (the reference of the native ``quoted``)."""
    for orig, new in changed.items():
        head = orig[:_QUOTE_MIN]
        p = s.find(head)
        while p >= 0:
            k = _shared(s, p, orig)
            s = s[:p] + new[:k] + s[p + k:]
            p = s.find(head, p + k)
    return s


def _shared(s: str, p: int, orig: str) -> int:
    """How many first characters of ``orig`` (its head at least) ``s`` repeats from ``p`` on: the whole of what
    fits, mostly, else found by halving."""
    lo, hi = _QUOTE_MIN, min(len(orig), len(s) - p)
    if s.startswith(orig[lo:hi], p + lo):
        return hi
    while hi - lo > 1:  # the first lo characters are repeated, the first hi are not
        mid = (lo + hi) // 2
        if s.startswith(orig[lo:mid], p + lo):
            lo = mid
        else:
            hi = mid
    return lo


def _mask_findings(findings: Sequence[Finding], exact: dict[str, str], changed: dict[str, str],
                   different: dict[str, str]) -> list[Finding]:
    """The findings with their evidence texts, explanations and data strings masked.

    A string that is an utterance text of the call takes the transcript's masking (``exact``; ``different``: those
    it changes); an explanation quotes utterances, also cut short, and those quotes are masked as in the transcript
    first (``changed``); every other string is masked on its own (``mask_text``), all of a call's together.  Only
    the findings whose strings masking changes are looked at one by one.
    """
    evidence_texts = [e.text for f in findings for e in f.evidence]
    values = [v for f in findings for v in f.data.values()]  # mostly strings and numbers
    data_strings = [v for v in values if isinstance(v, str)]
    for v in [v for v in values if isinstance(v, (dict, list, tuple))]:
        _strings_in(v, data_strings)
    pending = dict.fromkeys([s for s in evidence_texts + data_strings if s not in exact])  # for mask_text, once each
    explanations = [f.explanation for f in findings]
    own = exact.keys() & explanations  # explanations that are utterance texts: masked as the transcript has them
    todo = explanations.copy()  # the explanations to mask: quotes of masked utterances masked first
    quoting, quoted = _quoting(explanations, changed)
    for i in quoting:
        if explanations[i] not in own:
            todo[i] = _quoted(explanations[i], quoted)
    pending.update(dict.fromkeys([t for t, x in zip(todo, explanations, strict=True) if x not in own] if own
                                 else todo))
    done = _mask_texts(pending)
    new_explanations = [exact[x] if x in own else done.get(t, t) for t, x in zip(todo, explanations, strict=True)]
    # every string that masks to another: an utterance text as the transcript masked it, else mask_text's
    masked = {**done, **different} if different else done
    keys = masked.keys()
    redo = {i for i, (a, b) in enumerate(zip(new_explanations, explanations, strict=True)) if a != b}
    if not keys.isdisjoint(evidence_texts):
        owners = [i for i, f in enumerate(findings) for _ in f.evidence]
        redo.update([owners[j] for j, t in enumerate(evidence_texts) if t in masked])
    in_data = not keys.isdisjoint(data_strings)
    if in_data:
        redo.update([i for i, f in enumerate(findings) if not keys.isdisjoint(_data_strings(f.data))])
    out = list(findings)
    for i in redo:
        f = out[i]
        explanation = new_explanations[i]
        evidence = f.evidence
        if not keys.isdisjoint([e.text for e in evidence]):
            evidence = tuple(e if (t := masked.get(e.text, e.text)) == e.text else evolve(e, text=t)
                             for e in evidence)  # Evidence is frozen: an unchanged one is kept as it is
            if all(map(is_, evidence, f.evidence)):
                evidence = f.evidence
        data = f.data
        if in_data and not keys.isdisjoint(_data_strings(data)):
            new = _swap(data, masked)
            assert isinstance(new, dict)
            data = new
        if data is f.data and evidence is f.evidence and explanation == f.explanation:
            continue
        out[i] = evolve(f, evidence=evidence, explanation=explanation, data=data)
    return out


def _data_strings(data: dict[str, object]) -> list[str]:
    strings: list[str] = []
    _strings_in(data, strings)
    return strings


def _quoting(explanations: list[str], changed: dict[str, str]) -> tuple[set[int], dict[str, str]]:
    """The explanations that may quote a masked utterance, those with the head of one (looked for once in all), and
    the masked utterances that may be quoted: whose head is there, or has a "*" (another's masking may make it)."""
    found: set[int] = set()
    if not changed:
        return found, changed
    heads = {orig[:_QUOTE_MIN] for orig in changed}
    joined = _SEP.join(explanations)
    if joined.count(_SEP) != len(explanations) - 1:  # a separator inside one: each looked at on its own
        return {i for i, x in enumerate(explanations) if any(map(x.__contains__, heads))}, changed
    there = set()
    for head in heads:
        p = joined.find(head)
        if p >= 0:
            there.add(head)
        while p >= 0:
            found.add(joined.count(_SEP, 0, p))
            p = joined.find(head, p + 1)
    return found, {orig: new for orig, new in changed.items() if (head := orig[:_QUOTE_MIN]) in there or "*" in head}


def mask_finding(f: Finding) -> Finding:
    """Mask the evidence texts, the explanation and any strings in ``data`` (each string on its own)."""
    return _mask_findings([f], {}, {}, {})[0]


def mask_call(t: Transcript, findings: Sequence[Finding], *,
              max_gap_s: float = MAX_GAP_S) -> tuple[Transcript, list[Finding]]:
    """The masked transcript and findings, consistent with each other.

    Evidence and explanations quote utterance texts (whole, or cut short: "…number is 1436671…");
    a number read over two utterances is only found in the transcript, and a cut can leave too
    few digits to look like a number.  So each utterance text is masked in the findings exactly
    as in the transcript, wherever they quote it.
    """
    masked, findings_out, _ = redact_call(t, findings, max_gap_s=max_gap_s, want_spans=False)
    return masked, findings_out


def redact_call(t: Transcript, findings: Sequence[Finding], *, max_gap_s: float = MAX_GAP_S,
                want_spans: bool = True) -> tuple[Transcript, list[Finding], list[PiiSpan]]:
    """:func:`mask_call` and, in the same pass, where the identifiers were spoken (:func:`find_pii_spans`)."""
    masked, spans, texts, replaced = _redact(t, max_gap_s, want_spans)
    if masked is t:
        return t, _mask_findings(findings, {}, {}, {}), spans
    new_texts = texts.copy()
    utts = masked.utterances
    for i in replaced:
        new_texts[i] = utts[i].text
    exact = dict(zip(texts, new_texts, strict=True))  # a text said twice takes its last reading's masking
    changed = {a: b for i in replaced if (a := texts[i]) != (b := new_texts[i]) and len(a) >= _QUOTE_MIN}
    different = {a: b for i in replaced if (b := exact[a := texts[i]]) != a}
    return masked, _mask_findings(findings, exact, changed, different), spans


# --- other texts: field values, documents, log arguments --------------------------------------

def mask_data(value: object) -> object:
    """``value`` with every string in it masked (:func:`mask_text`; dicts, lists and tuples walked, keys kept).

    For texts that do not come from a transcript: upload fields, comments, audit details, log arguments.
    The same object comes back when nothing changed.
    """
    strings: list[str] = []
    _strings_in(value, strings)
    done = _mask_texts(strings)
    return _swap(value, done) if done else value


def mask_optional(text: str | None) -> str | None:
    """:func:`mask_text` for an optional field."""
    return mask_text(text) if text else text


def mask_at(doc: object, *paths: str) -> object:
    """``doc`` (a JSON document) with the strings at ``paths`` masked and nothing else: ids, dates and paths beside
    them stay as they are (a row id may hold seven digits in a row and must still find its row).

    ``"failures.*.error"``: ``*`` is each item of a list. A missing key or another shape is skipped. New containers
    are made on the way down: the same object comes back when nothing is at ``paths``.
    """
    for path in paths:
        doc = _masked_at(doc, path.split("."))
    return doc


def _masked_at(node: object, path: Sequence[str]) -> object:
    if not path:
        return mask_text(node) if isinstance(node, str) else node
    key, rest = path[0], path[1:]
    if key == "*":
        return [_masked_at(item, rest) for item in node] if isinstance(node, list) else node
    if not isinstance(node, dict) or key not in node:
        return node
    return {**node, key: _masked_at(node[key], rest)}


def may_continue(text: str | None) -> bool:
    """Whether ``text`` ends with a digit (or a digit word), so that a number may go on in the speaker's next
    utterance (the live feed holds such an utterance back until it knows)."""
    return _ends_with_unit(text)
