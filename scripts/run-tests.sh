#!/usr/bin/env bash
# Runs the whole test suite in the project's venv. Extra arguments go to pytest.
# Under CI (CI=true) a missing system dependency fails the run instead of skipping (tests/harness).
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen

# The sync tests need PostgreSQL on 127.0.0.1:5432 (trust auth for user postgres, or FIELD_TEST_PG_DSN).
# Start the local cluster if it is installed and not running; harmless when it already runs.
start_postgres() {
    command -v pg_lsclusters >/dev/null 2>&1 || return 0
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    [ -n "$version" ] || return 0
    if pg_lsclusters --no-header 2>/dev/null | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q online; then
        return 0
    fi
    echo "[tests] starting PostgreSQL $version/main" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 \
        || echo "[tests] could not start PostgreSQL; its tests will skip (fail under CI)" >&2
}
start_postgres

exec "${VENV:-.venv}/bin/python" -m pytest "$@"
