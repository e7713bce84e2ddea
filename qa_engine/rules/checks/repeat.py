"""``customer_repeat``: the customer has to state the same request or problem again and again (unresolved).

Two customer turns say the same thing when their *content* overlaps: function words, politeness and fillers
(请/帮我/一下/please/could you), digits (a number read back on request is not a complaint) and short
acknowledgements (好的/嗯/ok) are removed first, then Mandarin turns are compared by character bigrams and English
turns by word stems (their first five letters: refund/refunded, charge/charged). Two turns say the same thing when
they share at least ``min_shared`` features and that is at least ``similarity`` of the shorter turn's features.
So "帮我查一下话费" and "帮我查一下流量" share only their polite frame and do not count, while "宽带又断了" and
"宽带还是断的" do. Turns that say the same thing are grouped (single link); a group of ``min_repeats`` turns fails
the call.

Cost: content features once per customer turn and an inverted index from feature to earlier turns, so a turn is
compared only with the turns it shares a feature with (no all-pairs loop).
"""

from __future__ import annotations

import re

from pydantic import Field

from ... import native
from ...types import Finding
from ..context import CallContext
from ..matching import Prepared
from ..registry import Check, quote, register
from ..schema import StrictModel

#: Characters that carry no request content in Mandarin customer speech (pronouns, particles, politeness, fillers).
ZH_STOP_CHARS = ("我你您他她它们的了吗呢吧啊呀哦嗯噢喂哎诶么嘛就还也都又再请帮下一个这那是在有和跟给让把被"
                 "想要能可以会得着过好对行哈啦喽呃额么那个什怎样么为")
#: Words that carry no request content in English customer speech.
EN_STOP_WORDS = frozenset("""
a an the i im ive id ill me my mine you your youre we our us they them their he she it its this that these those
is are was were be been being am do does did doing have has had having can could would should will shall may might
must to of in on at for from with about by as into over after before so and or but if then than
just really very please pls kindly help want wanted need needed like would'd get got getting make made let lets
hi hello hey yes yeah yep no nope ok okay alright right sure thanks thank well um uh er ah oh hmm mm again still
off
what whats how hows why when where which who whom there theres here some any all also too not dont cant wont isnt
going gonna know tell told said say saying call calling called one thing actually maybe now already sorry nothing
bye goodbye great perfect fine good cool lovely awesome brilliant nice excellent wonderful fantastic done got idea
appreciate appreciated welcome morning afternoon evening much lot way check look see find ask question wonder
wondering
""".split())

#: Common two-character words that say nothing about what the customer wants.
ZH_STOP_BIGRAMS = frozenset("时候 知道 现在 已经 然后 因为 所以 但是 不是 没有 这样 那样 一直 到底 怎么 什么 是不 能不 "
                            "不能 可能 应该 觉得 感觉 其实 还是 真的 东西 事情 问题 谢谢 麻烦 客服 不用 不了 不行 "
                            "再见 辛苦 明白 清楚 知道 收到 没问 可以 不错 太好 先生 女士 喂喂".split())

#: every bigram of content characters (not stop characters, digits, "*" or what ``str.split`` splits on), found
#: overlapping in one C-level pass (the lookahead keeps each match empty)
_ZH_BIGRAMS = re.compile(f"(?=([^{re.escape(ZH_STOP_CHARS)}0-9*\\s]{{2}}))")
_EN_SUFFIXES = ("ing", "ed", "es", "s")  # (qa_engine/native/_repeat.c holds the same list)
#: customer_repeat's English features in C (qa_engine/native/_repeat.c), None: the Python reference below runs
_NATIVE = native.load("_repeat")


def zh_features(norm: str) -> frozenset[str]:
    """Character bigrams inside the runs of content characters left between stop characters and digits (a lone
    character such as 查 is too common a verb to tell two requests apart, and is dropped); in C when built."""
    if _NATIVE is not None:
        return _NATIVE.zh_features(norm, ZH_STOP_CHARS, ZH_STOP_BIGRAMS)
    return zh_features_python(norm)


def zh_features_python(norm: str) -> frozenset[str]:
    """:func:`zh_features` in Python (the reference of the native one)."""
    return frozenset(_ZH_BIGRAMS.findall(norm)) - ZH_STOP_BIGRAMS


def _stem(word: str) -> str:
    """A crude stem: an inflection suffix and a doubled final consonant off, then the first five letters
    (refunded/refund, shipped/ship, charged/charge, connection/connected)."""
    for suffix in _EN_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
                word = word[:-1]
            break
    return word[:5]


def en_features(norm: str) -> frozenset[str]:
    """Content word stems (words under three letters, stop words and numbers dropped); in C when built."""
    if _NATIVE is not None:
        return _NATIVE.en_features(norm, EN_STOP_WORDS)
    return en_features_python(norm)


def en_features_python(norm: str) -> frozenset[str]:
    """:func:`en_features` in Python (the reference of the native one).

    A word of nine letters or more, or without an inflection suffix, stems to its first five letters whatever
    :func:`_stem` would cut off (at least six are left), so only the others pay for the call.
    """
    return frozenset([w[:5] if len(w) > 8 or not w.endswith(_EN_SUFFIXES) else _stem(w)
                      for w in set(norm.split()) - EN_STOP_WORDS if len(w) > 2 and w.isalpha()])


class CustomerRepeatParams(StrictModel):
    min_repeats: int = Field(default=3, ge=2, le=50)  # turns that say the same thing before the call fails
    similarity: float = Field(default=0.5, gt=0, le=1)  # shared share of the shorter turn's content features
    min_shared: int = Field(default=1, ge=1, le=50)  # content features two turns must share at least
    min_features: int = Field(default=2, ge=1, le=50)  # shorter turns (acks, 好的, ok) never count
    max_turns: int = Field(default=400, ge=10, le=20000)  # customer turns compared (the first ones)


@register("customer_repeat")
class CustomerRepeat(Check):
    """Fail when the customer states the same request or problem ``min_repeats`` times or more."""

    Params = CustomerRepeatParams
    MESSAGES = {
        "zh": {"pass": "客户没有反复陈述同一诉求（最多{count}次）。",
               "fail": "客户把同一诉求说了{count}次（如「{first}」…「{last}」），问题可能未解决。",
               "not_applicable": "本通电话没有客户发言，无法判断是否重复诉求。"},
        "en": {"pass": "The customer did not have to restate a request (at most {count} time(s)).",
               "fail": "The customer stated the same request {count} times (\"{first}\" … \"{last}\"): "
                       "it may be unresolved.",
               "not_applicable": "The customer did not speak, so repeated requests cannot be judged."},
    }

    def compile(self) -> None:
        assert isinstance(self.params, CustomerRepeatParams)
        self.p = self.params
        self.features = zh_features if self.env.family == "zh" else en_features

    def run(self, ctx: CallContext) -> Finding:
        if not ctx.customer:
            return self.finding("not_applicable")
        turns, group = self._largest_group(ctx.customer[: self.p.max_turns])
        if not turns:  # only acknowledgements: nothing was restated
            return self.finding("pass", data={"repeats": 0, "substantive_turns": 0}, count=0)
        count = len(group)
        data = {"repeats": count, "substantive_turns": len(turns)}
        if count >= self.p.min_repeats:
            first, last = turns[group[0]], turns[group[-1]]
            return self.finding("fail", [ctx.evidence(turns[i]) for i in group[:10]], data=data, count=count,
                                first=quote(first.utt.text, 24), last=quote(last.utt.text, 24))
        return self.finding("pass", data=data, count=count)

    def _largest_group(self, customer: list[Prepared]) -> tuple[list[Prepared], list[int]]:
        """The substantive turns read, and the indexes (into them) of the biggest group that says the same thing."""
        if _NATIVE is None:
            return self._largest_group_python(customer)
        p = self.p
        # the C features with their stop lists, called straight from the C grouping (what self.features calls)
        features, args = ((_NATIVE.zh_features, (ZH_STOP_CHARS, ZH_STOP_BIGRAMS)) if self.env.family == "zh"
                          else (_NATIVE.en_features, (EN_STOP_WORDS,)))
        kept, group = _NATIVE.largest_group(customer, features, args, p.min_features, p.min_shared, p.similarity,
                                            p.min_repeats)
        return [customer[i] for i in kept], group

    def _largest_group_python(self, customer: list[Prepared]) -> tuple[list[Prepared], list[int]]:
        """:meth:`_largest_group` in Python (the reference of the native one).

        One pass: each turn's features are computed when it is reached and looked up in an inverted index of the
        earlier turns' features; the pass stops once a group reaches ``min_repeats`` (the call fails anyway).
        """
        p = self.p
        sim, min_shared, min_features, enough = p.similarity, p.min_shared, p.min_features, p.min_repeats
        features = self.features
        turns: list[Prepared] = []
        feats: list[frozenset[str]] = []
        parent: list[int] = []
        size: list[int] = []

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        postings: dict[str, list[int]] = {}
        best = 0
        for u in customer:
            f = features(u.norm)
            n = len(f)
            if n < min_features:
                continue
            i = len(turns)
            turns.append(u)
            feats.append(f)
            parent.append(i)
            size.append(1)
            shared: dict[int, int] = {}
            for x in f:
                earlier = postings.get(x)
                if earlier is None:
                    postings[x] = [i]
                    continue
                for j in earlier:
                    shared[j] = shared.get(j, 0) + 1
                earlier.append(i)
            for j, k in shared.items():
                if k >= min_shared and k >= sim * min(n, len(feats[j])):
                    a, b = root(i), root(j)
                    if a != b:
                        parent[b] = a
                        size[a] += size[b]
            r = root(i)
            if size[r] > size[root(best)]:
                best = r
            if size[r] >= enough:  # enough to fail the call: the rest need not be compared
                break
        if not turns:
            return [], []
        top = root(best)
        return turns, [i for i in range(len(turns)) if root(i) == top]

    def describe(self) -> str:
        return (f"Fails when {self.p.min_repeats} or more customer turns say the same thing (at least "
                f"{self.p.min_shared} shared content features, {self.p.similarity:g} of the shorter turn's; turns "
                f"with fewer than {self.p.min_features} content features ignored).")
