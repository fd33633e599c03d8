#!/usr/bin/env bash
# Builds the one-folder PyInstaller bundle of field-app and packs it as a .tar.gz.
# Env: VENV (default .venv), DIST (default dist), WORK (default build/pyinstaller).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
DIST=${DIST:-dist}
WORK=${WORK:-build/pyinstaller}
version=$("$VENV/bin/python" -c 'import field_app; print(field_app.__version__)')
arch=$(uname -m)
start=$(date +%s)
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN --distpath "$DIST" --workpath "$WORK" installer/field-app.spec
archive="$DIST/field-app-$version-linux-$arch.tar.gz"
tar -C "$DIST" -czf "$archive" field-app
end=$(date +%s)
echo "bundle:  $DIST/field-app ($(du -sh "$DIST/field-app" | cut -f1))"
echo "archive: $archive ($(du -sh "$archive" | cut -f1))"
echo "built in $((end - start)) s"
