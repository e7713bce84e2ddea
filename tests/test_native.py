"""The native modules: built where the suite requires them, and off when ``QA_ENGINE_NATIVE=0``.

Each module's own tests compare it with the Python reference it replaces; these check the plumbing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa_engine import native

SOURCES = sorted((Path(native.__file__).parent).glob("_*.c"))


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_every_native_source_is_built_where_required(source: Path) -> None:
    if os.environ.get("QA_ENGINE_REQUIRE_NATIVE") != "1":
        pytest.skip("QA_ENGINE_REQUIRE_NATIVE is not 1 (scripts/test.sh sets it)")
    assert native.load(source.stem) is not None, f"{source.name} is not built: run bash scripts/setup.sh"


def test_a_module_that_was_not_built_is_none() -> None:
    assert native.load("_no_such_module") is None


def test_native_off_gives_none_for_every_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_ENGINE_NATIVE", "0")
    assert not native.enabled()
    assert all(native.load(s.stem) is None for s in SOURCES)
    monkeypatch.setenv("QA_ENGINE_NATIVE", "1")
    assert native.enabled()
