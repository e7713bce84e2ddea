"""Loading rule packs: YAML -> validated :class:`Pack` with compiled checks.

Packs live in ``$QA_ENGINE_PACKS_DIR`` or, by default, ``rules/packs/`` next to the package
(editable install).  Every error is a :class:`PackError` naming the file, the rule id and the
field, so a pack author can fix it without reading code.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from ..errors import PackError
from ..pii import mask_text
from ..text import language_family, pack_language
from ..types import Finding, Transcript
from .context import CallContext
from .matching import PhraseBook
from .registry import Check, CheckEnv, check_class
from .schema import PackSpec, RuleSpec
from .time_limit import Deadline, current_limit

logger = logging.getLogger(__name__)

__all__ = ["MAX_NUMBER_DIGITS", "MAX_PACK_VALUES", "MAX_RULES", "NoPackForLanguage", "Pack", "default_pack_id",
           "language_fits", "list_packs", "load_pack", "packs_dir", "parse_pack", "parse_pack_text",
           "yaml_error_message"]

DEFAULT_PACKS = {"zh": "zh-CN", "en": "en"}


class NoPackForLanguage(PackError):
    """No pack was named and none is written for the call's language: the call is ``unscorable`` (its ``str`` is
    the report's reason), because another language's phrases would fail it for what it did say."""

    def __init__(self, language: str, languages: Iterable[str]) -> None:
        self.language = language
        self.languages = tuple(sorted(set(languages)))
        super().__init__(f"no rule pack is written for language {mask_text(language[:32])!r} (packs exist for "
                         f"{', '.join(self.languages) or 'no language'}); to score it anyway, name a pack "
                         "(the upload's 'pack' field, or --pack)")


def language_fits(pack_lang: str, call_language: str | None) -> bool:
    """Whether a pack written for ``pack_lang`` may score a call in ``call_language`` that did not name it: the
    same language (zh-TW and cmn fit zh, en-GB fits en); a call of unknown language fits the English default."""
    return pack_language(pack_lang) == pack_language(call_language)


@dataclass
class Pack:
    """A validated pack: metadata, grade bands and compiled checks."""

    id: str
    version: str
    language: str
    name: str
    description: str
    grades: list[tuple[str, float]]  # highest threshold first
    rules: list[RuleSpec]
    checks: list[Check]
    book: PhraseBook
    source: Path | None = None
    spec: PackSpec | None = field(default=None, repr=False)

    def context(self, transcript: Transcript, deadline: Deadline | None = None) -> CallContext:
        return CallContext(transcript, self.book, self.language, deadline)

    def run(self, transcript: Transcript, *, time_limit_s: float | None | Literal["default"] = "default"
            ) -> list[Finding]:
        """All enabled checks on one call (transcript text must be unmasked).

        ``time_limit_s``: wall-clock limit for the whole evaluation (default: :func:`.time_limit.current_limit`,
        10 s unless the caller set another; None: no limit).

        Raises:
            RulesTimeLimit: the limit passed (checked between rules and before each utterance a matcher reads).
        """
        limit = current_limit() if time_limit_s == "default" else time_limit_s
        deadline = Deadline(limit) if limit is not None else None
        ctx = self.context(transcript, deadline)
        findings = []
        for check in self.checks:
            if not check.rule.enabled:
                continue
            if deadline is not None:
                deadline.rule_id = check.rule.id
                if monotonic() > deadline.at:
                    deadline.check()
            findings.append(check.run(ctx))
        return findings

    def grade_for(self, score: float) -> str:
        for name, threshold in self.grades:
            if score >= threshold:
                return name
        return self.grades[-1][0]

    def rule(self, rule_id: str) -> RuleSpec:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def packs_dir() -> Path:
    """Where pack files are looked up by id."""
    env = os.environ.get("QA_ENGINE_PACKS_DIR")
    if env:
        return Path(env)
    import qa_engine

    return Path(qa_engine.__file__).resolve().parents[1] / "rules" / "packs"


def default_pack_id(language: str | None, packs: Callable[[], Mapping[str, str]] | None = None) -> str:
    """The pack a call in ``language`` is scored with when none was named: the one decision every entry point uses.

    zh, zh-TW, cmn, yue -> zh-CN; en, en-GB, none -> en; another language -> the first (by id) of ``packs()``
    (id -> the language it is written for; default: the bundled packs, :func:`list_packs`) written for it.

    Raises:
        NoPackForLanguage: no pack is written for ``language``.
    """
    wanted = pack_language(language)
    if wanted in DEFAULT_PACKS:
        return DEFAULT_PACKS[wanted]
    available = packs() if packs is not None else {p["id"]: p["language"] for p in list_packs()}
    for pack_id, pack_lang in sorted(available.items()):
        if pack_language(pack_lang) == wanted:
            return pack_id
    raise NoPackForLanguage(language or "", {*DEFAULT_PACKS, *map(pack_language, available.values())})


def _format_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(x) for x in loc) or "(top level)"


def _errors(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field (misspelt?)"
        parts.append(f"field '{_format_loc(e['loc'])}': {msg}")
    return "; ".join(parts)


#: Bounds on a pack's size: compiling costs about 1 ms a rule and 50-150 µs a phrase or pattern, so a 1 MiB upload of
#: thousands of rules took seconds of CPU on every load. The standard packs have 17 rules and under 800 values; at
#: the bounds a pack compiles in about a second.
MAX_RULES = 200
MAX_PACK_VALUES = 5_000


def _count_values(obj: Any, budget: int) -> int:
    """Values in ``obj`` (a mapping's keys count too), counting no further than ``budget + 1``.

    Iterative and bounded: a document whose aliases repeat a list (YAML "billion laughs") is not expanded.
    """
    count, stack = 0, [obj]
    while stack and count <= budget:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            count += len(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def _rule_where(source: str, index: int, raw: Any) -> str:
    rid = raw.get("id") if isinstance(raw, dict) else None
    return f"{source}: rule '{rid}'" if isinstance(rid, str) else f"{source}: rules[{index}]"


def _check_size(doc: dict[Any, Any], source: str) -> None:
    """Refuse a pack over :data:`MAX_RULES` rules or :data:`MAX_PACK_VALUES` values, naming where it goes over."""
    rules = doc.get("rules")
    rules = rules if isinstance(rules, list) else []
    if len(rules) > MAX_RULES:
        raise PackError(f"{source}: field 'rules': {len(rules)} rules, at most {MAX_RULES}; split the pack")
    budget = MAX_PACK_VALUES - _count_values({k: v for k, v in doc.items() if k != "rules"}, MAX_PACK_VALUES)
    if budget < 0:
        raise PackError(f"{source}: (top level): more than {MAX_PACK_VALUES} values outside 'rules'")
    for i, raw in enumerate(rules):
        budget -= _count_values(raw, budget)
        if budget < 0:
            raise PackError(f"{_rule_where(source, i, raw)}: the pack goes over {MAX_PACK_VALUES} values (fields, "
                            "phrases, patterns) at this rule; split the pack or its phrase lists")


def parse_pack(doc: Any, source: str) -> Pack:
    """Validate a loaded YAML document and compile its checks."""
    if not isinstance(doc, dict):
        raise PackError(f"{source}: expected a mapping with 'pack', 'version', 'language', 'grades', 'rules'")
    _check_size(doc, source)
    try:
        spec = PackSpec.model_validate(doc)
    except ValidationError as exc:
        raise PackError(f"{source}: {_errors(exc)}") from None
    family = language_family(spec.language)
    book = PhraseBook(family)
    env = CheckEnv(language=spec.language, family=family, book=book, threshold=spec.threshold)
    rules: list[RuleSpec] = []
    checks: list[Check] = []
    seen: set[str] = set()
    for i, raw in enumerate(spec.rules):
        where = _rule_where(source, i, raw)
        if not isinstance(raw, dict):
            raise PackError(f"{where}: expected a mapping")
        try:
            rule = RuleSpec.model_validate(raw)
        except ValidationError as exc:
            raise PackError(f"{where}: {_errors(exc)}") from None
        if rule.id in seen:
            raise PackError(f"{where}: field 'id': duplicate rule id")
        seen.add(rule.id)
        cls = check_class(rule.type)
        if cls is None:
            from .registry import REGISTRY

            raise PackError(f"{where}: field 'type': unknown check type {rule.type!r} "
                            f"(known: {', '.join(sorted(REGISTRY))})")
        try:
            params = cls.Params.model_validate(rule.params())
        except ValidationError as exc:
            raise PackError(f"{where}: {_errors(exc)}") from None
        try:
            check = cls(rule, params, env)
        except (ValueError, KeyError) as exc:
            raise PackError(f"{where}: {exc}") from None
        rules.append(rule)
        checks.append(check)
    grades = sorted(spec.grades.items(), key=lambda kv: -kv[1])
    return Pack(id=spec.pack, version=spec.version, language=spec.language, name=spec.name,
                description=spec.description, grades=grades, rules=rules, checks=checks, book=book,
                spec=spec)


#: An integer written with more characters than this is no pack value (and Python cannot read past 4300 digits).
MAX_NUMBER_DIGITS = 64


class _PackLoader(yaml.SafeLoader):
    """Safe loader that refuses integers too long to be a pack value, with their line, before ``int()`` reads them."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        value = self.construct_scalar(node)
        if len(value) > MAX_NUMBER_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number of {len(value)} characters is too long (at most {MAX_NUMBER_DIGITS}; quote it "
                f"if it is text)", node.start_mark)
        return int(super().construct_yaml_int(node))


_PackLoader.add_constructor("tag:yaml.org,2002:int", _PackLoader.construct_yaml_int)


class _NoAliasLoader(_PackLoader):
    """Also refuses anchors/aliases (``*name``): an uploaded pack cannot expand into a huge document."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed here; write the values out",
                                              event.start_mark)
        return super().compose_node(parent, index)


def yaml_error_message(exc: yaml.YAMLError, text: str, source: str) -> str:
    """``source: invalid YAML at line L column C: problem`` for any YAML error, a bad character's included.

    Why: a character YAML refuses (NUL, other control characters) is a ``ReaderError`` that carries a character
    offset instead of a mark; the author needs the line to find it.
    """
    if isinstance(exc, yaml.reader.ReaderError):
        offset = exc.position
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or "\0")
        return f"{source}: invalid YAML at line {line} column {column}: the character U+{char:04X} is not allowed in " \
               "YAML text (a control or special character); remove it"
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
    return f"{source}: invalid YAML{where}: {getattr(exc, 'problem', None) or exc}"


def parse_pack_text(text: str, source: str, *, allow_aliases: bool = True) -> Pack:
    """Parse and validate a pack from YAML text (a file's content or an upload); errors name ``source``.

    ``allow_aliases=False`` refuses YAML aliases, for text that comes from outside (the service's uploads).
    """
    loader = _PackLoader if allow_aliases else _NoAliasLoader
    try:
        doc = yaml.load(text, Loader=loader)  # noqa: S506 - both loaders are SafeLoader
    except yaml.YAMLError as exc:
        raise PackError(yaml_error_message(exc, text, source)) from None
    except RecursionError:  # an upload nested thousands of levels deep: refused, never a crash
        raise PackError(f"{source}: invalid YAML: nested too deeply") from None
    try:
        return parse_pack(doc, source)
    except RecursionError:
        raise PackError(f"{source}: nested too deeply") from None


_CACHE: dict[tuple[str, float], Pack] = {}


def _load_file(path: Path) -> Pack:
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise PackError(f"{path}: pack file not found") from None
    key = (str(path.resolve()), mtime)
    if key in _CACHE:
        return _CACHE[key]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(f"{path}: cannot read ({exc})") from None
    pack = parse_pack_text(text, str(path))
    pack.source = path
    _CACHE[key] = pack
    return pack


def load_pack(ref: str | Path | None = None, language: str | None = None) -> Pack:
    """Load a pack by id ("zh-CN", "en"), by path, or the default for ``language`` (:func:`default_pack_id`).

    Raises:
        NoPackForLanguage: no ``ref`` and no pack is written for ``language``.
        PackError: no such pack, or it does not validate.
    """
    if ref is None:
        ref = default_pack_id(language)
    path = Path(ref)
    if isinstance(ref, Path) or path.suffix in (".yaml", ".yml") or os.sep in str(ref):
        return _load_file(path)
    candidate = packs_dir() / f"{ref}.yaml"
    if not candidate.exists():
        known = ", ".join(p["id"] for p in list_packs()) or "none"
        raise PackError(f"{ref}: no such pack in {packs_dir()} (known: {known}); give an id or a path")
    return _load_file(candidate)


def list_packs() -> list[dict[str, str]]:
    """Id, version, language, name and path of every pack in :func:`packs_dir`."""
    out = []
    for path in sorted(packs_dir().glob("*.yaml")):
        try:
            pack = _load_file(path)
        except PackError as exc:
            logger.warning("skipping invalid pack: %s", exc)
            continue
        out.append({"id": pack.id, "version": pack.version, "language": pack.language,
                    "name": pack.name, "path": str(path), "rules": str(len(pack.rules))})
    return out
