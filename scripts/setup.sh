#!/usr/bin/env bash
# Idempotent set-up from a bare Debian 12: system packages, a virtual environment, the Python packages.
# Fast when nothing is missing (one dpkg-query and one hash comparison).
# Env: VENV (default .venv), PYTHON (default python3), EXTRAS (default "hq,test,build").
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-hq,test,build}

say() { printf '[setup] %s\n' "$*" >&2; }

install_system_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        say "not a Debian-family system: install the packages in scripts/system-packages.txt yourself"
        return 0
    fi
    local wanted missing=()
    wanted=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' scripts/system-packages.txt)
    for pkg in $wanted; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing system packages: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
            say "missing system packages and no root/sudo; as root run:"
            say "  apt-get update && apt-get install -y ${missing[*]}"
            exit 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

make_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
            say "$PYTHON is older than 3.11; set PYTHON=/path/to/python3.11"; exit 1; }
        say "creating virtual environment $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
}

install_python_packages() {
    local stamp="$VENV/.field-recorder-installed" want
    want=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)-$EXTRAS
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    say "installing Python packages into $VENV (extras: $EXTRAS)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        -c requirements.lock -e ".[${EXTRAS}]"
    echo "$want" > "$stamp"
}

install_system_packages
make_venv
install_python_packages
