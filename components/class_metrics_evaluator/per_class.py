"""An exported model's labels and their number, and an EvalConfig whose per-class metrics cover all of them.

The count comes from the model itself: the Transform's label vocabulary (`text_contract.features.
LABEL_VOCABULARY`, one label per line, in label-id order), which the SavedModel keeps among its assets
(`<export>/assets/`) because the transform graph that maps labels to ids uses it.
"""

import os
from typing import List

import tensorflow as tf
import tensorflow_model_analysis as tfma

from text_contract import features

ASSETS_DIR = "assets"  # a SavedModel's asset directory (tf.saved_model's ASSETS_DIRECTORY)


def label_names(export_dir: str) -> List[str]:
    """The labels of an exported classifier in label-id order; ValueError naming the file when it has none."""
    path = os.path.join(export_dir, ASSETS_DIR, features.LABEL_VOCABULARY)
    if not tf.io.gfile.exists(path):
        raise ValueError(f"{export_dir}: no {ASSETS_DIR}/{features.LABEL_VOCABULARY}; not a classifier exported with "
                         "the Transform's label vocabulary")
    with tf.io.gfile.GFile(path, "rb") as handle:
        labels = [line.decode("utf-8") for line in handle.read().split(b"\n") if line]
    if len(labels) < 2:
        raise ValueError(f"{path}: {len(labels)} label(s); a classifier has at least 2")
    return labels


def label_count(export_dir: str) -> int:
    """The number of labels of an exported classifier; ValueError naming the file when it has none."""
    return len(label_names(export_dir))


def fill_class_ids(eval_config: tfma.EvalConfig, num_classes: int) -> tfma.EvalConfig:
    """A copy of `eval_config` whose MetricsSpecs with an empty `binarize` name class ids 0..num_classes-1."""
    filled = tfma.EvalConfig()
    filled.CopyFrom(eval_config)
    for metrics_spec in filled.metrics_specs:
        binarize = metrics_spec.binarize
        if metrics_spec.HasField("binarize") and not (binarize.class_ids.values or binarize.k_list.values
                                                      or binarize.top_k_list.values):
            binarize.class_ids.values.extend(range(num_classes))
    return filled
