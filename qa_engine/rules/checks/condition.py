"""``condition``: a rule whose ``when:`` is a tree of operators (see :mod:`qa_engine.rules.conditions`).

``expect: present`` passes when some utterance satisfies the tree (a required behaviour), ``expect: absent``
when none does (a forbidden one). The evidence is the utterances that satisfied it.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from ...types import Finding
from ..conditions import Evaluation, bits, build
from ..context import CallContext
from ..registry import Check, quote, register
from ..schema import StrictModel

MAX_EVIDENCE = 20


class ConditionParams(StrictModel):
    when: dict[str, Any]
    expect: Literal["present", "absent"] = "present"
    define: dict[str, dict[str, Any]] = Field(default_factory=dict)


@register("condition")
class Condition(Check):
    """Pass/fail on whether any utterance satisfies ``when`` (``expect``); not applicable on an empty call."""

    Params = ConditionParams
    MESSAGES = {
        "zh": {"pass": "{summary}：符合要求{why}。", "fail": "{summary}：不符合要求{why}。",
               "not_applicable": "通话中没有发言，无法检查此项。"},
        "en": {"pass": "{summary}: met{why}.", "fail": "{summary}: not met{why}.",
               "not_applicable": "Nobody speaks in this call, so this cannot be checked."},
    }

    def compile(self) -> None:
        assert isinstance(self.params, ConditionParams)
        self.p = self.params
        self.root, self.named = build(self.p.when, dict(self.p.define), self.env.matcher)
        #: the live checker may run this rule: every operator is decided once its utterance is heard, and a
        #: match fails the rule for good (``expect: absent``)
        self.live = self.p.expect == "absent" and self.root.incremental

    def run(self, ctx: CallContext) -> Finding:
        if not ctx.utts:
            return self.finding("not_applicable")
        ev = Evaluation(ctx)
        matched = bits(self.root.eval(ev, ev.full))
        present = bool(matched)
        ok = present if self.p.expect == "present" else not present
        evidence = [ctx.evidence(ctx.utts[i]) for i in matched[:MAX_EVIDENCE]]
        why = ""
        if matched:
            first = quote(ctx.utts[matched[0]].utt.text)
            why = (f"（「{first}」等{len(matched)}处）" if self.env.family == "zh"
                   else f" (\"{first}\", {len(matched)} in total)")
        return self.finding("pass" if ok else "fail", evidence, data={"matched": len(matched)},
                            summary=self.rule.summary, why=why)

    def describe(self) -> str:
        live = " Decided live while the call goes on." if self.live else ""
        defines = "".join(f"\n- `{name}`: `{json.dumps(tree, ensure_ascii=False)}`"
                          for name, tree in self.p.define.items())
        return (f"Passes when the condition is {self.p.expect} in the call.{live}\n\n"
                f"- when: `{json.dumps(self.p.when, ensure_ascii=False)}`{defines}")
