"""Shared test set-up: quiet TensorFlow, fixed seeds, and paths to the committed fixtures."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
PARITY = FIXTURES / "parity"


@pytest.fixture(autouse=True)
def _seeded():
    import keras

    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")


def encoder_batch(vocab_size: int, batch: int = 3, length: int = 12, seed: int = 0):
    """Token ids, a sentence pair's segment ids and right padding of different lengths per row."""
    rng = np.random.default_rng(seed)
    lengths = np.linspace(length, max(2, length // 3), batch).astype(int)
    padding_mask = (np.arange(length)[None, :] < lengths[:, None]).astype("int32")
    segment_ids = (np.arange(length)[None, :] >= (lengths[:, None] // 2)).astype("int32") * padding_mask
    token_ids = rng.integers(5, vocab_size, (batch, length)).astype("int32") * padding_mask
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
