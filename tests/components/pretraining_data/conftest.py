"""Fixtures for the PretrainingDataGen tests."""

import pytest

from tests.components.pretraining_data.support import train_sentencepiece


@pytest.fixture(scope="session")
def spm_dir(tmp_path_factory):
    """A tiny SentencePiece model trained on synthetic text, with ALBERT's special ids."""
    return train_sentencepiece(tmp_path_factory.mktemp("spm"))
