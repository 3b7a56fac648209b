"""Artifact types that our components exchange, defined once (the components do not import each other,
they all import this module): `SentencePieceModel` and the files inside one, and the check that an Examples
artifact holds what our Beam steps read.

A SentencePieceModel's directory holds the trained model, its vocabulary and a JSON summary of the run.
The file names, and the summary fields another component reads, are defined here and nowhere else; use
`model_path` and friends to find them, `require_model_path` where the model must be there.
"""

import json
import os
from typing import Any, Dict, Union

import tensorflow as tf
from tfx.types.artifact import Artifact

MODEL_FILE = "spm.model"  # the serialized SentencePiece ModelProto (tf_text.SentencepieceTokenizer's model)
VOCAB_FILE = "spm.vocab"  # one "piece<TAB>score" line per id
SUMMARY_FILE = "summary.json"  # what the run read, dropped, used, and the held-out unknown rate
# summary.json field: whether the text was lower-cased before training (SentencePieceVocab writes it,
# VocabTransform checks the Transform's lower_case against it).
SUMMARY_LOWER_CASE_KEY = "lower_case"
# How text becomes ids with this vocabulary (`text_contract.vocabulary.TOKENIZATIONS`); absent: ours.
SUMMARY_TOKENIZATION_KEY = "tokenization"


class SentencePieceModel(Artifact):
    """A trained SentencePiece model: `spm.model`, `spm.vocab` and `summary.json` under its URI."""

    # "<namespace>.<Name>": the form Kubeflow Pipelines v2 requires of custom artifact types.
    TYPE_NAME = "albert_tfx.SentencePieceModel"


def _uri(artifact_or_uri: Union[Artifact, str]) -> str:
    return artifact_or_uri if isinstance(artifact_or_uri, str) else artifact_or_uri.uri


def model_path(artifact_or_uri: Union[Artifact, str]) -> str:
    """Path of the `.model` file in a SentencePieceModel artifact (an artifact or its URI)."""
    return os.path.join(_uri(artifact_or_uri), MODEL_FILE)


class MissingModelFile(FileNotFoundError, ValueError):
    """A SentencePieceModel artifact without its model file (a missing file, and a bad input)."""


def require_model_path(artifact_or_uri: Union[Artifact, str]) -> str:
    """`model_path`, checked: MissingModelFile naming the artifact's URI and MODEL_FILE when it is not there."""
    path = model_path(artifact_or_uri)
    if not tf.io.gfile.exists(path):
        raise MissingModelFile(f"the SentencePieceModel artifact at {_uri(artifact_or_uri)} has no {MODEL_FILE}")
    return path


def vocab_path(artifact_or_uri: Union[Artifact, str]) -> str:
    """Path of the `.vocab` file in a SentencePieceModel artifact."""
    return os.path.join(_uri(artifact_or_uri), VOCAB_FILE)


def summary_path(artifact_or_uri: Union[Artifact, str]) -> str:
    """Path of `summary.json` in a SentencePieceModel artifact."""
    return os.path.join(_uri(artifact_or_uri), SUMMARY_FILE)


def read_summary(artifact_or_uri: Union[Artifact, str]) -> Dict[str, Any]:
    """The run summary of a SentencePieceModel artifact, as a dict."""
    with tf.io.gfile.GFile(summary_path(artifact_or_uri), "r") as f:
        return json.load(f)


def check_tf_example_payload(examples: Artifact, reader: str) -> None:
    """ValueError naming `reader` unless the Examples artifact holds tf.Example records (not SequenceExample,
    not Parquet): what SentencePieceVocab and PretrainingDataGen parse."""
    from tfx.components.util import examples_utils
    from tfx.proto import example_gen_pb2

    payload = examples_utils.get_payload_format(examples)
    if payload != example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE:
        raise ValueError(f"{reader} reads tf.Example payloads; the Examples artifact at {examples.uri} holds "
                         f"{example_gen_pb2.PayloadFormat.Name(payload)}")
