"""The scoring engine the service uses: rule packs loaded once, transcripts scored without ASR.

The speech model is not loaded here: scoring an uploaded transcript needs only the rule pack.
"""

from __future__ import annotations

import re
import threading

from qa_engine.errors import PackError
from qa_engine.rules import Pack, load_pack
from qa_engine.scoring import score_transcript
from qa_engine.types import CallReport, Transcript

PACK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ScoringEngine:
    """Scores transcripts against rule packs (by id only: the API never opens paths it is given)."""

    def __init__(self, *, mask_pii: bool = True) -> None:
        self.mask_pii = mask_pii
        self._packs: dict[tuple[str | None, str | None], Pack] = {}
        self._lock = threading.Lock()

    def pack(self, pack_id: str | None, language: str | None) -> Pack:
        """The pack ``pack_id`` (or the default for ``language``), cached.

        Raises:
            PackError: no such pack, or ``pack_id`` is not a plain id.
        """
        if pack_id is not None and (not PACK_ID.match(pack_id) or pack_id.endswith((".yaml", ".yml"))):
            raise PackError(f"field 'pack': {pack_id!r} is not a pack id (letters, digits, '-', '_', '.')")
        key = (pack_id, None if pack_id else language)
        with self._lock:
            cached = self._packs.get(key)
        if cached is None:
            cached = load_pack(pack_id, language=language)
            with self._lock:
                self._packs[key] = cached
        return cached

    def score(self, transcript: Transcript, pack_id: str | None = None) -> CallReport:
        """Check ``transcript`` against its pack; texts in the report are PII-masked by default."""
        return score_transcript(transcript, self.pack(pack_id, transcript.language), mask_pii=self.mask_pii)
