"""Long documents as windows (task classify, long_text "windows"; issue 15 item 6): `windows.document_windows`
against a Python reference built from the SentencePiece processor's own ids, the stride and the cap, short
documents equal to truncation, `preprocessing_fn` with windows, and the options' round trip and errors."""

import dataclasses

import numpy as np
import pytest
import sentencepiece
import tensorflow as tf

from text_contract import features, normalization, pieces, sentencepiece_training
from text_contract import transform as tr
from text_contract import transform_options as options
from text_contract import windows

CLS, SEP, PAD = pieces.CLS_ID, pieces.SEP_ID, pieces.PAD_ID
WORDS = ("the film story was a and very with an ending cast plot music this its quite good bad dull warm grim "
         "bright tedious lovely charming superb").split()


def _documents():
    rng = np.random.default_rng(0)
    long = [" ".join(rng.choice(WORDS, size=n)) for n in (5, 20, 37, 60, 200)]
    return ["", "   ", "good", "Ünïcode  wörds\tand 文字"] + long


@pytest.fixture(scope="module")
def spm_model(tmp_path_factory):
    lines = sorted({normalization.normalize(text) for text in _documents()} | set(WORDS))
    path = tmp_path_factory.mktemp("vocab") / "spm.model"
    path.write_bytes(sentencepiece_training.train_sentencepiece(lines * 5, vocab_size=60, character_coverage=1.0,
                                                                num_threads=1))
    return str(path)


def _reference(processor, text, max_seq_length, stride, max_windows):
    """The windows by hand from the Python tokenizer's ids: [CLS] ids[w * stride:][:capacity] [SEP], padded."""
    ids = processor.encode(normalization.normalize(text))
    capacity = max_seq_length - 2
    stride = min(stride, capacity)
    count = min(1 + -(-max(len(ids) - capacity, 0) // stride), max_windows)
    rows = np.full([max_windows, max_seq_length], PAD)
    mask = np.zeros([max_windows, max_seq_length], np.int64)
    for w in range(count):
        window = [CLS] + ids[w * stride:w * stride + capacity] + [SEP]
        rows[w, :len(window)] = window
        mask[w, :len(window)] = 1
    return count, rows, mask, ids


@pytest.mark.parametrize("max_seq_length, stride, max_windows", [(12, 5, 4), (12, 10, 8), (8, 100, 3), (16, 1, 2)])
def test_windows_hold_the_python_tokenizer_pieces_every_stride_up_to_the_cap(spm_model, max_seq_length, stride,
                                                                            max_windows):
    processor = sentencepiece.SentencePieceProcessor(model_file=spm_model)
    tokenizer = tr.make_tokenizer(options.TransformOptions(text_features=("t",), sentencepiece_model_path=spm_model))
    texts = _documents()
    got = windows.document_windows(tokenizer, tf.constant(texts), max_seq_length, stride, max_windows)
    assert got[features.TOKEN_IDS].shape == (len(texts), max_windows, max_seq_length)
    assert all(value.dtype == tf.int64 for value in got.values())
    for i, text in enumerate(texts):
        count, rows, mask, ids = _reference(processor, text, max_seq_length, stride, max_windows)
        assert int(got[features.WINDOW_COUNT][i]) == count, text
        assert got[features.TOKEN_IDS][i].numpy().tolist() == rows.tolist(), text
        assert got[features.PADDING_MASK][i].numpy().tolist() == mask.tolist(), text
        assert not got[features.SEGMENT_IDS][i].numpy().any()
    # The cap keeps the first windows: the longest document needs more than any cap here.
    assert int(got[features.WINDOW_COUNT][-1]) == max_windows


def test_a_short_document_is_one_window_equal_to_truncation_and_an_empty_one_still_gets_one(spm_model):
    tokenizer = tr.make_tokenizer(options.TransformOptions(text_features=("t",), sentencepiece_model_path=spm_model))
    texts = tf.constant(["", "good", "a very good film"])
    got = windows.document_windows(tokenizer, texts, 16, 7, 3)
    truncated = tr.encode_texts(tokenizer, [texts], 16)
    assert got[features.WINDOW_COUNT].numpy().tolist() == [1, 1, 1]
    for name in features.MODEL_INPUTS:
        assert got[name][:, 0].numpy().tolist() == truncated[name].numpy().tolist(), name
        assert not got[name][:, 1:].numpy().any(), name  # windows not in use are all padding
    assert got[features.TOKEN_IDS][0, 0, :3].numpy().tolist() == [CLS, SEP, PAD]


def test_the_stride_decides_the_overlap_and_consecutive_windows_share_it(spm_model):
    processor = sentencepiece.SentencePieceProcessor(model_file=spm_model)
    tokenizer = tr.make_tokenizer(options.TransformOptions(text_features=("t",), sentencepiece_model_path=spm_model))
    text = _documents()[-1]
    ids = processor.encode(normalization.normalize(text))
    got = windows.document_windows(tokenizer, tf.constant([text]), 12, 4, 50)
    count = int(got[features.WINDOW_COUNT][0])
    assert count == 1 + -(-(len(ids) - 10) // 4)  # the last window is the first that reaches the end
    tokens = got[features.TOKEN_IDS][0].numpy()
    for w in range(count - 1):
        assert tokens[w, 5:11].tolist() == tokens[w + 1, 1:7].tolist()  # 10 - 4 = 6 pieces shared
    last = [t for t in tokens[count - 1] if t not in (CLS, SEP, PAD)]
    assert last == ids[(count - 1) * 4:]


def test_preprocessing_fn_with_windows_gives_per_document_rows_and_cuts_text_for_every_window(spm_model):
    custom_config = options.TransformOptions(
        text_features=("review",), sentencepiece_model_path=spm_model, max_seq_length=12, long_text="windows",
        long_text_stride=6, max_windows_per_document=3).to_custom_config()
    texts = _documents()
    outputs = tr.preprocessing_fn({"review": tf.constant(texts)}, custom_config)
    expected = windows.document_windows(tr.make_tokenizer(options.TransformOptions.from_custom_config(custom_config)),
                                        tf.constant(texts), 12, 6, 3)
    assert sorted(outputs) == sorted(expected)
    for name, value in expected.items():
        assert outputs[name].numpy().tolist() == value.numpy().tolist(), name
    # The text is cut after enough characters for every window's positions, not one sequence's.
    read = options.TransformOptions.from_custom_config(custom_config)
    assert read.text_chars == options.TEXT_CHARS_PER_POSITION * (12 + 6 * 2)


def test_window_options_round_trip_and_truncation_writes_none_of_their_keys():
    truncating = options.TransformOptions(text_features=("t",), max_seq_length=128)
    assert not set(truncating.to_custom_config()) & {options.LONG_TEXT_KEY, options.LONG_TEXT_STRIDE_KEY,
                                                     options.MAX_WINDOWS_PER_DOCUMENT_KEY, options.WINDOW_POOLING_KEY}
    assert not truncating.windows and truncating.long_text == options.DEFAULT_LONG_TEXT == "truncate"
    built = options.TransformOptions(text_features=("t",), max_seq_length=128, long_text="windows",
                                     long_text_stride=32, max_windows_per_document=4, window_pooling="max")
    assert options.TransformOptions.from_custom_config(built.to_custom_config(), require_vocabulary=False) == built
    assert built.window_stride == 32
    # The default stride is half a window; a stride is at most a window.
    default = dataclasses.replace(built, long_text_stride=None)
    assert default.window_stride == 63 == options.document_window_stride(128)
    assert options.TransformOptions.from_custom_config(default.to_custom_config(), require_vocabulary=False) == default
    assert options.document_window_stride(16, 100) == options.document_window_capacity(16) == 14


@pytest.mark.parametrize("settings, message", [
    ({"long_text": "chunks"}, r"\['long_text'\] must be one of \('truncate', 'windows'\), got 'chunks'"),
    ({"long_text": "windows", "window_pooling": "sum"},
     r"\['window_pooling'\] must be one of \('mean', 'max'\), got 'sum'"),
    ({"long_text": "windows", "max_windows_per_document": 0},
     r"\['max_windows_per_document'\] must be an integer >= 1, got 0"),
    ({"long_text": "windows", "long_text_stride": 0}, r"\['long_text_stride'\] must be an integer >= 1, got 0"),
    ({"long_text": "windows", "long_text_stride": 127},
     r"\['long_text_stride'\] must be at most a window's 126 pieces .*got 127"),
    ({"long_text": "windows", "text_features": ("a", "b")}, r"windows one text feature .*got \['a', 'b'\]"),
    ({"long_text": "windows", "max_seq_length": None},
     r"\['max_seq_length'\] is null, but long_text 'windows' does not derive it"),
    ({"long_text_stride": 10}, r"\['long_text_stride'\]=10 applies only with long_text='windows'"),
    ({"window_pooling": "max"}, r"\['window_pooling'\]='max' applies only with long_text='windows'"),
    ({"max_windows_per_document": 3}, r"\['max_windows_per_document'\]=3 applies only with long_text='windows'"),
])
def test_bad_window_options_are_errors_naming_the_key_and_value(settings, message):
    values = {"text_features": ("t",), "max_seq_length": 128, **settings}
    with pytest.raises(ValueError, match=message):
        options.TransformOptions(**values)


def test_windows_are_for_task_classify_only():
    with pytest.raises(ValueError, match=r"\['long_text'\]='windows' is for task 'classify'.*got task 'qa'"):
        options.TransformOptions(task="qa", long_text="windows")
    with pytest.raises(ValueError, match=r"\['long_text'\] must be one of"):
        options.TransformOptions.from_custom_config({options.TEXT_FEATURES_KEY: ["t"], options.LONG_TEXT_KEY: "x"},
                                                    require_vocabulary=False)
