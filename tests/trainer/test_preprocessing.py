"""The Transform module: normalization parity with the component, packing, truncation, labels, round trips."""

import functools
import itertools

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from components import artifacts as artifact_lib
from components.sentencepiece_vocab import normalize as component_normalize
from tests.components.sentencepiece_vocab import DATASETS, example, read_tsv, run_executor, write_examples
from trainer import data_contract
from trainer import preprocessing as pp

CLS, SEP = data_contract.CLS_ID, data_contract.SEP_ID


def _sentences(dataset, header, split="dev", limit=None):
    return [row[0] for row in read_tsv(DATASETS / dataset / f"{split}.tsv", header=header, limit=limit)]


@pytest.fixture(scope="module")
def spm_model(tmp_path_factory):
    """A 5,000-piece vocabulary trained by the component on part of SST-2 train and all of ChnSentiCorp train.

    (Chinese needs the pieces: ChnSentiCorp dev alone uses 2,849 distinct characters.)
    """
    texts = _sentences("sst2", True, "train", 8000) + _sentences("chnsenticorp", False, "train")
    root = tmp_path_factory.mktemp("vocab")
    examples = write_examples(root / "examples", {"train": [example(text=t) for t in texts]})
    run_executor(examples, root / "model", text_features=["text"], vocab_size=5000)
    return artifact_lib.model_path(str(root / "model"))


def _ragged(rows):
    return tf.ragged.constant(rows, dtype=tf.int64, ragged_rank=1) if any(rows) else tf.RaggedTensor.from_row_lengths(
        tf.zeros([0], tf.int64), [0] * len(rows))


# --- normalization ------------------------------------------------------------------------------------------

def test_whitespace_and_removed_characters_are_the_same_in_both_homes():
    assert pp.WHITESPACE_CODEPOINTS == component_normalize.WHITESPACE_CODEPOINTS
    assert pp.WHITESPACE_CODEPOINTS == tuple(c for c in range(0x110000) if chr(c).isspace())
    assert pp.REMOVED_CODEPOINTS == component_normalize.REMOVED_CODEPOINTS


@pytest.mark.parametrize("lower_case", [False, True])
def test_tf_normalization_equals_the_component_on_every_code_point(lower_case):
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts = [f"A{c}b {c}" for c in chars]  # each character inside a word and at a word start
    got = pp.normalize_text(tf.constant(texts), lower_case).numpy()
    differ = [hex(ord(c)) for c, t, g in zip(chars, texts, got)
              if g.decode("utf-8") != component_normalize.normalize(t, lower_case)]
    assert not differ, differ[:20]


@pytest.mark.parametrize("lower_case", [False, True])
def test_tf_normalization_equals_the_component_on_real_sentences(lower_case):
    texts = (_sentences("sst2", True) + _sentences("chnsenticorp", False)
             + [row[3] for row in read_tsv(DATASETS / "mrpc" / "dev.tsv", header=True)]
             + ["\ufeffBOM first", " Ünïcödé  \u00a0 ＦＵＬＬ\u3000width\n\tline ", "ΟΔΟΣ İstanbul ß ﬁ", "a\x00b"])
    got = [t.decode("utf-8") for t in pp.normalize_text(tf.constant(texts), lower_case).numpy()]
    assert got == [component_normalize.normalize(t, lower_case) for t in texts]


def test_invalid_utf8_is_replaced_never_fatal():
    got = pp.normalize_text(tf.constant([b"ok \xff\xfe bytes \xc3", b"", b"  \t "])).numpy()
    assert [g.decode("utf-8") for g in got] == ["ok \ufffd\ufffd bytes \ufffd", "", ""]


# --- packing --------------------------------------------------------------------------------------------------

def _truncate_one_at_a_time(a, b, budget):
    while a + b > budget:
        if a > b:
            a -= 1
        else:
            b -= 1
    return a, b


def test_longest_first_closed_form_equals_trimming_one_piece_at_a_time():
    cases = list(itertools.product(range(14), range(14), range(14)))
    a, b, budget = (np.array(x) for x in zip(*cases))
    keep_a, keep_b = pp.longest_first_lengths(tf.constant(a), tf.constant(b), tf.constant(budget))
    expected = [_truncate_one_at_a_time(*case) for case in cases]
    assert list(zip(keep_a.numpy(), keep_b.numpy())) == expected


def test_single_layout_truncates_and_pads_to_a_static_length():
    out = pp.pack_inputs(_ragged([[7, 8, 9], [], [5, 6, 7, 8, 9, 10]]), None, max_seq_length=6)
    assert out[data_contract.TOKEN_IDS].numpy().tolist() == [
        [CLS, 7, 8, 9, SEP, 0], [CLS, SEP, 0, 0, 0, 0], [CLS, 5, 6, 7, 8, SEP]]
    assert out[data_contract.SEGMENT_IDS].numpy().tolist() == [[0] * 6] * 3
    assert out[data_contract.PADDING_MASK].numpy().tolist() == [
        [1, 1, 1, 1, 1, 0], [1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]]
    assert all(t.dtype == tf.int64 and t.shape == (3, 6) for t in out.values())


def test_pair_layout_truncates_the_longer_side_first():
    a = _ragged([[10, 11], [10, 11, 12, 13, 14, 15], [10, 11, 12, 13, 14], [10, 11, 12, 13], []])
    b = _ragged([[20], [20, 21], [20, 21, 22, 23, 24, 25], [20, 21, 22, 23], []])
    out = pp.pack_inputs(a, b, max_seq_length=8)  # 5 pieces fit
    assert out[data_contract.TOKEN_IDS].numpy().tolist() == [
        [CLS, 10, 11, SEP, 20, SEP, 0, 0],  # fits
        [CLS, 10, 11, 12, SEP, 20, 21, SEP],  # a is cut to 3, b kept
        [CLS, 10, 11, 12, SEP, 20, 21, SEP],  # both cut: a keeps ceil(5/2), b floor(5/2)
        [CLS, 10, 11, 12, SEP, 20, 21, SEP],  # equal lengths: b loses the tie
        [CLS, SEP, SEP, 0, 0, 0, 0, 0],  # both empty
    ]
    assert out[data_contract.SEGMENT_IDS].numpy().tolist() == [
        [0, 0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 1, 1, 1],
        [0, 0, 1, 0, 0, 0, 0, 0]]
    assert out[data_contract.PADDING_MASK].numpy().sum(axis=1).tolist() == [6, 8, 8, 8, 3]


def test_to_text_takes_dense_sparse_ragged_and_integer_features():
    assert pp.to_text(tf.constant(["a", "b"])).numpy().tolist() == [b"a", b"b"]
    assert pp.to_text(tf.constant([["a"], ["b"]])).numpy().tolist() == [b"a", b"b"]
    sparse = tf.sparse.from_dense(tf.constant([["a", "x"], ["", ""], ["b", ""]]))
    assert pp.to_text(sparse).numpy().tolist() == [b"a x", b"", b"b"]
    empty = tf.SparseTensor(tf.zeros([0, 2], tf.int64), tf.constant([], tf.string), [2, 0])
    assert pp.to_text(empty).numpy().tolist() == [b"", b""]
    assert pp.to_text(tf.ragged.constant([["a"], [], ["b", "c"]])).numpy().tolist() == [b"a", b"", b"b c"]
    assert pp.to_text(tf.constant([[0], [1]], tf.int64)).numpy().tolist() == [b"0", b"1"]


def test_encoding_has_a_static_shape_and_survives_bad_text(spm_model):
    tokenizer = pp.load_tokenizer(spm_model)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)] * 2)
    def encode(a, b):
        return pp.encode_texts(tokenizer, [a, b], max_seq_length=16)

    out = encode(tf.constant(["", b"\xff\xfe", "word " * 200_000]), tf.constant(["  ", "fine", ""]))
    assert encode.get_concrete_function().structured_outputs[data_contract.TOKEN_IDS].shape.as_list() == [None, 16]
    tokens = out[data_contract.TOKEN_IDS].numpy()
    assert tokens[0].tolist() == [CLS, SEP, SEP] + [0] * 13
    assert data_contract.UNK_ID in tokens[1].tolist()  # U+FFFD is not in the vocabulary
    assert tokens[2].tolist()[-2:] == [SEP, SEP] and out[data_contract.PADDING_MASK].numpy()[2].sum() == 16


# --- round trip -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dataset, header", [("sst2", True), ("chnsenticorp", False)])
def test_detokenize_tokenize_gives_back_the_normalized_text(spm_model, dataset, header):
    texts = _sentences(dataset, header, limit=400)
    tokenizer = pp.load_tokenizer(spm_model)
    ids = tokenizer.tokenize(pp.normalize_text(tf.constant(texts)))
    back = [t.decode("utf-8") for t in tokenizer.detokenize(ids).numpy()]
    with_unknown = [data_contract.UNK_ID in row for row in ids.to_list()]
    mismatches = [(t, b) for t, b, unk in zip(texts, back, with_unknown)
                  if not unk and b != component_normalize.normalize(t)]
    print(f"{dataset}: {len(texts) - sum(with_unknown)} of {len(texts)} sentences round-trip exactly; "
          f"{sum(with_unknown)} hold an <unk> piece and are left out")
    assert not mismatches, mismatches[:3]
    assert sum(with_unknown) < 0.25 * len(texts)


# --- preprocessing_fn under TFT -------------------------------------------------------------------------------

def _analyze_and_transform(tmp_path, rows, feature_spec, custom_config):
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(feature_spec))
    fn = functools.partial(pp.preprocessing_fn, custom_config=custom_config)
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
    config = {pp.SENTENCEPIECE_MODEL_PATH_KEY: spm_model, pp.TEXT_FEATURES_KEY: ["sentence"],
              pp.LABEL_FEATURE_KEY: "label", pp.MAX_SEQ_LENGTH_KEY: 12}
    transformed, output = _analyze_and_transform(tmp_path, rows, spec, config)

    # TFT orders labels by decreasing frequency: "neg" (2) before "pos" (1); no label -> -1.
    assert output.vocabulary_by_name(pp.LABEL_VOCABULARY) == [b"neg", b"pos"]
    assert [r[data_contract.LABEL_IDS] for r in transformed] == [1, 0, 0, pp.UNKNOWN_LABEL_ID]
    expected = pp.encode_texts(pp.load_tokenizer(spm_model), [tf.constant(
        ["a charming and often affecting journey", "", "unflinchingly bleak and desperate", "   "])], 12)
    for name in (data_contract.TOKEN_IDS, data_contract.SEGMENT_IDS, data_contract.PADDING_MASK):
        assert np.stack([r[name] for r in transformed]).tolist() == expected[name].numpy().tolist(), name
    assert transformed[1][data_contract.TOKEN_IDS].tolist() == [CLS, SEP] + [0] * 10

    # Serving: the saved transform graph on parsed tf.Examples without the label gives the same ids.
    serialized = tf.constant([example(sentence=r["sentence"]) if r["sentence"] else example() for r in rows])
    features = tf.io.parse_example(serialized, {"sentence": spec["sentence"]})
    served = output.transform_features_layer()(features)
    assert data_contract.LABEL_IDS not in served
    assert served[data_contract.TOKEN_IDS].numpy().tolist() == expected[data_contract.TOKEN_IDS].numpy().tolist()


def test_preprocessing_fn_sentence_pairs_with_integer_labels(tmp_path, spm_model):
    rows = [
        {"a": "the cat sat", "b": "a cat was sitting", "label": 1},
        {"a": "短句", "b": "", "label": 0},
        {"a": "word " * 50, "b": "other " * 50, "label": 2},  # truncated; label not listed
    ]
    spec = {"a": tf.io.FixedLenFeature([], tf.string), "b": tf.io.FixedLenFeature([], tf.string),
            "label": tf.io.FixedLenFeature([], tf.int64)}
    config = {pp.SENTENCEPIECE_MODEL_PATH_KEY: spm_model, pp.TEXT_FEATURES_KEY: ["a", "b"],
              pp.LABEL_FEATURE_KEY: "label", pp.LABEL_VALUES_KEY: [0, 1], pp.MAX_SEQ_LENGTH_KEY: 16}
    transformed, output = _analyze_and_transform(tmp_path, rows, spec, config)

    assert output.vocabulary_by_name(pp.LABEL_VOCABULARY) == [b"0", b"1"]
    assert [r[data_contract.LABEL_IDS] for r in transformed] == [1, 0, pp.UNKNOWN_LABEL_ID]
    tokens = np.stack([r[data_contract.TOKEN_IDS] for r in transformed])
    segments = np.stack([r[data_contract.SEGMENT_IDS] for r in transformed])
    assert tokens.shape == (3, 16) and tokens.dtype == np.int64
    assert (tokens[:, 0] == CLS).all() and (tokens == SEP).sum(axis=1).tolist() == [2, 2, 2]
    assert tokens[2].tolist()[8] == SEP and tokens[2].tolist()[15] == SEP  # 13 pieces: a keeps 7, b keeps 6
    assert segments[2].tolist() == [0] * 9 + [1] * 7
    assert output.transformed_feature_spec()[data_contract.TOKEN_IDS] == tf.io.FixedLenFeature([16], tf.int64)


def test_bad_custom_config_and_missing_features_are_errors_naming_them(spm_model):
    with pytest.raises(ValueError, match="sentencepiece_model_path"):
        pp.preprocessing_fn({"sentence": tf.constant(["x"])}, {pp.TEXT_FEATURES_KEY: ["sentence"]})
    with pytest.raises(ValueError, match=r"'sentense'.*\['sentence'\]"):
        pp.preprocessing_fn({"sentence": tf.constant(["x"])},
                            {pp.SENTENCEPIECE_MODEL_PATH_KEY: spm_model, pp.TEXT_FEATURES_KEY: ["sentense"]})
