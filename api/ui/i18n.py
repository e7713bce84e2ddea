"""Message catalogues for the UI (zh-CN default, English): one JSON file per language, same keys in both."""

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
    return messages


def language(request: Request) -> str:
    """``?lang=`` first (the switch), then the cookie, then zh."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT


def translator(lang: str) -> Translator:
    return Translator(catalogue(lang))


class Translator:
    """``t("key", name=...)``: the message in the page's language (the key itself when missing, to be noticed)."""

    def __init__(self, messages: dict[str, str]) -> None:
        self.messages = messages

    def __call__(self, key: str, **values: object) -> str:
        text = self.messages.get(key, key)
        return text.format(**values) if values else text
