#!/usr/bin/env bash
# Regenerates the imported-vocabulary fixtures in tests/fixtures/vocabularies/ (seeded, so reruns give the
# same files for the same library versions):
#   1. tools/make_tokenizer_fixtures.py spm with the project's .venv (Python 3.10): the ALBERT-style
#      SentencePiece models, trained with the sentencepiece the Transform uses;
#   2. tools/make_tokenizer_fixtures.py reference with .venv-tokenizer-reference (Python 3.11,
#      transformers + sentencepiece + protobuf + tokenizers, no torch; created here when missing): the
#      WordPiece vocabularies, reference_ids.npz (Hugging Face's slow tokenizers) and README.md.
# Usage: bash tools/make_tokenizer_fixtures.sh [--out DIR]   (default DIR: tests/fixtures/vocabularies)
set -euo pipefail
cd "$(dirname "$0")/.."

out="tests/fixtures/vocabularies"
if [ "${1:-}" = "--out" ] && [ -n "${2:-}" ]; then out="$2"; shift 2; fi
[ $# -eq 0 ] || { echo "usage: bash tools/make_tokenizer_fixtures.sh [--out DIR]" >&2; exit 2; }

ref_venv=".venv-tokenizer-reference"
ref_pins=(transformers==4.57.6 sentencepiece==0.2.3 protobuf==7.36.2 tokenizers==0.22.2)
py311="${PYTHON311:-$HOME/.pyenv/versions/3.11.7/bin/python3.11}"

ref_ok() {
  "$ref_venv/bin/python" - <<'PY' >/dev/null 2>&1
import sys, importlib.util, sentencepiece, tokenizers, transformers
assert sys.version_info[:2] == (3, 11), sys.version
assert transformers.__version__ == "4.57.6" and sentencepiece.__version__ == "0.2.3", transformers.__version__
assert tokenizers.__version__ == "0.22.2", tokenizers.__version__
assert importlib.util.find_spec("torch") is None, "the reference venv must not have torch"
PY
}

if ! ref_ok; then
  [ -x "$py311" ] || { echo "error: no Python 3.11 at $py311 (set PYTHON311=/path/to/python3.11)" >&2; exit 1; }
  echo ">> (re)creating $ref_venv with $py311"
  rm -rf "$ref_venv"
  "$py311" -m venv "$ref_venv"
  "$ref_venv/bin/python" -m pip install --quiet "${ref_pins[@]}"
  ref_ok || { echo "error: $ref_venv still lacks the pinned packages" >&2; exit 1; }
fi

echo ">> part 1: SentencePiece models (.venv)"
.venv/bin/python tools/make_tokenizer_fixtures.py spm --out "$out"
echo ">> part 2: WordPiece vocabularies and reference ids ($ref_venv)"
spm_version="$(.venv/bin/python -c 'import sentencepiece; print(sentencepiece.__version__)')"
TOKENIZERS_PARALLELISM=false "$ref_venv/bin/python" tools/make_tokenizer_fixtures.py reference --out "$out" \
  --project-sentencepiece "$spm_version"

echo ">> fixtures in $out:"
(cd "$out" && find . -type f | sort | while read -r f; do
  printf '  %8d  %s  %s\n' "$(wc -c <"$f")" "$(sha256sum "$f" | cut -c1-16)" "${f#./}"
done)
printf '  %8d  total bytes\n' "$(find "$out" -type f -exec cat {} + | wc -c)"
