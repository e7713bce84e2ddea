"""The service's pack cache: rule packs parsed once, by (id, version).

Bundled packs are read from ``rules/packs`` by id; uploaded versions (``pack_versions``) are parsed from their
stored YAML. Both are cached by (id, version): a stored version never changes, so the cache never goes stale.
"""

from __future__ import annotations

import re
import threading

from qa_engine.errors import PackError
from qa_engine.rules import Pack, load_pack
from qa_engine.rules.pack import parse_pack_text

PACK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_VERSION_LENGTH = 32


def check_pack_id(pack_id: str, field: str = "pack") -> None:
    """Refuse anything but a plain id (no paths, no file names).

    Raises:
        PackError: ``pack_id`` is not a plain id.
    """
    if not PACK_ID.match(pack_id) or pack_id.endswith((".yaml", ".yml")):
        raise PackError(f"field '{field}': {pack_id!r} is not a pack id (letters, digits, '-', '_', '.'; "
                        "at most 64 characters)")


class PackCache:
    """Parsed rule packs by id and version (by id only: the service never opens paths it is given)."""

    def __init__(self) -> None:
        self._packs: dict[tuple[str | None, str | None], Pack] = {}
        self._versions: dict[tuple[str, str], Pack] = {}
        self._lock = threading.Lock()

    def pack(self, pack_id: str | None, language: str | None) -> Pack:
        """The bundled pack ``pack_id`` (or the default for ``language``), cached.

        Raises:
            PackError: no such pack, or ``pack_id`` is not a plain id.
        """
        if pack_id is not None:
            check_pack_id(pack_id)
        key = (pack_id, None if pack_id else language)
        with self._lock:
            cached = self._packs.get(key)
        if cached is None:
            cached = load_pack(pack_id, language=language)
            with self._lock:
                self._packs[key] = cached
        return cached

    def uploaded_pack(self, pack_id: str, version: str, source: str) -> Pack:
        """An uploaded pack version parsed from its YAML ``source``, cached by (id, version).

        Raises:
            PackError: the source does not validate (e.g. a check type that no longer exists).
        """
        key = (pack_id, version)
        with self._lock:
            cached = self._versions.get(key)
        if cached is None:
            cached = parse_pack_text(source, f"pack {pack_id} v{version}", allow_aliases=False)
            with self._lock:
                self._versions[key] = cached
        return cached
