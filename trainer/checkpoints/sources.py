"""What a released checkpoint is, read cheaply: its format, its encoder config and the vocabulary shipped with it.

`training.init_from` names any of these, and the pipeline config checks it before anything runs (no weights
are read here, only configs and file names):

- `converted`: an `albert-tfx convert` output (or a pretraining Trainer's model): `conversion.json`,
  `albert_config.json`, `model.weights.h5`;
- `original`: a google-research/albert TF1 checkpoint (a prefix, or a directory holding one) with its
  `albert_config.json`, or a TF-Hub module directory (`saved_model.pb` + `variables/`);
- `hf`: a Hugging Face ALBERT directory (`config.json` with `model_type: albert`, `model.safetensors`,
  usually `spiece.model`);
- `keras-hub`: a keras-hub `AlbertBackbone` preset directory (`config.json` naming `AlbertBackbone`,
  `model.weights.h5`; its vocabulary in `assets/tokenizer/vocabulary.spm`).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
from typing import Optional

from trainer.checkpoints.convert import (CONFIG_FILE, SOURCE_FORMATS, SUMMARY_FILE, WEIGHTS_FILE, check_config_matches,
                                         config_for_original)
from trainer.checkpoints.original import WeightImportError
from trainer.config import AlbertConfig

CONVERTED = "converted"
INIT_FORMATS = (CONVERTED,) + SOURCE_FORMATS

HF_CONFIG_FILE = "config.json"
HF_TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
# Where released checkpoints keep their vocabulary, most specific first: HF (`spiece.model`, or a BERT-style
# `vocab.txt` for the Chinese ALBERTs), keras-hub presets, albert_base_v2's tarball and TF-Hub modules.
VOCABULARY_CANDIDATES = (
    "spiece.model", "vocab.txt", os.path.join("assets", "tokenizer", "vocabulary.spm"), "30k-clean.model",
    os.path.join("assets", "30k-clean.model"), os.path.join("assets", "vocab.txt"),
)


@dataclasses.dataclass(frozen=True)
class ShippedVocabulary:
    """A vocabulary found beside a checkpoint; `lower_case` when its tokenizer config says so (else None)."""

    path: str
    lower_case: Optional[bool] = None


def _json(path: str) -> Optional[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            values = json.load(handle)
    except (OSError, json.JSONDecodeError):
        return None
    return values if isinstance(values, dict) else None


def detect_format(src: str) -> str:
    """The format of `src` (one of INIT_FORMATS); WeightImportError saying what was found otherwise."""
    if not os.path.exists(src) and not os.path.exists(src + ".index"):
        raise WeightImportError(f"{src}: no such file or directory")
    if os.path.isdir(src):
        if all(os.path.exists(os.path.join(src, name)) for name in (SUMMARY_FILE, CONFIG_FILE, WEIGHTS_FILE)):
            return CONVERTED
        config = _json(os.path.join(src, HF_CONFIG_FILE)) or {}
        if config.get("model_type") == "albert" and glob.glob(os.path.join(src, "*.safetensors")):
            return "hf"
        if "AlbertBackbone" in str(config.get("class_name", "")) + str(config.get("registered_name", "")):
            return "keras-hub"
        if os.path.exists(os.path.join(src, "saved_model.pb")) or glob.glob(os.path.join(src, "*.index")) \
                or os.path.exists(os.path.join(src, "checkpoint")):
            return "original"
        raise WeightImportError(
            f"{src}: not a checkpoint this pipeline can start from; expected an albert-tfx convert directory "
            f"({SUMMARY_FILE}), a Hugging Face ALBERT directory ({HF_CONFIG_FILE} + model.safetensors), a "
            "keras-hub AlbertBackbone preset, an original TF1 checkpoint or a TF-Hub module; it holds "
            f"{sorted(os.listdir(src))[:10]}")
    if src.endswith(".safetensors"):
        return "hf"
    return "original"  # a checkpoint prefix (PREFIX.index beside it) or its .index file


def read_config(src: str, source_format: Optional[str] = None) -> AlbertConfig:
    """The encoder config of the checkpoint at `src` (its own file; for a TF-Hub module, from the shapes)."""
    source_format = source_format or detect_format(src)
    if source_format == CONVERTED:
        return AlbertConfig.from_json_file(os.path.join(src, CONFIG_FILE))
    if source_format == "hf":
        from trainer.checkpoints.huggingface import config_from_huggingface

        directory = src if os.path.isdir(src) else os.path.dirname(os.path.abspath(src))
        return config_from_huggingface(os.path.join(directory, HF_CONFIG_FILE))
    if source_format == "keras-hub":
        values = (_json(os.path.join(src, HF_CONFIG_FILE)) or {}).get("config") or {}
        from trainer.checkpoints.keras_hub import config_from_keras_hub

        try:
            return config_from_keras_hub(_Fields(values))
        except KeyError as error:
            raise WeightImportError(f"{src}: the preset's config.json lacks {error.args[0]!r}") from None
    return _original_config(src)


def _original_config(src: str) -> AlbertConfig:
    """albert_config.json beside an original checkpoint, checked against the variables' shapes (no tensor is
    read: released checkpoints run to hundreds of MB); a TF-Hub module ships none, so it must sit beside."""
    import tensorflow as tf

    from trainer.checkpoints.original import HUB_PREFIX, resolve_checkpoint_prefix

    prefix = resolve_checkpoint_prefix(src)
    albert_config = config_for_original(src, None)
    if albert_config is None:
        raise WeightImportError(f"{src}: no {CONFIG_FILE} beside the checkpoint (TF-Hub modules ship none); put "
                                "the model's albert_config.json there")
    try:
        shapes = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
    except Exception as error:  # corrupt or truncated files
        raise WeightImportError(f"{prefix}: cannot read the checkpoint ({error})") from None
    shaped = {name[len(HUB_PREFIX):] if name.startswith(HUB_PREFIX) else name: _Shape(tuple(shape))
              for name, shape in shapes.items()}
    check_config_matches(src, albert_config, shaped)
    return albert_config


@dataclasses.dataclass(frozen=True)
class _Shape:
    shape: tuple


class _Fields:
    """A keras-hub backbone config dict seen as the attributes `config_from_keras_hub` reads."""

    def __init__(self, values: dict):
        self._values = values

    def __getattr__(self, name: str):
        return self._values[name]


def shipped_vocabulary(src: str) -> Optional[ShippedVocabulary]:
    """The vocabulary released with the checkpoint at `src`, if one sits in its directory."""
    directory = src if os.path.isdir(src) else os.path.dirname(os.path.abspath(src))
    for name in VOCABULARY_CANDIDATES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            tokenizer_config = _json(os.path.join(directory, HF_TOKENIZER_CONFIG_FILE)) or {}
            lower_case = tokenizer_config.get("do_lower_case")
            return ShippedVocabulary(path, lower_case if isinstance(lower_case, bool) else None)
    return None
