"""Artifact types that our components exchange, defined once (the components do not import each other,
they all import this module): `SentencePieceModel` and the files inside one.

A SentencePieceModel's directory holds the trained model, its vocabulary and a JSON summary of the run.
The file names are defined here and nowhere else; use `model_path` and friends to find them.
"""

import json
import os
from typing import Any, Dict, Union

import tensorflow as tf
from tfx.types.artifact import Artifact

MODEL_FILE = "spm.model"  # the serialized SentencePiece ModelProto (tf_text.SentencepieceTokenizer's model)
VOCAB_FILE = "spm.vocab"  # one "piece<TAB>score" line per id
SUMMARY_FILE = "summary.json"  # what the run read, dropped, used, and the held-out unknown rate


class SentencePieceModel(Artifact):
    """A trained SentencePiece model: `spm.model`, `spm.vocab` and `summary.json` under its URI."""

    # "<namespace>.<Name>": the form Kubeflow Pipelines v2 requires of custom artifact types.
    TYPE_NAME = "albert_tfx.SentencePieceModel"


def _uri(artifact_or_uri: Union[Artifact, str]) -> str:
    return artifact_or_uri if isinstance(artifact_or_uri, str) else artifact_or_uri.uri


def model_path(artifact_or_uri: Union[Artifact, str]) -> str:
    """Path of the `.model` file in a SentencePieceModel artifact (an artifact or its URI)."""
    return os.path.join(_uri(artifact_or_uri), MODEL_FILE)


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
