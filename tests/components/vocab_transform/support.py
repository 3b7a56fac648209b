"""Helpers for the VocabTransform tests: a SentencePieceModel artifact on disk and a Transform custom_config."""

import json
import pathlib
from typing import Optional

from components import artifacts
from text_contract.transform_options import TransformOptions

# Stands in for spm.model: the component copies and passes the file on, it never parses it.
MODEL_BYTES = b"\x0a\x05serialized SentencePiece model"


def vocabulary_artifact(root: pathlib.Path, lower_case: Optional[bool] = False,
                        with_model: bool = True) -> artifacts.SentencePieceModel:
    """A SentencePieceModel artifact at `root`, as SentencePieceVocab leaves it (lower_case None: not recorded)."""
    root.mkdir(parents=True, exist_ok=True)
    if with_model:
        pathlib.Path(artifacts.model_path(str(root))).write_bytes(MODEL_BYTES)
    summary = {"pieces": 300} if lower_case is None else {"pieces": 300, artifacts.SUMMARY_LOWER_CASE_KEY: lower_case}
    pathlib.Path(artifacts.summary_path(str(root))).write_text(json.dumps(summary), encoding="utf-8")
    artifact = artifacts.SentencePieceModel()
    artifact.uri = str(root)
    return artifact


def custom_config(lower_case: bool = False, **extra) -> dict:
    """A Transform custom_config as the pipeline passes it (without the vocabulary's path)."""
    options = TransformOptions(text_features=("sentence",), label_feature="label", max_seq_length=32,
                               lower_case=lower_case)
    return {**options.to_custom_config(), **extra}
