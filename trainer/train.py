"""`train()`: one preemption-safe training run of any task (pretrain, classify, qa) under any strategy.

Outputs under `config.model_dir`:
  checkpoints/        model + optimizer state every `checkpoint_every_steps` (resumed automatically; in
                      `train`'s resume_dir instead when one is given, with the best weights' files)
  logs/               TensorBoard: losses, accuracies (MLM/SOP, classification, answer positions), learning rate,
                      examples/s
  metrics.json        final step, metrics, wall time, throughput, and the run's budget (`TRAINING_SUMMARY_KEYS`:
                      planned and run steps, epochs, early stopping, the checkpoint kept)
  progress.json       the current step and examples/s, every `log_every_steps`
  best_weights.npz     with `select_best_metric`: the weights of the best evaluation so far, and best_weights.json
                      (metric, value, step); final/ then holds these weights rather than the last ones
  final/              albert_config.json + model.weights.h5 (+ conversion.json): warm-start and export input

With `epochs` (or balanced class weights), the train split's labels are counted first (`fit_to_data`) and
the steps, checkpoint and evaluation intervals follow from them. With eval files, every evaluation can
keep the best weights (`select_best_metric`) and stop early (`early_stopping_patience`); with
`weight_average_decay`, the evaluations score, and final/ holds, a moving average of the weights. A NaN, infinite or
runaway loss stops the run with `TrainingDiverged` (trainer/callbacks.py: `DivergenceGuard`).
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

from text_contract import storage
from text_contract.storage import write_json
from trainer import input_pipeline
from trainer.callbacks import BestWeights, DivergenceGuard, PreemptionCheckpoint, TrainingLogger, WeightAverage
from trainer.callbacks import TrainingDiverged  # noqa: F401  (train() raises it; callers catch it from here)
from trainer.checkpoints.convert import save_model_directory
from trainer.config import AlbertConfig, ConfigError
from trainer.optimization import create_optimizer
from trainer.strategy import create_strategy, device_kind, is_chief
from trainer.tasks import build_model, compile_model, resolve_albert_config
from trainer.training_config import QA_TASK, TrainingConfig

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
LOG_DIR = "logs"
METRICS_FILE = "metrics.json"
PROGRESS_FILE = "progress.json"
FINAL_DIR = "final"
BEST_WEIGHTS_FILE = "best_weights.npz"  # its record: best_weights.json
# What a run's budget came to, in metrics.json, `TrainResult.summary` and the classifier export's metadata:
# planned_steps, final_step (where it ended), epochs (passes over the labelled train examples it made),
# train_examples, eval_every_steps, stopped_early, selected (the best evaluation's metric, mode, value, step,
# whose weights final/ holds; None: the last step's).
TRAINING_SUMMARY_KEYS = ("planned_steps", "final_step", "epochs", "train_examples", "eval_every_steps",
                         "stopped_early", "selected")


@dataclasses.dataclass
class TrainResult:
    model: keras.Model
    albert_config: AlbertConfig
    final_step: int
    resumed_from_step: int
    history: dict
    # With `select_best_metric`: {"metric", "mode", "value", "step"} of the restored weights; else None.
    best: Optional[dict] = None
    config: Optional[TrainingConfig] = None  # the run's config, fitted to the data (`fit_to_data`)
    summary: dict = dataclasses.field(default_factory=dict)  # TRAINING_SUMMARY_KEYS
    stopped_early: bool = False


def resolve_precision(config: TrainingConfig, strategy: tf.distribute.Strategy) -> str:
    if config.precision != "auto":
        return config.precision
    return {"tpu": "mixed_bfloat16", "gpu": "mixed_float16"}.get(device_kind(strategy), "float32")


def _task_id(strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(resolver.task_id or 0) if resolver is not None and resolver.task_type else 0


def fit_to_data(config: TrainingConfig, train_files: Union[str, Sequence[str]]) -> TrainingConfig:
    """`config` with the train split's label counts when it needs them (`epochs`, balanced class weights):
    one pass over the labels of `train_files`. Every worker counts the same files, so all agree."""
    if not config.needs_label_counts:
        return config
    # With windows (max_windows_per_document) the examples counted are the windows: what a step's batch holds.
    counts = input_pipeline.label_counts(train_files, config.num_classes, config.max_windows_per_document)
    fitted = config.with_label_counts(counts)
    if config.epochs is not None:
        logger.info("%d labelled train examples %s: %g epochs of batch %d -> %d steps (checkpoints every %d, "
                    "evaluations every %d)", fitted.train_examples, counts, config.epochs, config.global_batch_size,
                    fitted.train_steps, fitted.checkpoint_every_steps, fitted.evaluation_interval)
    return fitted


def train(
    config: TrainingConfig,
    train_files: Union[str, Sequence[str]],
    eval_files: Union[str, Sequence[str], None] = None,
    strategy: Optional[tf.distribute.Strategy] = None,
    resume_dir: Optional[str] = None,
) -> TrainResult:
    """Trains `config.task` on `train_files`, resuming from the newest checkpoint in `resume_dir`.

    `resume_dir`: where what a restart resumes from lives (checkpoints/, best_weights.npz and .json);
    None: `config.model_dir`. A pipeline's Trainer names a directory its re-executions share (trainer/run_fn.py),
    since each TFX execution gets a model_dir of its own. Raises `TrainingDiverged` when the loss becomes
    NaN/inf or runs away (the checkpoints stay). Both directories may be remote (gs://, s3://): everything in
    them is written through tf.io.gfile."""
    storage.register_filesystem(config.model_dir)
    storage.register_filesystem(resume_dir)
    config = fit_to_data(config, train_files)
    strategy = strategy or create_strategy(config.strategy, config.num_cpu_devices, config.tpu_address)
    keras.utils.set_random_seed(config.seed)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(resolve_precision(config, strategy))
    try:
        return _train(config, train_files, eval_files, strategy, resume_dir or config.model_dir)
    finally:
        keras.config.set_dtype_policy(previous_policy)


def _train(config, train_files, eval_files, strategy, resume_dir: str) -> TrainResult:
    albert_config = resolve_albert_config(config)
    chief = is_chief(strategy)
    with strategy.scope():
        model = build_model(config, albert_config)
        compile_model(model, config, create_optimizer(config))
        # Slots must exist before a checkpoint restore can fill them.
        model.optimizer.build(model.trainable_variables)
        average = WeightAverage(config.weight_average_decay) if config.weight_average_decay else None
        average_state = {"weight_average": average.attach(model)} if average else {}

    interval = config.checkpoint_every_steps
    checkpoints = PreemptionCheckpoint(
        os.path.join(resume_dir, CHECKPOINT_DIR), interval, config.keep_checkpoints, chief, _task_id(strategy)
    )
    initial_step = checkpoints.attach(model, **average_state)
    if initial_step:
        print(f"resuming from the checkpoint at step {initial_step} of {config.train_steps} in {checkpoints.directory}",
              file=sys.stderr)

    datasets = _datasets(config, albert_config, train_files, eval_files, initial_step)
    log_dir = os.path.join(config.model_dir, LOG_DIR) if chief else os.path.join(config.model_dir, f".logs-worker-{_task_id(strategy)}")
    training_logger = TrainingLogger(
        log_dir,
        config.global_batch_size,
        config.log_every_steps,
        initial_step,
        os.path.join(config.model_dir, METRICS_FILE) if chief else None,
        os.path.join(config.model_dir, PROGRESS_FILE) if chief else None,
    )
    callbacks = [
        # First: a diverged step raises before any other callback records it.
        DivergenceGuard(initial_step, config.warmup_steps, config.divergence_factor, _divergence_advice(config)),
        checkpoints,
        training_logger,
        keras.callbacks.TensorBoard(log_dir=log_dir, update_freq=config.log_every_steps),
    ]
    if average:
        callbacks.insert(1, average)  # after the guard: a diverged step never enters the averages
    best = None
    if config.select_best_metric:
        if "eval" not in datasets:
            raise ConfigError(f"TrainingConfig.select_best_metric={config.select_best_metric!r} needs eval files"
                              + (" and eval_steps > 0" if config.task == "pretrain" else ""))
        best_dir = resume_dir if chief else os.path.join(resume_dir, f".best-worker-{_task_id(strategy)}")
        best = BestWeights(config.select_best_metric, config.select_best_mode,
                           os.path.join(best_dir, BEST_WEIGHTS_FILE), interval, config.evaluation_interval,
                           config.early_stopping_patience, average.evaluated_weights if average else None)
        # After the checkpoint: an early stop still leaves this interval's one.
        callbacks.insert(callbacks.index(checkpoints) + 1, best)
    model.build_for_fit(datasets["train"].element_spec, strategy)
    history = {}
    # A resumed run whose evaluations had already run out of patience stops where the interrupted one did.
    stopped_before = best is not None and initial_step < config.train_steps and best.exhausted(initial_step)
    final_step = initial_step
    if initial_step < config.train_steps and not stopped_before:
        fitted = model.fit(
            datasets["train"],
            epochs=config.num_checkpoint_intervals,
            initial_epoch=initial_step // interval,
            steps_per_epoch=interval,
            validation_data=datasets.get("eval"),
            validation_steps=config.eval_steps or None,
            validation_freq=config.evaluation_interval // interval,
            callbacks=callbacks,
            verbose=1 if sys.stderr.isatty() else 2,
        )
        history = fitted.history
        final_step = training_logger.step
    else:
        print(f"training already complete at step {initial_step}"
              + (" (stopped early)" if stopped_before else ""), file=sys.stderr)
    stopped_early = stopped_before or (best is not None and best.stopped_at_step is not None)
    if stopped_early:
        print(f"stopped early at step {final_step} of {config.train_steps}: {config.early_stopping_patience} "
              f"evaluations without a better {config.select_best_metric}", file=sys.stderr)

    selected = best.restore(model) if best is not None else None
    if average and not selected:
        average.apply()  # no evaluation chose weights: export the averages, as the evaluations would score
    if selected:
        print(f"restored the best weights: {selected['metric']}={selected['value']:.4f} at step {selected['step']}",
              file=sys.stderr)
    summary = _summary(config, final_step, stopped_early, selected, "eval" in datasets)
    if chief:
        _write_summary(os.path.join(config.model_dir, METRICS_FILE), summary)
        if best is not None and resume_dir != config.model_dir and storage.exists(best.weights_path):
            # The best evaluation's record and weights stay in model_dir too, as in a run without a resume_dir.
            for path in (best.weights_path, best.record_path):
                storage.write_bytes(os.path.join(config.model_dir, os.path.basename(path)), storage.read_bytes(path))
        save_model_directory(
            model,
            os.path.join(config.model_dir, FINAL_DIR),
            {"task": config.task, "train_steps": config.train_steps, "training_config": config.to_dict(),
             "selected": selected, "training": summary},
            overwrite=True,
        )
    return TrainResult(model, albert_config, final_step, initial_step, history, selected, config, summary,
                       stopped_early)


def _divergence_advice(config: TrainingConfig) -> str:
    return (f"Lower the learning rate (learning_rate={config.learning_rate:g}; training.learning_rate in a "
            f"pipeline config), lengthen the warmup (warmup_steps={config.warmup_steps}; training.warmup_fraction) "
            f"or keep gradient clipping on (clip_norm={config.clip_norm:g}).")


def _summary(config: TrainingConfig, final_step: int, stopped_early: bool, selected: Optional[dict],
             evaluated: bool) -> dict:
    examples = config.train_examples
    return {
        "planned_steps": config.train_steps,
        "final_step": final_step,
        "epochs": round(final_step * config.global_batch_size / examples, 3) if examples else None,
        "train_examples": examples,
        "eval_every_steps": config.evaluation_interval if evaluated else None,
        "stopped_early": stopped_early,
        "selected": selected,
    }


def _write_summary(path: str, summary: dict) -> None:
    """Adds the budget summary to metrics.json (TrainingLogger's; kept from the earlier run when this one
    had nothing left to train)."""
    metrics = storage.read_json(path) if storage.exists(path) else {}
    write_json(path, {**metrics, **summary})


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
    if config.task == QA_TASK:
        # Evaluations score the eval windows (loss, start/end position accuracy); answer-level SQuAD scores
        # (exact match, F1 over the text) need the windows joined back per question, outside the trainer.
        datasets = {"train": input_pipeline.qa_dataset(train_files, config.global_batch_size, config.max_seq_length,
                                                       seed=config.seed, skip_batches=initial_step,
                                                       max_windows=config.qa_max_windows)}
        if eval_files:
            datasets["eval"] = input_pipeline.qa_dataset(eval_files, config.global_batch_size, config.max_seq_length,
                                                         shuffle=False, repeat=False, max_windows=config.qa_max_windows)
        return datasets
    datasets = {
        "train": input_pipeline.classification_dataset(
            train_files, config.global_batch_size, config.max_seq_length, seed=config.seed, skip_batches=initial_step,
            class_weights=config.class_weight_values(), max_windows=config.max_windows_per_document,
        )
    }
    if eval_files:
        # With windows, evaluations score windows (each with its document's label); the export's pooled answer
        # per document is what the pipeline's Evaluator scores.
        datasets["eval"] = input_pipeline.classification_dataset(
            eval_files, config.global_batch_size, config.max_seq_length, shuffle=False, repeat=False,
            max_windows=config.max_windows_per_document,
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
    storage.register_filesystem(args.config)
    config = TrainingConfig.from_json(storage.read_bytes(args.config).decode("utf-8"), source=args.config)
    result = train(config, args.train, args.eval)
    print(json.dumps({"final_step": result.final_step, "resumed_from_step": result.resumed_from_step}))
    return storage.finish_process(0)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main())
