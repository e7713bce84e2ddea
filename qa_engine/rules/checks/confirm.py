"""``confirm_repeat`` (复述确认): the agent restates the customer's request or key details.

Passes on explicit confirmation phrasing (跟您确认一下 / 您是说…对吗 / "just to confirm"), or
when an agent turn echoes what the customer just said: the same number (order ids, phone
numbers, amounts: 3+ digits, spoken numerals included), a long shared stretch of words, or a
shorter shared stretch asked back as a question (王小明先生是吧 / "John Smith, right?").
"""

from __future__ import annotations

import re
from bisect import bisect_left

from pydantic import Field

from ...types import Finding
from ..context import CallContext
from ..matching import EN_STOPWORDS, Prepared
from ..registry import Check, quote, register
from ..schema import MatchSpec, StrictModel

_DIGITS = re.compile(r"\d{3,}")


class EchoSpec(StrictModel):
    min_digits: int = Field(default=3, ge=2)
    # shared characters (zh) or content words (en) that count alone
    min_chars: int = Field(default=6, ge=2)
    # shared length that counts when the agent asks it back as a question
    short_chars: int = Field(default=3, ge=2)
    lookback_turns: int = Field(default=3, ge=1)
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
        self.ignore = [sound_codes(x) if self.env.family == "zh" else x for x in ignore if x]

    def _units(self, p: Prepared) -> str | list[str]:
        """Characters (zh codes) or content-bearing words (en) after removing generic phrases."""
        key = (self, "units")
        units = p.memo.get(key)
        if units is None:
            units = p.memo[key] = self._compute_units(p)
        return units  # type: ignore[return-value]

    def _unit_grams(self, p: Prepared, n: int) -> set[str] | set[tuple[str, ...]]:
        key = (self, "grams", n)
        grams = p.memo.get(key)
        if grams is None:
            grams = p.memo[key] = self._grams(self._units(p), n)
        return grams  # type: ignore[return-value]

    @staticmethod
    def _digits(p: Prepared) -> list[str]:
        digits = p.memo.get("digits")
        if digits is None:
            digits = p.memo["digits"] = _DIGITS.findall(p.norm)
        return digits  # type: ignore[return-value]

    def _compute_units(self, p: Prepared) -> str | list[str]:
        text = p.codes
        for ig in self.ignore:
            text = text.replace(ig, "\x00")
        if self.env.family == "zh":
            return text  # one code per character: the string is the list of units
        return ["\x00" if w in EN_STOPWORDS else w for w in text.split()]

    @staticmethod
    def _grams(units: str | list[str], n: int) -> set[str] | set[tuple[str, ...]]:
        """The runs of ``n`` units without an ignored one (zh: substrings; en: word tuples)."""
        if isinstance(units, str):
            runs = [units[i:i + n] for i in range(len(units) - n + 1)]
            return {r for r in runs if "\x00" not in r}
        return {tuple(units[i:i + n]) for i in range(len(units) - n + 1) if "\x00" not in units[i:i + n]}

    def _echo(self, a: Prepared, customers: list[Prepared]) -> float | None:
        e = self.p.echo
        a_digits = set(self._digits(a))
        a_units = self._units(a)
        is_question = self.question is not None and self.question.find(a) is not None
        for c in customers:
            c_digits = {d for d in self._digits(c) if len(d) >= e.min_digits}
            if any(d in ad or ad in d for d in c_digits for ad in a_digits if len(ad) >= e.min_digits):
                return 1.0
            c_units = self._units(c)
            n = e.short_chars if is_question else e.min_chars
            if (len(c_units) >= n and len(a_units) >= n
                    and not self._unit_grams(c, n).isdisjoint(self._unit_grams(a, n))):
                return 0.9
        return None

    def run(self, ctx: CallContext) -> Finding:
        if not ctx.customer or not ctx.agent:
            return self.finding("not_applicable")
        lookback = self.p.echo.lookback_turns
        customer = ctx.customer
        c_index = [c.index for c in customer]  # increasing: utterances are in call order
        for a in ctx.agent:
            hit = self.matcher.find(a)
            if hit is not None:
                return self.finding("pass", [ctx.evidence(a, hit)],
                                    data={"how": "phrase", "matched": hit.phrase}, quote=quote(a.utt.text))
            k = bisect_left(c_index, a.index)  # == [c for c in customer if c.index < a.index][-lookback:]
            before = customer[max(0, k - lookback):k]
            sim = self._echo(a, before) if before else None
            if sim is not None:
                return self.finding("pass", [ctx.evidence(before[-1]), ctx.evidence(a)],
                                    data={"how": "echo"}, quote=quote(a.utt.text))
        return self.finding("fail")

    def describe(self) -> str:
        e = self.p.echo
        unit = "characters" if self.env.family == "zh" else "content words"
        return (f"Echo: the agent repeats a number of {e.min_digits}+ digits, {e.min_chars}+ {unit} of one "
                f"of the customer's last {e.lookback_turns} turns, or {e.short_chars}+ {unit} asked back as "
                "a question.")
