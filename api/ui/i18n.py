"""Message catalogues for the UI (zh-CN default, English): ``<lang>.json`` plus one ``<lang>.<feature>.json`` per
feature page, same keys in both languages; a key defined twice is an error (two features must not fight over it)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from fastapi import Request

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
COOKIE = "qa_lang"
CATALOGUES = Path(__file__).parent / "i18n"


@cache
def catalogue(lang: str) -> dict[str, str]:
    messages: dict[str, str] = json.loads((CATALOGUES / f"{lang}.json").read_text(encoding="utf-8"))
    for part in sorted(CATALOGUES.glob(f"{lang}.*.json")):
        extra: dict[str, str] = json.loads(part.read_text(encoding="utf-8"))
        clash = sorted(set(extra) & set(messages))
        if clash:
            raise ValueError(f"{part.name} redefines {', '.join(clash[:5])}")
        messages.update(extra)
    return messages


def language(request: Request) -> str:
    """``?lang=`` first (the switch), then the cookie, then zh."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT


def translator(lang: str) -> Translator:
    return Translator(catalogue(lang))


#: Bidi embeddings, overrides and isolates: a value holding one is shown isolated (see :func:`isolate`).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
FSI, PDI = "\u2068", "\u2069"


def isolate(value: object) -> str:
    """``value`` as text that cannot reorder what follows it: one holding bidi controls is wrapped in FSI ... PDI
    (a right-to-left override left open in a user's name would otherwise reverse the rest of the heading); a PDI with
    no isolate of its own to close is dropped (it would close the wrapper). Other text is unchanged."""
    text = str(value)
    if BIDI_CONTROLS.isdisjoint(text):
        return text
    kept, open_isolates = [], 0
    for ch in text:
        if ch in "\u2066\u2067\u2068":
            open_isolates += 1
        elif ch == PDI:
            if not open_isolates:
                continue
            open_isolates -= 1
        kept.append(ch)
    return FSI + "".join(kept) + PDI * (open_isolates + 1)


class Translator:
    """``t("key", name=...)``: the message in the page's language (the key itself when missing, to be noticed);
    each value is isolated (:func:`isolate`)."""

    def __init__(self, messages: dict[str, str]) -> None:
        self.messages = messages

    def __call__(self, key: str, **values: object) -> str:
        text = self.messages.get(key, key)
        return text.format(**{name: isolate(value) for name, value in values.items()}) if values else text
