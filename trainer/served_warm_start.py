"""Warm start from the model being served: scheduled retraining continues from the last pushed classifier.

The pushed export (serving/export.py) tracks the Keras classifier's variables as the list
`model_variables`, in `model.variables` order, so its checkpoint holds them under
`model_variables/<i>/.ATTRIBUTES/VARIABLE_VALUE`. Rebuilding the same classifier from the export's
metadata (the encoder's albert_config, the number of labels) gives the same variables in the same order;
their shapes are checked one by one. The encoder's weights are then written as an `albert-tfx convert`
directory, the warm-start format `TrainingConfig.warm_start_path` reads (the classification head starts
afresh: the label set of a new span may differ).

A served model is only a valid starting point when the new run tokenizes as it did: the vocabulary's
SHA-256 must equal the one in the export's metadata (the pipeline reuses the served vocabulary for this).
`prepare()` returns None, with the reason logged, when there is nothing usable to start from.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from typing import Optional

import tensorflow as tf

from serving import contract, layout

logger = logging.getLogger(__name__)

WARM_START_DIR = "warm_start_from_served"


@dataclasses.dataclass(frozen=True)
class ServedWarmStart:
    """`encoder_dir`: the served encoder as an `albert-tfx convert` directory; `export_dir`: the version it came from."""

    encoder_dir: str
    export_dir: str


def _sha256(path: str) -> str:
    with tf.io.gfile.GFile(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def prepare(served_model_dir: str, vocabulary_path: Optional[str], out_dir: str) -> Optional[ServedWarmStart]:
    """Writes the newest served model's encoder to `out_dir/warm_start_from_served`; None when there is nothing
    usable to start from (the reason is logged).

    The newest served model is `serving.layout.latest_version_dir`: the highest complete version, its
    directory name as found.
    """
    export_dir = layout.latest_version_dir(served_model_dir)
    if export_dir is None:
        logger.info("no served model under %s: training from the configured starting point", served_model_dir)
        return None
    metadata = contract.read_metadata(export_dir)
    if not vocabulary_path or not metadata.vocabulary_sha256:
        logger.warning("not warm-starting from %s: cannot compare vocabularies", export_dir)
        return None
    if _sha256(vocabulary_path) != metadata.vocabulary_sha256:
        logger.warning("not warm-starting from %s: it was trained on another vocabulary", export_dir)
        return None
    return ServedWarmStart(_write_encoder(export_dir, metadata, os.path.join(out_dir, WARM_START_DIR)), export_dir)


def _write_encoder(export_dir: str, metadata: contract.ExportMetadata, destination: str) -> str:
    from trainer.checkpoints.convert import save_model_directory
    from trainer.classifier import AlbertClassifier
    from trainer.config import AlbertConfig
    from trainer.encoder import AlbertEncoder

    albert_config = AlbertConfig.from_dict(metadata.albert_config)
    model = AlbertClassifier(AlbertEncoder.from_albert_config(albert_config), metadata.num_classes)
    reader = tf.train.load_checkpoint(os.path.join(export_dir, "variables", "variables"))
    saved = reader.get_variable_to_shape_map()
    for index, variable in enumerate(model.variables):
        key = f"model_variables/{index}/.ATTRIBUTES/VARIABLE_VALUE"
        if key not in saved or list(saved[key]) != list(variable.shape):
            raise ValueError(f"{export_dir}: variable {index} ({variable.path}, shape {tuple(variable.shape)}) does "
                             f"not match the export's {key} {saved.get(key)}; not an export of this model")
        variable.assign(reader.get_tensor(key))
    if f"model_variables/{len(model.variables)}/.ATTRIBUTES/VARIABLE_VALUE" in saved:
        raise ValueError(f"{export_dir}: the export holds more variables than the classifier it describes")
    save_model_directory(model.encoder, destination, {"warm_started_from": export_dir}, overwrite=True)
    logger.info("warm-starting the encoder from the served model %s", export_dir)
    return destination
