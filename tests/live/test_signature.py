"""HTTP message signature verification: the specification's worked example, and each way to fail."""

from __future__ import annotations

import pytest

from api.audiohook.signature import SignatureError, parse_dictionary, sign, verify

# The example in the AudioHook specification ("Establishing connection").
SPEC_SECRET = "TXlTdXBlclNlY3JldEtleVRlbGxOby0xITJAMyM0JDU="
SPEC_KEY = "SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh"
SPEC_HEADERS = {
    "host": "audiohook.example.com",
    "audiohook-organization-id": "d7934305-0972-4844-938e-9060eef73d05",
    "audiohook-correlation-id": "e160e428-53e2-487c-977d-96989bf5c99d",
    "audiohook-session-id": "30b0e395-84d3-4570-ac13-9a62d8f514c0",
    "x-api-key": SPEC_KEY,
    "signature": "sig1=:NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:",
    "signature-input": 'sig1=("@request-target" "@authority" "audiohook-organization-id" "audiohook-session-id" '
                       '"audiohook-correlation-id" "x-api-key");keyid="SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh";'
                       'nonce="VGhpc0lzQVVuaXF1ZU5vbmNl";alg="hmac-sha256";created=1641013200;expires=3282026430',
}
TARGET = "/api/v1/voicebiometrics/ws"
NOW = 1641013202.0


def secrets(key: str) -> str | None:
    return SPEC_SECRET if key == SPEC_KEY else None


def test_spec_example_verifies() -> None:
    assert verify(SPEC_HEADERS, request_target=TARGET, secret_for=secrets, now=NOW) == SPEC_KEY


def test_sign_reproduces_the_spec_signature() -> None:
    components = {"@request-target": TARGET, "@authority": "audiohook.example.com",
                  **{k: SPEC_HEADERS[k] for k in ("audiohook-organization-id", "audiohook-session-id",
                                                  "audiohook-correlation-id", "x-api-key")}}
    out = sign(SPEC_SECRET, components, keyid=SPEC_KEY, nonce="VGhpc0lzQVVuaXF1ZU5vbmNl", created=1641013200,
               expires=3282026430)
    assert out["signature"] == SPEC_HEADERS["signature"]
    assert out["signature-input"] == SPEC_HEADERS["signature-input"]


@pytest.mark.parametrize(("change", "reason"), [
    ({"x-api-key": "other"}, "keyid does not match"),
    ({"host": "evil.example.com"}, "does not verify"),
    ({"audiohook-session-id": "30b0e395-84d3-4570-ac13-9a62d8f514c1"}, "does not verify"),
    ({"signature": "sig1=:AAAAyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:"}, "does not verify"),
    ({"signature": "sig1=:not base64!:"}, "malformed"),
    ({"signature-input": 'sig1=("@request-target");keyid="x"'}, "keyid does not match"),
])
def test_tampering_fails(change: dict[str, str], reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify({**SPEC_HEADERS, **change}, request_target=TARGET, secret_for=secrets, now=NOW)


def test_wrong_target_unknown_key_stale_and_future() -> None:
    with pytest.raises(SignatureError, match="does not verify"):
        verify(SPEC_HEADERS, request_target="/other", secret_for=secrets, now=NOW)
    with pytest.raises(SignatureError, match="unknown API key"):
        verify(SPEC_HEADERS, request_target=TARGET, secret_for=lambda _k: None, now=NOW)
    with pytest.raises(SignatureError, match="stale"):
        verify(SPEC_HEADERS, request_target=TARGET, secret_for=secrets, now=NOW + 60)
    with pytest.raises(SignatureError, match="future"):
        verify(SPEC_HEADERS, request_target=TARGET, secret_for=secrets, now=NOW - 60)


def test_uncovered_required_component_fails() -> None:
    components = {"@request-target": TARGET, "@authority": "audiohook.example.com", "x-api-key": SPEC_KEY}
    headers = {**SPEC_HEADERS, **sign(SPEC_SECRET, components, keyid=SPEC_KEY, nonce="n" * 24, created=int(NOW))}
    with pytest.raises(SignatureError, match="does not cover"):
        verify(headers, request_target=TARGET, secret_for=secrets, now=NOW)


def test_structured_field_dictionary() -> None:
    parsed = parse_dictionary('a=("x" "y");k="v";n=5, b=:AQI=:, c, d=?0, e=tok')
    assert set(parsed) == {"a", "b", "c", "d", "e"}
    with pytest.raises(SignatureError):
        parse_dictionary('a=("x" "y"')
