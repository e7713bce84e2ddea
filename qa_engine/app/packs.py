"""Which rule pack scores a call, and the catalogue of packs: bundled files plus versions uploaded by admins.

Order of choice (:func:`resolve_pack`): an explicit pack id (the newest uploaded version, else the bundled
file), else the team's active pack (``team_packs``) when it is written for the call's language, else the pack
written for that language (:func:`default_pack`); with none, :class:`~qa_engine.rules.NoPackForLanguage` (the
call is unscorable, never scored with another language's pack).
Pack ids are plain ids; the service never opens a path it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_engine.app.access import as_utc
from qa_engine.app.models import PackVersion, TeamPack
from qa_engine.app.pack_cache import PackCache, check_pack_id
from qa_engine.errors import PackError
from qa_engine.rules import Pack, default_pack_id, language_fits, list_packs, packs_dir

BUNDLED = "bundled"
UPLOADED = "uploaded"


class UnknownPack(PackError):
    """No pack (or no such version of it) exists: the API answers 404 or 422."""


@dataclass(frozen=True)
class PackEntry:
    """One version of a pack, bundled or uploaded (without parsing it)."""

    pack_id: str
    version: str
    language: str
    origin: str  # bundled | uploaded
    uploaded_by: str | None = None
    created_at: datetime | None = None

    def public(self) -> dict[str, Any]:
        return {"version": self.version, "language": self.language, "origin": self.origin,
                "uploaded_by": self.uploaded_by, "created_at": as_utc(self.created_at)}


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key for versions: numeric parts compare as numbers ("1.10" after "1.9"), text parts as text."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"[.\-+_]", version) if part)


def _bundled_exists(pack_id: str) -> bool:
    return (packs_dir() / f"{pack_id}.yaml").is_file()


def bundled_entries() -> dict[str, PackEntry]:
    """The bundled packs by id (invalid files are skipped by :func:`list_packs`, with a warning)."""
    return {p["id"]: PackEntry(p["id"], p["version"], p["language"], BUNDLED) for p in list_packs()}


def uploaded_versions(session: Session, pack_id: str | None = None) -> list[PackVersion]:
    """Uploaded pack versions (of ``pack_id``, or all), newest version first."""
    query = select(PackVersion)
    if pack_id is not None:
        query = query.where(PackVersion.pack_id == pack_id)
    rows = list(session.scalars(query))
    return sorted(rows, key=lambda r: (r.pack_id, version_key(r.version), r.id), reverse=True)


def versions_of(session: Session, pack_id: str) -> list[PackEntry]:
    """Every version of ``pack_id``: uploaded ones (newest first), then the bundled file."""
    entries = [PackEntry(r.pack_id, r.version, r.language, UPLOADED, r.uploaded_by, r.created_at)
               for r in uploaded_versions(session, pack_id)]
    bundled = bundled_entries().get(pack_id)
    if bundled is not None:
        entries.append(bundled)
    return entries


def catalogue(session: Session) -> dict[str, list[PackEntry]]:
    """Every known pack id with its versions (the ``GET /packs`` listing)."""
    out: dict[str, list[PackEntry]] = {}
    for row in uploaded_versions(session):
        out.setdefault(row.pack_id, []).append(
            PackEntry(row.pack_id, row.version, row.language, UPLOADED, row.uploaded_by, row.created_at))
    for pack_id, entry in bundled_entries().items():
        out.setdefault(pack_id, []).append(entry)
    return dict(sorted(out.items()))


def version_exists(session: Session, pack_id: str, version: str) -> bool:
    """Whether ``pack_id`` ``version`` is already taken (uploaded, or the bundled file's version)."""
    if session.scalar(select(PackVersion.id).where(PackVersion.pack_id == pack_id, PackVersion.version == version)):
        return True
    bundled = bundled_entries().get(pack_id)
    return bundled is not None and bundled.version == version


def get_pack(session: Session, pack_cache: PackCache, pack_id: str, version: str | None = None) -> Pack:
    """Pack ``pack_id`` at ``version`` (None: the newest uploaded version, else the bundled file).

    Raises:
        UnknownPack: no such pack or version (the message lists the known versions).
        PackError: ``pack_id`` is not a plain id, or a stored version no longer validates.
    """
    check_pack_id(pack_id)
    rows = uploaded_versions(session, pack_id)
    if version is not None:
        rows = [r for r in rows if r.version == version]
    if rows:
        return pack_cache.uploaded_pack(rows[0].pack_id, rows[0].version, rows[0].source)
    if _bundled_exists(pack_id):
        pack = pack_cache.pack(pack_id, None)
        if version is None or pack.version == version:
            return pack
    known = [e.version for e in versions_of(session, pack_id)]
    if not known:
        ids = ", ".join(catalogue(session)) or "none"
        raise UnknownPack(f"field 'pack': no pack {pack_id!r} (known: {ids})")
    raise UnknownPack(f"field 'version': pack {pack_id!r} has no version {version!r} (known: {', '.join(known)})")


def team_pack(session: Session, team: str | None) -> TeamPack | None:
    """The team's active pack choice, if an admin set one."""
    if not team:
        return None
    return session.get(TeamPack, team)


def resolve_pack(session: Session, pack_cache: PackCache, *, pack_id: str | None, team: str | None,
                 language: str | None, version: str | None = None) -> Pack:
    """The pack to score a call with.

    ``pack_id`` (with ``version``, e.g. the version a stored report names) wins; else the team's active pack when
    it is written for the call's language (a Mandarin pack never scores an English call, an English one never a
    French call); else :func:`default_pack`.

    Raises:
        NoPackForLanguage: none of these: no pack is written for ``language`` (the call is unscorable).
        PackError: ``pack_id`` is not a known pack (or version).
    """
    if pack_id is not None:
        return get_pack(session, pack_cache, pack_id, version)
    choice = team_pack(session, team)
    if choice is not None:
        pack = get_pack(session, pack_cache, choice.pack_id, choice.version)
        if language is None or language_fits(pack.language, language):
            return pack
    return default_pack(session, pack_cache, language)


def default_pack(session: Session, pack_cache: PackCache, language: str | None) -> Pack:
    """The pack for a call in ``language`` that named none: :func:`~qa_engine.rules.default_pack_id` over the
    bundled and uploaded packs (a bundled default as its file, an uploaded one at its newest version).

    Raises:
        NoPackForLanguage: no pack, bundled or uploaded, is written for ``language``.
    """
    pack_id = default_pack_id(language, lambda: pack_languages(session))
    if _bundled_exists(pack_id):
        return pack_cache.pack(pack_id, None)
    return get_pack(session, pack_cache, pack_id)


def pack_languages(session: Session) -> dict[str, str]:
    """Every known pack id with the language its newest version is written for."""
    return {pack_id: entries[0].language for pack_id, entries in catalogue(session).items()}
