"""The training tasks (pretrain, classify, qa): which model, which losses and metrics, and how warm starts load
weights."""

from __future__ import annotations

import os

import keras

from trainer.checkpoints import load_converted
from trainer.checkpoints.convert import CONFIG_FILE
from trainer.classifier import AlbertClassifier
from trainer.config import AlbertConfig, ConfigError
from trainer.encoder import AlbertEncoder
from trainer.losses import SparseSoftmaxCrossEntropy
from trainer.metrics import MacroF1, SparseAccuracy
from trainer.presets import get_preset
from trainer.pretrainer import AlbertPretrainer
from trainer.question_answering import END_LOGITS, START_LOGITS, AlbertQuestionAnswerer
from trainer.training_config import QA_TASK, TrainingConfig


def resolve_albert_config(config: TrainingConfig) -> AlbertConfig:
    """The encoder shape: a warm start's own config wins, then `albert_config_path`, then the preset."""
    if config.warm_start_path:
        albert_config = AlbertConfig.from_json_file(os.path.join(config.warm_start_path, CONFIG_FILE))
    elif config.albert_config_path:
        albert_config = AlbertConfig.from_json_file(config.albert_config_path)
    else:
        albert_config = get_preset(config.preset)
    if config.max_seq_length > albert_config.max_position_embeddings:
        raise ConfigError(
            f"TrainingConfig.max_seq_length={config.max_seq_length} exceeds the encoder's "
            f"max_position_embeddings={albert_config.max_position_embeddings}"
        )
    return albert_config


def build_model(config: TrainingConfig, albert_config: AlbertConfig) -> keras.Model:
    encoder = AlbertEncoder.from_albert_config(albert_config)
    if config.task == "pretrain":
        model = AlbertPretrainer(encoder)
    elif config.task == QA_TASK:
        model = AlbertQuestionAnswerer(encoder, with_no_answer=config.qa_with_no_answer)
    else:
        model = AlbertClassifier(encoder, config.num_classes, dropout=config.classifier_dropout,
                                 pooling=config.classifier_pooling)
    if config.warm_start_path:
        warm_start(model, config.warm_start_path)
    return model


def warm_start(model: keras.Model, path: str) -> None:
    """Loads the encoder (and, pretraining on pretraining, the heads too) from a `convert`/pretraining output."""
    source = load_converted(path)
    source_encoder = source if isinstance(source, AlbertEncoder) else source.encoder
    if isinstance(model, AlbertPretrainer) and isinstance(source, AlbertPretrainer):
        model.set_weights(source.get_weights())
    else:
        model.encoder.set_weights(source_encoder.get_weights())


def compile_model(model: keras.Model, config: TrainingConfig, optimizer: keras.optimizers.Optimizer) -> None:
    # Our loss and accuracy, not Keras' SparseCategorical* ones: same values, less CPU time over the MLM
    # decoder's vocabulary-wide logits (see trainer/losses.py and trainer/metrics.py).
    if config.task == "pretrain":
        model.compile(
            optimizer=optimizer,
            # ALBERT's MLM loss averages over the real predictions only (masked_lm_weights), not the padding.
            loss={"mlm_logits": SparseSoftmaxCrossEntropy(reduction="mean_with_sample_weight"),
                  "sop_logits": SparseSoftmaxCrossEntropy()},
            weighted_metrics={"mlm_logits": [SparseAccuracy()], "sop_logits": [SparseAccuracy()]},
            jit_compile=config.xla,
        )
    elif config.task == QA_TASK:
        # BERT's SQuAD loss: the mean of the start and the end positions' cross-entropies over the window's
        # positions (Keras sums the weighted output losses). `no_answer_score`, when there, is derived from the
        # same logits and has no loss of its own. Logs: start_logits_accuracy, end_logits_accuracy.
        model.compile(
            optimizer=optimizer,
            loss={START_LOGITS: SparseSoftmaxCrossEntropy(), END_LOGITS: SparseSoftmaxCrossEntropy()},
            loss_weights={START_LOGITS: 0.5, END_LOGITS: 0.5},
            metrics={START_LOGITS: [SparseAccuracy()], END_LOGITS: [SparseAccuracy()]},
            jit_compile=config.xla,
        )
    else:
        model.compile(
            optimizer=optimizer,
            loss={"logits": SparseSoftmaxCrossEntropy()},
            metrics={"logits": [SparseAccuracy(), MacroF1(config.num_classes)]},
            jit_compile=config.xla,
        )
