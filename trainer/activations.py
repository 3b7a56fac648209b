"""The activation functions ALBERT configs name, with the original code's meaning of each name.

google-research/albert's `gelu` is the tanh approximation; Hugging Face calls that `gelu_new` and uses
`gelu` for the exact (erf) form. Config names here follow the original; the Hugging Face importer
translates (`trainer.checkpoints.huggingface`).
"""

import keras


@keras.saving.register_keras_serializable(package="albert_tfx")
def gelu_tanh(x):
    """GELU, tanh approximation: original ALBERT's `gelu`."""
    return keras.activations.gelu(x, approximate=True)


@keras.saving.register_keras_serializable(package="albert_tfx")
def gelu_erf(x):
    """GELU, exact (erf) form."""
    return keras.activations.gelu(x, approximate=False)


_BY_NAME = {
    "gelu": gelu_tanh,
    "gelu_new": gelu_tanh,
    "gelu_pytorch_tanh": gelu_tanh,
    "gelu_exact": gelu_erf,
    "relu": keras.activations.relu,
    "tanh": keras.activations.tanh,
    "swish": keras.activations.silu,
    "silu": keras.activations.silu,
}

NAMES = frozenset(_BY_NAME)

# Hugging Face `hidden_act` → our name (only where the meaning differs).
HUGGING_FACE_TO_ORIGINAL = {"gelu": "gelu_exact", "gelu_new": "gelu", "gelu_pytorch_tanh": "gelu"}


def get(name: str):
    """The activation function for a config's `hidden_act`."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; use one of {sorted(NAMES)}") from None
