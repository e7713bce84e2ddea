"""What a batch scores: audio files from a folder (with optional sidecar JSON) or a manifest (CSV/JSONL).

Why one item type: the runner, the dry run and the report see the same metadata whichever way the
archive is described. A manifest with a bad line is refused as a whole, every problem named as
``FILE:LINE: field: problem``, before anything is scored.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from qa_engine.errors import QaEngineError
from qa_engine.json_text import JsonTextError, load_json
from qa_engine.transcript import text_problem

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".mp4", ".aac", ".webm", ".mka",
                            ".aif", ".aiff", ".amr", ".caf", ".wma"})
MANIFEST_FIELDS = ("path", "call_id", "agent", "team", "started_at", "agent_channel", "language")
#: The longest value of each name field: the width of its column in ``calls`` (a longer one fails the insert).
MAX_LENGTHS = {"path": 4096, "call_id": 256, "agent": 128, "team": 128, "started_at": 64, "language": 32}
MAX_AGENT_CHANNEL = 63
SHOWN_CHARS = 40
LANGUAGES = re.compile(r"^(zh|en|auto)([-_][A-Za-z]{2,4})?$")


class ManifestError(QaEngineError):
    """The manifest or a sidecar has problems; ``problems`` holds one ``FILE:LINE: field: problem`` each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:20]
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__("invalid manifest:\n" + "\n".join(shown) + more)


@dataclass(frozen=True)
class BatchItem:
    """One recording to score, with what the archive says about it (None: unknown)."""

    path: Path
    call_id: str
    agent: str | None = None
    team: str | None = None
    started_at: datetime | None = None
    agent_channel: int | None = None
    language: str | None = None
    origin: str = ""  # where the item came from (manifest line, sidecar), for messages


def parse_datetime(value: str) -> datetime:
    """ISO 8601 date or date-time; a naive value is taken as UTC.

    Raises:
        ValueError: not ISO 8601.
    """
    text = value.strip()
    if not text:
        raise ValueError("empty date")
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``--since``: ISO date/date-time (naive: local time of this machine) or a relative ``36h`` / ``2d``.

    Raises:
        QaEngineError: neither form.
    """
    now = now or datetime.now(UTC)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([hd])\s*", value)
    if m:
        hours = float(m.group(1)) * (24 if m.group(2) == "d" else 1)
        return now - timedelta(hours=hours)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise QaEngineError(f"--since {value!r}: use an ISO date or date-time (2026-11-22, 2026-11-22T18:00) "
                            "or a relative age (36h, 2d)") from None
    return parsed.astimezone(UTC)  # naive -> local time zone


def _field_values(raw: dict[str, Any], where: str, base: Path, problems: list[str],
                  path_required: bool) -> dict[str, Any] | None:
    """Validate one record's fields; append problems and return None when any is wrong."""
    out: dict[str, Any] = {}
    before = len(problems)
    unknown = sorted(set(raw) - set(MANIFEST_FIELDS))
    if unknown:
        problems.append(f"{where}: {unknown[0]}: unknown field (expected {', '.join(MANIFEST_FIELDS)})")

    def text(name: str) -> str | None:
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str | int) or isinstance(value, bool):
            problems.append(f"{where}: {name}: expected text, got {type(value).__name__}")
            return None
        problem = text_value_problem(str(value).strip(), MAX_LENGTHS[name])
        if problem is not None:
            problems.append(f"{where}: {name}: {problem}")
            return None
        return str(value).strip()

    before_path = len(problems)
    path = text("path")
    if path_required and path is not None:
        p = Path(path)
        out["path"] = p if p.is_absolute() else base / p
    elif path_required and len(problems) == before_path:  # not already reported as the wrong type
        problems.append(f"{where}: path: missing (the audio file, relative to the manifest)")
    for name in ("call_id", "agent", "team"):
        out[name] = text(name)
    started = text("started_at")
    if started is not None:
        try:
            out["started_at"] = parse_datetime(started)
        except ValueError:
            problems.append(f"{where}: started_at: {shown(started)} is not an ISO 8601 date-time")
    channel = raw.get("agent_channel")
    if channel not in (None, ""):
        number = channel_number(channel)
        if number is None:
            problems.append(f"{where}: agent_channel: {shown(channel)} is not a channel number (0, 1, ...)")
        elif number > MAX_AGENT_CHANNEL:
            problems.append(f"{where}: agent_channel: {number} is more than {MAX_AGENT_CHANNEL}")
        else:
            out["agent_channel"] = number
    language = text("language")
    if language is not None:
        if not LANGUAGES.match(language):
            problems.append(f"{where}: language: {shown(language)} is not supported (zh, en or auto)")
        out["language"] = language
    return out if len(problems) == before else None


def channel_number(value: Any) -> int | None:
    """A whole number written ``1`` or ``"1"`` (ASCII digits only, no sign, at most 100 of them), else None."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 100 else None


def text_value_problem(value: str, max_length: int) -> str | None:
    """Why a name from the archive cannot be stored (too long for its column, NUL, lone surrogate), or None."""
    if len(value) > max_length:
        return f"longer than {max_length} characters ({len(value)})"
    return text_problem(value)


def shown(value: Any) -> str:
    """A value for a message, cut to :data:`SHOWN_CHARS` characters (a 1 MB field must not fill the terminal)."""
    text = repr(value)
    if len(text) <= SHOWN_CHARS:
        return text
    return f"{text[:SHOWN_CHARS]}… ({len(text)} characters)"


def _item(values: dict[str, Any], path: Path, origin: str) -> BatchItem:
    return BatchItem(path=path, call_id=values.get("call_id") or path.stem, agent=values.get("agent"),
                     team=values.get("team"), started_at=values.get("started_at"),
                     agent_channel=values.get("agent_channel"), language=values.get("language"), origin=origin)


def read_manifest(manifest: Path) -> list[BatchItem]:
    """Items of a ``.csv`` (header row) or ``.jsonl`` manifest; paths are relative to the manifest.

    Raises:
        ManifestError: any line is invalid (all problems are listed).
    """
    problems: list[str] = []
    records: list[tuple[str, dict[str, Any]]] = []
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError([f"{manifest}: cannot read: {exc}"]) from None
    if manifest.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        header = reader.fieldnames or []
        if "path" not in header:
            raise ManifestError([f"{manifest}:1: path: missing column (header must name {', '.join(MANIFEST_FIELDS)})"])
        for row in reader:
            where = f"{manifest}:{reader.line_num}"
            if None in row:
                problems.append(f"{where}: row: more values than columns in the header")
                continue
            records.append((where, {k: v for k, v in row.items() if k is not None}))
    else:
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{manifest}:{n}"
            try:
                doc = load_json(line)
            except JsonTextError as exc:
                problems.append(f"{where}: line: not JSON ({exc})")
                continue
            if not isinstance(doc, dict):
                problems.append(f"{where}: line: expected a JSON object, got {type(doc).__name__}")
                continue
            records.append((where, doc))
    items: list[BatchItem] = []
    for where, raw in records:
        values = _field_values(raw, where, manifest.parent, problems, path_required=True)
        if values is not None:
            items.append(_item(values, values["path"], where))
    if problems:
        prefix = len(str(manifest)) + 1
        problems.sort(key=lambda p: int(p[prefix:].split(":", 1)[0]) if p[prefix:].split(":", 1)[0].isdigit() else 0)
        raise ManifestError(problems)
    if not items:
        raise ManifestError([f"{manifest}: no entries"])
    return items


def scan_folder(root: Path) -> list[BatchItem]:
    """Audio files under ``root`` (recursive, sorted); ``NAME.json`` next to ``NAME.wav`` adds metadata.

    Raises:
        ManifestError: a sidecar file is invalid (all problems are listed).
    """
    problems: list[str] = []
    items: list[BatchItem] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES):
        sidecar = path.with_suffix(".json")
        values: dict[str, Any] | None = {}
        origin = str(path)
        if sidecar.is_file():
            origin = str(sidecar)
            try:
                doc = load_json(sidecar.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, JsonTextError) as exc:
                problems.append(f"{sidecar}:1: file: not a JSON object ({exc})")
                continue
            if not isinstance(doc, dict):
                problems.append(f"{sidecar}:1: file: expected a JSON object, got {type(doc).__name__}")
                continue
            doc = {k: v for k, v in doc.items() if k != "path"}
            values = _field_values(doc, f"{sidecar}:1", root, problems, path_required=False)
        if values is not None:
            items.append(_item(values, path, origin))
    if problems:
        raise ManifestError(problems)
    return items


def load_source(source: Path) -> list[BatchItem]:
    """A folder or a manifest file.

    Raises:
        QaEngineError: the source does not exist or is not a folder, ``.csv`` or ``.jsonl``.
    """
    if source.is_dir():
        return scan_folder(source)
    if not source.exists():
        raise QaEngineError(f"{source}: no such folder or manifest")
    if source.suffix.lower() not in (".csv", ".jsonl", ".ndjson"):
        raise QaEngineError(f"{source}: a batch source is a folder or a manifest (.csv or .jsonl)")
    return read_manifest(source)


def modified_at(item: BatchItem) -> datetime | None:
    """When the call happened (``started_at``), else when its file was last modified."""
    if item.started_at is not None:
        return item.started_at
    try:
        return datetime.fromtimestamp(item.path.stat().st_mtime, UTC)
    except OSError:
        return None


def newer_than(items: Iterable[BatchItem], since: datetime) -> list[BatchItem]:
    """``--since``: items that started (or whose file changed) after ``since``; unknown times are kept."""
    kept = []
    for item in items:
        when = modified_at(item)
        if when is None or when > since:
            kept.append(item)
    return kept
