"""The Transform module (`text_contract.transform`): packing, truncation, labels, round trips, preprocessing_fn."""

import dataclasses
import functools
import itertools

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from tests import support
from text_contract import features, normalization, pieces, sentencepiece_training
from text_contract import transform as tr
from text_contract import transform_options as options

CLS, SEP = pieces.CLS_ID, pieces.SEP_ID


def _sentences(dataset, header, split="dev", limit=0):
    return [row[0] for row in support.read_tsv(support.dataset(dataset) / f"{split}.tsv", header=header, limit=limit)]


def _example(**values):
    return tf.train.Example(features=tf.train.Features(feature={
        name: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode("utf-8") for v in value]))
        for name, value in values.items()})).SerializeToString()


@pytest.fixture(scope="module")
def spm_model(tmp_path_factory):
    """A 5,000-piece vocabulary trained as SentencePieceVocab does on part of SST-2 train and all of
    ChnSentiCorp train (Chinese needs the pieces: ChnSentiCorp dev alone uses 2,849 distinct characters)."""
    texts = _sentences("sst2", True, "train", 8000) + _sentences("chnsenticorp", False, "train")
    lines = sorted({normalization.normalize(line) for text in texts for line in text.splitlines()} - {""})
    path = tmp_path_factory.mktemp("vocab") / "spm.model"
    path.write_bytes(sentencepiece_training.train_sentencepiece(lines, vocab_size=5000))
    return str(path)


def _ragged(rows):
    return tf.ragged.constant(rows, dtype=tf.int64, ragged_rank=1) if any(rows) else tf.RaggedTensor.from_row_lengths(
        tf.zeros([0], tf.int64), [0] * len(rows))


# --- packing --------------------------------------------------------------------------------------------------

def test_longest_first_closed_form_equals_trimming_one_piece_at_a_time():
    cases = list(itertools.product(range(14), range(14), range(14)))
    a, b, budget = (np.array(x) for x in zip(*cases))
    keep_a, keep_b = tr.longest_first_lengths(tf.constant(a), tf.constant(b), tf.constant(budget))
    expected = [support.truncate_one_at_a_time(*case) for case in cases]
    assert list(zip(keep_a.numpy(), keep_b.numpy())) == expected


def test_single_layout_truncates_and_pads_to_a_static_length():
    out = tr.pack_inputs(_ragged([[7, 8, 9], [], [5, 6, 7, 8, 9, 10]]), None, max_seq_length=6)
    assert out[features.TOKEN_IDS].numpy().tolist() == [
        [CLS, 7, 8, 9, SEP, 0], [CLS, SEP, 0, 0, 0, 0], [CLS, 5, 6, 7, 8, SEP]]
    assert out[features.SEGMENT_IDS].numpy().tolist() == [[0] * 6] * 3
    assert out[features.PADDING_MASK].numpy().tolist() == [
        [1, 1, 1, 1, 1, 0], [1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]]
    assert all(t.dtype == tf.int64 and t.shape == (3, 6) for t in out.values())


def test_pair_layout_truncates_the_longer_side_first():
    a = _ragged([[10, 11], [10, 11, 12, 13, 14, 15], [10, 11, 12, 13, 14], [10, 11, 12, 13], []])
    b = _ragged([[20], [20, 21], [20, 21, 22, 23, 24, 25], [20, 21, 22, 23], []])
    out = tr.pack_inputs(a, b, max_seq_length=8)  # 5 pieces fit
    assert out[features.TOKEN_IDS].numpy().tolist() == [
        [CLS, 10, 11, SEP, 20, SEP, 0, 0],  # fits
        [CLS, 10, 11, 12, SEP, 20, 21, SEP],  # a is cut to 3, b kept
        [CLS, 10, 11, 12, SEP, 20, 21, SEP],  # both cut: a keeps ceil(5/2), b floor(5/2)
        [CLS, 10, 11, 12, SEP, 20, 21, SEP],  # equal lengths: b loses the tie
        [CLS, SEP, SEP, 0, 0, 0, 0, 0],  # both empty
    ]
    assert out[features.SEGMENT_IDS].numpy().tolist() == [
        [0, 0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 1, 1, 1],
        [0, 0, 1, 0, 0, 0, 0, 0]]
    assert out[features.PADDING_MASK].numpy().sum(axis=1).tolist() == [6, 8, 8, 8, 3]


def test_to_text_takes_dense_sparse_ragged_and_integer_features():
    assert tr.to_text(tf.constant(["a", "b"])).numpy().tolist() == [b"a", b"b"]
    assert tr.to_text(tf.constant([["a"], ["b"]])).numpy().tolist() == [b"a", b"b"]
    sparse = tf.sparse.from_dense(tf.constant([["a", "x"], ["", ""], ["b", ""]]))
    assert tr.to_text(sparse).numpy().tolist() == [b"a x", b"", b"b"]
    empty = tf.SparseTensor(tf.zeros([0, 2], tf.int64), tf.constant([], tf.string), [2, 0])
    assert tr.to_text(empty).numpy().tolist() == [b"", b""]
    assert tr.to_text(tf.ragged.constant([["a"], [], ["b", "c"]])).numpy().tolist() == [b"a", b"", b"b c"]
    assert tr.to_text(tf.constant([[0], [1]], tf.int64)).numpy().tolist() == [b"0", b"1"]


def test_encoding_has_a_static_shape_and_survives_bad_text(spm_model):
    tokenizer = tr.load_tokenizer(spm_model)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)] * 2)
    def encode(a, b):
        return tr.encode_texts(tokenizer, [a, b], max_seq_length=16)

    out = encode(tf.constant(["", b"\xff\xfe", "word " * 200_000]), tf.constant(["  ", "fine", ""]))
    assert encode.get_concrete_function().structured_outputs[features.TOKEN_IDS].shape.as_list() == [None, 16]
    tokens = out[features.TOKEN_IDS].numpy()
    assert tokens[0].tolist() == [CLS, SEP, SEP] + [0] * 13
    assert pieces.UNK_ID in tokens[1].tolist()  # U+FFFD is not in the vocabulary
    assert tokens[2].tolist()[-2:] == [SEP, SEP] and out[features.PADDING_MASK].numpy()[2].sum() == 16


# --- round trip -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dataset, header", [("sst2", True), ("chnsenticorp", False)])
def test_detokenize_tokenize_gives_back_the_normalized_text(spm_model, dataset, header):
    texts = _sentences(dataset, header, limit=400)
    tokenizer = tr.load_tokenizer(spm_model)
    ids = tokenizer.tokenize(tr.normalize_text(tf.constant(texts)))
    back = [t.decode("utf-8") for t in tokenizer.detokenize(ids).numpy()]
    with_unknown = [pieces.UNK_ID in row for row in ids.to_list()]
    mismatches = [(t, b) for t, b, unk in zip(texts, back, with_unknown)
                  if not unk and b != normalization.normalize(t)]
    print(f"{dataset}: {len(texts) - sum(with_unknown)} of {len(texts)} sentences round-trip exactly; "
          f"{sum(with_unknown)} hold an <unk> piece and are left out")
    assert not mismatches, mismatches[:3]
    assert sum(with_unknown) < 0.25 * len(texts)


# --- preprocessing_fn under TFT -------------------------------------------------------------------------------

def _analyze_and_transform(tmp_path, rows, feature_spec, custom_config):
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(feature_spec))
    fn = functools.partial(tr.preprocessing_fn, custom_config=custom_config)
    with tft_beam.Context(temp_dir=str(tmp_path / "tft_tmp")):
        (transformed, _), transform_fn = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(
            fn, output_record_batches=False)
        _ = transform_fn | tft_beam.WriteTransformFn(str(tmp_path / "transform"))
    return transformed, tft.TFTransformOutput(str(tmp_path / "transform"))


def test_preprocessing_fn_single_text_with_string_labels(tmp_path, spm_model):
    rows = [
        {"sentence": ["a charming and often affecting journey"], "label": ["pos"]},
        {"sentence": [], "label": ["neg"]},  # missing text
        {"sentence": ["unflinchingly bleak and desperate"], "label": ["neg"]},
        {"sentence": ["   "], "label": []},  # whitespace only, no label
    ]
    spec = {"sentence": tf.io.VarLenFeature(tf.string), "label": tf.io.VarLenFeature(tf.string)}
    config = {options.SENTENCEPIECE_MODEL_PATH_KEY: spm_model, options.TEXT_FEATURES_KEY: ["sentence"],
              options.LABEL_FEATURE_KEY: "label", options.MAX_SEQ_LENGTH_KEY: 12}
    transformed, output = _analyze_and_transform(tmp_path, rows, spec, config)

    # TFT orders labels by decreasing frequency: "neg" (2) before "pos" (1); no label -> -1.
    assert output.vocabulary_by_name(features.LABEL_VOCABULARY) == [b"neg", b"pos"]
    assert [r[features.LABEL_IDS] for r in transformed] == [1, 0, 0, features.UNKNOWN_LABEL_ID]
    expected = tr.encode_texts(tr.load_tokenizer(spm_model), [tf.constant(
        ["a charming and often affecting journey", "", "unflinchingly bleak and desperate", "   "])], 12)
    for name in (features.TOKEN_IDS, features.SEGMENT_IDS, features.PADDING_MASK):
        assert np.stack([r[name] for r in transformed]).tolist() == expected[name].numpy().tolist(), name
    assert transformed[1][features.TOKEN_IDS].tolist() == [CLS, SEP] + [0] * 10

    # Serving: the saved transform graph on parsed tf.Examples without the label gives the same ids.
    serialized = tf.constant([_example(sentence=r["sentence"]) if r["sentence"] else _example() for r in rows])
    parsed = tf.io.parse_example(serialized, {"sentence": spec["sentence"]})
    served = output.transform_features_layer()(parsed)
    assert features.LABEL_IDS not in served
    assert served[features.TOKEN_IDS].numpy().tolist() == expected[features.TOKEN_IDS].numpy().tolist()


def test_preprocessing_fn_sentence_pairs_with_integer_labels(tmp_path, spm_model):
    rows = [
        {"a": "the cat sat", "b": "a cat was sitting", "label": 1},
        {"a": "短句", "b": "", "label": 0},
        {"a": "word " * 50, "b": "other " * 50, "label": 2},  # truncated; label not listed
    ]
    spec = {"a": tf.io.FixedLenFeature([], tf.string), "b": tf.io.FixedLenFeature([], tf.string),
            "label": tf.io.FixedLenFeature([], tf.int64)}
    config = {options.SENTENCEPIECE_MODEL_PATH_KEY: spm_model, options.TEXT_FEATURES_KEY: ["a", "b"],
              options.LABEL_FEATURE_KEY: "label", options.LABEL_VALUES_KEY: [0, 1], options.MAX_SEQ_LENGTH_KEY: 16}
    transformed, output = _analyze_and_transform(tmp_path, rows, spec, config)

    assert output.vocabulary_by_name(features.LABEL_VOCABULARY) == [b"0", b"1"]
    assert [r[features.LABEL_IDS] for r in transformed] == [1, 0, features.UNKNOWN_LABEL_ID]
    tokens = np.stack([r[features.TOKEN_IDS] for r in transformed])
    segments = np.stack([r[features.SEGMENT_IDS] for r in transformed])
    assert tokens.shape == (3, 16) and tokens.dtype == np.int64
    assert (tokens[:, 0] == CLS).all() and (tokens == SEP).sum(axis=1).tolist() == [2, 2, 2]
    assert tokens[2].tolist()[8] == SEP and tokens[2].tolist()[15] == SEP  # 13 pieces: a keeps 7, b keeps 6
    assert segments[2].tolist() == [0] * 9 + [1] * 7
    assert output.transformed_feature_spec()[features.TOKEN_IDS] == tf.io.FixedLenFeature([16], tf.int64)


def test_bad_custom_config_and_missing_features_are_errors_naming_them(spm_model):
    with pytest.raises(ValueError, match="sentencepiece_model_path"):
        tr.preprocessing_fn({"sentence": tf.constant(["x"])}, {options.TEXT_FEATURES_KEY: ["sentence"]})
    with pytest.raises(ValueError, match=r"'sentense'.*\['sentence'\]"):
        tr.preprocessing_fn({"sentence": tf.constant(["x"])},
                            {options.SENTENCEPIECE_MODEL_PATH_KEY: spm_model, options.TEXT_FEATURES_KEY: ["sentense"]})


def test_options_round_trip_through_custom_config_and_name_bad_values():
    built = options.TransformOptions(text_features=("a", "b"), label_feature="label", label_values=("0", "1"),
                                     max_seq_length=16, lower_case=True)
    config = built.to_custom_config()
    assert options.SENTENCEPIECE_MODEL_PATH_KEY not in config  # VocabTransform adds it at run time
    config[options.SENTENCEPIECE_MODEL_PATH_KEY] = "/v/spm.model"
    read = options.TransformOptions.from_custom_config(config)
    assert read == dataclasses.replace(built, sentencepiece_model_path="/v/spm.model")
    assert read.text_chars == options.TEXT_CHARS_PER_POSITION * 16
    with pytest.raises(ValueError, match=r"custom_config\['max_seq_length'\] must be >= 5, got 4"):
        options.TransformOptions(text_features=("a", "b"), max_seq_length=4)
    with pytest.raises(ValueError, match="must name 1 or 2 features"):
        options.TransformOptions(text_features=("a", "b", "c"))
    with pytest.raises(ValueError, match="'label' is also a text feature"):
        options.TransformOptions(text_features=("label",), label_feature="label")


def test_the_old_module_path_still_names_the_one_preprocessing_fn():
    """Pipelines compiled before the move name `trainer.preprocessing.preprocessing_fn` (README: until 0.3)."""
    from tfx.utils import import_utils

    assert import_utils.import_func_from_module("trainer.preprocessing", "preprocessing_fn") is tr.preprocessing_fn
