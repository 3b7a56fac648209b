"""Helpers for the PretrainingDataGen tests: synthetic text, a tiny SentencePiece model, executor runs."""

import os
import pathlib

import numpy as np

from text_contract import pieces

_SYLLABLES = ["ka", "lo", "mi", "ne", "tu", "ra", "si", "po", "ve", "du", "an", "el", "or", "ix", "um"]


def word_list(count=400, seed=7):
    rng = np.random.default_rng(seed)
    words = set()
    while len(words) < count:
        words.add("".join(rng.choice(_SYLLABLES, size=int(rng.integers(1, 5)))))
    return sorted(words)


WORDS = word_list()


def synthetic_sentence(rng, min_words=3, max_words=14):
    # Zipf-like word frequencies, so frequent words get one piece and rare words several.
    ranks = np.minimum(rng.zipf(1.3, size=int(rng.integers(min_words, max_words + 1))), len(WORDS)) - 1
    return " ".join(WORDS[r] for r in ranks).capitalize() + "."


def synthetic_documents(count, seed=0, min_sentences=2, max_sentences=12):
    rng = np.random.default_rng(seed)
    return [[synthetic_sentence(rng) for _ in range(int(rng.integers(min_sentences, max_sentences + 1)))]
            for _ in range(count)]


def train_sentencepiece(directory, vocab_size=160, **overrides):
    """A unigram model with ALBERT's special pieces (`text_contract.pieces`) at <directory>/spm.model.

    Trained by SentencePiece directly, so that `overrides` can make a model that breaks the rules."""
    import sentencepiece

    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sentences = [s for doc in synthetic_documents(300, seed=123) for s in doc]
    options = dict(
        model_prefix=str(directory / "spm"), vocab_size=vocab_size, model_type="unigram",
        pad_id=pieces.PAD_ID, unk_id=pieces.UNK_ID, bos_id=-1, eos_id=-1, pad_piece=pieces.PAD_PIECE,
        unk_piece=pieces.UNK_PIECE, control_symbols=list(pieces.CONTROL_PIECES), character_coverage=1.0,
        num_threads=1, minloglevel=2)
    options.update(overrides)
    sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(sentences), **options)
    return directory


def run_executor(out_dir, model_dir, *, examples_dir=None, input_splits=("train",), beam_args=None, **params):
    """Runs the executor directly; returns the output Examples artifact."""
    from tfx.types import standard_artifacts, standard_artifact_utils

    from components import artifacts
    from components.pretraining_data import executor, spec

    model = artifacts.SentencePieceModel()
    model.uri = str(model_dir)
    inputs = {spec.SENTENCEPIECE_MODEL_KEY: [model]}
    if examples_dir is not None:
        examples = standard_artifacts.Examples()
        examples.uri = str(examples_dir)
        examples.split_names = standard_artifact_utils.encode_split_names(list(input_splits))
        inputs[spec.EXAMPLES_KEY] = [examples]
    output = standard_artifacts.Examples()
    output.uri = str(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    context = executor.Executor.Context(beam_pipeline_args=list(beam_args or []), tmp_dir=str(out_dir) + ".tmp")
    executor.Executor(context).Do(inputs, {spec.PRETRAINING_EXAMPLES_KEY: [output]}, params)
    return output


def read_output(artifact_uri):
    """{file name: bytes} of the output shards and the parsed tf.Examples, in file order."""
    import tensorflow as tf

    split_dir = pathlib.Path(artifact_uri) / "Split-train"
    files = sorted(split_dir.iterdir())
    raw = {f.name: f.read_bytes() for f in files}
    examples = []
    for f in files:
        for record in tf.data.TFRecordDataset(str(f), compression_type="GZIP").as_numpy_iterator():
            examples.append(tf.train.Example.FromString(record))
    return raw, examples


def feature_array(example, name):
    feature = example.features.feature[name]
    kind = feature.WhichOneof("kind")
    return np.array(getattr(feature, kind).value)
