#!/usr/bin/env bash
# Regenerates the parity fixtures in tests/fixtures/parity/ (seeded, so reruns give the same files):
#   1. tools/make_parity_fixtures.py with .venv-reference (Python 3.11, torch + transformers +
#      tensorflow-cpu; created here when missing): the Hugging Face model, the same weights as an
#      original google-research/albert TF1 checkpoint (cross-checked with HF's
#      load_tf_weights_in_albert), expected.npz and README.md;
#   2. tools/make_keras_hub_fixture.py with the project's .venv (Python 3.10, keras-hub): keras_hub/.
# Usage: bash tools/make_parity_fixtures.sh [--out DIR]   (default DIR: tests/fixtures/parity)
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=3

out="tests/fixtures/parity"
if [ "${1:-}" = "--out" ] && [ -n "${2:-}" ]; then out="$2"; shift 2; fi
[ $# -eq 0 ] || { echo "usage: bash tools/make_parity_fixtures.sh [--out DIR]" >&2; exit 2; }

ref_venv=".venv-reference"
ref_pins=(torch==2.13.0 transformers==4.57.6 safetensors==0.8.0 "numpy<2.1" tensorflow-cpu==2.16.2)

is311() { "$@" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' >/dev/null 2>&1; }

find_python311() {
  if [ -n "${PYTHON311:-}" ] && is311 "$PYTHON311"; then echo "$PYTHON311"; return 0; fi
  # A plain python3.11 (through pyenv's shim it only works when 3.11 is selected, hence PYENV_VERSION).
  if command -v python3.11 >/dev/null 2>&1; then
    if is311 python3.11; then python3.11 -c 'import sys; print(sys.executable)'; return 0; fi
    if is311 env PYENV_VERSION=3.11.7 python3.11; then
      PYENV_VERSION=3.11.7 python3.11 -c 'import sys; print(sys.executable)'; return 0
    fi
  fi
  local roots=()
  if command -v pyenv >/dev/null 2>&1; then roots+=("$(pyenv root)"); fi
  roots+=("$HOME/.pyenv")
  local root candidate
  for root in "${roots[@]}"; do
    # newest 3.11.x first
    for candidate in $(ls -d "$root"/versions/3.11*/bin/python3.11 2>/dev/null | sort -t. -k3,3nr); do
      if is311 "$candidate"; then echo "$candidate"; return 0; fi
    done
  done
  for candidate in /usr/bin/python3.11 /usr/local/bin/python3.11; do
    if is311 "$candidate"; then echo "$candidate"; return 0; fi
  done
  echo "error: no Python 3.11 found for $ref_venv (set PYTHON311=/path/to/python3.11, or pyenv install 3.11.7)" >&2
  return 1
}

ref_ok() {
  is311 "$ref_venv/bin/python" && "$ref_venv/bin/python" - <<'PY' >/dev/null 2>&1
import torch, transformers, safetensors, numpy, tensorflow
assert torch.__version__.split("+")[0] == "2.13.0", torch.__version__
assert transformers.__version__ == "4.57.6", transformers.__version__
assert safetensors.__version__ == "0.8.0", safetensors.__version__
assert tensorflow.__version__ == "2.16.2", tensorflow.__version__
PY
}

if ! ref_ok; then
  py311="$(find_python311)"
  echo ">> (re)creating $ref_venv with $py311"
  rm -rf "$ref_venv"
  "$py311" -m venv "$ref_venv"
  "$ref_venv/bin/python" -m pip install --quiet "${ref_pins[@]}"
  ref_ok || { echo "error: $ref_venv still lacks the pinned packages" >&2; exit 1; }
fi

if ! .venv/bin/python -c 'import keras_hub' >/dev/null 2>&1; then
  echo ">> the project venv .venv is missing or lacks keras-hub: creating it with tools/bootstrap_venv.sh"
  bash tools/bootstrap_venv.sh .venv
fi

echo ">> part 1: Hugging Face + original checkpoint fixtures ($ref_venv)"
"$ref_venv/bin/python" tools/make_parity_fixtures.py --out "$out"
echo ">> part 2: keras-hub fixture (.venv)"
.venv/bin/python -W ignore::FutureWarning tools/make_keras_hub_fixture.py --out "$out"

echo ">> fixtures in $out:"
(cd "$out" && find . -type f | sort | while read -r f; do
  printf '  %8d  %s  %s\n' "$(wc -c <"$f")" "$(sha256sum "$f" | cut -c1-16)" "${f#./}"
done)
printf '  %8d  total bytes\n' "$(find "$out" -type f -exec cat {} + | wc -c)"
