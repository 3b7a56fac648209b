"""Warm start from the served model: the newest complete version, read back into the encoder it was exported from."""

import json
import logging
import os
import shutil

import keras
import numpy as np
import pytest

from serving import contract
from serving import export as export_lib
from tests.serving.support import tiny_task
from trainer import served_warm_start
from trainer.checkpoints import load_converted
from trainer.config import AlbertConfig
from trainer.tasks import build_model
from trainer.training_config import TrainingConfig


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A serving directory whose newest complete version is `007` (a model with random weights), beside an
    older version 3 and a version 9 that is still being copied (no saved_model.pb)."""
    task = tiny_task.tiny_task()
    root = tmp_path_factory.mktemp("served")
    albert_config = AlbertConfig.from_json_file(tiny_task.albert_config_file(str(root / "config"), task.vocab_size))
    keras.utils.set_random_seed(3)
    model = build_model(TrainingConfig(num_classes=2, max_seq_length=tiny_task.MAX_SEQ_LENGTH), albert_config)
    model_dir = root / "serving" / "albert"
    export_lib.export_classifier(model, task.transform_dir, str(model_dir / "007"),
                                 text_features=[tiny_task.TEXT_FEATURE], vocabulary_path=task.spm_model)
    shutil.copytree(model_dir / "007", model_dir / "3")
    (model_dir / "9" / "variables").mkdir(parents=True)
    return model, str(model_dir), task


def test_the_newest_complete_version_warm_starts_the_encoder_with_its_weights(served, tmp_path):
    model, model_dir, task = served
    warm_start = served_warm_start.prepare(model_dir, task.spm_model, str(tmp_path))
    assert warm_start.export_dir == os.path.join(model_dir, "007")  # the directory name as found, not "7"
    encoder = load_converted(warm_start.encoder_dir)
    assert encoder.albert_config == model.encoder.albert_config
    for got, expected in zip(encoder.get_weights(), model.encoder.get_weights()):
        np.testing.assert_array_equal(got, expected)
    with open(os.path.join(warm_start.encoder_dir, "conversion.json"), encoding="utf-8") as handle:
        assert json.load(handle)["warm_started_from"] == warm_start.export_dir


def test_another_vocabulary_or_no_served_model_means_no_warm_start(served, tmp_path, caplog):
    _, model_dir, task = served
    other = tmp_path / "other.model"
    other.write_bytes(open(task.spm_model, "rb").read() + b"\n")  # different bytes, different hash
    with caplog.at_level(logging.INFO, logger=served_warm_start.__name__):
        assert served_warm_start.prepare(model_dir, str(other), str(tmp_path / "a")) is None
        assert served_warm_start.prepare(model_dir, None, str(tmp_path / "b")) is None
        assert served_warm_start.prepare(str(tmp_path / "nothing_served"), task.spm_model, str(tmp_path / "c")) is None
    text = caplog.text
    assert "trained on another vocabulary" in text and "cannot compare vocabularies" in text and "no served model" in text
    assert not (tmp_path / "a").exists()


def test_an_export_that_does_not_match_its_metadata_is_an_error_naming_the_variable(served, tmp_path):
    _, model_dir, task = served
    broken = tmp_path / "serving" / "albert" / "1"
    shutil.copytree(os.path.join(model_dir, "007"), broken)
    metadata = contract.read_metadata(str(broken)).to_dict()
    metadata["albert_config"]["hidden_size"] = 64  # the checkpoint holds 128-wide variables
    metadata["albert_config"]["num_attention_heads"] = 2
    with open(contract.metadata_path(str(broken)), "w", encoding="utf-8") as handle:
        handle.write(contract.ExportMetadata.from_dict(metadata).to_json())
    with pytest.raises(ValueError, match=r"variable \d+ .* does not match the export's model_variables/\d+"):
        served_warm_start.prepare(str(broken.parent), task.spm_model, str(tmp_path / "out"))
