#!/usr/bin/env bash
# Runs the whole test suite in the project's venv. Extra arguments go to pytest.
# Under CI (CI=true) a missing system dependency fails the run instead of skipping (tests/harness).
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
exec "${VENV:-.venv}/bin/python" -m pytest "$@"
