"""The layers point one way (README "Architecture"): core -> application layer (qa_engine.app) -> CLI / api.

import-linter (``[tool.importlinter]`` in pyproject.toml, run by scripts/test.sh) checks the static import graph;
these tests check what actually gets loaded at run time, in fresh interpreters (lazy imports and third-party
packages included), and that the contracts' explicit list of core modules still covers the package.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "qa_engine"
#: Top-level parts of qa_engine that are not core (the layers above it).
NOT_CORE = {"qa_engine.app", "qa_engine.cli", "qa_engine.commands"}
WEB = ("fastapi", "starlette")
#: What core must not load (httpx and websockets are left out: third-party libraries of core load them).
NOT_IN_CORE = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn")
#: Run by alembic only (it reads alembic's context at import time); its imports are in the import-linter graph.
NOT_IMPORTABLE = {"qa_engine.app.migrations.env"}

# Imports each module named on the command line in turn; stops at the first that loads a watched package and
# prints (as JSON) that module, what it loaded and the qa_engine/api frames of the import that loaded it.
PROBE = r"""
import importlib, json, sys, traceback

watched = tuple(sys.argv[1].split(","))
first_import = {}

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name in watched and name not in first_import:
            frames = [f"{'/'.join(f.filename.rsplit('/', 3)[-3:])}:{f.lineno} {f.line}"
                      for f in traceback.extract_stack() if "/qa_engine/" in f.filename or "/api/" in f.filename]
            first_import[name] = frames
        return None

sys.meta_path.insert(0, Watch())
for module in sys.argv[2:]:
    importlib.import_module(module)
    loaded = sorted(name for name in watched if name in sys.modules)
    if loaded:
        print(json.dumps({"module": module, "loaded": loaded,
                          "via": {name: first_import.get(name, []) for name in loaded}}))
        sys.exit(1)
print(json.dumps({"module": None}))
"""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _probe(watched: tuple[str, ...], modules: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE, ",".join(watched), *modules], capture_output=True,
                          text=True, timeout=120, cwd=REPO, check=False)
    assert proc.stdout.strip(), f"the probe crashed:\n{proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0 and result["module"] is None, (
        f"importing {result['module']} loads {', '.join(result['loaded'])}; first imported from:\n"
        + "\n".join(f"  {name}: " + " <- ".join(reversed(frames)) for name, frames in result["via"].items()))


def _core_modules() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    core = next(c for c in config["contracts"] if c["name"].startswith("core "))
    modules: list[str] = core["source_modules"]
    return modules


def test_modules_using_sqlalchemy_do_not_load_the_web_framework() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+sqlalchemy\b", re.MULTILINE)
    modules = sorted(_module_name(p) for p in PACKAGE.rglob("*.py")
                     if pattern.search(p.read_text(encoding="utf-8")))
    modules = [m for m in modules if m not in NOT_IMPORTABLE]
    assert "qa_engine.app.models" in modules and "qa_engine.app.database" in modules
    _probe(WEB, modules)


def test_nothing_in_qa_engine_imports_api() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+api\b")
    offenders = [f"{p.relative_to(REPO)}:{n}: {line.strip()}"
                 for p in sorted(PACKAGE.rglob("*.py"))
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.match(line)]
    assert not offenders, "qa_engine imports the HTTP edge:\n" + "\n".join(offenders)


def test_core_loads_no_database_or_web_code() -> None:
    modules = _core_modules()
    assert {"qa_engine.pipeline", "qa_engine.scoring", "qa_engine.rules", "qa_engine.live"} <= set(modules)
    _probe(NOT_IN_CORE, ["qa_engine", *modules])


def test_every_top_level_module_is_in_a_layer() -> None:
    """A new qa_engine module must be listed in the core contract (or be part of app / CLI): else unchecked."""
    top = {_module_name(p) for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    top |= {_module_name(p.parent) for p in PACKAGE.glob("*/__init__.py")}
    core = set(_core_modules())
    assert not core & NOT_CORE
    assert top - NOT_CORE == core, (
        f"not in the core contract of pyproject.toml: {sorted(top - NOT_CORE - core)}; "
        f"listed but gone: {sorted(core - top)}")
