#!/usr/bin/env bash
# Main job: set up (when needed) and score the bundled example call, printing the report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/qa-engine score tests/data/call_zh_stereo.flac "$@"
