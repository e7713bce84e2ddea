#!/usr/bin/env bash
# Test suite: set up (when needed), lint, type-check, then pytest. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check qa_engine api tests benchmarks scripts
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
