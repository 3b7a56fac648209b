"""What VocabTransform does around TFX's Transform: hand it the vocabulary, then leave a copy for the Trainer.

Transform's `custom_config` is fixed when the pipeline is compiled, but the SentencePiece model's path is
only known at run time (it is the SentencePieceVocab artifact's URI). `with_vocabulary` adds that path under
`text_contract.transform_options.SENTENCEPIECE_MODEL_PATH_KEY` (what `preprocessing_fn` reads), and, for an
imported vocabulary, its tokenization under `TOKENIZATION_KEY`, after checking that the vocabulary was trained
with the case folding the Transform applies. `copy_to_transform_graph` copies the vocabulary into the
transform graph's directory (`text_contract.features.TRANSFORM_VOCABULARY_FILE`) so the Trainer finds the
very vocabulary the Transform embedded (for the export's metadata and the encoder's vocabulary size) without
another input; `record_options` leaves the custom_config preprocessing_fn got beside it
(`text_contract.features.TRANSFORM_OPTIONS_FILE`: task qa's export rebuilds the Transform's windows from it).
"""

import json
import os
from typing import Any, Dict, Mapping

import tensorflow as tf

from components import artifacts
from text_contract.features import TRANSFORM_OPTIONS_FILE, TRANSFORM_VOCABULARY_FILE
from text_contract.transform_options import (LOWER_CASE_KEY, SENTENCEPIECE_MODEL_PATH_KEY, TOKENIZATION_KEY,
                                             TransformOptions)


def with_vocabulary(custom_config: Mapping[str, Any], model_path: str,
                    vocabulary_summary: Mapping[str, Any]) -> Dict[str, Any]:
    """`custom_config` with the vocabulary's path added; ValueError when the case folding differs.

    `vocabulary_summary`: the SentencePieceModel's summary.json (`components.artifacts.read_summary`); one
    without the lower-case field (a vocabulary made elsewhere) is taken as it is.
    """
    lower_case = TransformOptions.from_custom_config(custom_config, require_vocabulary=False).lower_case
    trained = vocabulary_summary.get(artifacts.SUMMARY_LOWER_CASE_KEY)
    if trained is not None and bool(trained) != lower_case:
        raise ValueError(
            f"the vocabulary was trained with lower_case={trained} but the Transform's "
            f"custom_config has {LOWER_CASE_KEY}={lower_case}: pieces would not match the text")
    values = {**custom_config, SENTENCEPIECE_MODEL_PATH_KEY: model_path}
    # An imported vocabulary says how its text is tokenized (the original ALBERT or BERT way); ours says nothing.
    tokenization = vocabulary_summary.get(artifacts.SUMMARY_TOKENIZATION_KEY)
    if tokenization:
        values[TOKENIZATION_KEY] = tokenization
    return values


def copy_to_transform_graph(model_path: str, transform_graph_dir: str) -> str:
    """Copies the vocabulary to `<transform graph dir>/TRANSFORM_VOCABULARY_FILE`; returns that path."""
    destination = os.path.join(transform_graph_dir, TRANSFORM_VOCABULARY_FILE)
    tf.io.gfile.makedirs(os.path.dirname(destination))
    tf.io.gfile.copy(model_path, destination, overwrite=True)
    return destination


def record_options(custom_config: Mapping[str, Any], transform_graph_dir: str) -> str:
    """Writes the Transform's final custom_config (the one preprocessing_fn got) to
    `<transform graph dir>/TRANSFORM_OPTIONS_FILE`; returns that path."""
    destination = os.path.join(transform_graph_dir, TRANSFORM_OPTIONS_FILE)
    tf.io.gfile.makedirs(os.path.dirname(destination))
    with tf.io.gfile.GFile(destination, "w") as handle:
        handle.write(json.dumps(dict(custom_config), indent=2, sort_keys=True))
    return destination
