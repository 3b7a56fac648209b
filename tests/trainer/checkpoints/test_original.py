"""Original google-research/albert TF1 checkpoints and TF-Hub modules.

The committed checkpoint was written from the Hugging Face fixture's weights by `tools/make_parity_fixtures.py`,
which checked that transformers' own `load_tf_weights_in_albert` reads it back to the same outputs: the
variable names are proven against an independent implementation, and ours must reproduce those outputs.
"""

import shutil

import numpy as np
import pytest

from tests.support import PARITY
from tests.trainer.checkpoints.support import assert_matches, expected, pretrainer_outputs
from trainer.checkpoints import WeightImportError, import_weights
from trainer.checkpoints.original import (
    original_weights_from_model,
    read_original_checkpoint,
    write_original_checkpoint,
)
from trainer.config import ConfigError

ALL_OUTPUTS = ("sequence_output", "pooled_output", "mlm_logits", "sop_logits")
CHECKPOINT = PARITY / "original" / "model.ckpt"


def _copy_with(tmp_path, change, *, prefix_names="", config=True):
    weights = read_original_checkpoint(str(CHECKPOINT))
    change(weights)
    write_original_checkpoint({prefix_names + k: v for k, v in weights.items()}, str(tmp_path / "model.ckpt"), global_step=7)
    if config:
        shutil.copy(PARITY / "original" / "albert_config.json", tmp_path / "albert_config.json")
    return str(tmp_path / "model.ckpt")


def test_original_checkpoint_reproduces_transformers_outputs():
    model, report = import_weights("original", str(CHECKPOINT))
    assert report.heads == ["masked_lm", "sentence_order"]
    assert_matches(pretrainer_outputs(model, expected()), expected(), ALL_OUTPUTS)


def test_checkpoint_directory_and_tf_hub_module_layout(tmp_path):
    # A TF-Hub module keeps its variables under variables/variables with a `module/` prefix, and optimizer
    # slots and the step counter of a training checkpoint are not weights.
    hub = tmp_path / "hub_module"
    (hub / "variables").mkdir(parents=True)
    weights = read_original_checkpoint(str(CHECKPOINT))
    slots = {f"{k}/adam_m": np.zeros_like(v) for k, v in list(weights.items())[:3]}
    write_original_checkpoint(
        {**{"module/" + k: v for k, v in weights.items()}, **slots}, str(hub / "variables" / "variables"), global_step=3
    )
    with pytest.raises(ConfigError, match="--config"):
        import_weights("original", str(hub))
    model, _ = import_weights("original", str(hub), config=str(PARITY / "original" / "albert_config.json"))
    assert_matches(pretrainer_outputs(model, expected()), expected(), ALL_OUTPUTS)


def test_missing_variable_is_an_error_naming_it(tmp_path):
    name = "bert/encoder/transformer/group_1/inner_group_1/LayerNorm_1/beta"
    path = _copy_with(tmp_path, lambda w: w.pop(name))
    with pytest.raises(WeightImportError, match=f"missing variable {name}"):
        import_weights("original", path)


def test_shape_mismatch_is_an_error_naming_the_variable(tmp_path):
    name = "cls/predictions/transform/dense/kernel"
    path = _copy_with(tmp_path, lambda w: w.__setitem__(name, np.zeros((32, 17), "float32")))
    with pytest.raises(WeightImportError, match=f"{name} has shape"):
        import_weights("original", path)


def test_config_that_disagrees_with_the_checkpoint_names_the_fields(tmp_path):
    path = _copy_with(tmp_path, lambda w: None, config=False)
    with pytest.raises(WeightImportError, match="hidden_size"):
        import_weights("original", path, config="tiny")


def test_no_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(WeightImportError, match="no TF checkpoint found"):
        import_weights("original", str(tmp_path))


def test_export_then_import_round_trips_exactly(tmp_path):
    model, _ = import_weights("original", str(CHECKPOINT))
    exported = original_weights_from_model(model)
    reference = read_original_checkpoint(str(CHECKPOINT))
    assert set(exported) == set(reference)
    for name, value in reference.items():
        np.testing.assert_array_equal(exported[name], value, err_msg=name)


def test_truncated_checkpoint_names_the_data_file_and_the_variable(tmp_path, capsys):
    import re

    import tensorflow as tf

    from albert_tfx.cli import main

    for path in (PARITY / "original").iterdir():
        shutil.copy(path, tmp_path / path.name)
    data_file = tmp_path / "model.ckpt.data-00000-of-00001"
    with open(data_file, "r+b") as handle:  # a copy cut off mid-way, as by an interrupted download
        handle.truncate(data_file.stat().st_size // 2)
    assert main(["convert", "--from", "original", str(tmp_path / "model.ckpt"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    found = re.fullmatch(rf"albert-tfx convert: error: {re.escape(str(data_file))}: cannot read variable (\S+): "
                         r".*truncated or corrupt\)", err)
    assert found, err
    assert found.group(1) in tf.train.load_checkpoint(str(CHECKPOINT)).get_variable_to_shape_map()
    assert not (tmp_path / "out").exists()
