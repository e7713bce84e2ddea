"""Core result types shared by every stage (frozen dataclasses; pydantic only at the edges)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from . import native

if TYPE_CHECKING:  # defined with the code that measures it; the transcript only carries it
    from .acoustics import Acoustics

Role = Literal["agent", "customer", "unknown"]
Status = Literal["pass", "fail", "not_applicable"]
Severity = Literal["info", "minor", "major", "critical"]
#: ``unscorable``: nothing to judge the agent on (e.g. no agent speech); score and grade are None, ``reason`` says why.
ReportStatus = Literal["scored", "unscorable"]
T = TypeVar("T")


@dataclass(frozen=True)
class Span:
    """A time interval in seconds from the start of the call."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class Word:
    """One recognised word with its timing (faster-whisper's naming: ``word``)."""

    start: float
    end: float
    word: str
    probability: float = 1.0


@dataclass(frozen=True)
class Utterance:
    """A stretch of speech by one party; ``role`` is who they are in the call."""

    start: float
    end: float
    role: Role
    text: str
    words: tuple[Word, ...] = ()
    channel: int | None = None
    speaker: str | None = None
    # -1 (clearly negative) .. 1 (clearly positive), filled when the call is checked (qa_engine.sentiment)
    sentiment: float | None = None

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class Transcript:
    """A whole call as role-labelled utterances sorted by start time."""

    call_id: str
    language: str
    duration: float
    utterances: tuple[Utterance, ...]
    agent_channel: int | None = None
    agent_channel_reason: str | None = None
    # mono calls (diarized): the agent's speaker label ("spk0"...) and how sure the detection is (0.5-1.0)
    agent_speaker: str | None = None
    agent_confidence: float | None = None
    # loudness, overtalk, non-talk time from the audio (qa_engine.acoustics); None for transcript uploads
    acoustics: Acoustics | None = None

    def by_role(self, role: Role) -> list[Utterance]:
        """Utterances spoken by ``role``, in time order."""
        return [u for u in self.utterances if u.role == role]

    def between(self, t0: float, t1: float) -> list[Utterance]:
        """Utterances overlapping the interval [t0, t1]."""
        return [u for u in self.utterances if u.end >= t0 and u.start <= t1]


@dataclass(frozen=True)
class Evidence:
    """Where in the call a finding comes from, and how closely the text matched."""

    start: float
    end: float
    text: str
    similarity: float | None = None


@dataclass(frozen=True)
class Finding:
    """The outcome of one rule on one call, with evidence and a readable sentence."""

    rule_id: str
    status: Status
    severity: Severity = "major"
    weight: float = 0.0
    evidence: tuple[Evidence, ...] = ()
    explanation: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def build(cls: type[T], **fields: Any) -> T:
    """``cls(**fields)`` for a frozen dataclass whose ``__init__`` only assigns its fields (no ``__post_init__``),
    without that ``__init__``'s per-field ``object.__setattr__`` calls; every field must be given.

    Why: findings, utterance copies and PII spans are made per rule and per utterance of every checked call, and the
    frozen constructor's cost shows in the rules' throughput. The object is what ``cls(**fields)`` gives (equal,
    hashable alike).
    """
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


def evolve(obj: T, **changes: Any) -> T:
    """``dataclasses.replace(obj, **changes)`` for the frozen dataclasses of this module, built as :func:`build`
    does (a subclass, which may add ``__post_init__`` or fields ``__init__`` does not take, goes through
    ``replace`` itself)."""
    cls = type(obj)
    if cls not in _PLAIN:
        return replace(obj, **changes)  # type: ignore[type-var]
    new = object.__new__(cls)
    new.__dict__.update(obj.__dict__, **changes)
    return new


def evolve_each(objs: Sequence[T], name: str, values: Sequence[Any]) -> tuple[T, ...]:
    """``evolve(obj, name=value)`` for each pair, in one loop (sentiment sets one field on every utterance of
    every checked call): when all are of one plain class, the class is checked once, not per object, and the copies
    are made in C where it was built (:mod:`qa_engine.native._evolve`; :func:`_evolve_each_python` is its reference).
    """
    kinds = set(map(type, objs))
    if len(kinds) != 1 or (cls := kinds.pop()) not in _PLAIN:
        return tuple([evolve(obj, **{name: value}) for obj, value in zip(objs, values, strict=True)])
    if _NATIVE is not None:
        copies: tuple[T, ...] = _NATIVE.evolve_each(cls, objs, name, values)
        return copies
    return _evolve_each_python(cls, objs, name, values)


def _evolve_each_python(cls: type[T], objs: Sequence[T], name: str, values: Sequence[Any]) -> tuple[T, ...]:
    """:func:`evolve_each` for objects all exactly of the plain class ``cls``, in Python."""
    out: list[T] = []
    new_object = object.__new__
    for obj, value in zip(objs, values, strict=True):
        new: T = new_object(cls)
        fields = new.__dict__
        fields.update(obj.__dict__)
        fields[name] = value
        out.append(new)
    return tuple(out)


def new_finding(rule_id: str, status: Status, severity: Severity, weight: float, evidence: tuple[Evidence, ...],
                explanation: str, data: dict[str, Any]) -> Finding:
    """``Finding(...)`` built by :func:`build` (every rule of every checked call makes one)."""
    return build(Finding, rule_id=rule_id, status=status, severity=severity, weight=weight, evidence=evidence,
                 explanation=explanation, data=data)


@dataclass(frozen=True)
class Redaction:
    """Where an identifier (phone, ID, card number, e-mail) was spoken: silenced in the stored audio.

    ``start``/``end``: the masked words (seconds; the whole utterance when it has no word timings, ``exact``
    False); ``channel``: the speaker's channel (None: a mono recording, every channel); ``kind``: what it was.
    ``room``: the time between the neighbouring (unmasked) words of that channel, into which the audio redaction
    may widen the span to the whole run of speech (ASR word times can be a second or more off); not in the report.
    """

    start: float
    end: float
    channel: int | None
    kind: str
    exact: bool = True
    room: tuple[float, float] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CallReport:
    """Everything the engine says about one call.

    ``redactions``: where identifiers were spoken (the text is masked there; audio redaction silences them).
    """

    call_id: str
    transcript: Transcript
    pack_id: str | None = None
    pack_version: str | None = None
    score: float | None = None
    grade: str | None = None
    findings: tuple[Finding, ...] = ()
    category: str | None = None
    priority: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    engine_version: str = ""
    status: ReportStatus = "scored"
    reason: str | None = None
    redactions: tuple[Redaction, ...] = ()
    # derived views of the call for the UI, by producer: "acoustics" (qa_engine.acoustics), "sentiment"...
    analytics: dict[str, Any] = field(default_factory=dict)

    @property
    def scorable(self) -> bool:
        return self.status == "scored"


#: the classes :func:`evolve` copies field dict to field dict (their ``__init__`` only assigns the fields)
_PLAIN: frozenset[type] = frozenset({Span, Word, Utterance, Transcript, Evidence, Finding, Redaction, CallReport})
_NATIVE = native.load("_evolve")


def to_plain(obj: Any) -> Any:
    """Dataclasses -> JSON-ready dicts/lists (tuples become lists)."""
    if hasattr(obj, "__dataclass_fields__"):
        return to_plain(asdict(obj))
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj
