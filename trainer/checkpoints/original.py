"""The original google-research/albert variable layout: reading TF1 checkpoints and TF-Hub modules, and
loading any weights expressed in that layout into our models.

Every importer (original, Hugging Face, keras-hub) translates its source into this one layout, a dict of
original variable name -> numpy array in TF layout (Dense kernels `[in, out]`); `load_original_weights` is
then the single place that knows how our variables are laid out.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
from typing import Dict, List, Mapping, Optional

import numpy as np

from trainer.config import AlbertConfig

EMBEDDINGS = "bert/embeddings"
MAPPING_IN = "bert/encoder/embedding_hidden_mapping_in"
POOLER = "bert/pooler/dense"
MLM = "cls/predictions"
SOP = "cls/seq_relationship"

# Variables a training checkpoint carries that are not model weights: step counters and optimizer slots.
_NOT_WEIGHTS = re.compile(r"(^global_step$|^good_steps$|^loss_scale$|/(adam|lamb)_[mv]$|/Adam(_1)?$|/Momentum$)")
# TF-Hub modules prefix every variable with `module/`.
HUB_PREFIX = "module/"


class WeightImportError(ValueError):
    """A weight cannot be imported: the message names the variable (missing, extra or shape mismatch)."""


def group_prefix(group: int, inner: int) -> str:
    return f"bert/encoder/transformer/group_{group}/inner_group_{inner}"


@dataclasses.dataclass
class ImportReport:
    """What an import did: the variables it read and those it found but did not use."""

    source: str
    loaded: List[str]
    unused: List[str]
    heads: List[str]


# --- reading ----------------------------------------------------------------------------------------------


def resolve_checkpoint_prefix(src: str) -> str:
    """The checkpoint prefix for `src`: a prefix itself, a directory holding a checkpoint (the newest), or a
    TF-Hub module directory (`variables/variables`)."""
    if os.path.exists(src + ".index"):
        return src
    if src.endswith(".index") and os.path.exists(src):
        return src[: -len(".index")]
    if os.path.isdir(src):
        hub_variables = os.path.join(src, "variables", "variables")
        if os.path.exists(hub_variables + ".index"):
            return hub_variables
        import tensorflow as tf

        latest = tf.train.latest_checkpoint(src)
        if latest:
            return latest
        indexes = sorted(glob.glob(os.path.join(src, "*.index")))
        if len(indexes) == 1:
            return indexes[0][: -len(".index")]
        if len(indexes) > 1:
            raise WeightImportError(
                f"{src}: holds {len(indexes)} checkpoints and no `checkpoint` file; name one prefix, e.g. "
                f"{indexes[-1][: -len('.index')]}"
            )
    raise WeightImportError(f"{src}: no TF checkpoint found (expected PREFIX.index, a checkpoint directory "
                            "or a TF-Hub module with variables/variables.index)")


def read_original_checkpoint(src: str) -> Dict[str, np.ndarray]:
    """Reads every model weight of an original TF1 checkpoint or TF-Hub module into a dict, `module/` stripped."""
    import tensorflow as tf

    prefix = resolve_checkpoint_prefix(src)
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as error:  # corrupt or truncated files
        raise WeightImportError(f"{prefix}: cannot read the checkpoint ({error})") from None
    weights = {}
    for name in sorted(reader.get_variable_to_shape_map()):
        clean = name[len(HUB_PREFIX):] if name.startswith(HUB_PREFIX) else name
        if _NOT_WEIGHTS.search(clean):
            continue
        try:
            weights[clean] = reader.get_tensor(name)
        except Exception as error:  # TensorFlow's own message ("Read less bytes than requested") names neither
            raise WeightImportError(f"{_data_files(prefix)}: cannot read variable {name}: {error} (the checkpoint's "
                                    "data file is missing, truncated or corrupt)") from None
    if not weights:
        raise WeightImportError(f"{prefix}: the checkpoint holds no model weights")
    return weights


def _data_files(prefix: str) -> str:
    """The data file(s) of checkpoint `prefix`, for messages: one path, or the shards' pattern and count."""
    shards = sorted(glob.glob(glob.escape(prefix) + ".data-*"))
    if len(shards) == 1:
        return shards[0]
    return f"{prefix}.data-* ({len(shards)} files)" if shards else f"{prefix}.data-* (no data file)"


def infer_config_from_weights(weights: Mapping[str, np.ndarray], base: AlbertConfig) -> AlbertConfig:
    """`base` with every field that the weight shapes determine taken from them (layers and heads cannot be)."""
    try:
        vocab_size, embedding_size = weights[f"{EMBEDDINGS}/word_embeddings"].shape
        max_positions = weights[f"{EMBEDDINGS}/position_embeddings"].shape[0]
        type_vocab_size = weights[f"{EMBEDDINGS}/token_type_embeddings"].shape[0]
        hidden_size = weights[f"{MAPPING_IN}/kernel"].shape[1]
        intermediate_size = weights[f"{group_prefix(0, 0)}/ffn_1/intermediate/dense/kernel"].shape[1]
    except KeyError as error:
        raise WeightImportError(f"missing variable {error.args[0]} (needed to infer the config)") from None
    groups = {int(m.group(1)) for n in weights if (m := re.search(r"/group_(\d+)/", n))}
    inners = {int(m.group(1)) for n in weights if (m := re.search(r"/inner_group_(\d+)/", n))}
    return base.replace(
        vocab_size=int(vocab_size),
        embedding_size=int(embedding_size),
        hidden_size=int(hidden_size),
        intermediate_size=int(intermediate_size),
        max_position_embeddings=int(max_positions),
        type_vocab_size=int(type_vocab_size),
        num_hidden_groups=len(groups),
        inner_group_num=len(inners),
    )


# --- loading into our models ------------------------------------------------------------------------------


class _Loader:
    """Assigns original-layout arrays to Keras variables, checking presence and shape, recording use."""

    def __init__(self, weights: Mapping[str, np.ndarray], source: str):
        self.weights = weights
        self.source = source
        self.used: set = set()

    def take(self, name: str) -> np.ndarray:
        if name not in self.weights:
            raise WeightImportError(f"{self.source}: missing variable {name}")
        self.used.add(name)
        return np.asarray(self.weights[name])

    def assign(self, variable, value: np.ndarray, name: str) -> None:
        expected = tuple(variable.shape)
        if tuple(value.shape) != expected:
            raise WeightImportError(
                f"{self.source}: variable {name} has shape {tuple(value.shape)}, the model's "
                f"{variable.path} needs {expected}"
            )
        variable.assign(value.astype(variable.dtype))

    def copy(self, name: str, variable, transform=lambda array: array) -> None:
        self.assign(variable, transform(self.take(name)), name)


def _encoder_of(model):
    from trainer.encoder import AlbertEncoder

    return model if isinstance(model, AlbertEncoder) else model.encoder


def load_original_weights(model, weights: Mapping[str, np.ndarray], *, source: str = "weights") -> ImportReport:
    """Loads original-layout `weights` into an `AlbertEncoder`, `AlbertPretrainer` or `AlbertClassifier`.

    Layer `l`, sublayer `i` of the model takes `group_{int(l*G/L)}/inner_group_{i}` of the weights, so a
    model with less sharing than the checkpoint (e.g. `sharing="none"`) gets untied copies of the shared
    blocks and computes the same function. Raises `WeightImportError` naming a missing or mis-shaped
    variable; returns which variables were used and which were not.
    """
    encoder = _encoder_of(model)
    config: AlbertConfig = encoder.albert_config
    loader = _Loader(weights, source)
    heads: List[str] = []

    loader.copy(f"{EMBEDDINGS}/word_embeddings", encoder.token_embedding.embeddings)
    loader.copy(f"{EMBEDDINGS}/position_embeddings", encoder.position_embedding.position_embeddings)
    loader.copy(f"{EMBEDDINGS}/token_type_embeddings", encoder.segment_embedding.embeddings)
    loader.copy(f"{EMBEDDINGS}/LayerNorm/gamma", encoder.embeddings_layer_norm.gamma)
    loader.copy(f"{EMBEDDINGS}/LayerNorm/beta", encoder.embeddings_layer_norm.beta)
    loader.copy(f"{MAPPING_IN}/kernel", encoder.embedding_projection.kernel)
    loader.copy(f"{MAPPING_IN}/bias", encoder.embedding_projection.bias)

    heads_shape = (config.num_attention_heads, config.head_size)
    assigned = set()
    for layer in range(config.num_hidden_layers):
        group = config.group_of_layer(layer)
        for inner in range(config.inner_group_num):
            prefix = group_prefix(group, inner)
            attention_key = config.attention_block_key(layer, inner)
            if ("attention", attention_key) not in assigned:
                assigned.add(("attention", attention_key))
                block = encoder.attention_blocks[attention_key]
                names = [f"{prefix}/attention_1/self/{part}" for part in ("query", "key", "value")]
                kernels = [loader.take(f"{n}/kernel") for n in names]
                biases = [loader.take(f"{n}/bias") for n in names]
                for name, kernel, bias in zip(names, kernels, biases):
                    if kernel.shape != (config.hidden_size, config.hidden_size) or bias.shape != (config.hidden_size,):
                        raise WeightImportError(
                            f"{source}: variable {name}/kernel has shape {kernel.shape} (bias {bias.shape}), "
                            f"the model needs ({config.hidden_size}, {config.hidden_size})"
                        )
                fused_kernel = np.stack([k.reshape(config.hidden_size, *heads_shape) for k in kernels], axis=1)
                fused_bias = np.stack([b.reshape(heads_shape) for b in biases], axis=0)
                loader.assign(block.query_key_value.kernel, fused_kernel, f"{prefix}/attention_1/self/*/kernel")
                loader.assign(block.query_key_value.bias, fused_bias, f"{prefix}/attention_1/self/*/bias")
                loader.copy(
                    f"{prefix}/attention_1/output/dense/kernel",
                    block.output_dense.kernel,
                    lambda k: k.reshape(*heads_shape, -1) if k.shape[0] == config.hidden_size else k,
                )
                loader.copy(f"{prefix}/attention_1/output/dense/bias", block.output_dense.bias)
                loader.copy(f"{prefix}/LayerNorm/gamma", block.layer_norm.gamma)
                loader.copy(f"{prefix}/LayerNorm/beta", block.layer_norm.beta)
            ffn_key = config.ffn_block_key(layer, inner)
            if ("ffn", ffn_key) not in assigned:
                assigned.add(("ffn", ffn_key))
                block = encoder.ffn_blocks[ffn_key]
                loader.copy(f"{prefix}/ffn_1/intermediate/dense/kernel", block.intermediate_dense.kernel)
                loader.copy(f"{prefix}/ffn_1/intermediate/dense/bias", block.intermediate_dense.bias)
                loader.copy(f"{prefix}/ffn_1/intermediate/output/dense/kernel", block.output_dense.kernel)
                loader.copy(f"{prefix}/ffn_1/intermediate/output/dense/bias", block.output_dense.bias)
                loader.copy(f"{prefix}/LayerNorm_1/gamma", block.layer_norm.gamma)
                loader.copy(f"{prefix}/LayerNorm_1/beta", block.layer_norm.beta)

    loader.copy(f"{POOLER}/kernel", encoder.pooler.kernel)
    loader.copy(f"{POOLER}/bias", encoder.pooler.bias)

    mlm_head = getattr(model, "masked_lm_head", None)
    if mlm_head is not None:
        loader.copy(f"{MLM}/transform/dense/kernel", mlm_head._intermediate_dense.kernel)
        loader.copy(f"{MLM}/transform/dense/bias", mlm_head._intermediate_dense.bias)
        loader.copy(f"{MLM}/transform/LayerNorm/gamma", mlm_head._intermediate_layer_norm.gamma)
        loader.copy(f"{MLM}/transform/LayerNorm/beta", mlm_head._intermediate_layer_norm.beta)
        loader.copy(f"{MLM}/output_bias", mlm_head._bias)
        heads.append("masked_lm")
    sop_head = getattr(model, "sentence_order_head", None)
    if sop_head is not None:
        # The original stores this projection as [2, hidden] (`output_weights`), transposed to a Dense kernel.
        loader.copy(f"{SOP}/output_weights", sop_head.dense.kernel, np.transpose)
        loader.copy(f"{SOP}/output_bias", sop_head.dense.bias)
        heads.append("sentence_order")

    unused = sorted(set(weights) - loader.used)
    return ImportReport(source=source, loaded=sorted(loader.used), unused=unused, heads=heads)


def has_pretraining_heads(weights: Mapping[str, np.ndarray]) -> bool:
    return f"{MLM}/output_bias" in weights and f"{SOP}/output_weights" in weights


# --- writing the original layout (for exports and round-trip checks) --------------------------------------


def original_weights_from_model(model) -> Dict[str, np.ndarray]:
    """Our model's weights in the original layout (the inverse of `load_original_weights`).

    Only models whose parameter blocks map one-to-one onto original groups can be written: `sharing="all"`.
    """
    encoder = _encoder_of(model)
    config: AlbertConfig = encoder.albert_config
    if config.sharing != "all":
        raise WeightImportError(
            f"sharing={config.sharing!r} has per-layer blocks that the original group layout cannot hold; "
            "only sharing='all' models can be written as original checkpoints"
        )
    h = config.hidden_size

    def value(variable) -> np.ndarray:
        return np.asarray(variable.numpy(), dtype=np.float32)

    out = {
        f"{EMBEDDINGS}/word_embeddings": value(encoder.token_embedding.embeddings),
        f"{EMBEDDINGS}/position_embeddings": value(encoder.position_embedding.position_embeddings),
        f"{EMBEDDINGS}/token_type_embeddings": value(encoder.segment_embedding.embeddings),
        f"{EMBEDDINGS}/LayerNorm/gamma": value(encoder.embeddings_layer_norm.gamma),
        f"{EMBEDDINGS}/LayerNorm/beta": value(encoder.embeddings_layer_norm.beta),
        f"{MAPPING_IN}/kernel": value(encoder.embedding_projection.kernel),
        f"{MAPPING_IN}/bias": value(encoder.embedding_projection.bias),
        f"{POOLER}/kernel": value(encoder.pooler.kernel),
        f"{POOLER}/bias": value(encoder.pooler.bias),
    }
    for group in range(config.num_hidden_groups):
        for inner in range(config.inner_group_num):
            prefix = group_prefix(group, inner)
            attention = encoder.attention_blocks[f"group_{group}_inner_{inner}"]
            qkv_kernel, qkv_bias = value(attention.query_key_value.kernel), value(attention.query_key_value.bias)
            for index, part in enumerate(("query", "key", "value")):
                out[f"{prefix}/attention_1/self/{part}/kernel"] = qkv_kernel[:, index].reshape(h, h)
                out[f"{prefix}/attention_1/self/{part}/bias"] = qkv_bias[index].reshape(h)
            out[f"{prefix}/attention_1/output/dense/kernel"] = value(attention.output_dense.kernel).reshape(h, h)
            out[f"{prefix}/attention_1/output/dense/bias"] = value(attention.output_dense.bias)
            out[f"{prefix}/LayerNorm/gamma"] = value(attention.layer_norm.gamma)
            out[f"{prefix}/LayerNorm/beta"] = value(attention.layer_norm.beta)
            ffn = encoder.ffn_blocks[f"group_{group}_inner_{inner}"]
            out[f"{prefix}/ffn_1/intermediate/dense/kernel"] = value(ffn.intermediate_dense.kernel)
            out[f"{prefix}/ffn_1/intermediate/dense/bias"] = value(ffn.intermediate_dense.bias)
            out[f"{prefix}/ffn_1/intermediate/output/dense/kernel"] = value(ffn.output_dense.kernel)
            out[f"{prefix}/ffn_1/intermediate/output/dense/bias"] = value(ffn.output_dense.bias)
            out[f"{prefix}/LayerNorm_1/gamma"] = value(ffn.layer_norm.gamma)
            out[f"{prefix}/LayerNorm_1/beta"] = value(ffn.layer_norm.beta)
    mlm_head = getattr(model, "masked_lm_head", None)
    if mlm_head is not None:
        out[f"{MLM}/transform/dense/kernel"] = value(mlm_head._intermediate_dense.kernel)
        out[f"{MLM}/transform/dense/bias"] = value(mlm_head._intermediate_dense.bias)
        out[f"{MLM}/transform/LayerNorm/gamma"] = value(mlm_head._intermediate_layer_norm.gamma)
        out[f"{MLM}/transform/LayerNorm/beta"] = value(mlm_head._intermediate_layer_norm.beta)
        out[f"{MLM}/output_bias"] = value(mlm_head._bias)
    sop_head = getattr(model, "sentence_order_head", None)
    if sop_head is not None:
        out[f"{SOP}/output_weights"] = value(sop_head.dense.kernel).T
        out[f"{SOP}/output_bias"] = value(sop_head.dense.bias)
    return out


def write_original_checkpoint(weights: Mapping[str, np.ndarray], prefix: str, *, global_step: Optional[int] = None) -> str:
    """Writes `weights` as a TF checkpoint with exactly these variable names (what TF1's Saver writes)."""
    import tensorflow as tf

    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    names = sorted(weights)
    tensors = [tf.constant(weights[n]) for n in names]
    if global_step is not None:
        names.append("global_step")
        tensors.append(tf.constant(global_step, dtype=tf.int64))
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names), tensors=tensors)
    return prefix
