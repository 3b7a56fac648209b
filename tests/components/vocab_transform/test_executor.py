"""VocabTransform's executor with TFX's Transform stood in for (what it hands the Transform, what it leaves
after), and the component's construction. The real Transform runs in the pipeline tests."""

import json
import os

import pytest
from tfx.components.transform import executor as transform_executor
from tfx.types import channel, standard_artifacts, standard_component_specs

from components import artifacts
from components.vocab_transform import executor as executor_lib
from components.vocab_transform import spec
from tests.components.vocab_transform.support import MODEL_BYTES, custom_config, vocabulary_artifact
from text_contract import features, transform_options


@pytest.fixture
def transform_calls(monkeypatch):
    """Replaces TFX's Transform executor's Do; records what it was given and writes a transform_fn dir."""
    calls = []

    def fake_do(self, input_dict, output_dict, exec_properties):
        calls.append((dict(input_dict), exec_properties))
        graph = output_dict[standard_component_specs.TRANSFORM_GRAPH_KEY][0].uri
        os.makedirs(os.path.join(graph, "transform_fn"), exist_ok=True)

    monkeypatch.setattr(transform_executor.Executor, "Do", fake_do)
    return calls


def _run(tmp_path, vocabulary, config):
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    graph = standard_artifacts.TransformGraph()
    graph.uri = str(tmp_path / "transform_graph")
    input_dict = {standard_component_specs.EXAMPLES_KEY: [examples], spec.SENTENCEPIECE_MODEL_KEY: [vocabulary]}
    exec_properties = {spec.CUSTOM_CONFIG_KEY: json.dumps(config),
                       standard_component_specs.PREPROCESSING_FN_KEY: "text_contract.transform.preprocessing_fn"}
    executor_lib.Executor().Do(input_dict, {standard_component_specs.TRANSFORM_GRAPH_KEY: [graph]}, exec_properties)
    return graph


def test_the_transform_gets_the_vocabulary_path_and_the_graph_gets_a_copy(tmp_path, transform_calls):
    vocabulary = vocabulary_artifact(tmp_path / "vocab")
    graph = _run(tmp_path, vocabulary, custom_config())
    [(inputs, exec_properties)] = transform_calls
    assert spec.SENTENCEPIECE_MODEL_KEY not in inputs  # TFX's Transform does not know that input
    assert set(inputs) == {standard_component_specs.EXAMPLES_KEY}
    passed = json.loads(exec_properties[spec.CUSTOM_CONFIG_KEY])
    model_path = artifacts.model_path(vocabulary)
    assert passed == {**custom_config(), transform_options.SENTENCEPIECE_MODEL_PATH_KEY: model_path}
    assert exec_properties[standard_component_specs.PREPROCESSING_FN_KEY] == "text_contract.transform.preprocessing_fn"
    copied = tmp_path / "transform_graph" / features.TRANSFORM_VOCABULARY_FILE
    assert graph.uri == str(tmp_path / "transform_graph") and copied.read_bytes() == MODEL_BYTES


def test_a_vocabulary_artifact_without_spm_model_fails_naming_it_before_the_transform(tmp_path, transform_calls):
    vocabulary = vocabulary_artifact(tmp_path / "vocab", with_model=False)
    with pytest.raises(ValueError, match=rf"artifact at {tmp_path / 'vocab'} has no {artifacts.MODEL_FILE}"):
        _run(tmp_path, vocabulary, custom_config())
    assert transform_calls == []


def test_a_case_mismatch_fails_before_the_transform(tmp_path, transform_calls):
    vocabulary = vocabulary_artifact(tmp_path / "vocab", lower_case=True)
    with pytest.raises(ValueError, match="trained with lower_case=True"):
        _run(tmp_path, vocabulary, custom_config(lower_case=False))
    assert transform_calls == []


def test_the_component_is_tfx_transform_plus_the_vocabulary_input():
    from tfx.components import Transform

    from components.vocab_transform import VocabTransform

    config = custom_config()
    transform = VocabTransform(
        examples=channel.Channel(type=standard_artifacts.Examples),
        schema=channel.Channel(type=standard_artifacts.Schema),
        sentencepiece_model=channel.Channel(type=artifacts.SentencePieceModel),
        preprocessing_fn="text_contract.transform.preprocessing_fn", custom_config=config)
    assert isinstance(transform, Transform) and isinstance(transform.spec, spec.VocabTransformSpec)
    assert transform.executor_spec.executor_class is executor_lib.Executor
    assert transform.inputs[spec.SENTENCEPIECE_MODEL_KEY].type is artifacts.SentencePieceModel
    assert set(spec.VocabTransformSpec.INPUTS) == {*standard_component_specs.TransformSpec.INPUTS,
                                                   spec.SENTENCEPIECE_MODEL_KEY}
    assert json.loads(transform.exec_properties[spec.CUSTOM_CONFIG_KEY]) == config
    assert {standard_component_specs.TRANSFORM_GRAPH_KEY, standard_component_specs.TRANSFORMED_EXAMPLES_KEY,
            standard_component_specs.POST_TRANSFORM_STATS_KEY} <= set(transform.outputs)
    bare = VocabTransform(
        examples=channel.Channel(type=standard_artifacts.Examples),
        schema=channel.Channel(type=standard_artifacts.Schema),
        sentencepiece_model=channel.Channel(type=artifacts.SentencePieceModel),
        preprocessing_fn="text_contract.transform.preprocessing_fn", disable_statistics=True)
    assert standard_component_specs.POST_TRANSFORM_STATS_KEY not in bare.outputs
    assert json.loads(bare.exec_properties[spec.CUSTOM_CONFIG_KEY]) == {}
