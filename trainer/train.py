"""`train()`: one preemption-safe training run of either task under any strategy.

Outputs under `config.model_dir`:
  checkpoints/        model + optimizer state every `checkpoint_every_steps` (resumed automatically)
  logs/               TensorBoard: losses, MLM/SOP or classification accuracy, learning rate, examples/s
  metrics.json        final step, metrics, wall time, throughput
  progress.json       the current step and examples/s, every `log_every_steps`
  best_weights.npz     with `select_best_metric`: the weights of the best evaluation so far, and best_weights.json
                      (metric, value, step); final/ then holds these weights rather than the last ones
  final/              albert_config.json + model.weights.h5 (+ conversion.json): warm-start and export input
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from typing import Optional, Sequence, Union

import keras
import tensorflow as tf

from trainer import input_pipeline
from trainer.callbacks import BestWeights, PreemptionCheckpoint, TrainingLogger
from trainer.checkpoints.convert import save_model_directory
from trainer.config import AlbertConfig, ConfigError
from trainer.optimization import create_optimizer
from trainer.strategy import create_strategy, device_kind, is_chief
from trainer.tasks import build_model, compile_model, resolve_albert_config
from trainer.training_config import TrainingConfig

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
LOG_DIR = "logs"
METRICS_FILE = "metrics.json"
PROGRESS_FILE = "progress.json"
FINAL_DIR = "final"
BEST_WEIGHTS_FILE = "best_weights.npz"  # its record: best_weights.json


@dataclasses.dataclass
class TrainResult:
    model: keras.Model
    albert_config: AlbertConfig
    final_step: int
    resumed_from_step: int
    history: dict
    # With `select_best_metric`: {"metric", "mode", "value", "step"} of the restored weights; else None.
    best: Optional[dict] = None


def resolve_precision(config: TrainingConfig, strategy: tf.distribute.Strategy) -> str:
    if config.precision != "auto":
        return config.precision
    return {"tpu": "mixed_bfloat16", "gpu": "mixed_float16"}.get(device_kind(strategy), "float32")


def _task_id(strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(resolver.task_id or 0) if resolver is not None and resolver.task_type else 0


def train(
    config: TrainingConfig,
    train_files: Union[str, Sequence[str]],
    eval_files: Union[str, Sequence[str], None] = None,
    strategy: Optional[tf.distribute.Strategy] = None,
) -> TrainResult:
    """Trains `config.task` on `train_files`, resuming from the newest checkpoint in `config.model_dir`."""
    strategy = strategy or create_strategy(config.strategy, config.num_cpu_devices, config.tpu_address)
    keras.utils.set_random_seed(config.seed)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(resolve_precision(config, strategy))
    try:
        return _train(config, train_files, eval_files, strategy)
    finally:
        keras.config.set_dtype_policy(previous_policy)


def _train(config, train_files, eval_files, strategy) -> TrainResult:
    albert_config = resolve_albert_config(config)
    chief = is_chief(strategy)
    with strategy.scope():
        model = build_model(config, albert_config)
        compile_model(model, config, create_optimizer(config))
        # Slots must exist before a checkpoint restore can fill them.
        model.optimizer.build(model.trainable_variables)

    interval = config.checkpoint_every_steps
    checkpoints = PreemptionCheckpoint(
        os.path.join(config.model_dir, CHECKPOINT_DIR), interval, config.keep_checkpoints, chief, _task_id(strategy)
    )
    initial_step = checkpoints.attach(model)
    if initial_step:
        print(f"resuming from the checkpoint at step {initial_step} of {config.train_steps}", file=sys.stderr)

    datasets = _datasets(config, albert_config, train_files, eval_files, initial_step)
    log_dir = os.path.join(config.model_dir, LOG_DIR) if chief else os.path.join(config.model_dir, f".logs-worker-{_task_id(strategy)}")
    callbacks = [
        checkpoints,
        TrainingLogger(
            log_dir,
            config.global_batch_size,
            config.log_every_steps,
            initial_step,
            os.path.join(config.model_dir, METRICS_FILE) if chief else None,
            os.path.join(config.model_dir, PROGRESS_FILE) if chief else None,
        ),
        keras.callbacks.TensorBoard(log_dir=log_dir, update_freq=config.log_every_steps),
    ]
    best = None
    if config.select_best_metric:
        if "eval" not in datasets:
            raise ConfigError(f"TrainingConfig.select_best_metric={config.select_best_metric!r} needs eval files"
                              + (" and eval_steps > 0" if config.task == "pretrain" else ""))
        best_dir = config.model_dir if chief else os.path.join(config.model_dir, f".best-worker-{_task_id(strategy)}")
        best = BestWeights(config.select_best_metric, config.select_best_mode,
                           os.path.join(best_dir, BEST_WEIGHTS_FILE), interval)
        callbacks.insert(1, best)
    model.build_for_fit(datasets["train"].element_spec, strategy)
    history = {}
    if initial_step < config.train_steps:
        fitted = model.fit(
            datasets["train"],
            epochs=config.num_checkpoint_intervals,
            initial_epoch=initial_step // interval,
            steps_per_epoch=interval,
            validation_data=datasets.get("eval"),
            validation_steps=config.eval_steps or None,
            callbacks=callbacks,
            verbose=1 if sys.stderr.isatty() else 2,
        )
        history = fitted.history
    else:
        print(f"training already complete at step {initial_step}", file=sys.stderr)

    selected = best.restore(model) if best is not None else None
    if selected:
        print(f"restored the best weights: {selected['metric']}={selected['value']:.4f} at step {selected['step']}",
              file=sys.stderr)
    if chief:
        save_model_directory(
            model,
            os.path.join(config.model_dir, FINAL_DIR),
            {"task": config.task, "train_steps": config.train_steps, "training_config": config.to_dict(),
             "selected": selected},
            overwrite=True,
        )
    return TrainResult(model, albert_config, config.train_steps, initial_step, history, selected)


def _datasets(config: TrainingConfig, albert_config: AlbertConfig, train_files, eval_files, initial_step: int):
    if config.task == "pretrain":
        make = lambda files, shuffle, skip: input_pipeline.pretraining_dataset(  # noqa: E731
            files, config.global_batch_size, config.max_seq_length, config.max_predictions_per_seq,
            shuffle=shuffle, seed=config.seed, skip_batches=skip,
            dynamic_masking_vocab_size=albert_config.vocab_size if config.dynamic_masking else None,
        )
        datasets = {"train": make(train_files, True, initial_step)}
        if eval_files and config.eval_steps:
            datasets["eval"] = make(eval_files, False, 0)
        return datasets
    datasets = {
        "train": input_pipeline.classification_dataset(
            train_files, config.global_batch_size, config.max_seq_length, seed=config.seed, skip_batches=initial_step
        )
    }
    if eval_files:
        datasets["eval"] = input_pipeline.classification_dataset(
            eval_files, config.global_batch_size, config.max_seq_length, shuffle=False, repeat=False
        )
    return datasets


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Plain entry for use outside TFX: `python -m trainer.train --config run.json --train 'data/*.gz'`."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m trainer.train", description=main.__doc__)
    parser.add_argument("--config", required=True, help="TrainingConfig as a JSON file")
    parser.add_argument("--train", required=True, nargs="+", help="training TFRecord file patterns")
    parser.add_argument("--eval", nargs="*", help="evaluation TFRecord file patterns")
    args = parser.parse_args(argv)
    with open(args.config, encoding="utf-8") as handle:
        config = TrainingConfig.from_json(handle.read(), source=args.config)
    result = train(config, args.train, args.eval)
    print(json.dumps({"final_step": result.final_step, "resumed_from_step": result.resumed_from_step}))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main())
