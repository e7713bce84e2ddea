"""The smallest valid pack: one greeting rule. For tests about uploading, naming and choosing packs, where what the
rule checks does not matter (one text instead of a copy per test module)."""

from __future__ import annotations


def one_rule_pack(pack_id: str, *, language: str = "zh", version: str = "1", grades: str = "{good: 80, poor: 0}",
                  summary: str = "greets", phrase: str = "您好") -> str:
    """The pack's YAML text: rule ``greeting`` (weight 10) wants ``phrase`` from the agent anywhere in the call."""
    return f"""\
pack: {pack_id}
version: "{version}"
language: {language}
grades: {grades}
rules:
  - id: greeting
    type: phrase_in_window
    summary: {summary}
    weight: 10
    role: agent
    window: {{anchor: whole_call}}
    match: {{phrases: [{phrase}]}}
"""
