"""Helpers of the text-contract tests: the imported-vocabulary fixtures and their reference ids
(tests/fixtures/vocabularies, made by tools/make_tokenizer_fixtures.sh)."""

import functools
import hashlib
import json
from typing import Dict, List, Sequence

import numpy as np

from tests import support

VOCABULARIES = support.FIXTURES / "vocabularies"
ALBERT_MODEL = VOCABULARIES / "albert_spm.model"
ALBERT_MODEL_100 = VOCABULARIES / "albert_spm_100.model"
WORDPIECE_VOCAB = VOCABULARIES / "wordpiece_vocab.txt"
WORDPIECE_VOCAB_100 = VOCABULARIES / "wordpiece_vocab_100.txt"
# The file each imported tokenization's reference ids were made with.
REFERENCE_VOCABULARY = {"albert": ALBERT_MODEL, "wordpiece": WORDPIECE_VOCAB}
# The shared dev sets with reference ids, and "edge": hand-written texts stored with the ids.
REFERENCE_DATASETS = ("sst2", "mrpc", "chnsenticorp", "edge")


@functools.lru_cache(maxsize=None)
def _reference() -> Dict[str, np.ndarray]:
    with np.load(VOCABULARIES / "reference_ids.npz") as archive:
        return {name: archive[name] for name in archive.files}


def reference_meta() -> dict:
    return json.loads(str(_reference()["meta"]))


@functools.lru_cache(maxsize=None)
def _texts(dataset: str) -> tuple:
    meta = reference_meta()
    if dataset == "edge":
        return tuple(meta["edge_texts"])
    spec = meta["datasets"][dataset]
    rows = support.read_tsv(support.shared_datasets() / spec["file"], header=spec["header"])
    texts = tuple(row[column] for row in rows for column in spec["columns"])
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
    assert (len(texts), digest) == (spec["texts"], spec["sha256"]), f"{spec['file']} is not the file the ids were made from"
    return texts


def reference_texts(dataset: str) -> List[str]:
    """The texts the reference ids of `dataset` belong to, in order (checked against the recorded sha256)."""
    return list(_texts(dataset))


def _rows(ids: np.ndarray, lengths: np.ndarray) -> List[List[int]]:
    return [row.tolist() for row in np.split(ids.astype(np.int64), np.cumsum(lengths)[:-1])] if len(lengths) else []


def reference_ids(tokenization: str, dataset: str, lower_case: bool) -> List[List[int]]:
    """Hugging Face's ids of every text of `dataset` (no special tokens, no truncation)."""
    arrays = _reference()
    key = f"{tokenization}/{dataset}"
    rows = _rows(arrays[f"{key}/lower/ids"], arrays[f"{key}/lower/lengths"])
    if not lower_case:  # stored as the rows that differ from lower_case=True
        for index, row in zip(arrays[f"{key}/cased/rows"].tolist(),
                              _rows(arrays[f"{key}/cased/ids"], arrays[f"{key}/cased/lengths"])):
            rows[index] = row
    return rows


def differing_rows(got: Sequence[Sequence[int]], expected: Sequence[Sequence[int]]) -> List[int]:
    assert len(got) == len(expected), (len(got), len(expected))
    return [i for i, (a, b) in enumerate(zip(got, expected)) if list(a) != list(b)]


def describe_difference(texts: Sequence[str], got, expected, rows: Sequence[int], limit: int = 3) -> str:
    """The first differing rows: index, text, both id lists (for an assertion message)."""
    lines = [f"{len(rows)} of {len(texts)} rows differ"]
    for i in rows[:limit]:
        lines.append(f"row {i}: {texts[i]!r}\n  got      {list(got[i])}\n  expected {list(expected[i])}")
    return "\n".join(lines)
