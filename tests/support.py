"""Helpers every test package may use: the shared data sets, the committed fixtures, encoder inputs.

Test helpers live in `support` modules (this one, and `tests/<package>/support.py` or `support/`);
conftest.py files hold pytest fixtures and hooks only (tests/test_project.py checks this).
"""

import os
import pathlib

import numpy as np
import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
PARITY = FIXTURES / "parity"
# The data sets beside the checkout (../shared/datasets, see its README); ALBERT_TFX_SHARED_DATASETS
# points elsewhere.
SHARED_DATASETS_ENV = "ALBERT_TFX_SHARED_DATASETS"


def shared_datasets() -> pathlib.Path:
    """The shared data sets folder; fails the test, naming the missing folder, when it is not there."""
    path = pathlib.Path(os.environ.get(SHARED_DATASETS_ENV) or REPO_ROOT.parent / "shared" / "datasets").resolve()
    if not path.is_dir():
        pytest.fail(f"the shared data sets folder {path} is missing: these tests read ../shared/datasets "
                    f"beside the checkout (or set {SHARED_DATASETS_ENV})", pytrace=False)
    return path


def dataset(name: str) -> pathlib.Path:
    """`<shared datasets>/<name>`; fails the test, naming the folder, when it is missing."""
    path = shared_datasets() / name
    if not path.is_dir():
        pytest.fail(f"the shared data set folder {path} is missing (see {shared_datasets()}/README.md)",
                    pytrace=False)
    return path


def read_tsv(path: pathlib.Path, header: bool, limit: int = 0):
    """Rows of a TSV file as lists of fields (the shared data sets have no quoting)."""
    rows = path.read_text(encoding="utf-8").split("\n")[1 if header else 0:]
    rows = [row.split("\t") for row in rows if row]
    return rows[:limit] if limit else rows


def truncate_one_at_a_time(a: int, b: int, budget: int):
    """BERT/ALBERT's _truncate_seq_pair on lengths: the longer side (b on a tie) loses a piece until a + b fits."""
    while a + b > budget:
        if a > b:
            a -= 1
        else:
            b -= 1
    return a, b


def encoder_batch(vocab_size: int, batch: int = 3, length: int = 12, seed: int = 0):
    """Token ids, a sentence pair's segment ids and right padding of different lengths per row."""
    rng = np.random.default_rng(seed)
    lengths = np.linspace(length, max(2, length // 3), batch).astype(int)
    padding_mask = (np.arange(length)[None, :] < lengths[:, None]).astype("int32")
    segment_ids = (np.arange(length)[None, :] >= (lengths[:, None] // 2)).astype("int32") * padding_mask
    token_ids = rng.integers(5, vocab_size, (batch, length)).astype("int32") * padding_mask
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
