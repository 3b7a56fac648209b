#!/usr/bin/env bash
# Creates the project virtualenv with Python 3.10 (if missing) and installs albert-tfx with the pins.
set -euo pipefail
venv="${1:-.venv}"
cd "$(dirname "$0")/.."

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then
  py="$(bash tools/find_python310.sh)"
  echo ">> creating $venv with $py"
  rm -rf "$venv"
  "$py" -m venv "$venv"
fi

echo ">> installing albert-tfx into $venv with constraints.txt (about 2 minutes on a fresh venv)"
"$venv/bin/python" -m pip install --quiet --upgrade --constraint constraints.txt pip setuptools wheel
# --constraint pins every transitive dependency: unpinned, pip backtracks for many minutes through google-cloud-*.
"$venv/bin/python" -m pip install --quiet --constraint constraints.txt --no-build-isolation --editable '.[test,airflow,s3]'
"$venv/bin/python" -m pip check || echo "warning: pip check reported the conflicts above" >&2
echo ">> $venv is ready"
