"""The check registry: a rule's ``type`` picks a :class:`Check` subclass.

Adding a rule type = one module in ``qa_engine/rules/checks/`` defining a subclass decorated
with :func:`register` (and a fixture file in ``rules/fixtures/``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel

from ..types import Evidence, Finding, Status, new_finding
from .context import CallContext
from .matching import Matcher, PhraseBook
from .schema import MatchSpec, RuleSpec, StrictModel

logger = logging.getLogger(__name__)

__all__ = ["Check", "CheckEnv", "REGISTRY", "register", "check_class"]

REGISTRY: dict[str, type[Check]] = {}
C = TypeVar("C", bound="type[Check]")


def register(type_name: str) -> Callable[[C], C]:
    """Class decorator: make a check available under ``type: <type_name>`` in packs."""

    def deco(cls: C) -> C:
        if type_name in REGISTRY:
            raise ValueError(f"check type {type_name!r} registered twice")
        cls.type_name = type_name
        REGISTRY[type_name] = cls
        return cls

    return deco


def check_class(type_name: str) -> type[Check] | None:
    from . import checks  # noqa: F401  (importing registers the built-in checks)

    return REGISTRY.get(type_name)


@dataclass(frozen=True)
class CheckEnv:
    """Pack-wide things a check needs while compiling: language, phrase book, threshold."""

    language: str
    family: str
    book: PhraseBook
    threshold: int

    def matcher(self, spec: MatchSpec) -> Matcher:
        return Matcher(spec, self.book, self.threshold)


class Check:
    """Base class: validated params in, one :class:`Finding` per call out."""

    type_name: ClassVar[str] = ""
    Params: ClassVar[type[StrictModel]] = StrictModel
    # default explanation templates: family -> status -> str.format template
    MESSAGES: ClassVar[dict[str, dict[str, str]]] = {}

    def __init__(self, rule: RuleSpec, params: BaseModel, env: CheckEnv) -> None:
        self.rule = rule
        self.params = params
        self.env = env
        self._templates: dict[str, str] = {}  # status -> explanation template (see finding)
        self.compile()

    def compile(self) -> None:
        """Build matchers once per pack (override)."""

    def run(self, ctx: CallContext) -> Finding:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        """Extra documentation lines generated from the params (override)."""
        return ""

    def finding(self, status: Status, evidence: list[Evidence] | tuple[Evidence, ...] = (),
                data: dict[str, Any] | None = None, **fmt: Any) -> Finding:
        """A finding whose explanation is the rule's (or the check's default) template."""
        template = self._templates.get(status)
        if template is None:  # the rule's own message over the check's default, resolved once per status
            template = self._templates[status] = (self.rule.messages.get(status)
                                                  or self.MESSAGES.get(self.env.family, {}).get(status, ""))
        try:
            explanation = template.format(**fmt)
        except (KeyError, IndexError, ValueError):
            explanation = template
        rule = self.rule
        return new_finding(rule.id, status, rule.severity, rule.weight, tuple(evidence), explanation, data or {})


def quote(text: str, limit: int = 40) -> str:
    """A short quotation of an utterance for explanations."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
