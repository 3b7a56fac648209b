"""Released checkpoints read cheaply: the format of each fixture, its config without its weights, its vocabulary."""

import json
import shutil

import pytest

from tests.support import PARITY
from trainer.checkpoints import WeightImportError, import_weights, save_converted, sources


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    model, report = import_weights("hf", str(PARITY / "hf"))
    return save_converted(model, str(tmp_path_factory.mktemp("converted") / "model"), report, "hf")


def test_each_fixture_format_is_recognized(converted):
    assert sources.detect_format(str(PARITY / "hf")) == "hf"
    assert sources.detect_format(str(PARITY / "hf" / "model.safetensors")) == "hf"
    assert sources.detect_format(str(PARITY / "original")) == "original"
    assert sources.detect_format(str(PARITY / "original" / "model.ckpt")) == "original"
    assert sources.detect_format(str(PARITY / "keras_hub" / "preset")) == "keras-hub"
    assert sources.detect_format(converted) == sources.CONVERTED


def test_the_config_is_read_without_the_weights_and_equals_the_importers(converted):
    for source_format, path in (("hf", PARITY / "hf"), ("original", PARITY / "original"),
                                ("keras-hub", PARITY / "keras_hub" / "preset")):
        model, _ = import_weights(source_format, str(path))
        encoder = getattr(model, "encoder", model)
        assert sources.read_config(str(path)) == encoder.albert_config, source_format
    assert sources.read_config(converted) == sources.read_config(str(PARITY / "hf"))
    assert sources.read_config(str(PARITY / "original")).vocab_size == 100


def test_an_original_config_that_contradicts_the_shapes_is_named(tmp_path):
    copy = tmp_path / "original"
    shutil.copytree(PARITY / "original", copy)
    values = json.loads((copy / "albert_config.json").read_text())
    (copy / "albert_config.json").write_text(json.dumps({**values, "hidden_size": 48}))
    with pytest.raises(WeightImportError, match=r"hidden_size.*'hidden_size': 32"):
        sources.read_config(str(copy))
    (copy / "albert_config.json").unlink()
    with pytest.raises(WeightImportError, match="no albert_config.json beside the checkpoint"):
        sources.read_config(str(copy))


def test_a_directory_that_is_no_checkpoint_says_what_it_holds(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(WeightImportError, match=r"not a checkpoint .*'notes.txt'"):
        sources.detect_format(str(tmp_path))
    with pytest.raises(WeightImportError, match="no such file"):
        sources.detect_format(str(tmp_path / "missing"))


def test_the_shipped_vocabulary_and_its_case_are_found(tmp_path):
    hf = tmp_path / "hf"
    shutil.copytree(PARITY / "hf", hf)
    assert sources.shipped_vocabulary(str(hf)) is None
    (hf / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n")
    (hf / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    assert sources.shipped_vocabulary(str(hf)) == sources.ShippedVocabulary(str(hf / "vocab.txt"), False)
    (hf / "spiece.model").write_bytes(b"x")
    assert sources.shipped_vocabulary(str(hf)).path == str(hf / "spiece.model")  # the SentencePiece model first
