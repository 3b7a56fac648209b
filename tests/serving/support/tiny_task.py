"""A tiny labelled text task for the serving and run_fn tests: SentencePiece model, Transform output, TFRecords.

Everything is made by the tests themselves: ~60 short sentences whose label ("neg"/"pos") shows in their
words, a SentencePiece model trained on them as the vocabulary component trains one, and TFT's
AnalyzeAndTransformDataset with the one `text_contract.transform.preprocessing_fn`. `tiny_task()` builds it once
per process (the tests share it) under a temporary directory removed at exit.
"""

import atexit
import dataclasses
import functools
import os
import shutil
import tempfile
from typing import Dict, List

import numpy as np
import tensorflow as tf

from text_contract import normalization, pieces, sentencepiece_training, transform, transform_options
TEXT_FEATURE = "sentence"
LABEL_FEATURE = "label"
LABELS = ("neg", "pos")
MAX_SEQ_LENGTH = 32

_POSITIVE = ["good", "great", "lovely", "charming", "fine", "warm", "bright", "superb"]
_NEGATIVE = ["bad", "awful", "dull", "bleak", "poor", "cold", "grim", "tedious"]
_NEUTRAL = ["the", "film", "story", "was", "a", "and", "very", "with", "an", "ending", "cast", "plot", "music",
            "this", "its", "quite"]


def sentences(count: int = 60, seed: int = 0) -> List[Dict[str, str]]:
    """`count` rows {"sentence": ..., "label": "neg"|"pos"}, the label shown by two of its words."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(count):
        label = LABELS[i % 2]
        marked = _POSITIVE if label == "pos" else _NEGATIVE
        words = list(rng.choice(_NEUTRAL, size=int(rng.integers(3, 9)))) + list(rng.choice(marked, size=2))
        rng.shuffle(words)
        rows.append({TEXT_FEATURE: " ".join(words).capitalize() + ".", LABEL_FEATURE: label})
    return rows


def train_sentencepiece(directory: str, texts: List[str]) -> str:
    """A small unigram vocabulary, trained on the normalized texts as the vocabulary component trains one."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "spm.model")
    lines = [normalization.normalize(text) for text in texts]
    with open(path, "wb") as handle:
        handle.write(sentencepiece_training.train_sentencepiece(lines, vocab_size=80, character_coverage=1.0,
                                                                num_threads=1))
    return path


@dataclasses.dataclass(frozen=True)
class TinyTask:
    root: str
    spm_model: str
    vocab_size: int
    transform_dir: str
    train_files: str  # a file pattern, as TFX's fn_args gives
    eval_files: str
    rows: List[Dict[str, str]]
    transform_config: Dict


def _write_transformed(path: str, instances, schema) -> None:
    import tensorflow_transform as tft

    coder = tft.coders.ExampleProtoCoder(schema)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path, "GZIP") as writer:
        for instance in instances:
            writer.write(coder.encode(instance))


def build_tiny_task(root: str, max_seq_length: int = MAX_SEQ_LENGTH, **long_text) -> TinyTask:
    """`long_text`: TransformOptions' long-document settings (long_text="windows", ...), for document windows."""
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

    rows = sentences()
    spm_model = train_sentencepiece(os.path.join(root, "vocab"), [r[TEXT_FEATURE] for r in rows])
    with open(spm_model, "rb") as handle:
        vocab_size = pieces.piece_count(handle.read())
    config = transform_options.TransformOptions(
        text_features=(TEXT_FEATURE,), sentencepiece_model_path=spm_model, label_feature=LABEL_FEATURE,
        max_seq_length=max_seq_length, **long_text).to_custom_config()
    # VarLenFeature text, as SchemaGen infers for a CSV column: serving must build sparse input for it.
    spec = {TEXT_FEATURE: tf.io.VarLenFeature(tf.string), LABEL_FEATURE: tf.io.FixedLenFeature([], tf.string)}
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
    raw = [{TEXT_FEATURE: [r[TEXT_FEATURE]], LABEL_FEATURE: r[LABEL_FEATURE]} for r in rows]
    transform_dir = os.path.join(root, "transform")
    with tft_beam.Context(temp_dir=os.path.join(root, "tft_tmp")):
        (transformed, transformed_metadata), transform_fn = (raw, metadata) | tft_beam.AnalyzeAndTransformDataset(
            functools.partial(transform.preprocessing_fn, custom_config=config), output_record_batches=False)
        _ = transform_fn | tft_beam.WriteTransformFn(transform_dir)
    # As TFX's Transform does: the raw schema beside the transform graph (serving parses raw features by it).
    metadata_io.write_metadata(metadata, os.path.join(transform_dir, tft.TFTransformOutput.RAW_METADATA_DIR))
    schema = transformed_metadata.schema
    _write_transformed(os.path.join(root, "transformed", "Split-train", "transformed_examples-00000-of-00001.gz"),
                       transformed[:48], schema)
    _write_transformed(os.path.join(root, "transformed", "Split-eval", "transformed_examples-00000-of-00001.gz"),
                       transformed[48:], schema)
    tft.TFTransformOutput(transform_dir)  # fails here, not later, on a broken output
    return TinyTask(
        root=root, spm_model=spm_model, vocab_size=vocab_size, transform_dir=transform_dir,
        train_files=os.path.join(root, "transformed", "Split-train", "*"),
        eval_files=os.path.join(root, "transformed", "Split-eval", "*"),
        rows=rows, transform_config=config)


@functools.lru_cache(maxsize=None)
def tiny_task() -> TinyTask:
    root = tempfile.mkdtemp(prefix="albert-tfx-tiny-task-")
    atexit.register(shutil.rmtree, root, True)
    return build_tiny_task(root)


# The tiny task as long documents (issue 15 item 6): windows of 8 positions (6 pieces) every 3 pieces, at most 4
# per document, so that its sentences make 1 to 4 windows and the longest lose their tail.
WINDOWS_MAX_SEQ_LENGTH = 8
WINDOW_OPTIONS = {"long_text": "windows", "long_text_stride": 3, "max_windows_per_document": 4}


@functools.lru_cache(maxsize=None)
def tiny_windows_task() -> TinyTask:
    root = tempfile.mkdtemp(prefix="albert-tfx-tiny-windows-task-")
    atexit.register(shutil.rmtree, root, True)
    return build_tiny_task(root, WINDOWS_MAX_SEQ_LENGTH, **WINDOW_OPTIONS)


def albert_config_file(directory: str, vocab_size: int) -> str:
    """The `tiny` preset with the test vocabulary's size, as an albert_config.json."""
    from trainer.presets import get_preset

    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "albert_config.json")
    dataclasses.replace(get_preset("tiny"), vocab_size=vocab_size).to_json_file(path)
    return path


def example(**features) -> bytes:
    """A serialized tf.Example of string features."""
    return tf.train.Example(features=tf.train.Features(feature={
        name: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode("utf-8") for v in values]))
        for name, values in ((n, v if isinstance(v, list) else [v]) for n, v in features.items())
    })).SerializeToString()
