"""Text normalisation shared by ASR output and rule matching.

Rules compare what the agent said with phrase lists, so both sides go through the same
``normalize``: Traditional -> Simplified (Whisper often answers Mandarin in Traditional),
full width -> half width, case, punctuation, spoken numerals -> digits.  For Mandarin a
second, same-length "sound" string maps every character to one code per pinyin syllable,
so homophones produced by ASR (来点 for 来电, 在见 for 再见) compare equal.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import zlib
from functools import lru_cache
from typing import Any

import numpy as np

from . import native

logger = logging.getLogger(__name__)

__all__ = [
    "SUPPORTED_LANGUAGES",
    "asr_language",
    "language_family",
    "pack_language",
    "supported_language",
    "normalize",
    "normalize_many",
    "sound_codes",
    "sound_codes_many",
    "to_simplified",
    "cn_numerals_to_digits",
    "en_number_words_to_digits",
    "tokens",
    "is_cjk",
]

_CN_DIGITS = {"零": "0", "〇": "0", "○": "0", "一": "1", "幺": "1", "二": "2", "三": "3", "四": "4",
              "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_EN_DIGITS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
              "six": "6", "seven": "7", "eight": "8", "nine": "9"}

# Runs of two or more digit numerals (一三八, 幺零零八六) are read digit by digit;
# 两 only counts before a unit (两百) so that 两三天 stays words.
# (written as one numeral then more, not {2,}: a pattern that starts with a character class lets re skip to the
# next numeral in C instead of trying the pattern at every position)
_CN_DIGIT_RUN = re.compile(r"[零〇○一幺二三四五六七八九][零〇○一幺二三四五六七八九]+")
_CN_VALUE = re.compile(
    r"(?:[一二两三四五六七八九]?十[一二三四五六七八九]?"
    r"|[一二两三四五六七八九][百千](?:[零一二两三四五六七八九十]{0,3}))"
)
_CN_ANY = re.compile(r"[零〇○一幺二两三四五六七八九十百千]")
_CN_NUMERALS = frozenset("零〇○一幺二两三四五六七八九十百千")  # every character the numeral patterns above read
_EN_DIGIT_WORDS = frozenset(_EN_DIGITS)
_EN_DIGIT_RUN = re.compile(r"\b(?:(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b[ \t-]*){2,}")
# per digit word: it, then another digit word (what every _EN_DIGIT_RUN match starts with), led by a literal
_EN_DIGIT_PAIR = {w: re.compile(rf"{w}\b[ \t-]*(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b")
                  for w in _EN_DIGITS}
_PUNCT = re.compile(r"[^\w\n]+", re.UNICODE)  # keeps newlines: batches are joined with them
# The space-removal patterns start with the space itself (lookbehinds after it) so that re can
# jump from space to space instead of trying every position; they match the same spaces as
# "(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])|(?<=\d) (?=\d)" and "(?<=\d) (?=\d)".
_ZH_SPACE = re.compile(r" (?:(?<=[^\x00-\x7f] )|(?=[^\x00-\x7f])|(?<=\d )(?=\d))")
_EN_SPACES = re.compile(r"[ \t]+")
_DIGIT_GAP = re.compile(r" (?<=\d )(?=\d)")
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
# ASCII text: every non-word character except newline -> space, then runs of spaces -> one
# space: the same as _PUNCT.sub(" ", text), without a regex step per character.
_ASCII_PUNCT = {c: " " for c in range(128) if not re.match(r"[\w\n]", chr(c))}
# Full-width ASCII forms and the ideographic space -> their compatibility decomposition (one
# ASCII character each).  NFKC(text) == NFKC(text with some characters replaced by their NFKD
# forms), and after this the common case (Chinese with full-width punctuation) is already
# NFKC-normalised, so the quick check answers instead of a full normalisation.
_WIDE = {c: unicodedata.normalize("NFKD", chr(c)) for c in (*range(0xFF01, 0xFF5F), 0x3000)}
_COMMON_WIDE = "，？！：；（）　"
_APOSTROPHE = re.compile(r"['’`´]")  # what English normalisation deletes (one str.replace per character)
#: the C versions of the fast paths below (qa_engine/native/_prepare.c), or None: the Python ones run
_NATIVE = native.load("_prepare")


#: The languages the service transcribes and scores (Whisper codes): a bundled rule pack exists for each, the
#: bundled model's decoding was measured on each, and ``auto`` chooses between them. Cantonese (yue) is left out:
#: the bundled Whisper base has no token for it.
SUPPORTED_LANGUAGES = ("zh", "en")
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8}){0,4}$")  # zh, zh-CN, cmn-Hans-CN, Chinese
_ZH_PREFIXES = ("zh", "cmn", "chi")  # zh, zh-CN, zh_TW, zho, cmn, chi, chinese ...
_YUE_PREFIXES = ("yue", "zh-yue", "zh_yue")  # Cantonese: Whisper has its own code for it


def asr_language(tag: str | None, default: str = "zh") -> str:
    """The Whisper language code for a language tag from a user, a pack or a client.

    Why one function: the batch pipeline, the live call and the AudioHook tap each receive
    free-form tags (zh-CN, cmn, en-US, zh-yue) and must hand Whisper the same code, or the
    same call is decoded differently live and in batch. Chinese variants -> "zh", Cantonese
    (yue, zh-yue) -> "yue", others -> the lower-cased base code ("en-US" -> "en"); a missing
    tag -> ``default``; "auto" stays "auto" (the pipeline then detects the language).
    """
    lang = (tag or "").strip().lower()
    if not lang:
        return default
    if lang == "auto":
        return "auto"
    if lang.startswith(_YUE_PREFIXES):
        return "yue"
    if lang.startswith(_ZH_PREFIXES):
        return "zh"
    return lang.split("-")[0].split("_")[0]


def supported_language(tag: str) -> str | None:
    """The Whisper code of ``tag`` when it is one of :data:`SUPPORTED_LANGUAGES` (zh-CN -> zh, en-US -> en), else None.

    Why: a client that names another language (or none, or a 10 kB string) is told at once, instead of the call
    failing later in the transcriber. ``auto`` is not a language: callers that can detect one allow it themselves.
    """
    if not _LANGUAGE_TAG.match(tag.strip()):
        return None
    code = asr_language(tag)
    return code if code in SUPPORTED_LANGUAGES else None


def pack_language(language: str | None) -> str:
    """The language a rule pack is written for, as packs and calls are matched: "zh" for any Chinese tag (zh-TW,
    cmn, yue), else the base code ("en-GB" -> "en", "fr-CA" -> "fr"); no language (or ``auto``) -> "en", the
    default pack's, as before a language was known.

    Why not :func:`language_family`: a family lumps every non-Chinese language with English, so a French call
    would be judged by English phrases.
    """
    code = asr_language(language, default="en")
    return {"yue": "zh", "auto": "en"}.get(code, code)


def language_family(language: str | None) -> str:
    """'zh' for any Chinese tag (zh, zh-CN, zh-TW, cmn, yue), else 'en': which rule behaviour applies."""
    return "zh" if asr_language(language, default="") in ("zh", "yue") else "en"


@lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


#: One character of each t2s phrase that t2s changes although it leaves every one of its characters alone when they
#: stand by themselves (深沈 -> 深沉, 打坏 -> 打坯): with the characters t2s changes by themselves, every key that t2s
#: changes holds one of them.  Found in the t2s dictionaries of opencc _T2S_CHECKED_VERSION (test_text checks the
#: installed ones); another opencc version gets no skip.
_T2S_PHRASE_GUARDS = "沈藉覆坏瞭哩甦衹"
_T2S_CHECKED_VERSION = "1.4.2"


@lru_cache(maxsize=1)
def _t2s_units() -> np.ndarray[Any, np.dtype[np.bool_]] | None:
    """Code unit -> whether t2s may change a text that holds it; None where that is not known (no skip).

    t2s replaces dictionary keys found in the text and copies every other character.  A key can only be found if
    each of its characters is in the text, so a text with none of these characters comes back as it is: the
    characters t2s changes by themselves (asked of the converter: the whole Basic Multilingual Plane in one call,
    one character a line, since no key holds a newline) and the phrase guards.
    """
    import opencc

    if opencc.__version__ != _T2S_CHECKED_VERSION:
        return None
    chars = [chr(o) for o in (*range(10), *range(11, 0xD800), *range(0xE000, 0x10000))]
    out = str(_converter().convert("\n".join(chars))).split("\n")
    if len(out) != len(chars):
        return None
    table = np.zeros(0x10000, dtype=np.bool_)
    table[[ord(c) for c, o in zip(chars, out, strict=True) if c != o]] = True
    table[[ord(c) for c in _T2S_PHRASE_GUARDS]] = True
    return table


def to_simplified(text: str) -> str:
    """Traditional -> Simplified Chinese (opencc t2s); other text is returned unchanged.

    Text with no character t2s could change (most Mandarin ASR output is Simplified already) skips the converter:
    one table lookup in numpy instead of a pass through opencc.
    """
    if not text or text.isascii():
        return text
    changed = _t2s_units()
    if changed is not None:
        if _NATIVE is not None:
            if not _NATIVE.t2s_needed(text, changed):
                return text
        else:
            units = _bmp_units(text)
            if units is not None and not changed.take(units).any():
                return text
    return str(_converter().convert(text))


def is_cjk(ch: str) -> bool:
    """True for a CJK unified ideograph (the characters pinyin is looked up for)."""
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF


def _cn_value(run: str) -> str:
    """十五 -> 15, 三百零五 -> 305, 两千 -> 2000 (small positional numbers only)."""
    total = 0
    digit = 0
    for ch in run:
        if ch in _CN_UNITS:
            total += (digit or 1) * _CN_UNITS[ch]
            digit = 0
        elif ch == "两":
            digit = 2
        elif ch in _CN_DIGITS:
            digit = int(_CN_DIGITS[ch])
    return str(total + digit)


def cn_numerals_to_digits(text: str) -> str:
    """Spoken Chinese numerals -> digits: 一三八 -> 138, 幺零零八六 -> 10086, 三十五 -> 35."""
    if not _CN_ANY.search(text):
        return text
    if "十" in text or "百" in text or "千" in text:  # _CN_VALUE needs one (its scan of every position is costly)
        text = _CN_VALUE.sub(lambda m: _cn_value(m.group(0)), text)
    return _CN_DIGIT_RUN.sub(lambda m: "".join(_CN_DIGITS[c] for c in m.group(0)), text)


def en_number_words_to_digits(text: str) -> str:
    """Runs of two or more spoken digits -> digits: 'five five five one' -> '5551'."""
    def repl(m: re.Match[str]) -> str:
        words = re.findall(r"[a-z]+", m.group(0))
        tail = " " if m.group(0)[-1:] in (" ", "\t") else ""
        return "".join(_EN_DIGITS[w] for w in words) + tail

    return _EN_DIGIT_RUN.sub(repl, text)


def normalize(text: str, language: str = "zh") -> str:
    """Canonical form for matching.

    zh: simplified, half width, lower case, numerals as digits, no punctuation or spaces
    between Chinese characters.  en: lower case, apostrophes dropped (don't -> dont),
    punctuation -> single spaces, spoken digit runs -> digits.
    """
    return normalize_many([text], language)[0]


def _nfkc(s: str) -> str:
    if s.isascii():
        return s
    for ch in _COMMON_WIDE:  # a few str.replace calls beat a per-character translate
        if ch in s:
            s = s.replace(ch, _WIDE[ord(ch)])
    if unicodedata.is_normalized("NFKC", s):
        return s
    s = s.translate(_WIDE)  # the rest of the full-width forms, before the full normalisation
    return s if unicodedata.is_normalized("NFKC", s) else unicodedata.normalize("NFKC", s)


def _bmp_units(s: str) -> np.ndarray[Any, np.dtype[np.uint16]] | None:
    """``s`` as UTF-16 code units, one per character (numpy maps them through a table in C, ten times faster than
    ``str.translate``'s lookup per character); None when a character needs two units or is a lone surrogate."""
    try:
        b = s.encode("utf-16-le")
    except UnicodeEncodeError:
        return None
    return np.frombuffer(b, dtype=np.uint16) if len(b) == 2 * len(s) else None


@lru_cache(maxsize=1)
def _punct_units() -> np.ndarray[Any, np.dtype[np.uint16]]:
    """Code unit -> itself, or a space where ``_PUNCT`` replaces the character: the whole Basic Multilingual Plane
    run through the regex once (surrogates stay themselves: :func:`_bmp_units` never hands one over)."""
    bmp = "".join(map(chr, range(0xD800))) + "".join(map(chr, range(0xE000, 0x10000)))
    units = np.frombuffer(re.sub(r"[^\w\n]", " ", bmp).encode("utf-16-le"), dtype=np.uint16)
    return np.concatenate([units[:0xD800], np.arange(0xD800, 0xE000, dtype=np.uint16), units[0xD800:]])


def _punct_to_space(s: str) -> str:
    """``_PUNCT.sub(" ", s)``: runs of characters other than word characters and newlines -> " "."""
    if s.isascii():
        s = s.translate(_ASCII_PUNCT)
    else:
        units = _bmp_units(s)
        if units is None:
            return _PUNCT.sub(" ", s)
        s = _punct_units().take(units).tobytes().decode("utf-16-le")
    while "  " in s:  # runs of spaces -> one space: a pass or two of replace, cheaper than a regex step per run
        s = s.replace("  ", " ")
    return s


@lru_cache(maxsize=1)
def _zh_units() -> np.ndarray[Any, np.dtype[np.uint16]]:
    """Code unit -> the unit that NFKC, lower case, "_" -> " " and ``_PUNCT`` make of the character, for characters
    where doing these one character at a time is exact; 0 for the others (their text takes the step-by-step path).

    Exact: a character whose NFKD is one starter that composes with nothing before it (not the second of a
    canonical pair, no Hangul jamo) neither reorders nor composes with its neighbours, so NFKC of a text of such
    characters is their NFKD side by side.  Lower case is one character to one except for İ-like expansions and
    capital sigma (whose lower case depends on the next letter), both left out.  Characters that are Chinese
    numerals stay themselves and no other becomes one, so the numerals can be read before this mapping.
    """
    chars = [chr(o) for o in (*range(0xD800), *range(0xE000, 0x10000))]
    seconds = {int(p[1], 16) for p in map(str.split, map(unicodedata.decomposition, chars))
               if len(p) == 2 and not p[0].startswith("<")}
    punct = _punct_units()
    table = np.zeros(0x10000, dtype=np.uint16)
    for c in chars:
        d = unicodedata.normalize("NFKD", c)
        if len(d) != 1 or d == "\u03a3" or unicodedata.combining(d) or ord(d) in seconds or 0x1100 <= ord(d) < 0x1200:
            continue
        low = d.lower()
        if len(low) != 1 or ord(low) > 0xFFFF or (c in _CN_NUMERALS or low in _CN_NUMERALS) and low != c:
            continue
        table[ord(c)] = 32 if low == "_" else punct[ord(low)]
    return table


#: code unit -> its side of a space in Mandarin text: 1 for ASCII but space and newline, 2 for a digit, 0 otherwise
_ZH_SPACE_SIDES = np.zeros(0x10000, dtype=np.uint8)
_ZH_SPACE_SIDES[33:128] = 1
_ZH_SPACE_SIDES[ord("0"):ord("9") + 1] = 2
#: byte -> its side of a space in English (ASCII) text: 0 for newline, 2 for a digit, 1 otherwise
_EN_SPACE_SIDES = np.ones(256, dtype=np.uint8)
_EN_SPACE_SIDES[10] = 0
_EN_SPACE_SIDES[ord("0"):ord("9") + 1] = 2


def _drop_spaces(m: np.ndarray[Any, Any], sides: np.ndarray[Any, np.dtype[np.uint8]]) -> np.ndarray[Any, Any]:
    """Characters (code units or bytes) between a newline at each end -> without those ends, runs of spaces collapsed
    and a space kept only if the sides of its neighbours multiply to 1 or 2 (no 0 side, not both digits).

    That is the collapse, the space pattern (``_ZH_SPACE``, ``_DIGIT_GAP``) and the strip of every line at once,
    decided from each space's neighbours in numpy instead of a regex or replace step per space.
    """
    sp = m == 32
    if not sp.any():
        return m[1:-1]
    run = sp[1:] & sp[:-1]
    if run.any():  # runs of spaces -> their first space
        m = m[np.concatenate(([True], ~run))]
        sp = m == 32
    side = sides.take(m)
    return m[1:-1][~(sp[1:-1] & ((side[:-2] * side[2:] - 1) > 1))]  # uint8: a product of 0 wraps to 255


def _zh_fast(s: str) -> str | None:
    """Simplified Mandarin text with its numerals read -> its normalised lines joined by newlines; None when a
    character needs the step-by-step path.  One numpy mapping does NFKC, lower case and punctuation."""
    units = _bmp_units("\n" + s + "\n")
    if units is None:
        return None
    m = _zh_units().take(units)
    if not m.all():
        return None
    return _drop_spaces(m, _ZH_SPACE_SIDES).tobytes().decode("utf-16-le")


#: ASCII byte -> what lower case, "_" -> " " and ``_PUNCT`` make of it (English text, one ``bytes.translate``)
_EN_BYTES = bytes(32 if c == 95 or not re.match(r"[\w\n]", chr(c).lower()) else ord(chr(c).lower())
                  for c in range(128)) + bytes(range(128, 256))


def _en_fast(s: str) -> str | None:
    """ASCII English text -> its normalised lines joined by newlines; None when it has spoken digits to read (the
    step-by-step path does those).  bytes.translate does lower case, apostrophes and punctuation at once."""
    b = s.encode("ascii").translate(_EN_BYTES, b"'`")
    s = b.decode("ascii")
    words = _EN_DIGIT_WORDS.intersection(s.split())
    # a run needs two digit words side by side: searched from the words present (fast literal scans)
    if words and any(_EN_DIGIT_PAIR[w].search(s) for w in words):
        return None
    return _drop_spaces(np.frombuffer(b"\n" + b + b"\n", dtype=np.uint8), _EN_SPACE_SIDES).tobytes().decode("ascii")


def _zh_steps(s: str) -> str:
    """NFKC, lower case, numerals, punctuation and spaces one step after another (any Simplified Mandarin text)."""
    s = _nfkc(s).lower()
    s = cn_numerals_to_digits(s)
    s = _punct_to_space(s.replace("_", " "))
    return _ZH_SPACE.sub("", s) if " " in s else s


def _en_steps(s: str) -> str:
    """NFKC, lower case, apostrophes, punctuation, digit words and digit gaps one step after another (any text)."""
    s = _nfkc(s).lower()
    for ch in "'’`´":  # _APOSTROPHE.sub("", s): a replace per character present beats a regex step per match
        if ch in s:
            s = s.replace(ch, "")
    s = _punct_to_space(s.replace("_", " "))
    words = _EN_DIGIT_WORDS.intersection(s.split())
    # a run needs two digit words side by side: searched from the words present (fast literal scans)
    # instead of _EN_DIGIT_RUN's scan of every position; tokens are \w runs here, so a run's first word is one
    if words and any(_EN_DIGIT_PAIR[w].search(s) for w in words):
        if "\t" in s or "  " in s:  # never after _punct_to_space; kept for the exact old behaviour
            s = _EN_SPACES.sub(" ", s)
        s = en_number_words_to_digits(s)
    # ASCII text (\d is 0-9 there): whether a digit, a space, a digit occur, from a byte translation (C)
    if not s.isascii() or b"0 0" in s.encode().translate(_DIGITS_AS_ZERO):
        s = _DIGIT_GAP.sub("", s)
    return s


def _joined(texts: list[str]) -> str:
    """A call's texts joined by newlines, a line break inside a text made a space."""
    joined = "\n".join(texts)
    if "\r" in joined or joined.count("\n") >= len(texts):  # a text holds a line break: it becomes a space
        joined = "\n".join(t.replace("\n", " ").replace("\r", " ") for t in texts)
    return joined


def normalize_many(texts: list[str], language: str = "zh") -> list[str]:
    """:func:`normalize` for a whole call at once (one opencc/NFKC pass: much faster)."""
    return _normalize_many(texts, language, _NATIVE)


def _normalize_many_python(texts: list[str], language: str) -> list[str]:
    """:func:`normalize_many` with the Python fast paths: the reference the C ones must equal."""
    return _normalize_many(texts, language, None)


def _normalize_many(texts: list[str], language: str, c: Any) -> list[str]:
    """:func:`normalize_many`; ``c``: the C module whose fast paths run first (they answer None where they do not
    apply, and the Python ones run then), or None."""
    if not texts:
        return []
    joined = _joined(texts)
    if language_family(language) == "zh":
        simplified = to_simplified(joined)
        if c is not None and (lines := c.zh_lines(simplified, len(texts), _zh_units(), _ZH_SPACE_SIDES)) is not None:
            return lines
        fast = _zh_fast(cn_numerals_to_digits(simplified))
        s = _zh_steps(simplified) if fast is None else fast
    else:
        if c is not None and (lines := c.en_lines(joined, len(texts), _EN_BYTES, _EN_SPACE_SIDES)) is not None:
            return lines
        fast = _en_fast(joined) if joined.isascii() else None
        s = _en_steps(joined) if fast is None else fast
    out = s.split("\n")
    if len(out) != len(texts):  # a normalisation step produced or ate a newline: fall back
        logger.debug("batch normalisation misaligned; normalising one by one")
        return [_normalize_many_python([t], language)[0] for t in texts]
    # the steps leave no whitespace but spaces and newlines (the fast paths not even at line ends): strip only if a
    # line starts or ends with a space
    if fast is None and (s[:1] == " " or s[-1:] == " " or " \n" in s or "\n " in s):
        out = list(map(str.strip, out))
    return out


def tokens(norm: str) -> list[str]:
    """Whitespace tokens of an already-normalised English string."""
    return norm.split()


# ---- pinyin sound codes ---------------------------------------------------------------------

# Merges that Mandarin ASR and southern accents blur: zh/z, ch/c, sh/s, n/l, -ng/-n.
_INITIAL_MERGE = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FINAL_MERGE = (("ang", "an"), ("eng", "en"), ("ing", "in"))
_CHAR_CODE: dict[str, str] = {}
_CODE_BASE = 0xE000  # private use area: never appears in normalised text
# Codes are a fixed function of the (merged) syllable, never of the order syllables were first seen: packs are
# built in one process and used in another (batch executors, Ray), so a code must mean the same everywhere.
_INITIALS = ("", "b", "p", "m", "f", "d", "t", "l", "g", "k", "h", "j", "q", "x", "r", "z", "c", "s", "y", "w")
_FINALS = ("", "a", "o", "e", "i", "u", "v", "ai", "ei", "ui", "ao", "ou", "iu", "ie", "ve", "ue", "er", "an", "en",
           "in", "un", "vn", "on", "ong", "ia", "ian", "iao", "iong", "io", "ua", "uo", "uai", "uan", "van", "uen",
           "ng", "n", "m", "r")
_FINAL_SLOTS = 64
_HASHED_BASE = _CODE_BASE + len(_INITIALS) * _FINAL_SLOTS  # syllables outside the table (rare spellings)
_HASHED_SLOTS = 0xF8FF - _HASHED_BASE


def _merge_syllable(py: str) -> str:
    for a, b in _INITIAL_MERGE:
        if py.startswith(a):
            py = b + py[len(a):]
            break
    for a, b in _FINAL_MERGE:
        if py.endswith(a):
            py = py[: -len(a)] + b
            break
    return py


def syllable_code(syllable: str) -> str:
    """The one private-use character standing for a merged pinyin syllable, the same in every process."""
    for initial in sorted(_INITIALS, key=len, reverse=True):
        if syllable.startswith(initial):
            final = syllable[len(initial):]
            if final in _FINALS:
                return chr(_CODE_BASE + _INITIALS.index(initial) * _FINAL_SLOTS + _FINALS.index(final))
            break
    return chr(_HASHED_BASE + zlib.crc32(syllable.encode("utf-8")) % _HASHED_SLOTS)


def _char_code(ch: str) -> str:
    code = _CHAR_CODE.get(ch)
    if code is not None:
        return code
    if is_cjk(ch):
        from pypinyin import lazy_pinyin

        syllables = lazy_pinyin(ch)
        py = _merge_syllable(syllables[0]) if syllables and syllables[0] != ch else ch
        code = ch if py == ch else syllable_code(py)
    else:
        code = ch
    _CHAR_CODE[ch] = code
    return code


#: code unit -> its sound code's unit; 0 for the hanzi not looked up yet (filled as first seen, with _char_code)
_CODE_UNITS = np.arange(0x10000, dtype=np.uint16)
_CODE_UNITS[0x3400:0x4DC0] = 0
_CODE_UNITS[0x4E00:0xA000] = 0


def sound_codes(norm: str) -> str:
    """One code character per input character; hanzi with the same (merged) pinyin share a code.

    The result has the same length as ``norm`` so positions found in it index the text.
    Lookups are cached per character (pypinyin costs tens of microseconds per call) in a table of code units that
    numpy maps the whole text through at once.
    """
    units = _bmp_units(norm)
    if units is None:
        return "".join(map(_char_code, norm))
    codes = _CODE_UNITS.take(units)
    if not codes.all():  # hanzi seen for the first time (or a NUL, whose code is itself)
        for o in np.unique(units[codes == 0]).tolist():
            _CODE_UNITS[o] = ord(_char_code(chr(o)))
        codes = _CODE_UNITS.take(units)
    return codes.tobytes().decode("utf-16-le")


def sound_codes_many(norms: list[str]) -> list[str]:
    """:func:`sound_codes` of each of a call's normalised texts (no newline in them), in one pass."""
    if _NATIVE is not None:
        codes = _NATIVE.sound_lines(norms, _CODE_UNITS)
        if codes is not None:
            return codes
    return _sound_codes_many_python(norms)


def _sound_codes_many_python(norms: list[str]) -> list[str]:
    """:func:`sound_codes_many` in Python (and what fills the table of codes with the hanzi not seen yet)."""
    codes = sound_codes("\n".join(norms)).split("\n")
    if len(codes) != len(norms):  # pragma: no cover - defensive
        codes = [sound_codes(n) for n in norms]
    return codes
