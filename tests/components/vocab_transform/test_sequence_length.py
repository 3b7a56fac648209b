"""The sequence length derived from the data: the rule, the piece counts behind it, the examples it reads, and
the executor handing the derived length to TFX's Transform."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tfx.components.transform import executor as transform_executor
from tfx.types import standard_artifacts, standard_component_specs

from components import artifacts
from components.vocab_transform import executor as executor_lib
from components.vocab_transform import sequence_length, spec
from tests.text_contract.support import WORDPIECE_VOCAB, reference_ids, reference_texts
from text_contract import transform_options
from text_contract.transform import make_tokenizer
from text_contract.transform_options import TransformOptions


def test_the_length_is_the_shortest_multiple_of_16_that_holds_the_coverage_of_every_split():
    # train: 95% within 30 (-> 32); eval: 95% within 40 (-> 48): the split that needs more wins.
    train = [10] * 90 + [30] * 5 + [200] * 5
    evaluation = [20] * 95 + [300] * 5
    derived = sequence_length.choose_length({"train": train, "eval": [*evaluation[:90], *[40] * 5, *[300] * 5]},
                                            coverage=0.95, longest=256, shortest=3)
    assert derived.max_seq_length == 48
    assert derived.quantiles == {"train": 30, "eval": 40}
    assert derived.covered == {"train": 0.95, "eval": 0.95}
    assert derived.sampled == {"train": 100, "eval": 100}
    assert "max_seq_length 48 from the data" in derived.describe() and "eval 95.0% of 100 whole" in derived.describe()


def test_an_exact_multiple_is_kept_and_the_bounds_hold():
    assert sequence_length.choose_length({"train": [32] * 10}, 0.95, 256, 3).max_seq_length == 32
    assert sequence_length.choose_length({"train": [33] * 10}, 0.95, 256, 3).max_seq_length == 48
    # a long tail is cut at the longest allowed length, and its share reported
    capped = sequence_length.choose_length({"train": [100] * 5 + [900] * 95}, 0.95, 256, 3)
    assert capped.max_seq_length == 256 and capped.covered == {"train": 0.05}
    # the longest need not be a multiple of 16; very short texts still get the shortest packing
    assert sequence_length.choose_length({"train": [900]}, 0.95, 100, 3).max_seq_length == 100
    assert sequence_length.choose_length({"train": [2]}, 0.95, 256, 20).max_seq_length == 20
    # coverage 1: the longest example decides
    assert sequence_length.choose_length({"train": [5] * 99 + [70]}, 1.0, 256, 3).max_seq_length == 80


def test_splits_without_examples_are_left_out_and_none_at_all_is_an_error():
    assert sequence_length.choose_length({"train": [20], "eval": []}, 0.95, 256, 3).sampled == {"train": 1}
    with pytest.raises(ValueError, match=r"no examples to derive max_seq_length from in the splits \['eval', 'train'\]"):
        sequence_length.choose_length({"train": [], "eval": []}, 0.95, 256, 3)


def _wordpiece_options(**overrides) -> TransformOptions:
    values = dict(text_features=("a",), sentencepiece_model_path=str(WORDPIECE_VOCAB), tokenization="wordpiece",
                  lower_case=True, max_seq_length=None)
    return TransformOptions(**{**values, **overrides})


def test_packed_lengths_count_the_pieces_of_the_reference_tokenizer_plus_cls_and_seps():
    texts = reference_texts("sst2")[:200]
    expected = np.array([len(ids) for ids in reference_ids("wordpiece", "sst2", lower_case=True)[:200]])
    options = _wordpiece_options()
    tokenizer = make_tokenizer(options)
    single = sequence_length.packed_lengths(tokenizer, options.text_chars, [[t.encode() for t in texts]])
    np.testing.assert_array_equal(single, expected + 2)  # [CLS] a [SEP]
    pair = sequence_length.packed_lengths(tokenizer, options.text_chars,
                                          [[t.encode() for t in texts], [t.encode() for t in texts[::-1]]])
    np.testing.assert_array_equal(pair, expected + expected[::-1] + 3)  # [CLS] a [SEP] b [SEP]


def _write_split(directory, rows, feature="a"):
    os.makedirs(directory, exist_ok=True)
    for shard in range(2):
        with tf.io.TFRecordWriter(os.path.join(directory, f"data_tfrecord-0000{shard}-of-00002.gz"),
                                  options="GZIP") as writer:
            for text in rows[shard::2]:
                example = tf.train.Example()
                if text is not None:
                    example.features.feature[feature].bytes_list.value.append(text.encode())
                writer.write(example.SerializeToString())


def test_the_sample_reads_every_shard_and_takes_a_missing_feature_as_empty(tmp_path):
    _write_split(tmp_path / "Split-train", ["one", "two", None, "four", "five", "six"])
    [column] = sequence_length.sample_texts([str(tmp_path / "Split-train" / "*")], ("a",), "GZIP", limit=4)
    # round-robin over the two shards: the first four records alternate between them
    assert column == [b"one", b"two", b"", b"four"]
    assert sequence_length.sample_texts([str(tmp_path / "missing" / "*")], ("a", "b"), "GZIP") == [[], []]


@pytest.fixture
def transform_calls(monkeypatch):
    calls = []

    def fake_do(self, input_dict, output_dict, exec_properties):
        calls.append(json.loads(exec_properties[spec.CUSTOM_CONFIG_KEY]))

    monkeypatch.setattr(transform_executor.Executor, "Do", fake_do)
    return calls


def _vocabulary(root):
    root.mkdir(parents=True)
    vocabulary = artifacts.SentencePieceModel()
    vocabulary.uri = str(root)
    with open(artifacts.model_path(str(root)), "wb") as f:
        f.write(WORDPIECE_VOCAB.read_bytes())
    with open(artifacts.summary_path(str(root)), "w", encoding="utf-8") as f:
        json.dump({"pieces": 1, artifacts.SUMMARY_LOWER_CASE_KEY: True, artifacts.SUMMARY_TOKENIZATION_KEY: "wordpiece"},
                  f)
    return vocabulary


def _run(tmp_path, config):
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    examples.split_names = '["train", "eval"]'
    examples.set_string_custom_property("file_format", "tfrecords_gzip")
    # train: short texts (3 words, 5 pieces packed); eval: one of 20 is 40 words, the others 30 (32 packed)
    _write_split(tmp_path / "examples" / "Split-train", ["good film ."] * 40)
    _write_split(tmp_path / "examples" / "Split-eval", [" ".join(["film"] * 30)] * 19 + [" ".join(["film"] * 40)])
    graph = standard_artifacts.TransformGraph()
    graph.uri = str(tmp_path / "graph")
    os.makedirs(graph.uri)
    executor_lib.Executor().Do(
        {standard_component_specs.EXAMPLES_KEY: [examples], spec.SENTENCEPIECE_MODEL_KEY: [_vocabulary(tmp_path / "v")]},
        {standard_component_specs.TRANSFORM_GRAPH_KEY: [graph]},
        {spec.CUSTOM_CONFIG_KEY: json.dumps(config)})
    return graph


def test_the_executor_hands_the_transform_the_length_derived_from_every_split(tmp_path, transform_calls):
    options = TransformOptions(text_features=("a",), max_seq_length=None, lower_case=True)
    graph = _run(tmp_path, options.to_custom_config())
    [passed] = transform_calls
    # eval's 95th percentile is 32 pieces packed: 32, though train alone needs 16 and one eval text is cut
    assert passed[transform_options.MAX_SEQ_LENGTH_KEY] == 32
    assert TransformOptions.from_custom_config(passed).max_seq_length == 32
    assert graph.get_int_custom_property(transform_options.MAX_SEQ_LENGTH_KEY) == 32
    assert "eval 95.0% of 20 whole" in graph.get_string_custom_property("derived_max_seq_length")


def test_a_fixed_length_is_passed_on_untouched_without_reading_the_examples(tmp_path, transform_calls):
    options = TransformOptions(text_features=("a",), max_seq_length=24, lower_case=True)
    graph = _run(tmp_path, options.to_custom_config())
    assert transform_calls[0][transform_options.MAX_SEQ_LENGTH_KEY] == 24
    assert not graph.has_custom_property(transform_options.MAX_SEQ_LENGTH_KEY)


def test_preprocessing_fn_refuses_a_length_still_to_derive():
    config = {**TransformOptions(text_features=("a",), max_seq_length=None).to_custom_config(),
              transform_options.SENTENCEPIECE_MODEL_PATH_KEY: "spm.model"}
    with pytest.raises(ValueError, match=r"custom_config\['max_seq_length'\] is null: the length is derived"):
        TransformOptions.from_custom_config(config)
    assert TransformOptions.from_custom_config(config, require_vocabulary=False).max_seq_length is None
