"""Weight import: original google-research/albert checkpoints and TF-Hub modules, Hugging Face safetensors,
and keras-hub `AlbertBackbone` presets, all through one original-layout mapping (`original.py`)."""

from trainer.checkpoints.convert import SOURCE_FORMATS, import_weights, load_converted, save_converted
from trainer.checkpoints.original import WeightImportError, load_original_weights

__all__ = [
    "SOURCE_FORMATS",
    "WeightImportError",
    "import_weights",
    "load_converted",
    "load_original_weights",
    "save_converted",
]
