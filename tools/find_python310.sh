#!/usr/bin/env bash
# Prints the path of a working CPython 3.10 interpreter (TFX 1.16 supports only 3.9-3.10).
# Order: $PYTHON310, a plain python3.10 that really runs, pyenv's newest 3.10.x (a bare `python3.10`
# fails through pyenv's shim while another version is global), then the usual system paths.
set -u

works() { "$@" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }

if [ -n "${PYTHON310:-}" ]; then
  if works "$PYTHON310"; then echo "$PYTHON310"; exit 0; fi
  echo "PYTHON310=$PYTHON310 is not a working Python 3.10" >&2; exit 1
fi

if command -v python3.10 >/dev/null 2>&1 && works python3.10; then
  python3.10 -c 'import sys; print(sys.executable)'; exit 0
fi

if command -v pyenv >/dev/null 2>&1; then
  for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10\.[0-9]+$' | sort -t. -k3,3nr); do
    candidate="$(pyenv root)/versions/$v/bin/python3.10"
    if works "$candidate"; then echo "$candidate"; exit 0; fi
  done
fi

for candidate in /usr/bin/python3.10 /usr/local/bin/python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10; do
  if [ -x "$candidate" ] && works "$candidate"; then echo "$candidate"; exit 0; fi
done

cat >&2 <<'MSG'
error: no Python 3.10 found. albert-tfx needs CPython 3.10 (TFX 1.16 supports only 3.9-3.10).
Get one with any of:
  pyenv install 3.10.13                      (then `make` finds it by itself)
  apt-get install python3.10 python3.10-venv (where your distribution has it)
or point make at one: make test PYTHON310=/path/to/python3.10
MSG
exit 1
