"""API keys: generated with :func:`secrets.token_urlsafe`, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets

KEY_BYTES = 32


def generate_api_key() -> str:
    """A new API key: 32 random bytes (256 bits), URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(KEY_BYTES)


def hash_api_key(key: str) -> str:
    """The stored form of an API key: hex SHA-256.

    A fast unsalted hash is the right tool here, unlike for passwords: the keys are 256-bit random
    values, so there is no dictionary to try and a brute-force search of the key space is out of
    reach however fast the hash is. Slow salted hashes (bcrypt, argon2) protect *low*-entropy
    secrets; they would only slow down every request. A deterministic digest also lets the key be
    found with one indexed lookup, without storing any part of the key itself. A leaked database
    therefore yields no usable keys.
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
