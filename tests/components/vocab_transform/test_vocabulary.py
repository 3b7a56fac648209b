"""VocabTransform's logic without TFX's Transform: the vocabulary's path into custom_config, the case check,
the copy into the transform graph, the record of the Transform's options."""

import json

import pytest

from components import artifacts
from components.vocab_transform import vocabulary
from tests.components.vocab_transform.support import MODEL_BYTES, custom_config
from text_contract import features, transform_options


def test_the_model_path_is_added_under_the_transform_key_and_nothing_else_changes():
    config = custom_config(my_own_key=7)  # a custom preprocessing_fn may read keys of its own
    model_path = "/artifacts/vocab/7/spm.model"
    result = vocabulary.with_vocabulary(config, model_path, {artifacts.SUMMARY_LOWER_CASE_KEY: False})
    assert result == {**config, transform_options.SENTENCEPIECE_MODEL_PATH_KEY: model_path}
    assert transform_options.SENTENCEPIECE_MODEL_PATH_KEY not in config  # the input is left as it was
    options = transform_options.TransformOptions.from_custom_config(result)
    assert options.sentencepiece_model_path == model_path and options.text_features == ("sentence",)


@pytest.mark.parametrize("trained, transform", [(True, False), (False, True)])
def test_a_vocabulary_with_other_case_folding_than_the_transform_is_refused(trained, transform):
    with pytest.raises(ValueError, match=rf"trained with lower_case={trained} but the Transform's custom_config "
                                         rf"has lower_case={transform}: pieces would not match"):
        vocabulary.with_vocabulary(custom_config(lower_case=transform), "/v/spm.model",
                                   {artifacts.SUMMARY_LOWER_CASE_KEY: trained})


def test_matching_or_unrecorded_case_folding_is_accepted():
    config = custom_config(lower_case=True)
    for summary in ({artifacts.SUMMARY_LOWER_CASE_KEY: True}, {"pieces": 300}):
        assert vocabulary.with_vocabulary(config, "/v/spm.model", summary)[
            transform_options.SENTENCEPIECE_MODEL_PATH_KEY] == "/v/spm.model"


def test_a_bad_transform_config_names_its_key():
    with pytest.raises(ValueError, match=transform_options.TEXT_FEATURES_KEY):
        vocabulary.with_vocabulary({transform_options.LOWER_CASE_KEY: True}, "/v/spm.model", {})


def test_the_vocabulary_is_copied_where_the_trainer_reads_it(tmp_path):
    model = tmp_path / "vocab" / artifacts.MODEL_FILE
    model.parent.mkdir()
    model.write_bytes(MODEL_BYTES)
    graph_dir = tmp_path / "transform_graph"
    (graph_dir / "transform_fn").mkdir(parents=True)  # what TFX's Transform leaves there
    destination = vocabulary.copy_to_transform_graph(str(model), str(graph_dir))
    assert destination == str(graph_dir / features.TRANSFORM_VOCABULARY_FILE)
    assert (graph_dir / features.TRANSFORM_VOCABULARY_FILE).read_bytes() == MODEL_BYTES
    model.write_bytes(MODEL_BYTES + b"v2")  # a rerun replaces the copy
    vocabulary.copy_to_transform_graph(str(model), str(graph_dir))
    assert (graph_dir / features.TRANSFORM_VOCABULARY_FILE).read_bytes() == MODEL_BYTES + b"v2"


def test_the_transforms_options_are_recorded_where_the_trainer_reads_them(tmp_path):
    config = {transform_options.TASK_KEY: transform_options.QA_TASK, transform_options.MAX_SEQ_LENGTH_KEY: 128,
              transform_options.TOKENIZATION_KEY: "wordpiece", transform_options.SENTENCEPIECE_MODEL_PATH_KEY: "/v"}
    path = vocabulary.record_options(config, str(tmp_path / "transform_graph"))
    assert path == str(tmp_path / "transform_graph" / features.TRANSFORM_OPTIONS_FILE)
    recorded = json.loads((tmp_path / "transform_graph" / features.TRANSFORM_OPTIONS_FILE).read_text())
    assert recorded == config
    assert transform_options.TransformOptions.from_custom_config(recorded).max_windows == 8
