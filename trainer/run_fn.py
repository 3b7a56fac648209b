"""`run_fn(fn_args)`: the TFX Trainer's entry point (GenericExecutor), for both tasks.

The Trainer's `custom_config` (a JSON-able dict):

    {
      "training_config": {...},                   # TrainingConfig fields (TRAINING_CONFIG_KEY); model_dir is set here
      "text_features": ["sentence"],              # the raw text feature(s) the Transform read (classify)
      "sentencepiece_model_path": ".../spm.model",  # optional: vocabulary hash in the export metadata, and the
                                                  #   vocab_size of a fresh (not warm-started) encoder
      "model_name": "albert",                     # optional, recorded in the export metadata
      "warm_start_from_served": ".../serving_model/albert",  # optional: continue from the newest served
                                                  #   version when it used this run's vocabulary
      "pipeline_root": ".../pipeline_root",       # optional: where the checkpoints live (below)
    }

`text_features` and `sentencepiece_model_path` use the Transform module's keys, so a pipeline can hand the
Trainer the Transform's own custom_config plus `training_config`.

What comes from TFX rather than the config:
- `model_dir` = `fn_args.model_run_dir` (TensorBoard logs, progress.json, metrics.json, best_weights.*, final/);
- the checkpoints (and the best evaluation's weights and record, all that a restart resumes from) go to
  `<pipeline_root>/training_checkpoints/<task>-<fingerprint>/` (`resume_dir`), keyed by everything that decides
  the result (`work_fingerprint`): each TFX execution has a model_run_dir of its own, so an execution killed
  (kill -9, a preempted Kubeflow pod, an Airflow task retried) and started again would not find them there.
  A re-execution of the same work resumes from the newest one, optimizer state and data position included;
  the directory is removed once the model is exported. Without `pipeline_root`: in model_dir, as `train` does;
- `train_steps` / `eval_steps` from the Trainer's TrainArgs/EvalArgs when they are set (a fixed budget: it
  replaces the config's `epochs`; the checkpoint interval shrinks to the largest divisor of train_steps, or
  of eval_every_steps, that does not exceed it). Without TrainArgs.num_steps, a config with `epochs` gets its
  steps from the data: `train` counts the train split's labelled examples first (`trainer.train.fit_to_data`);
- classify: `max_seq_length` and `num_classes` from the Transform output (the token_ids length and the size
  of the `LABEL_VOCABULARY` vocabulary); a training_config that names a different value is an error;
- `warm_start_path` = `fn_args.base_model` (a pretraining Trainer's model) when the config names none;
  otherwise, with `warm_start_from_served`, the newest served model's encoder (trainer/served_warm_start.py);
- the vocabulary: `sentencepiece_model_path`, or else the copy the pipeline's VocabTransform leaves in the
  transform graph directory (`text_contract.features.TRANSFORM_VOCABULARY_FILE`).

qa (issue 15): trains on the Transform's per-question windows (Transform custom_config task "qa";
max_seq_length and qa_max_windows from its token_ids, [max_windows, max_seq_length]; a step budget: train_steps
or TrainArgs, never epochs), then exports through serving/qa_export.py (`_export_qa`; NotImplementedError without
that module) with the Transform's tokenizer and window settings: VocabTransform's record of its custom_config
in the transform graph (`features.TRANSFORM_OPTIONS_FILE`), else the Trainer's custom_config.

classify: trains on the Transform's examples (gzipped TFRecords), then exports through `serving.export`
into `fn_args.serving_model_dir` (the SavedModel of `serving/contract.py`). A Transform of document windows
(long_text "windows": token_ids [max_windows, max_seq_length]) trains on each window with its document's label
(training_config max_windows_per_document, from the Transform output) and exports with the Transform's
window_pooling (`classify_window_pooling`). pretrain: trains on
PretrainingDataGen's examples and copies `final/` (albert_config.json + weights) to `serving_model_dir`,
the artifact a classify Trainer warm-starts from (wire it as that Trainer's `base_model`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
from typing import Any, Dict, Mapping, Optional, Tuple

import tensorflow as tf

from text_contract import storage, vocabulary
from text_contract.features import (PRETRAINING_SUMMARY_FILE, TOKEN_IDS, TRANSFORM_OPTIONS_FILE,
                                    TRANSFORM_VOCABULARY_FILE)
from text_contract.transform_options import (CLASSIFY_TASK, DEFAULT_WINDOW_POOLING, LONG_TEXT_KEY, LONG_TEXT_WINDOWS,
                                             SENTENCEPIECE_MODEL_PATH_KEY, TASK_KEY, TEXT_FEATURES_KEY,
                                             TransformOptions)
from trainer import input_pipeline
from trainer.checkpoints.convert import CONFIG_FILE
from trainer.config import ConfigError
from trainer.presets import get_preset
from trainer.strategy import create_strategy, is_chief
from trainer.train import FINAL_DIR, train
from trainer.training_config import QA_TASK, TrainingConfig, fixed_schedule

logger = logging.getLogger(__name__)

TRAINING_CONFIG_KEY = "training_config"
# The export metadata's record of the training budget (trainer.train.TRAINING_SUMMARY_KEYS), for run summaries.
TRAINING_SUMMARY_KEY = "training"
MODEL_NAME_KEY = "model_name"
WARM_START_FROM_SERVED_KEY = "warm_start_from_served"
# Dropout (hidden and attention) of a fresh encoder: the released shapes have none, which suits
# pretraining on big corpora; fine-tuning from scratch on a small set overfits without it.
ENCODER_DROPOUT_KEY = "encoder_dropout"
# The albert_config.json written into model_run_dir when the encoder's vocab_size follows the vocabulary.
RUN_ALBERT_CONFIG_FILE = "albert_config.json"
# The pipeline root, under which the checkpoints of unfinished training work live (`resume_dir`).
PIPELINE_ROOT_KEY = "pipeline_root"
RESUME_ROOT_DIR = "training_checkpoints"  # <pipeline root>/<this>/<task>-<work_fingerprint>/
# The export metadata's record of the step this Trainer resumed at (0: it trained from the start).
RESUMED_FROM_STEP_KEY = "resumed_from_step"


def _vocabulary_size(vocabulary_path: str) -> int:
    """Entries of the vocabulary file (a SentencePiece model or a WordPiece vocab.txt)."""
    with tf.io.gfile.GFile(vocabulary_path, "rb") as handle:
        return vocabulary.read_vocabulary(handle.read(), vocabulary_path).size


def _pretraining_vocabulary_size(train_files: Any) -> Optional[int]:
    """The vocabulary size PretrainingDataGen recorded in its summary (`<artifact>/summary.json`, beside the
    `Split-train/` directory the Trainer's train files are in); None when there is none (data made elsewhere)."""
    patterns = [train_files] if isinstance(train_files, str) else list(train_files or [])
    for pattern in patterns:
        summary_path = os.path.join(os.path.dirname(os.path.dirname(pattern)), PRETRAINING_SUMMARY_FILE)
        if tf.io.gfile.exists(summary_path):
            with tf.io.gfile.GFile(summary_path) as handle:
                vocab_size = (json.load(handle).get("config") or {}).get("vocab_size")
            if vocab_size:
                return int(vocab_size)
    return None


def training_config_from_fn_args(fn_args: Any, derived: Optional[Mapping[str, Any]] = None) -> TrainingConfig:
    """The TrainingConfig of this Trainer run: custom_config's, with what TFX and the data decide.

    `derived`: values read from the data (max_seq_length, num_classes); a config that names another value
    for one of them is an error, since the model would not match the data.
    """
    custom_config = dict(getattr(fn_args, "custom_config", None) or {})
    values = dict(custom_config.get(TRAINING_CONFIG_KEY) or {})
    for name, value in (derived or {}).items():
        if name in values and values[name] != value:
            raise ConfigError(
                f"custom_config[{TRAINING_CONFIG_KEY!r}][{name!r}]={values[name]!r}, but the Transform output "
                f"says {value!r}; leave it out to take the data's"
            )
        values[name] = value
    values["model_dir"] = fn_args.model_run_dir
    train_steps = getattr(fn_args, "train_steps", None)
    if train_steps:
        train_steps = int(train_steps)
        interval, eval_every = fixed_schedule(
            train_steps, int(values.get("checkpoint_every_steps", TrainingConfig.checkpoint_every_steps)),
            values.get("eval_every_steps"))
        values.update(train_steps=train_steps, epochs=None, max_train_steps=None, checkpoint_every_steps=interval,
                      eval_every_steps=eval_every)
        values["warmup_steps"] = min(int(values.get("warmup_steps", TrainingConfig.warmup_steps)), train_steps)
    eval_steps = getattr(fn_args, "eval_steps", None)
    if eval_steps:
        values["eval_steps"] = int(eval_steps)
    base_model = getattr(fn_args, "base_model", None)
    if base_model and not values.get("warm_start_path"):
        if not tf.io.gfile.exists(os.path.join(base_model, CONFIG_FILE)):
            raise ConfigError(f"fn_args.base_model={base_model!r} holds no {CONFIG_FILE}: not a pretraining "
                              "Trainer's output (nor an `albert-tfx convert` directory)")
        values["warm_start_path"] = base_model
    return TrainingConfig.from_dict(values, source=f"custom_config[{TRAINING_CONFIG_KEY!r}]")


def _file_list(patterns: Any) -> list:
    return [patterns] if isinstance(patterns, str) else list(patterns or [])


def work_fingerprint(fn_args: Any, custom_config: Mapping[str, Any], **decided: Any) -> str:
    """A hash of everything that decides what this Trainer's training produces: its input artifacts by URI (a TFX
    execution writes its outputs under a URI of its own; a step served from the cache, or a re-execution's
    inputs, hand on the same), the TrainArgs/EvalArgs steps, the custom_config (training config, text features,
    vocabulary, ...) and `decided`: what run_fn found elsewhere (the served version a warm start read). Not the
    execution's own directories (model_run_dir, serving_model_dir), which differ between two executions of the
    same work, nor the pipeline root the checkpoints are under."""
    work = {
        "custom_config": {key: value for key, value in custom_config.items() if key != PIPELINE_ROOT_KEY},
        "train_files": _file_list(fn_args.train_files),
        "eval_files": _file_list(getattr(fn_args, "eval_files", None)),
        "train_steps": getattr(fn_args, "train_steps", None),
        "eval_steps": getattr(fn_args, "eval_steps", None),
        "transform_output": getattr(fn_args, "transform_output", None),
        "base_model": getattr(fn_args, "base_model", None),
        **decided,
    }
    return hashlib.sha256(json.dumps(work, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:20]


def resume_dir(fn_args: Any, custom_config: Mapping[str, Any], task: str, **decided: Any) -> Optional[str]:
    """Where this training work keeps what a restart resumes from (module docstring); None without a pipeline root
    in custom_config (then `train` keeps it in model_dir)."""
    root = custom_config.get(PIPELINE_ROOT_KEY)
    if not root:
        return None
    return os.path.join(root, RESUME_ROOT_DIR, f"{task}-{work_fingerprint(fn_args, custom_config, **decided)}")


def _train_resumable(config: TrainingConfig, fn_args: Any, strategy, resume: Optional[str]):
    if resume:
        logger.info("checkpoints of this training work: %s (a re-execution resumes from them; removed once the "
                    "model is exported)", resume)
    return train(config, fn_args.train_files, fn_args.eval_files, strategy=strategy, resume_dir=resume)


def _remove_finished(resume: Optional[str]) -> None:
    """Removes the checkpoints of work whose model is exported: nothing will resume from them."""
    if resume and tf.io.gfile.exists(resume):
        tf.io.gfile.rmtree(resume)
        logger.info("removed the checkpoints of the finished training work %s", resume)


def _match_vocabulary(config: TrainingConfig, vocab_size: Optional[int], vocabulary_source: str = "the vocabulary",
                      encoder_dropout: Optional[float] = None) -> TrainingConfig:
    """A fresh encoder gets the vocabulary's size (and `encoder_dropout`); a given encoder (a warm start or
    `albert_config_path`) must have room for every piece."""
    fresh = not config.warm_start_path and not config.albert_config_path
    if fresh and (vocab_size or encoder_dropout is not None):
        albert_config = get_preset(config.preset)
        if vocab_size:
            albert_config = dataclasses.replace(albert_config, vocab_size=vocab_size)
        if encoder_dropout is not None:
            albert_config = dataclasses.replace(albert_config, hidden_dropout_prob=float(encoder_dropout),
                                                attention_probs_dropout_prob=float(encoder_dropout))
        path = os.path.join(config.model_dir, RUN_ALBERT_CONFIG_FILE)
        tf.io.gfile.makedirs(config.model_dir)
        albert_config.to_json_file(path)
        return config.replace(albert_config_path=path)
    if not vocab_size:
        return config
    from trainer.tasks import resolve_albert_config

    encoder_vocab_size = resolve_albert_config(config).vocab_size
    if vocab_size > encoder_vocab_size:
        raise ConfigError(f"{vocabulary_source} has {vocab_size} pieces but the encoder's vocab_size is "
                          f"{encoder_vocab_size} (warm_start_path / albert_config_path)")
    return config


def _preset_name(config: TrainingConfig) -> Optional[str]:
    """The preset the encoder's shape came from (the vocabulary size aside), or None for a given config."""
    if config.warm_start_path:
        return None
    if config.albert_config_path and config.albert_config_path != os.path.join(config.model_dir, RUN_ALBERT_CONFIG_FILE):
        return None
    return config.preset


def _check_transformed_spec(spec: Dict[str, Any], max_seq_length: int, max_windows: Optional[int] = None) -> None:
    """The trainer parses transformed examples with `classification_feature_spec`; it must be the Transform's."""
    expected = input_pipeline.classification_feature_spec(max_seq_length, max_windows)
    differing = {name: spec.get(name) for name in expected if spec.get(name) != expected[name]}
    if differing:
        raise ConfigError(f"the Transform's transformed features {differing} differ from what the trainer reads "
                          f"({ {n: expected[n] for n in differing} }); was the Transform run without a label?")


def qa_shape_from_transform(spec: Mapping[str, Any]) -> Tuple[int, int]:
    """Task qa: `(max_seq_length, max_windows)` of the Transform's per-question windows, read from its transformed
    feature spec (token_ids is FixedLen [W, L]), checked against what the trainer parses
    (`input_pipeline.qa_feature_spec(L, W)`); ConfigError saying what differs."""
    token_ids = spec.get(TOKEN_IDS)
    if not isinstance(token_ids, tf.io.FixedLenFeature) or len(token_ids.shape) != 2:
        raise ConfigError(f"task {QA_TASK} needs the Transform's per-question windows ({TOKEN_IDS!r} fixed-length "
                          f"[max_windows, max_seq_length]; Transform custom_config task {QA_TASK!r}), got "
                          f"{TOKEN_IDS!r}: {token_ids}")
    max_windows, max_seq_length = (int(n) for n in token_ids.shape)
    expected = input_pipeline.qa_feature_spec(max_seq_length, max_windows)
    differing = {name: spec.get(name) for name in expected if spec.get(name) != expected[name]}
    if differing:
        raise ConfigError(f"the Transform's transformed features {differing} differ from what the trainer reads for "
                          f"task {QA_TASK} ({ {n: expected[n] for n in differing} }); was the Transform run with "
                          f"task {QA_TASK!r} on the QA ExampleGen's examples?")
    return max_seq_length, max_windows


def run_fn(fn_args: Any) -> None:
    """TFX Trainer entry point; see the module docstring for what it reads and writes."""
    custom_config = dict(getattr(fn_args, "custom_config", None) or {})
    # Every path may be remote (a gs:// or s3:// pipeline root): all of it is read and written through
    # tf.io.gfile (text_contract.storage), which must know each path's file system in this process.
    for path in (fn_args.model_run_dir, fn_args.serving_model_dir, getattr(fn_args, "transform_output", None),
                 custom_config.get(WARM_START_FROM_SERVED_KEY), custom_config.get(SENTENCEPIECE_MODEL_PATH_KEY),
                 custom_config.get(PIPELINE_ROOT_KEY)):
        storage.register_filesystem(path)
    task = (custom_config.get(TRAINING_CONFIG_KEY) or {}).get("task", TrainingConfig.task)
    if task == "pretrain":
        _run_pretrain(fn_args, custom_config)
    elif task == QA_TASK:
        _run_qa(fn_args, custom_config)
    else:
        _run_classify(fn_args, custom_config)


def _vocabulary_path(custom_config: Dict[str, Any], transform_output: Optional[str]) -> Optional[str]:
    """The vocabulary the Transform used: named in custom_config, or left by VocabTransform in its output."""
    named = custom_config.get(SENTENCEPIECE_MODEL_PATH_KEY)
    if named:
        return named
    if transform_output:
        candidate = os.path.join(transform_output, TRANSFORM_VOCABULARY_FILE)
        if tf.io.gfile.exists(candidate):
            return candidate
    return None


def _strategy(config: TrainingConfig) -> tf.distribute.Strategy:
    return create_strategy(config.strategy, config.num_cpu_devices, config.tpu_address)


def _run_pretrain(fn_args: Any, custom_config: Dict[str, Any]) -> None:
    named = custom_config.get(SENTENCEPIECE_MODEL_PATH_KEY)
    vocab_size = _vocabulary_size(named) if named else _pretraining_vocabulary_size(fn_args.train_files)
    config = _match_vocabulary(training_config_from_fn_args(fn_args), vocab_size,
                               named or "the pretraining data's vocabulary")
    strategy = _strategy(config)
    resume = resume_dir(fn_args, custom_config, config.task)
    _train_resumable(config, fn_args, strategy, resume)
    if is_chief(strategy):
        storage.publish_copy(os.path.join(config.model_dir, FINAL_DIR), fn_args.serving_model_dir)
        logger.info("pretrained encoder and heads copied to %s", fn_args.serving_model_dir)
        _remove_finished(resume)


def _run_classify(fn_args: Any, custom_config: Dict[str, Any]) -> None:
    from serving import export, layout

    text_features = custom_config.get(TEXT_FEATURES_KEY)
    if not text_features:
        raise ConfigError(f"custom_config[{TEXT_FEATURES_KEY!r}] is required for task classify (the raw text "
                          "feature(s) the Transform reads)")
    text_features = [text_features] if isinstance(text_features, str) else list(text_features)
    if fn_args.transform_output is None:
        raise ConfigError("task classify needs the Transform output (wire the Trainer's transform_graph)")
    tf_transform_output = export.transform_output(fn_args.transform_output)
    labels = export.label_names_from_transform(tf_transform_output)
    max_seq_length, max_windows = export.sequence_layout_from_transform(tf_transform_output)
    _check_transformed_spec(tf_transform_output.transformed_feature_spec(), max_seq_length, max_windows)
    derived = {"max_seq_length": max_seq_length, "num_classes": len(labels)}
    window_pooling = None
    if max_windows is not None:  # long_text "windows": documents of windows, their logits pooled when served
        derived["max_windows_per_document"] = max_windows
        window_pooling = classify_window_pooling(custom_config, fn_args.transform_output, max_seq_length, max_windows)

    vocabulary_path = _vocabulary_path(custom_config, fn_args.transform_output)
    config = training_config_from_fn_args(fn_args, derived)
    served = custom_config.get(WARM_START_FROM_SERVED_KEY)
    warm_started_from = config.warm_start_path
    if served and not config.warm_start_path:
        from trainer import served_warm_start

        # Every worker reads the served model itself (each builds its own copy of the model), into a
        # directory of its own.
        warm_start = served_warm_start.prepare(
            served, vocabulary_path, tempfile.mkdtemp(prefix="albert-tfx-warm-start-"))
        if warm_start:
            config = config.replace(warm_start_path=warm_start.encoder_dir)
            warm_started_from = warm_start.export_dir
    config = _match_vocabulary(config, _vocabulary_size(vocabulary_path) if vocabulary_path else None,
                               vocabulary_path or "", custom_config.get(ENCODER_DROPOUT_KEY))
    strategy = _strategy(config)
    resume = resume_dir(fn_args, custom_config, config.task, warm_started_from=warm_started_from)
    result = _train_resumable(config, fn_args, strategy, resume)

    chief = is_chief(strategy)
    # Every worker saves (saving may need collectives); only the chief's export is kept.
    export_dir = fn_args.serving_model_dir if chief else tempfile.mkdtemp(prefix="albert-tfx-worker-export-")
    try:
        export.export_classifier(
            result.model,
            tf_transform_output,
            export_dir,
            text_features=text_features,
            label_names=labels,
            model_name=custom_config.get(MODEL_NAME_KEY) or layout.DEFAULT_MODEL_NAME,
            preset=_preset_name(config),
            vocabulary_path=vocabulary_path,
            # result.config: the config fitted to the data (the steps `epochs` gave).
            extra_metadata={TRAINING_CONFIG_KEY: result.config.to_dict(), "final_step": result.final_step,
                            TRAINING_SUMMARY_KEY: result.summary, "warm_started_from": warm_started_from,
                            RESUMED_FROM_STEP_KEY: result.resumed_from_step},
            overwrite=True,
            window_pooling=window_pooling,
        )
    finally:
        if not chief:
            shutil.rmtree(export_dir, ignore_errors=True)
    if chief:
        _remove_finished(resume)


def _transform_options(custom_config: Mapping[str, Any], transform_output: str,
                       task: str) -> Tuple[TransformOptions, str]:
    """The options the Transform ran with, and where they were read: VocabTransform's record in the transform
    graph (`features.TRANSFORM_OPTIONS_FILE`: the vocabulary's tokenization included), or else the Trainer's own
    custom_config (a pipeline hands the Trainer the Transform's custom_config; `task` is implied)."""
    recorded = os.path.join(transform_output, TRANSFORM_OPTIONS_FILE)
    if tf.io.gfile.exists(recorded):
        with tf.io.gfile.GFile(recorded) as handle:
            config, source = json.load(handle), recorded
    else:
        config = {**custom_config, TASK_KEY: custom_config.get(TASK_KEY) or task}
        source = "the Trainer's custom_config"
    try:
        return TransformOptions.from_custom_config(config, require_vocabulary=False), source
    except ValueError as error:
        raise ConfigError(f"the Transform's options ({source}): {error}") from None


def classify_window_pooling(custom_config: Mapping[str, Any], transform_output: str, max_seq_length: int,
                            max_windows: int) -> str:
    """How the export pools a classify Transform's document windows: the `window_pooling` of the options it ran
    with (`_transform_options`), which must give the Transform output's shape (ConfigError). Where neither
    VocabTransform's record nor the Trainer's custom_config says windows (a Transform run outside VocabTransform,
    its config not handed on), the default pooling."""
    options, source = _transform_options(custom_config, transform_output, CLASSIFY_TASK)
    if not options.windows:
        logger.info("the Transform made document windows but %s does not say %s %r: pooling them by the default, "
                    "%r", source, LONG_TEXT_KEY, LONG_TEXT_WINDOWS, DEFAULT_WINDOW_POOLING)
        return DEFAULT_WINDOW_POOLING
    if (options.max_windows_per_document, options.max_seq_length) != (max_windows, max_seq_length):
        raise ConfigError(f"the Transform's options ({source}) say windows of {options.max_seq_length} positions, "
                          f"{options.max_windows_per_document} per document, but its output has "
                          f"{max_seq_length} and {max_windows}")
    return options.window_pooling


def qa_transform_options(custom_config: Mapping[str, Any], transform_output: str, max_seq_length: int,
                         max_windows: int) -> TransformOptions:
    """The options the qa Transform ran with (`_transform_options`). The export rebuilds the same windows from
    them, so they must give the Transform output's shape (ConfigError)."""
    options, source = _transform_options(custom_config, transform_output, QA_TASK)
    if options.task != QA_TASK or (options.max_seq_length, options.max_windows) != (max_seq_length, max_windows):
        raise ConfigError(f"the Transform's options ({source}) say task {options.task!r}, max_seq_length "
                          f"{options.max_seq_length} and max_windows {options.max_windows}, but its output has task "
                          f"{QA_TASK!r} windows of {max_seq_length} x {max_windows}: the export would not rebuild them")
    return options


def _run_qa(fn_args: Any, custom_config: Dict[str, Any]) -> None:
    """Task qa (issue 15): trains on the Transform's per-question windows (`text_contract.windows`), then exports
    (`_export_qa`) with the Transform's tokenizer and window settings (`qa_transform_options`). max_seq_length and
    qa_max_windows come from the Transform output.

    The budget is in steps: training_config.train_steps or TrainArgs.num_steps (`epochs` is refused by
    TrainingConfig for task qa: a question makes 1 to max_windows windows, so an epoch's steps are only known
    after a pass over the data, and none is made here)."""
    if fn_args.transform_output is None:
        raise ConfigError(f"task {QA_TASK} needs the Transform output (wire the Trainer's transform_graph)")
    if custom_config.get(WARM_START_FROM_SERVED_KEY):
        # served_warm_start reads classify exports; task qa warm-starts from base_model or warm_start_path.
        raise ConfigError(f"custom_config[{WARM_START_FROM_SERVED_KEY!r}] is not supported for task {QA_TASK} yet: "
                          "warm-start from fn_args.base_model or training_config.warm_start_path")
    import tensorflow_transform as tft

    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    max_seq_length, max_windows = qa_shape_from_transform(tf_transform_output.transformed_feature_spec())
    # Checked before training: the export needs the Transform's vocabulary and settings.
    options = qa_transform_options(custom_config, fn_args.transform_output, max_seq_length, max_windows)
    vocabulary_path = _vocabulary_path(custom_config, fn_args.transform_output)
    if not vocabulary_path:
        raise ConfigError(f"task {QA_TASK} exports the Transform's tokenizer: name the vocabulary in "
                          f"custom_config[{SENTENCEPIECE_MODEL_PATH_KEY!r}] or run the Transform with VocabTransform "
                          f"(it leaves {TRANSFORM_VOCABULARY_FILE} in the transform graph)")
    config = training_config_from_fn_args(fn_args, {"max_seq_length": max_seq_length, "qa_max_windows": max_windows})
    config = _match_vocabulary(config, _vocabulary_size(vocabulary_path), vocabulary_path,
                               custom_config.get(ENCODER_DROPOUT_KEY))
    strategy = _strategy(config)
    resume = resume_dir(fn_args, custom_config, config.task)
    result = _train_resumable(config, fn_args, strategy, resume)

    chief = is_chief(strategy)
    # Every worker saves (saving may need collectives); only the chief's export is kept.
    export_dir = fn_args.serving_model_dir if chief else tempfile.mkdtemp(prefix="albert-tfx-worker-export-")
    details = {"preset": _preset_name(config), "extra_metadata": {
        TRAINING_CONFIG_KEY: result.config.to_dict(), "final_step": result.final_step,
        TRAINING_SUMMARY_KEY: result.summary, "warm_started_from": config.warm_start_path,
        RESUMED_FROM_STEP_KEY: result.resumed_from_step}}
    if custom_config.get(MODEL_NAME_KEY):
        details["model_name"] = custom_config[MODEL_NAME_KEY]
    try:
        _export_qa(result.model, dataclasses.replace(options, sentencepiece_model_path=vocabulary_path), export_dir,
                   with_no_answer=config.qa_with_no_answer, **details)
    finally:
        if not chief:
            shutil.rmtree(export_dir, ignore_errors=True)
    # Only once exported: until then a re-execution (after an export failure) resumes at the final step.
    if chief:
        _remove_finished(resume)


# --- EXPORT HOOK (issue 15) -----------------------------------------------------------------------------------
# The QA SavedModel comes from serving/qa_export.py (`export_qa_model`, the serving side's, with
# serving/contract.py). Without that module task qa trains (final/ and the checkpoints are kept) and stops here.
def _export_qa(model, options: TransformOptions, export_dir: str, **details: Any) -> None:
    """Exports the trained qa model to `export_dir` through `serving.qa_export.export_qa_model`, with the
    Transform's tokenizer (`make_tokenizer(options)`, options.sentencepiece_model_path being the vocabulary) and
    window settings; `details`: with_no_answer, preset, extra_metadata and optionally model_name."""
    try:
        from serving import qa_export
    except ModuleNotFoundError as error:
        if error.name != "serving.qa_export":
            raise  # a dependency of qa_export is missing: its own error says which
        raise NotImplementedError("qa export: serving/qa_export.py") from None
    from text_contract.transform import make_tokenizer

    qa_export.export_qa_model(
        model, make_tokenizer(options), export_dir, max_seq_length=options.max_seq_length,
        max_query_length=options.max_query_length, doc_stride=options.doc_stride, max_windows=options.max_windows,
        vocabulary_path=options.sentencepiece_model_path, overwrite=True, **details)
