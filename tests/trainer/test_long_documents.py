"""Long documents whose label shows only at their end (issue 15 item 6): a tiny classifier trained on windows
(long_text "windows") finds it, one trained on truncated text cannot.

The documents are filler words drawn independently of the label, with the label's signal word ("alpha" or
"omega", nowhere else) only among their last words. Every word is one WordPiece piece, so where the signal
sits in pieces is known exactly: truncation's one sequence never holds it (its accuracy on held-out documents
is chance, whatever it learns), and one of the document's windows always does. The rows come from the one
`preprocessing_fn` (no TFT analyzers are needed without a label feature: the label ids are written here), the
training from `trainer.train.train` (so the windows' input pipeline and budget are the real ones), and the
windowed model's document answer from `serving.export.document_logits`, the very pooling of the serving graph.
"""

import numpy as np
import pytest
import tensorflow as tf

from serving import export
from text_contract import features
from text_contract import transform as tr
from text_contract import transform_options as options
from text_contract import vocabulary
from trainer.config import AlbertConfig
from trainer.presets import get_preset
from trainer.train import train
from trainer.training_config import TrainingConfig

FILLER = ("the film story was a and very with an ending cast plot music this its quite some then over into "
          "after before under about").split()
SIGNALS = ("alpha", "omega")  # label 0, label 1
MAX_SEQ_LENGTH = 16  # 14 pieces a window
STRIDE = 14  # windows side by side: the fewest that cover a document
MAX_WINDOWS = 5
WORDS = 66  # 5 windows: pieces 0-13, 14-27, 28-41, 42-55, 56-65
SIGNAL_TAIL = 8  # the signal word is among the last 8 words (pieces 58-65), 3 times


def _documents(count, seed):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(count):
        label = i % 2
        words = list(rng.choice(FILLER, size=WORDS))
        for position in rng.choice(np.arange(WORDS - SIGNAL_TAIL, WORDS), size=3, replace=False):
            words[position] = SIGNALS[label]
        texts.append(" ".join(words))
        labels.append(label)
    return texts, np.array(labels, np.int64)


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *FILLER, *SIGNALS]) + "\n")
    return str(path)


def _transform(vocab_file, texts, **long_text):
    """The Transform's rows of `texts` (preprocessing_fn as TFT runs it, without a label feature)."""
    custom_config = options.TransformOptions(
        text_features=("text",), sentencepiece_model_path=vocab_file, tokenization=vocabulary.WORDPIECE,
        lower_case=True, max_seq_length=MAX_SEQ_LENGTH, **long_text).to_custom_config()
    return {name: value.numpy() for name, value in
            tr.preprocessing_fn({"text": tf.constant(texts)}, custom_config).items()}


def _write(path, rows, labels):
    """TFRecords of transformed rows (the Transform's layout: [W, L] features stored flat) with their labels."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i, label in enumerate(labels):
            feature = {name: tf.train.Feature(int64_list=tf.train.Int64List(value=np.ravel(values[i])))
                       for name, values in rows.items()}
            feature[features.LABEL_IDS] = tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return str(path)


def _train(tmp_path, vocab_file, name, train_rows, labels, max_windows=None):
    albert_config = tmp_path / f"{name}_albert_config.json"
    AlbertConfig(**{**get_preset("tiny").to_dict(), "vocab_size": len(FILLER) + len(SIGNALS) + 5,
                    "num_hidden_layers": 2}).to_json_file(str(albert_config))
    config = TrainingConfig(
        model_dir=str(tmp_path / name), albert_config_path=str(albert_config), num_classes=2,
        max_seq_length=MAX_SEQ_LENGTH, global_batch_size=32, train_steps=120, checkpoint_every_steps=120,
        warmup_steps=10, learning_rate=1e-3, classifier_dropout=0.0, log_every_steps=120, strategy="default",
        max_windows_per_document=max_windows, seed=7)
    return train(config, _write(tmp_path / f"{name}.tfrecord", train_rows, labels)).model


def _accuracy(logits, labels):
    return float((np.argmax(logits, axis=-1) == labels).mean())


def test_windows_find_a_label_that_only_the_end_of_long_documents_shows_and_truncation_cannot(tmp_path, vocab_file):
    # Enough documents that 120 steps are ~3 passes over their windows: the filler-only windows are then not
    # memorized, so their logits stay near even and a document's signal window decides its pooled answer.
    train_texts, train_labels = _documents(256, seed=1)
    held_out_texts, held_out_labels = _documents(128, seed=2)
    windowed = dict(long_text="windows", long_text_stride=STRIDE, max_windows_per_document=MAX_WINDOWS)

    # The data is what the test says: the signal is in the last window only, never in truncation's sequence.
    signal_ids = set(_transform(vocab_file, list(SIGNALS))[features.TOKEN_IDS][:, 1].tolist())
    train_windows = _transform(vocab_file, train_texts, **windowed)
    assert train_windows[features.WINDOW_COUNT].tolist() == [MAX_WINDOWS] * len(train_texts)
    has_signal = np.isin(train_windows[features.TOKEN_IDS], list(signal_ids)).any(axis=-1)
    assert has_signal[:, -1].all() and not has_signal[:, :-1].any()
    train_truncated = _transform(vocab_file, train_texts)
    assert not np.isin(train_truncated[features.TOKEN_IDS], list(signal_ids)).any()

    truncating = _train(tmp_path, vocab_file, "truncate", train_truncated, train_labels)
    held_out = _transform(vocab_file, held_out_texts)
    truncated_logits = truncating({name: tf.constant(held_out[name], tf.int32) for name in features.MODEL_INPUTS},
                                  training=False)["logits"].numpy()
    truncate_accuracy = _accuracy(truncated_logits, held_out_labels)

    windowing = _train(tmp_path, vocab_file, "windows", train_windows, train_labels, MAX_WINDOWS)
    held_out_windows = {name: tf.constant(value) for name, value in
                        _transform(vocab_file, held_out_texts, **windowed).items()}
    accuracy = {pooling: _accuracy(export.document_logits(windowing, held_out_windows, pooling).numpy(),
                                   held_out_labels)
                for pooling in options.WINDOW_POOLINGS}

    # 64 held-out documents: chance is 0.5 +- 0.06; > 0.7 by chance is a 3-sigma event (the run is seeded).
    assert truncate_accuracy <= 0.7, truncate_accuracy
    assert min(accuracy.values()) >= 0.95, accuracy
