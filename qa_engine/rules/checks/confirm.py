"""``confirm_repeat`` (复述确认): the agent restates the customer's request or key details.

Passes on explicit confirmation phrasing (跟您确认一下 / 您是说…对吗 / "just to confirm"), or
when an agent turn echoes what the customer just said: the same number (order ids, phone
numbers, amounts: 3+ digits, spoken numerals included), a long shared stretch of words, or a
shorter shared stretch asked back as a question (王小明先生是吧 / "John Smith, right?").
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterator

from pydantic import Field

from ... import native
from ...types import Finding
from ..context import CallContext
from ..matching import EN_STOPWORDS, Prepared
from ..registry import Check, quote, register
from ..schema import MatchSpec, StrictModel

#: a turn's units: its sound codes (zh, one unit per character) or its words (en), "\x00" for an ignored one
Units = str | tuple[str, ...]
Gram = str | tuple[str, ...]
#: the echo test's units and shared runs in C (qa_engine/native/_echo.c), None: the Python reference below runs
_NATIVE = native.load("_echo")


def _grams(units: Units, n: int) -> Iterator[Gram]:
    """Every run of ``n`` consecutive units (zh: substrings; en: word tuples), sliced at C level."""
    return map(units.__getitem__, map(slice, range(len(units) - n + 1), range(n, len(units) + 1)))


def _shares_python(units: Units, before: list[_Said], n: int) -> bool:
    """Some turn of ``before`` holds a run of ``n`` of its units (none ignored) that ``units`` holds too (the
    reference of the native ``shares``)."""
    if len(units) < n:
        return False
    grams: set[Gram] | None = None  # ignored units included: the customer's grams hold none, so none match
    for c in before:
        if len(c.units) >= n:
            if grams is None:
                grams = set(_grams(units, n))
            if not c.grams(n).isdisjoint(grams):
                return True
    return False


def _units_python(codes: str, ignore: tuple[str, ...], zh: bool, stop_words: frozenset[str] = EN_STOPWORDS) -> Units:
    """A turn's units: its codes with each ignored stretch (in order) made "\x00", then one per character (zh) or
    its words, a stop word as "\x00" (en) (the reference of the native ``units``)."""
    text = codes
    for ig in ignore:
        text = text.replace(ig, "\x00")
    return text if zh else tuple(["\x00" if w in stop_words else w for w in text.split()])


# the native functions themselves where built (no Python frame between the check and the C)
_shares: Callable[[Units, list[_Said], int], bool] = _shares_python if _NATIVE is None else _NATIVE.shares
_units: Callable[[str, tuple[str, ...], bool, frozenset[str]], Units] = (
    _units_python if _NATIVE is None else _NATIVE.units)


class _Said:
    """One turn as the echo test reads it: its numbers and its units; its grams built when first asked for.

    Why: a customer turn is compared with each agent turn that follows it within the lookback, so what it
    says is worked out once per call (never across calls).
    """

    __slots__ = ("numbers", "units", "_grams")

    def __init__(self, numbers: list[str], units: Units) -> None:
        self.numbers = numbers
        self.units = units
        self._grams: dict[int, set[Gram]] = {}

    def grams(self, n: int) -> set[Gram]:
        """The runs of ``n`` units without an ignored one."""
        found = self._grams.get(n)
        if found is None:
            units = self.units
            found = self._grams[n] = (set(_grams(units, n)) if "\x00" not in units
                                      else {g for g in _grams(units, n) if "\x00" not in g})
        return found


class EchoSpec(StrictModel):
    """How an echo of the customer's details is recognised; bounded (min_digits goes into a regex repetition)."""

    min_digits: int = Field(default=3, ge=2, le=100)
    # shared characters (zh) or content words (en) that count alone
    min_chars: int = Field(default=6, ge=2, le=1000)
    # shared length that counts when the agent asks it back as a question
    short_chars: int = Field(default=3, ge=2, le=1000)
    lookback_turns: int = Field(default=3, ge=1, le=1000)
    question: MatchSpec | None = None
    ignore: list[str] = Field(default_factory=list)


class ConfirmRepeatParams(StrictModel):
    role: str = "agent"
    match: MatchSpec
    echo: EchoSpec = Field(default_factory=EchoSpec)


@register("confirm_repeat")
class ConfirmRepeat(Check):
    """At least one agent turn confirms or echoes the customer's request/details."""

    Params = ConfirmRepeatParams
    MESSAGES = {
        "zh": {"pass": "坐席对客户的诉求或关键信息做了复述确认：「{quote}」。",
               "fail": "坐席没有复述或确认客户的诉求和关键信息（号码、地址、姓名等）。",
               "not_applicable": "客户没有提出诉求，无需复述确认。"},
        "en": {"pass": "The agent confirmed the customer's request or details: \"{quote}\".",
               "fail": "The agent never restated or confirmed the customer's request or key details.",
               "not_applicable": "The customer made no request, so there was nothing to confirm."},
    }

    def compile(self) -> None:
        assert isinstance(self.params, ConfirmRepeatParams)
        self.p = self.params
        self.matcher = self.env.matcher(self.p.match)
        self.question = self.env.matcher(self.p.echo.question) if self.p.echo.question else None
        from ...text import normalize, sound_codes

        ignore = [normalize(x, self.env.family) for x in self.p.echo.ignore]
        self.ignore = tuple(sound_codes(x) if self.env.family == "zh" else x for x in ignore if x)
        # the maximal digit runs that count (\d{3,} runs shorter than min_digits never do)
        self.numbers = re.compile(rf"\d{{{max(3, self.p.echo.min_digits)},}}")

    def _said(self, p: Prepared) -> _Said:
        """The numbers and units of one turn (zh: one code per character is one unit)."""
        return _Said(self.numbers.findall(p.norm), _units(p.codes, self.ignore, self.env.family == "zh", EN_STOPWORDS))

    def _echo(self, a: Prepared, before: list[_Said]) -> bool:
        """The agent turn repeats a number, or a stretch of units, of one of the customer turns ``before``."""
        e = self.p.echo
        said = self._said(a)
        if said.numbers and any(d in ad or ad in d for c in before for d in c.numbers for ad in said.numbers):
            return True
        units, short, long = said.units, e.short_chars, e.min_chars
        if self.question is None:
            return _shares(units, before, long)
        if short <= long:  # a shared stretch of ``long`` units holds one of ``short``: test that first, and
            # ask whether the turn is a question only when it matters
            return _shares(units, before, short) and (self.question.find(a) is not None
                                                      or _shares(units, before, long))
        return _shares(units, before, short if self.question.find(a) is not None else long)

    def run(self, ctx: CallContext) -> Finding:
        if not ctx.customer or not ctx.agent:
            return self.finding("not_applicable")
        lookback = self.p.echo.lookback_turns
        customer = ctx.customer
        c_index = [c.index for c in customer]  # increasing: utterances are in call order
        said: list[_Said | None] = [None] * len(customer)  # customer turns, worked out when first compared
        for a in ctx.agent:
            hit = self.matcher.find(a)
            if hit is not None:
                return self.finding("pass", [ctx.evidence(a, hit)],
                                    data={"how": "phrase", "matched": hit.phrase}, quote=quote(a.utt.text))
            k = bisect_left(c_index, a.index)  # customer[:k]: the customer turns before this one
            if not k:
                continue
            lo = max(0, k - lookback)
            before = said[lo:k]
            if None in before:
                for j in range(lo, k):
                    if said[j] is None:
                        said[j] = self._said(customer[j])
                before = said[lo:k]
            if self._echo(a, before):  # type: ignore[arg-type]
                return self.finding("pass", [ctx.evidence(customer[k - 1]), ctx.evidence(a)],
                                    data={"how": "echo"}, quote=quote(a.utt.text))
        return self.finding("fail")

    def describe(self) -> str:
        e = self.p.echo
        unit = "characters" if self.env.family == "zh" else "content words"
        return (f"Echo: the agent repeats a number of {e.min_digits}+ digits, {e.min_chars}+ {unit} of one "
                f"of the customer's last {e.lookback_turns} turns, or {e.short_chars}+ {unit} asked back as "
                "a question.")
