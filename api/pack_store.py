"""Which rule pack scores a call: an explicit pack id, else the team's active pack, else the language default.

(Uploaded pack versions and per-team choices are looked up here once the packs work lands.)
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from qa_engine.rules import Pack

from .engine import ScoringEngine


def resolve_pack(session: Session, engine: ScoringEngine, *, pack_id: str | None, team: str | None,
                 language: str | None) -> Pack:
    """The pack to score with.

    Raises:
        PackError: ``pack_id`` is not a known pack.
    """
    del session, team
    return engine.pack(pack_id, language)
