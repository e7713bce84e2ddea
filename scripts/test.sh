#!/usr/bin/env bash
# Test suite: set up (when needed), lint, type-check, then pytest. Extra args go to pytest.
# The API tests also run on PostgreSQL: a private server is started for the run (installed with apt when missing) and
# stopped at the end, unless QA_ENGINE_TEST_PG_URL already names one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check qa_engine api tests benchmarks scripts
.venv/bin/mypy
.venv/bin/lint-imports
if [ -z "${QA_ENGINE_TEST_PG_URL:-}" ]; then
  pg_env=$(bash scripts/postgres.sh start) || { echo "test.sh: error: could not start PostgreSQL (see above)" >&2; exit 1; }
  eval "$pg_env"
  trap 'bash scripts/postgres.sh stop "$QA_ENGINE_TEST_PG_DIR" || true' EXIT
fi
echo "test.sh: PostgreSQL for the API tests: $(sed -E 's#(//[^:/@]*):[^@/]*@#\1:***@#' <<<"$QA_ENGINE_TEST_PG_URL")" >&2
# the native modules were built by setup.sh: a test fails if one is missing (no silent fall-back to Python here)
QA_ENGINE_REQUIRE_NATIVE=1 .venv/bin/python -m pytest "$@"
