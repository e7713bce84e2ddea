"""Pack uploads the fuzzer (``benchmarks/fuzz_packs.py``) found unsafe or unclear: a 422 naming where, never a
201 for a pack whose scores cannot be written, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from qa_engine.rules.pack import MAX_RULES

from ..one_rule_pack import one_rule_pack

P = "/api/v1/packs"
YAML = {"Content-Type": "application/yaml"}
PACK = one_rule_pack("fuzzed")
RULE = """\
  - id: r{i}
    type: phrase_in_window
    summary: s
    role: agent
    window: {{anchor: whole_call}}
    match: {{phrases: [您好{i}]}}
"""


@pytest.fixture()
def admin(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_user("root", "admin")


@pytest.mark.parametrize("weight", [".inf", "1e400", "1e308"])
def test_weight_that_cannot_add_up_is_refused(client: TestClient, admin: dict[str, str], weight: str) -> None:
    """Such a pack was stored (201); every call scored with it had an infinite or NaN score."""
    body = PACK.replace("weight: 10", f"weight: {weight}").encode()
    for path in (f"{P}/validate", P):
        answer = client.post(path, content=body, headers={**admin, **YAML})
        assert answer.status_code == 422, answer.text
        assert "rule 'greeting': field 'weight'" in answer.json()["detail"]
    assert client.get(f"{P}/fuzzed", headers=admin).status_code == 404


def test_body_that_is_not_utf8_names_the_line(client: TestClient, admin: dict[str, str]) -> None:
    body = PACK.encode().replace("您好".encode(), b"\xff\xfe")
    answer = client.post(f"{P}/validate", content=body, headers={**admin, **YAML})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("body: not UTF-8 text: byte 0xff at line 12 byte 23")


def test_control_character_names_the_line(client: TestClient, admin: dict[str, str]) -> None:
    body = PACK.replace("summary: greets", "summary: gr\x07eets").encode()
    answer = client.post(f"{P}/validate", content=body, headers={**admin, **YAML})
    assert answer.status_code == 422, answer.text
    assert "body: invalid YAML at line 8 column 16: the character U+0007" in answer.json()["detail"]


def test_too_many_rules_are_a_422_naming_the_field(client: TestClient, admin: dict[str, str]) -> None:
    """Thousands of rules fit in the 1 MiB body and took seconds of CPU to compile, on every load."""
    body = (PACK + "".join(RULE.format(i=i) for i in range(MAX_RULES))).encode()
    answer = client.post(P, content=body, headers={**admin, **YAML})
    assert answer.status_code == 422, answer.text
    assert f"field 'rules': {MAX_RULES + 1} rules, at most {MAX_RULES}" in answer.json()["detail"]
