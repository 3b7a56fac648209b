"""`AlbertConfig`: the encoder's shape, read from and written to original `albert_config.json` files."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, Mapping

from text_contract import storage
from trainer import activations

SHARING_STRATEGIES = ("all", "attention", "ffn", "none")
"""Cross-layer sharing (paper, Table 4): which sublayers the layers of one group share.

`all`: attention and feed-forward (ALBERT's default); `attention`: only attention, every layer has its own
feed-forward; `ffn`: only feed-forward; `none`: nothing, every layer has its own parameters (BERT)."""


class ConfigError(ValueError):
    """A config value is invalid; the message names the field."""


@dataclasses.dataclass(frozen=True)
class AlbertConfig:
    """The ALBERT encoder's hyperparameters: the original `albert_config.json` fields plus `sharing`.

    Layer `l` of `num_hidden_layers` uses group `int(l * num_hidden_groups / num_hidden_layers)`, and each
    group applies its `inner_group_num` sublayers in turn, as in google-research/albert. `hidden_act` names
    follow the original code: `gelu` is its tanh approximation (see `trainer.activations`).
    """

    vocab_size: int = 30000
    embedding_size: int = 128
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_hidden_groups: int = 1
    inner_group_num: int = 1
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    sharing: str = "all"

    def __post_init__(self):
        positive_ints = (
            "vocab_size",
            "embedding_size",
            "hidden_size",
            "num_hidden_layers",
            "num_hidden_groups",
            "inner_group_num",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
        )
        for name in positive_ints:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"AlbertConfig.{name} must be a positive integer, got {value!r}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ConfigError(f"AlbertConfig.{name} must be a probability in [0, 1), got {value!r}")
        for name in ("initializer_range", "layer_norm_eps"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"AlbertConfig.{name} must be a positive number, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"AlbertConfig.num_attention_heads={self.num_attention_heads} does not divide "
                f"hidden_size={self.hidden_size}"
            )
        if self.num_hidden_groups > self.num_hidden_layers:
            raise ConfigError(
                f"AlbertConfig.num_hidden_groups={self.num_hidden_groups} exceeds "
                f"num_hidden_layers={self.num_hidden_layers}"
            )
        if self.hidden_act not in activations.NAMES:
            raise ConfigError(
                f"AlbertConfig.hidden_act={self.hidden_act!r} is unknown; use one of {sorted(activations.NAMES)}"
            )
        if self.sharing not in SHARING_STRATEGIES:
            raise ConfigError(f"AlbertConfig.sharing={self.sharing!r} is unknown; use one of {SHARING_STRATEGIES}")

    # --- derived shape ---------------------------------------------------------------------------------

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def group_of_layer(self, layer: int) -> int:
        """The group whose parameters layer `layer` uses (original ALBERT's rule)."""
        return int(layer * self.num_hidden_groups / self.num_hidden_layers)

    def attention_block_key(self, layer: int, inner: int) -> str:
        """Name of the attention parameter block that (layer, inner sublayer) uses."""
        if self.sharing in ("all", "attention"):
            return f"group_{self.group_of_layer(layer)}_inner_{inner}"
        return f"layer_{layer}_inner_{inner}"

    def ffn_block_key(self, layer: int, inner: int) -> str:
        """Name of the feed-forward parameter block that (layer, inner sublayer) uses."""
        if self.sharing in ("all", "ffn"):
            return f"group_{self.group_of_layer(layer)}_inner_{inner}"
        return f"layer_{layer}_inner_{inner}"

    # --- (de)serialization -----------------------------------------------------------------------------

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, source: str = "config") -> "AlbertConfig":
        """Builds a config from a dict; unknown keys are an error that names them and `source`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown AlbertConfig field(s) {unknown}")
        try:
            return cls(**dict(values))
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None
        except TypeError as error:  # e.g. a string where an int belongs, caught by our checks first
            raise ConfigError(f"{source}: {error}") from None

    # Original files also carry fields that do not change the encoder's shape; these are accepted and
    # dropped (e.g. classifier dropout from Hugging Face, `down_scale_factor`, `net_structure_type`).
    _IGNORED_ORIGINAL_FIELDS = frozenset(
        {
            "down_scale_factor",
            "gap_size",
            "net_structure_type",
            "num_memory_blocks",
            "classifier_dropout_prob",
            "bos_token_id",
            "eos_token_id",
            "pad_token_id",
            "model_type",
            "architectures",
            "position_embedding_type",
            "transformers_version",
            "torch_dtype",
        }
    )

    @classmethod
    def from_json_file(cls, path: str) -> "AlbertConfig":
        """Reads an original `albert_config.json` (or one we wrote, which may add `sharing`)."""
        if not storage.exists(path):
            raise ConfigError(f"{path}: no such config file")
        try:
            values = storage.read_json(path)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path}: not valid JSON ({error})") from None
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: expected a JSON object of config fields")
        known = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in values.items() if k in known}
        unknown = sorted(set(values) - known - cls._IGNORED_ORIGINAL_FIELDS)
        if unknown:
            raise ConfigError(f"{path}: unknown AlbertConfig field(s) {unknown}")
        # Original TF1 configs carry no epsilon: their LayerNorm used 1e-12.
        return cls.from_dict(kept, source=path)

    def to_json_file(self, path: str) -> None:
        """Writes an `albert_config.json` that the original code reads (extra `sharing` is ignored there), on a
        local disk or through tf.io.gfile."""
        storage.write_bytes(path, (json.dumps(self.to_dict(), indent=2) + "\n").encode("utf-8"))

    def replace(self, **changes: Any) -> "AlbertConfig":
        return dataclasses.replace(self, **changes)
