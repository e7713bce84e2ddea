"""The fast constructors of the core types give what the dataclass constructor and ``dataclasses.replace`` give."""

from __future__ import annotations

from dataclasses import dataclass, replace

from qa_engine.types import Evidence, Finding, Transcript, Utterance, Word, build, evolve, evolve_each, new_finding


def test_build_and_evolve_are_the_constructor_and_replace() -> None:
    u = Utterance(1.0, 2.5, "agent", "您好", words=(Word(1.0, 2.5, "您好"),), channel=1, speaker="S1")
    assert evolve(u, text="**") == replace(u, text="**")
    assert evolve(u, text="**") is not u and u.text == "您好"
    t = Transcript(call_id="c", language="zh", duration=3.0, utterances=(u,))
    assert evolve(t, utterances=()) == replace(t, utterances=())
    f = new_finding("greeting", "pass", "major", 1.0, (Evidence(1.0, 2.5, "您好", 1.0),), "ok", {"a": 1})
    assert f == Finding("greeting", "pass", "major", 1.0, (Evidence(1.0, 2.5, "您好", 1.0),), "ok", {"a": 1})
    assert hash(build(Evidence, start=0.0, end=1.0, text="x", similarity=None)) == hash(Evidence(0.0, 1.0, "x"))
    assert evolve_each([u, u], "sentiment", [0.5, -0.25]) == (replace(u, sentiment=0.5), replace(u, sentiment=-0.25))


@dataclass(frozen=True)
class _Tagged(Utterance):
    tag: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tag", self.tag or self.role)


def test_subclasses_go_through_replace() -> None:
    u = _Tagged(0.0, 1.0, "customer", "hi")
    assert u.tag == "customer"
    assert evolve(u, role="agent", tag="") == replace(u, role="agent", tag="")
    assert evolve(u, role="agent", tag="").tag == "agent"  # its __post_init__ ran
    assert evolve_each([u], "text", ["**"]) == (replace(u, text="**"),)
