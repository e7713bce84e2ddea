"""HTTP Message Signatures (hmac-sha256) as AudioHook clients sign the WebSocket upgrade request.

The client signs ``@request-target``, ``@authority`` and the ``audiohook-*`` and ``x-api-key`` header
fields with its client secret (base64; the HMAC key is the decoded bytes). We parse the
``Signature-Input`` / ``Signature`` dictionaries (RFC 8941 structured fields, the subset they use),
re-encode the signature base from what we parsed (a sloppy signer fails rather than slips through)
and compare in constant time. Failures say what is wrong, for the server log; the client only
ever gets a 401.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

REQUIRED_COMPONENTS = ("@request-target", "@authority", "audiohook-organization-id", "audiohook-session-id",
                       "audiohook-correlation-id", "x-api-key")
MAX_AGE_S = 10
MAX_SKEW_S = 3
MIN_NONCE = 22

Bare = str | int | float | bool | bytes


class SignatureError(Exception):
    """The request is not signed as the protocol requires (the reason is for logs, not the client)."""


@dataclass(frozen=True)
class Token:
    value: str


@dataclass(frozen=True)
class Item:
    value: Bare | Token
    params: tuple[tuple[str, Bare | Token], ...] = ()


@dataclass(frozen=True)
class InnerList:
    items: tuple[Item, ...]
    params: tuple[tuple[str, Bare | Token], ...] = ()


_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~:/A-Za-z0-9]*")
_NUMBER = re.compile(r"-?\d{1,15}(\.\d{1,3})?")


class _Parser:
    def __init__(self, text: str) -> None:
        self.s, self.i = text, 0

    def fail(self, what: str) -> SignatureError:
        return SignatureError(f"malformed structured field at {self.i}: {what}")

    def ws(self, chars: str = " \t") -> None:
        while self.i < len(self.s) and self.s[self.i] in chars:
            self.i += 1

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def key(self) -> str:
        m = _KEY.match(self.s, self.i)
        if not m:
            raise self.fail("expected a key")
        self.i = m.end()
        return m.group()

    def bare(self) -> Bare | Token:
        c = self.peek()
        if c == '"':
            out, self.i = [], self.i + 1
            while self.i < len(self.s):
                ch = self.s[self.i]
                self.i += 1
                if ch == "\\":
                    if self.peek() not in ('"', "\\"):
                        raise self.fail("bad escape in string")
                    out.append(self.s[self.i])
                    self.i += 1
                elif ch == '"':
                    return "".join(out)
                elif not " " <= ch <= "~":
                    raise self.fail("control character in string")
                else:
                    out.append(ch)
            raise self.fail("unterminated string")
        if c == ":":
            end = self.s.find(":", self.i + 1)
            if end < 0:
                raise self.fail("unterminated byte sequence")
            try:
                raw = base64.b64decode(self.s[self.i + 1: end], validate=True)
            except binascii.Error:
                raise self.fail("bad base64 in byte sequence") from None
            self.i = end + 1
            return raw
        if c == "?":
            flag = self.s[self.i + 1: self.i + 2]
            if flag not in ("0", "1"):
                raise self.fail("bad boolean")
            self.i += 2
            return flag == "1"
        m = _NUMBER.match(self.s, self.i)
        if m and (c == "-" or c.isdigit()):
            self.i = m.end()
            return float(m.group()) if m.group(1) else int(m.group())
        m = _TOKEN.match(self.s, self.i)
        if m:
            self.i = m.end()
            return Token(m.group())
        raise self.fail("expected an item")

    def params(self) -> tuple[tuple[str, Bare | Token], ...]:
        out = []
        while self.peek() == ";":
            self.i += 1
            self.ws(" ")
            k = self.key()
            v: Bare | Token = True
            if self.peek() == "=":
                self.i += 1
                v = self.bare()
            out.append((k, v))
        return tuple(out)

    def member(self) -> Item | InnerList:
        if self.peek() == "(":
            self.i += 1
            items: list[Item] = []
            while True:
                self.ws(" ")
                if self.peek() == ")":
                    self.i += 1
                    return InnerList(tuple(items), self.params())
                items.append(Item(self.bare(), self.params()))
                if self.peek() not in (" ", ")"):
                    raise self.fail("expected ' ' or ')' in inner list")
        return Item(self.bare(), self.params())

    def dictionary(self) -> dict[str, Item | InnerList]:
        out: dict[str, Item | InnerList] = {}
        self.ws()
        while self.i < len(self.s):
            k = self.key()
            if self.peek() == "=":
                self.i += 1
                out[k] = self.member()
            else:
                out[k] = Item(True, self.params())
            self.ws()
            if self.i >= len(self.s):
                break
            if self.peek() != ",":
                raise self.fail("expected ','")
            self.i += 1
            self.ws()
            if self.i >= len(self.s):
                raise self.fail("trailing ','")
        return out


def parse_dictionary(text: str) -> dict[str, Item | InnerList]:
    """An RFC 8941 dictionary (raises :class:`SignatureError` when malformed)."""
    return _Parser(text).dictionary()


def _encode_bare(v: Bare | Token) -> str:
    if isinstance(v, Token):
        return v.value
    if isinstance(v, bool):
        return "?1" if v else "?0"
    if isinstance(v, bytes):
        return ":" + base64.b64encode(v).decode() + ":"
    if isinstance(v, (int, float)):
        return str(v)
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _encode_params(params: tuple[tuple[str, Bare | Token], ...]) -> str:
    return "".join(f";{k}" if v is True else f";{k}={_encode_bare(v)}" for k, v in params)


def encode_inner_list(inner: InnerList) -> str:
    body = " ".join(_encode_bare(i.value) + _encode_params(i.params) for i in inner.items)
    return f"({body}){_encode_params(inner.params)}"


def canonical(value: str) -> str:
    return re.sub(r"[ \t]*\r\n[ \t]+", " ", value.strip())


def signature_base(components: list[str], values: Mapping[str, str], params: InnerList) -> str:
    lines = [f'"{name}": {values[name]}' for name in components]
    lines.append(f'"@signature-params": {encode_inner_list(params)}')
    return "\n".join(lines)


def sign(secret_b64: str, components: dict[str, str], *, keyid: str, nonce: str, created: int,
         expires: int | None = None, label: str = "sig1") -> dict[str, str]:
    """``Signature-Input`` and ``Signature`` headers for ``components`` (name -> value): what a client sends."""
    params: list[tuple[str, Bare | Token]] = [("keyid", keyid), ("nonce", nonce), ("alg", "hmac-sha256"),
                                              ("created", created)]
    if expires is not None:
        params.append(("expires", expires))
    inner = InnerList(tuple(Item(name) for name in components), tuple(params))
    base = signature_base(list(components), {k: canonical(v) for k, v in components.items()}, inner)
    digest = hmac.new(base64.b64decode(secret_b64), base.encode(), hashlib.sha256).digest()
    return {"signature-input": f"{label}={encode_inner_list(inner)}",
            "signature": f"{label}=:{base64.b64encode(digest).decode()}:"}


def verify(headers: Mapping[str, str], *, request_target: str, secret_for: Callable[[str], str | None],
           now: float | None = None, max_age_s: int = MAX_AGE_S) -> str:
    """Check the request's signature; returns the verified API key.

    ``headers`` maps lower-case names to values; ``secret_for(api_key)`` gives the base64 client
    secret or None for an unknown key.

    Raises:
        SignatureError: missing or unknown key, unsigned, malformed, stale, or a wrong signature.
    """
    api_key = canonical(headers.get("x-api-key", ""))
    if not api_key:
        raise SignatureError("missing X-API-KEY header field")
    if "signature-input" not in headers or "signature" not in headers:
        raise SignatureError("request is not signed (no Signature-Input / Signature header fields)")
    inputs = parse_dictionary(headers["signature-input"])
    signatures = parse_dictionary(headers["signature"])
    if not inputs:
        raise SignatureError("empty Signature-Input")
    label, inner = next(iter(inputs.items()))
    sig = signatures.get(label)
    if not isinstance(inner, InnerList):
        raise SignatureError("Signature-Input member is not an inner list")
    if not isinstance(sig, Item) or not isinstance(sig.value, bytes):
        raise SignatureError(f"no signature byte sequence labelled {label!r}")
    params = dict(inner.params)
    unknown = set(params) - {"alg", "created", "expires", "keyid", "nonce"}
    if unknown:
        raise SignatureError(f"unknown signature parameter(s): {sorted(unknown)}")
    if params.get("keyid") != api_key:
        raise SignatureError("signature keyid does not match the X-API-KEY header field")
    if params.get("alg", "hmac-sha256") != "hmac-sha256":
        raise SignatureError(f"unsupported signature algorithm {params.get('alg')!r}")
    nonce = params.get("nonce")
    if not isinstance(nonce, str) or len(nonce) < MIN_NONCE:
        raise SignatureError("missing or too short nonce signature parameter")
    created, expires = params.get("created"), params.get("expires")
    now = time.time() if now is None else now
    if not isinstance(created, int) or isinstance(created, bool):
        raise SignatureError("missing created signature parameter (the signature's age cannot be checked)")
    if created > now + MAX_SKEW_S:
        raise SignatureError("signature created in the future")
    if created + max_age_s < now - MAX_SKEW_S:
        raise SignatureError(f"signature is stale (created {now - created:.0f} s ago; at most {max_age_s} s)")
    if isinstance(expires, int) and not isinstance(expires, bool) and expires < now - MAX_SKEW_S:
        raise SignatureError("signature has expired")
    components: list[str] = []
    values: dict[str, str] = {}
    for item in inner.items:
        name = item.value
        if not isinstance(name, str) or item.params or name in values:
            raise SignatureError(f"bad or repeated covered component {item.value!r}")
        if name == "@request-target":
            values[name] = request_target
        elif name == "@authority":
            values[name] = canonical(headers.get("host", "")).lower()
        elif name.startswith("@") or name == "signature":
            raise SignatureError(f"unsupported covered component {name!r}")
        elif name in headers:
            values[name] = canonical(headers[name])
        else:
            raise SignatureError(f"covered header field {name!r} is not in the request")
        components.append(name)
    missing = [c for c in REQUIRED_COMPONENTS if c not in values]
    if missing:
        raise SignatureError(f"signature does not cover {missing}")
    secret = secret_for(api_key)
    key = base64.b64decode(secret) if secret is not None else hashlib.sha256(api_key.encode()).digest()
    expected = hmac.new(key, signature_base(components, values, inner).encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, sig.value) or secret is None:
        raise SignatureError("unknown API key" if secret is None else "signature does not verify")
    return api_key
