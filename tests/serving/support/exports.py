"""Exports of untrained `tiny` classifiers over the shared tiny task, and the gRPC helpers, for the serving tests.

`tiny_export()`: one export per test process (warmup, op check, push, ServingPusher tests).
`tiny_exports()`: two versions whose head bias makes v1 answer label id 0 and v2 label id 1, so every answer
shows which version gave it (server, end-to-end and CLI tests), with `push`, `in_process`, `start_server`,
`wait_for` and `string_tensor`. All are read-only for the tests: copy an export before changing it.
`replace_op_type` breaks a copy on purpose (an op TF Serving lacks: `MADE_UP_OP`).
"""

import atexit
import dataclasses
import functools
import os
import shutil
import tempfile
import time
from typing import Dict, Tuple

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from serving import contract, layout
from serving import export as export_lib
from serving.server import LocalModelServer, ServerConfig
from tests.serving.support import tiny_task

MODEL = layout.DEFAULT_MODEL_NAME


def build_untrained_export(root: str, model_name: str = "tiny-sentiment") -> str:
    """An export of an untrained `tiny` classifier over the shared tiny task (no training: ~10 s)."""
    from trainer.config import AlbertConfig
    from trainer.tasks import build_model
    from trainer.training_config import TrainingConfig

    task = tiny_task.tiny_task()
    albert_config = AlbertConfig.from_json_file(tiny_task.albert_config_file(os.path.join(root, "config"),
                                                                           task.vocab_size))
    model = build_model(TrainingConfig(num_classes=len(tiny_task.LABELS), max_seq_length=tiny_task.MAX_SEQ_LENGTH),
                        albert_config)
    return export_lib.export_classifier(model, task.transform_dir, os.path.join(root, "export"),
                                        text_features=[tiny_task.TEXT_FEATURE], model_name=model_name)


@functools.lru_cache(maxsize=None)
def tiny_export() -> str:
    """One untrained export per test process (read-only for the tests: copy it before changing it)."""
    root = tempfile.mkdtemp(prefix="albert-tfx-tiny-export-")
    atexit.register(shutil.rmtree, root, True)
    return build_untrained_export(root)


@dataclasses.dataclass(frozen=True)
class TinyExports:
    root: str
    dirs: Dict[int, str]  # version -> export directory
    label_names: Tuple[str, ...]
    text_feature: str


@functools.lru_cache(maxsize=None)
def tiny_exports() -> TinyExports:
    """Two exports (~20 s): untrained tiny classifiers whose head bias makes v1 answer label id 0, v2 label id 1."""
    import keras

    from trainer.config import AlbertConfig
    from trainer.tasks import build_model
    from trainer.training_config import TrainingConfig

    task = tiny_task.tiny_task()
    root = tempfile.mkdtemp(prefix="albert-tfx-grpc-")
    atexit.register(shutil.rmtree, root, True)
    albert_config = AlbertConfig.from_json_file(tiny_task.albert_config_file(os.path.join(root, "config"), task.vocab_size))
    dirs = {}
    for version, bias in ((1, [2.0, -2.0]), (2, [-2.0, 2.0])):
        keras.utils.set_random_seed(version)
        model = build_model(TrainingConfig(num_classes=len(tiny_task.LABELS), max_seq_length=tiny_task.MAX_SEQ_LENGTH),
                            albert_config)
        model.classification_head.dense.bias.assign(bias)
        dirs[version] = export_lib.export_classifier(
            model, task.transform_dir, os.path.join(root, "exports", str(version)),
            text_features=[tiny_task.TEXT_FEATURE], vocabulary_path=task.spm_model, preset="tiny")
    label_names = contract.read_metadata(dirs[1]).label_names
    return TinyExports(root, dirs, label_names, tiny_task.TEXT_FEATURE)


def push(export_dir: str, model_base: str, version: int) -> str:
    """Lays out `<model_base>/<version>/` as a push does: a hidden copy, then one rename."""
    os.makedirs(model_base, exist_ok=True)
    staging = os.path.join(model_base, f".staging-{version}")
    shutil.copytree(export_dir, staging)
    target = os.path.join(model_base, str(version))
    os.rename(staging, target)
    return target


@functools.lru_cache(maxsize=None)
def _loaded(export_dir: str):
    import tensorflow_text  # noqa: F401  (SentencePiece ops)

    return tf.saved_model.load(export_dir)


def in_process(export_dir: str, signature: str, **inputs) -> Dict[str, np.ndarray]:
    """What the SavedModel answers when called in this process (the reference for everything served)."""
    outputs = _loaded(export_dir).signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
    return {k: v.numpy() for k, v in outputs.items()}


def start_server(model_base: str, **options) -> LocalModelServer:
    options.setdefault("port", 0)
    options.setdefault("poll_interval_s", 0.2)
    return LocalModelServer(ServerConfig.for_base_path(model_base, MODEL, **options)).start()


def wait_for(condition, timeout_s: float = 90.0, what: str = "condition"):
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def string_tensor(values):
    return tf.make_tensor_proto([v.encode() if isinstance(v, str) else v for v in values], dtype=tf.string)


MADE_UP_OP = "AlbertTfxMadeUpOp"


def replace_op_type(export_dir: str, old: str, new: str) -> list:
    """Renames op type `old` to `new` in every graph and library function of saved_model.pb; returns the names
    of the functions changed."""
    path = os.path.join(export_dir, contract.SAVED_MODEL_FILE)
    proto = saved_model_pb2.SavedModel()
    with open(path, "rb") as handle:
        proto.ParseFromString(handle.read())
    changed = []
    for meta_graph in proto.meta_graphs:
        for function in meta_graph.graph_def.library.function:
            for node in function.node_def:
                if node.op == old:
                    node.op = new
                    changed.append(function.signature.name)
    assert changed, f"no {old} op in {export_dir}"
    with open(path, "wb") as handle:
        handle.write(proto.SerializeToString())
    return sorted(set(changed))
