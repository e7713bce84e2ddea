#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian/Ubuntu machine with Python 3.11:
# system packages when missing, .venv in the repo root, the project and its dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
py=${PYTHON:-python3}
command -v "$py" >/dev/null 2>&1 || need_apt+=(python3 python3-venv python3-dev)
if command -v "$py" >/dev/null 2>&1 && ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  need_apt+=(python3-venv)
fi
# The native speed-ups (qa_engine/native/*.c) are compiled at install: a C compiler and the Python headers.
command -v gcc >/dev/null 2>&1 || need_apt+=(build-essential)
if command -v "$py" >/dev/null 2>&1 && \
   ! "$py" -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
  need_apt+=(python3-dev)
fi
# The web UI's end-to-end tests (tests/ui) drive Debian's Chromium; Playwright never downloads a browser.
[ -x /usr/bin/chromium ] || need_apt+=(chromium fonts-noto-cjk)
# Regenerating the test audio (scripts/make_test_audio.py) needs espeak-ng; the tests themselves do not.
if [ "${QA_ENGINE_SETUP_TTS:-0}" = 1 ]; then command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need_apt[*]}" >&2
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

"$py" - <<'PY' || { echo "setup: Python 3.11 or newer is required" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$py" -m venv .venv
fi
stamp=.venv/.qa-engine-installed
# a change to the packaging or to a native module's C source reinstalls (the C is compiled then)
want=$( { cat pyproject.toml setup.py; cat qa_engine/native/*.c 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! .venv/bin/python -c 'import qa_engine' 2>/dev/null; then
  echo "setup: installing qa-engine into .venv (first run downloads packages)" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi
