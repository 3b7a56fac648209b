"""Parity with Hugging Face transformers' AlbertModel / AlbertForPreTraining (committed fixture)."""

import json
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from tests.support import PARITY
from tests.trainer.checkpoints.support import assert_matches, expected, pretrainer_outputs
from trainer.checkpoints import WeightImportError, import_weights
from trainer.checkpoints.huggingface import config_from_huggingface
from trainer.pretrainer import AlbertPretrainer

ALL_OUTPUTS = ("sequence_output", "pooled_output", "mlm_logits", "sop_logits")


def test_imported_hf_weights_reproduce_transformers_outputs():
    model, report = import_weights("hf", str(PARITY / "hf"))
    assert isinstance(model, AlbertPretrainer)
    assert report.heads == ["masked_lm", "sentence_order"]
    config = model.encoder.albert_config
    assert (config.num_hidden_groups, config.inner_group_num, config.hidden_act) == (2, 2, "gelu")
    assert_matches(pretrainer_outputs(model, expected()), expected(), ALL_OUTPUTS)


def test_hf_activation_names_are_translated(tmp_path):
    values = json.loads((PARITY / "hf" / "config.json").read_text())
    for hf_name, ours in (("gelu", "gelu_exact"), ("gelu_new", "gelu"), ("relu", "relu")):
        values["hidden_act"] = hf_name
        (tmp_path / "config.json").write_text(json.dumps(values))
        assert config_from_huggingface(str(tmp_path / "config.json")).hidden_act == ours


def test_encoder_only_weights_import_without_heads(tmp_path):
    tensors = load_file(str(PARITY / "hf" / "model.safetensors"))
    encoder_only = {k[len("albert."):]: v for k, v in tensors.items() if k.startswith("albert.")}
    save_file(encoder_only, str(tmp_path / "model.safetensors"))
    shutil.copy(PARITY / "hf" / "config.json", tmp_path / "config.json")
    model, report = import_weights("hf", str(tmp_path))
    assert report.heads == []
    np.testing.assert_allclose(
        model({k: expected()[k] for k in ("token_ids", "segment_ids", "padding_mask")})["pooled_output"],
        expected()["pooled_output"],
        atol=1e-4,
    )


def _rewrite(tmp_path, change):
    tensors = load_file(str(PARITY / "hf" / "model.safetensors"))
    change(tensors)
    save_file(tensors, str(tmp_path / "model.safetensors"))
    shutil.copy(PARITY / "hf" / "config.json", tmp_path / "config.json")
    return str(tmp_path / "model.safetensors")


def test_missing_tensor_is_an_error_naming_the_variable(tmp_path):
    path = _rewrite(tmp_path, lambda t: t.pop("albert.encoder.albert_layer_groups.1.albert_layers.0.ffn.weight"))
    with pytest.raises(WeightImportError, match="group_1/inner_group_0/ffn_1/intermediate/dense/kernel"):
        import_weights("hf", path)


def test_shape_mismatch_is_an_error_naming_the_variable(tmp_path):
    name = "albert.pooler.weight"
    path = _rewrite(tmp_path, lambda t: t.__setitem__(name, np.zeros((32, 31), "float32")))
    with pytest.raises(WeightImportError, match=r"bert/pooler/dense/kernel has shape \(31, 32\)"):
        import_weights("hf", path)


def test_foreign_tensor_and_untied_decoder_are_refused(tmp_path):
    path = _rewrite(tmp_path, lambda t: t.__setitem__("bert.some.other.weight", np.zeros(3, "float32")))
    with pytest.raises(WeightImportError, match="unexpected tensor bert.some.other.weight"):
        import_weights("hf", path)
    untied = tmp_path / "untied"
    untied.mkdir()
    path = _rewrite(untied, lambda t: t.__setitem__("predictions.decoder.weight", np.ones((100, 16), "float32")))
    with pytest.raises(WeightImportError, match="untied"):
        import_weights("hf", path)


def test_unreadable_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(WeightImportError, match="cannot read safetensors"):
        import_weights("hf", str(bad))
    with pytest.raises(WeightImportError, match="no such file"):
        import_weights("hf", str(tmp_path / "missing.safetensors"))
