"""Hugging Face ALBERT weights (`model.safetensors` + `config.json`) translated to the original layout."""

from __future__ import annotations

import json
import os
import re
from typing import Dict, Tuple

import numpy as np

from trainer import activations
from trainer.checkpoints.original import EMBEDDINGS, MAPPING_IN, MLM, POOLER, SOP, WeightImportError, group_prefix
from trainer.config import AlbertConfig, ConfigError

# Hugging Face name (after the optional `albert.` prefix) -> (original name, transpose?). torch `Linear`
# stores [out, in]; TF Dense kernels are [in, out].
_LAYER = r"encoder\.albert_layer_groups\.(\d+)\.albert_layers\.(\d+)\."
_RULES = [
    (r"embeddings\.word_embeddings\.weight", f"{EMBEDDINGS}/word_embeddings", False),
    (r"embeddings\.position_embeddings\.weight", f"{EMBEDDINGS}/position_embeddings", False),
    (r"embeddings\.token_type_embeddings\.weight", f"{EMBEDDINGS}/token_type_embeddings", False),
    (r"embeddings\.LayerNorm\.weight", f"{EMBEDDINGS}/LayerNorm/gamma", False),
    (r"embeddings\.LayerNorm\.bias", f"{EMBEDDINGS}/LayerNorm/beta", False),
    (r"encoder\.embedding_hidden_mapping_in\.weight", f"{MAPPING_IN}/kernel", True),
    (r"encoder\.embedding_hidden_mapping_in\.bias", f"{MAPPING_IN}/bias", False),
    (_LAYER + r"attention\.(query|key|value)\.weight", "{layer}/attention_1/self/{part}/kernel", True),
    (_LAYER + r"attention\.(query|key|value)\.bias", "{layer}/attention_1/self/{part}/bias", False),
    (_LAYER + r"attention\.dense\.weight", "{layer}/attention_1/output/dense/kernel", True),
    (_LAYER + r"attention\.dense\.bias", "{layer}/attention_1/output/dense/bias", False),
    (_LAYER + r"attention\.LayerNorm\.weight", "{layer}/LayerNorm/gamma", False),
    (_LAYER + r"attention\.LayerNorm\.bias", "{layer}/LayerNorm/beta", False),
    (_LAYER + r"ffn\.weight", "{layer}/ffn_1/intermediate/dense/kernel", True),
    (_LAYER + r"ffn\.bias", "{layer}/ffn_1/intermediate/dense/bias", False),
    (_LAYER + r"ffn_output\.weight", "{layer}/ffn_1/intermediate/output/dense/kernel", True),
    (_LAYER + r"ffn_output\.bias", "{layer}/ffn_1/intermediate/output/dense/bias", False),
    (_LAYER + r"full_layer_layer_norm\.weight", "{layer}/LayerNorm_1/gamma", False),
    (_LAYER + r"full_layer_layer_norm\.bias", "{layer}/LayerNorm_1/beta", False),
    (r"pooler\.weight", f"{POOLER}/kernel", True),
    (r"pooler\.bias", f"{POOLER}/bias", False),
    (r"predictions\.dense\.weight", f"{MLM}/transform/dense/kernel", True),
    (r"predictions\.dense\.bias", f"{MLM}/transform/dense/bias", False),
    (r"predictions\.LayerNorm\.weight", f"{MLM}/transform/LayerNorm/gamma", False),
    (r"predictions\.LayerNorm\.bias", f"{MLM}/transform/LayerNorm/beta", False),
    (r"predictions\.bias", f"{MLM}/output_bias", False),
    (r"sop_classifier\.classifier\.weight", f"{SOP}/output_weights", False),  # [2, H] in both layouts
    (r"sop_classifier\.classifier\.bias", f"{SOP}/output_bias", False),
]
_COMPILED = [(re.compile(pattern + r"$"), target, transpose) for pattern, target, transpose in _RULES]
# Non-weights (buffers) and the decoder, which ALBERT ties to the word embeddings (checked below).
_SKIPPED = re.compile(r"(embeddings\.position_ids|predictions\.decoder\.(weight|bias))$")


def resolve_safetensors(src: str) -> str:
    if os.path.isdir(src):
        path = os.path.join(src, "model.safetensors")
        if not os.path.exists(path):
            raise WeightImportError(f"{src}: no model.safetensors in this directory")
        return path
    if not os.path.exists(src):
        raise WeightImportError(f"{src}: no such file")
    return src


def config_from_huggingface(path: str) -> AlbertConfig:
    """An `AlbertConfig` from a Hugging Face `config.json`; HF's `gelu` (erf) and `gelu_new` (tanh) translated."""
    try:
        with open(path, encoding="utf-8") as handle:
            values = json.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no Hugging Face config.json (pass --config)") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from None
    hidden_act = values.get("hidden_act", "gelu_new")
    fields = {
        name: values[name]
        for name in (
            "vocab_size", "embedding_size", "hidden_size", "num_hidden_layers", "num_hidden_groups",
            "inner_group_num", "num_attention_heads", "intermediate_size", "hidden_dropout_prob",
            "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size", "initializer_range",
            "layer_norm_eps",
        )
        if name in values
    }
    fields["hidden_act"] = activations.HUGGING_FACE_TO_ORIGINAL.get(hidden_act, hidden_act)
    return AlbertConfig.from_dict(fields, source=path)


def original_from_huggingface(tensors: Dict[str, np.ndarray], source: str = "safetensors") -> Dict[str, np.ndarray]:
    """Renames (and transposes) Hugging Face ALBERT tensors into the original layout."""
    out: Dict[str, np.ndarray] = {}
    for name, array in tensors.items():
        short = name[len("albert."):] if name.startswith("albert.") else name
        if _SKIPPED.search(short):
            continue
        for pattern, target, transpose in _COMPILED:
            match = pattern.match(short)
            if match:
                groups = match.groups()
                if groups:
                    layer = group_prefix(int(groups[0]), int(groups[1]))
                    target = target.format(layer=layer, part=groups[2] if len(groups) > 2 else "")
                out[target] = np.ascontiguousarray(array.T) if transpose else array
                break
        else:
            raise WeightImportError(f"{source}: unexpected tensor {name} (not part of an ALBERT model)")
    decoder = tensors.get("predictions.decoder.weight")
    word_embeddings = out.get(f"{EMBEDDINGS}/word_embeddings")
    if decoder is not None and word_embeddings is not None and not np.array_equal(decoder, word_embeddings):
        raise WeightImportError(
            f"{source}: predictions.decoder.weight differs from the word embeddings; ALBERT ties them and "
            "untied decoders are not supported"
        )
    return out


def read_huggingface(src: str, config_path: str = None) -> Tuple[AlbertConfig, Dict[str, np.ndarray]]:
    """Reads `model.safetensors` (a file or its directory) and the `config.json` beside it."""
    from safetensors.numpy import load_file

    path = resolve_safetensors(src)
    try:
        tensors = load_file(path)
    except Exception as error:  # truncated or not a safetensors file
        raise WeightImportError(f"{path}: cannot read safetensors ({error})") from None
    config = config_from_huggingface(config_path or os.path.join(os.path.dirname(path), "config.json"))
    return config, original_from_huggingface(tensors, source=path)
