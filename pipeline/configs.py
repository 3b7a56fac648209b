"""Every knob of the albert-tfx pipeline: one typed, validated `PipelineConfig`.

Sections (each a dataclass; YAML files use the same nesting, flags override single values):

    data:         where the labelled rows are and how to read them (columns, delimiter, header, spans)
    qa:           task qa's windows and blessing gate (SQuAD-format JSON data; `training.task: qa`)
    vocabulary:   the SentencePiece vocabulary (size, case, coverage, reuse of the served model's)
    training:     the classifier's training run (preset, sequence length, steps, batch, optimizer, strategy)
    pretraining:  the optional MLM + SOP branch whose encoder warm-starts the classifier
    evaluation:   the blessing gate (a floor on the blessing metric, a margin over the majority-class predictor,
                  and the largest drop allowed against the baseline)
    serving:      where blessed models are pushed (`<serving_dir>/<model_name>/<version>/`)
    orchestration: pipeline name, output directory, Beam, caching, Kubeflow image, Airflow schedule

```
config = PipelineConfig.from_yaml("my_pipeline.yaml")          # or PipelineConfig() for the defaults
config = config.with_overrides({"training.train_steps": 500})  # dotted keys, values parsed from strings
```

A bad value raises `ConfigError` naming the field (`training.learning_rate must be > 0, got -1`), when the
config is built: never inside a component. Each section checks itself; then what the components will be
given is built here once (`transform_options`, `vocabulary_parameters`, `training.training_config`,
`pretrainer_training_config`, `pretraining.data_generation_parameters`) and checked by the components' and
the trainer's own validation, so the rules have one definition and `pipeline.py` only passes the values on.
Defaults that belong to a component or to serving are imported from there. Paths are kept as given;
`resolved()` makes local ones absolute (orchestrators run components in other working directories).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
import typing
from typing import Any, Dict, List, Mapping, Optional, Tuple

from components import data_counts  # plain Python: the cap on skipped rows
from components import qa_scoring  # plain Python: the answer scores' languages
from components.class_metrics_evaluator import chance  # plain Python: the blessing metrics' names
from components.pretraining_data import generation  # numpy only: the generation settings' defaults
from serving import canary as serving_canary
from serving import layout
from text_contract import sentencepiece_training, storage, transform_options
from text_contract.transform_options import TransformOptions
from trainer.training_config import (OPTIMIZERS, PIPELINE_TASKS, PRECISIONS, QA_TASK, STRATEGIES,
                                     TrainingConfig, checkpoint_interval)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The labelled sample this project ships (English and Chinese review sentences; see data/README.md).
DEFAULT_DATA = os.path.join(REPO_ROOT, "data", "sample")

# json: SQuAD-format question answering data (task qa only; components/qa_example_gen).
DATA_FORMATS = ("auto", "csv", "tsv", "tfrecord", "json")
JSON_FORMAT = "json"
QUOTINGS = ("auto", "csv", "none")
BEAM_RUNNING_MODES = ("in_memory", "multi_threading", "multi_processing")
# orchestration.beam_runner -> Beam's --runner, and the pipeline options each runner cannot start without.
BEAM_RUNNERS = {"direct": "DirectRunner", "dataflow": "DataflowRunner", "flink": "FlinkRunner",
                "spark": "SparkRunner", "portable": "PortableRunner"}
REQUIRED_BEAM_OPTIONS = {
    "direct": (),
    "dataflow": ("project", "region", "temp_location", "staging_location"),
    "flink": ("flink_master",),
    "spark": ("spark_master_url",),
    "portable": ("job_endpoint",),
}
DATAFLOW_GCS_OPTIONS = ("temp_location", "staging_location")  # Dataflow stages and writes on Cloud Storage only
# Imported by each DirectRunner worker process: frees what Beam keeps alive before the interpreter's teardown,
# where it printed TensorFlow tracebacks (the module's docstring).
BEAM_WORKER_PLUGIN = "pipeline.beam_worker"
# Beam options the config sets itself, each from one orchestration field.
_OWNED_BEAM_OPTIONS = {"runner": "orchestration.beam_runner", "direct_num_workers": "orchestration.beam_num_workers",
                       "direct_running_mode": "orchestration.beam_running_mode"}
# Pipeline names become directory names, ML Metadata contexts and orchestrator ids: plain ASCII.
_PIPELINE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*", re.ASCII)


DEFAULT_SELECT_BEST_METRIC = "val_macro_f1"
QA_SELECT_BEST_METRIC = "val_loss"


class ConfigError(ValueError):
    """A pipeline config value is missing or wrong; the message names the field."""


def _absolute(path: Optional[str]) -> Optional[str]:
    if not path or storage.is_remote(path):
        return path
    return os.path.abspath(os.path.expanduser(path))


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """The labelled rows.

    `path`: a file, or a directory holding `train.*` and `dev.*` (or `eval.*`, `validation.*`) files, or
    span directories (`span-1/`, `span-2/`, ... each holding such files or one data file): the newest span
    is the one trained on, so each data drop is a new span. `span_pattern` names the span layout
    explicitly instead (relative to `path`, with `{SPAN}`). Without a separate eval file the rows are
    split by a hash into train and eval (`eval_fraction`); for task qa's SQuAD-format `.json` files, by a
    hash of the article title (the questions of one passage stay on one side). The column fields do not
    apply to task qa (its JSON layout names every field).
    """

    path: str = DEFAULT_DATA
    format: str = "auto"  # from the file extension: .csv, .tsv/.txt, .tfrecord/.gz
    delimiter: Optional[str] = None  # default: "," for csv, "\t" for tsv
    header: bool = True
    column_names: Optional[Tuple[str, ...]] = None  # required without a header
    quoting: str = "auto"  # csv: RFC 4180 quotes; none: split on the delimiter only (GLUE TSVs)
    text_columns: Tuple[str, ...] = ("text",)  # one, or two for sentence pairs
    label_column: str = "label"
    label_values: Optional[Tuple[str, ...]] = None  # fixes label ids (else most frequent label first)
    span_pattern: Optional[str] = None
    eval_fraction: float = 0.1
    # A curated schema (schema.pbtxt) to validate every span against (ImportSchemaGen); default: inferred.
    schema_file: Optional[str] = None
    # The run fails when more than this fraction of a split's rows is unreadable (why 0.1: data_counts).
    max_skipped_fraction: float = data_counts.DEFAULT_MAX_SKIPPED_FRACTION
    # Texts longer than training.max_seq_length (task classify, one text column): "truncate" keeps their first
    # max_seq_length - 2 pieces; "windows" reads each as up to `max_windows_per_document` windows of
    # max_seq_length, one every `long_text_stride` pieces (null: half a window), trains on every window with
    # its text's label, and serves one answer per text, the windows' logits pooled by `window_pooling` (mean or
    # max). Windows cost a window's compute each, in training and serving, and need training.max_seq_length set
    # (a length derived to hold most texts whole means nothing for windows). Defaults and why:
    # text_contract/transform_options.py.
    long_text: str = transform_options.DEFAULT_LONG_TEXT
    long_text_stride: Optional[int] = None
    max_windows_per_document: int = transform_options.DEFAULT_MAX_WINDOWS_PER_DOCUMENT
    window_pooling: str = transform_options.DEFAULT_WINDOW_POOLING

    def long_text_options(self) -> Dict[str, Any]:
        """The long-document fields as TransformOptions takes them (it checks how they combine with the task, the
        text columns and the sequence length: PipelineConfig.transform_options)."""
        return {"long_text": self.long_text, "long_text_stride": self.long_text_stride,
                "max_windows_per_document": self.max_windows_per_document, "window_pooling": self.window_pooling}

    def validate(self) -> None:
        if not self.path:
            raise ConfigError("data.path is empty")
        _choice("data.long_text", self.long_text, transform_options.LONG_TEXT_MODES)
        _choice("data.window_pooling", self.window_pooling, transform_options.WINDOW_POOLINGS)
        if self.long_text_stride is not None and self.long_text_stride < 1:
            raise ConfigError(f"data.long_text_stride must be >= 1 (or null: half a window), got "
                              f"{self.long_text_stride}")
        if self.max_windows_per_document < 1:
            raise ConfigError(f"data.max_windows_per_document must be >= 1, got {self.max_windows_per_document}")
        try:
            data_counts.check_max_skipped_fraction(self.max_skipped_fraction, "data.max_skipped_fraction")
        except ValueError as error:
            raise ConfigError(str(error)) from None
        _choice("data.format", self.format, DATA_FORMATS)
        _choice("data.quoting", self.quoting, QUOTINGS)
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise ConfigError(f"data.delimiter must be one character, got {self.delimiter!r}")
        if not self.header and not self.column_names and self.format != "tfrecord":
            raise ConfigError("data.column_names is required when data.header is false")
        if len(self.text_columns) not in (1, 2) or not all(self.text_columns):
            raise ConfigError(f"data.text_columns must name one column or two (a pair), got {list(self.text_columns)}")
        if not self.label_column:
            raise ConfigError("data.label_column is empty")
        if self.label_column in self.text_columns:
            raise ConfigError(f"data.label_column {self.label_column!r} is also a text column")
        if self.column_names:
            for name in (*self.text_columns, self.label_column):
                if name not in self.column_names:
                    raise ConfigError(f"column {name!r} is not among data.column_names {list(self.column_names)}")
        if self.label_values is not None and len(self.label_values) < 2:
            raise ConfigError(f"data.label_values must list at least two labels, got {list(self.label_values)}")
        if not 0.0 < self.eval_fraction < 1.0:
            raise ConfigError(f"data.eval_fraction must be between 0 and 1, got {self.eval_fraction}")
        if self.schema_file and not storage.is_remote(self.schema_file) and not os.path.isfile(self.schema_file):
            raise ConfigError(f"data.schema_file {self.schema_file} does not exist")
        if self.span_pattern is not None and "{SPAN}" not in self.span_pattern:
            raise ConfigError(f"data.span_pattern must contain {{SPAN}}, got {self.span_pattern!r}")


@dataclasses.dataclass(frozen=True)
class VocabularyConfig:
    """The vocabulary (components/sentencepiece_vocab): trained on the data, or a released checkpoint's own.

    `import_from`: an ALBERT SentencePiece `.model` or a BERT-style WordPiece `vocab.txt`, passed on instead of
    training one and tokenized the way its checkpoint was trained (`text_contract.vocabulary`). With
    `training.init_from` and no `import_from`, the vocabulary shipped beside the checkpoint is used (HF's
    `spiece.model` / `vocab.txt`, a keras-hub preset's, `30k-clean.model`). `lower_case`: None (default) is
    false for a trained vocabulary and, for an imported one, what its tokenizer config says, else true (the
    released English ALBERTs and the Chinese vocab.txt models are uncased).
    """

    size: int = sentencepiece_training.DEFAULT_VOCAB_SIZE
    lower_case: Optional[bool] = None
    character_coverage: float = sentencepiece_training.DEFAULT_CHARACTER_COVERAGE
    # With a model already served, retrain on its vocabulary: the warm start needs the same token ids.
    reuse_served: bool = True
    import_from: Optional[str] = None

    def validate(self) -> None:
        if self.import_from is not None and not self.import_from:
            raise ConfigError("vocabulary.import_from is empty (leave it out to train a vocabulary)")
        if self.import_from and not storage.is_remote(self.import_from) and not os.path.isfile(self.import_from):
            raise ConfigError(f"vocabulary.import_from {self.import_from} is not a file")
        if self.size < 100:
            raise ConfigError(f"vocabulary.size must be >= 100, got {self.size}")
        if not 0.9 <= self.character_coverage <= 1.0:
            raise ConfigError(f"vocabulary.character_coverage must be in [0.9, 1.0], got {self.character_coverage}")


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """The classifier's Trainer run (fields of trainer.training_config.TrainingConfig)."""

    # classify, or qa (extractive question answering on SQuAD-format JSON: see the qa section).
    task: str = "classify"
    preset: str = "tiny"
    # Pieces per example, [CLS]/[SEP] included. None: derived from the data when the Transform runs, the
    # shortest multiple of 16 holding `length_coverage` of every split's examples whole, at most
    # `max_derived_seq_length` (components/vocab_transform/sequence_length.py). A fixed 64 cut 39% of
    # ChnSentiCorp's reviews and 36% of MRPC's pairs; an SST-2 phrase needs 10.
    max_seq_length: Optional[int] = None
    length_coverage: float = transform_options.DEFAULT_LENGTH_COVERAGE
    max_derived_seq_length: int = transform_options.DEFAULT_MAX_DERIVED_SEQ_LENGTH
    # The budget. A fixed number of steps, or None: `epochs` passes over the train split's labelled examples,
    # counted when the Trainer runs, at most `max_train_steps`. Ten passes with early stopping and the best
    # evaluated checkpoint: from scratch, small sets keep improving for many passes and large ones peak after
    # a few, so the run ends when the eval split stops improving rather than at a count tuned to one set.
    # The cap is a time budget: about 17 minutes at the ~5 steps/s of the tiny preset at batch 64, sequence
    # 64 on 2 CPU cores, so that a 67k-row set's whole pipeline fits in half an hour.
    # Task qa counts steps only (a question makes 1 to qa.max_windows windows: an epoch's steps are unknown until
    # the data has been read): train_steps, else max_train_steps.
    train_steps: Optional[int] = None
    epochs: float = 10.0
    max_train_steps: int = 5000
    # Evaluate on the eval split every this many steps; None: about twice an epoch (with train_steps: at
    # every checkpoint). It must divide train_steps when that is set.
    eval_every_steps: Optional[int] = None
    eval_steps: int = 0  # batches per evaluation; 0: the whole eval split
    # The export holds the weights of the best evaluation by this metric (None: the last step's), and
    # training stops after `early_stopping_patience` evaluations without a better one (0: never). Six
    # evaluations are about three epochs at the derived rate: longer than the noise of a small eval split.
    # Macro-F1, the Evaluator's default blessing metric: by accuracy, an unbalanced eval split's best
    # checkpoint is often an early constant predictor that the gate then refuses (trainer/metrics.py).
    # Task qa selects by val_loss (the windows' start and end cross-entropy) when this is left at its default:
    # the trainer scores windows, not answers.
    select_best_metric: Optional[str] = DEFAULT_SELECT_BEST_METRIC
    early_stopping_patience: int = 6
    # "balanced": weigh each class's examples in the loss by the inverse of its share of the train split
    # (counted at run time), "none": all alike. Balanced by default: on unbalanced labels the unweighted loss
    # drifts towards predicting the majority class, which the Evaluator's macro-F1 gate refuses; on balanced
    # labels the weights are all about 1 and change nothing.
    class_weights: str = "balanced"  # classify only
    # Batch 64 at lr 1e-3 with 10% warmup (of the computed steps): the recipe of the recorded from-scratch
    # runs of the tiny preset on English and Chinese review sets (benchmarks/quality_finetune.py,
    # BENCHMARKS.md), which trained stably; the steps/s behind max_train_steps are at this batch size.
    global_batch_size: int = 64
    learning_rate: float = 1e-3
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    # Evaluate, select and export an exponential moving average of the weights, at most this decay per step
    # (0: off). Its dynamic decay spans about the last tenth of the steps of any run under ~9000 steps, so
    # a run stopped early at a still-high learning rate is scored and exported as if it had been annealed
    # (trainer/callbacks.py: WeightAverage).
    weight_average_decay: float = 0.999
    optimizer: str = "auto"
    precision: str = "auto"
    xla: bool = False
    strategy: str = "auto"
    num_cpu_devices: int = 1
    classifier_dropout: float = 0.1
    # What the classification head reads: "cls" (ALBERT's pooler at [CLS]) or "mean" (the pooler over the mean
    # of the tokens' final states). [CLS]: measured from scratch with these defaults, the mean gained on SST-2
    # (dev 0.8050 vs 0.8005) but lost on ChnSentiCorp (0.8450 vs 0.8925), and a released checkpoint's pooler
    # was trained at [CLS].
    classifier_pooling: str = "cls"
    encoder_dropout: float = 0.1  # hidden and attention dropout of an encoder trained from scratch
    checkpoint_every_steps: int = 200
    # Warm start from the newest model under serving.serving_dir (when its vocabulary is this run's).
    warm_start_from_served: bool = True
    # A released checkpoint the classifier's encoder starts from (its shape comes from its config, not from
    # `preset`; the heads start fresh): see trainer/checkpoints/sources.py for the formats. It wins over
    # warm_start_from_served.
    init_from: Optional[str] = None
    # Any other TrainingConfig field, passed through (checked by TrainingConfig itself).
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def validate(self) -> None:
        _choice("training.task", self.task, PIPELINE_TASKS)
        _choice("training.strategy", self.strategy, STRATEGIES)
        _choice("training.optimizer", self.optimizer, OPTIMIZERS)
        _choice("training.precision", self.precision, PRECISIONS)
        from trainer.presets import PRESETS  # imports Keras: only when a config is checked

        _choice("training.preset", self.preset, tuple(PRESETS))
        from trainer.training_config import CLASS_WEIGHTS, POOLINGS, fixed_schedule

        # length_coverage and max_derived_seq_length: checked by TransformOptions (PipelineConfig.transform_options)
        for name in ("global_batch_size", "checkpoint_every_steps", "num_cpu_devices", "max_train_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"training.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_seq_length", "train_steps", "eval_every_steps"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ConfigError(f"training.{name} must be >= 1 (or null), got {getattr(self, name)}")
        for name in ("eval_steps", "early_stopping_patience"):
            if getattr(self, name) < 0:
                raise ConfigError(f"training.{name} must be >= 0, got {getattr(self, name)}")
        if not 0 < self.epochs <= 10_000:
            raise ConfigError(f"training.epochs must be in (0, 10000], got {self.epochs}")
        if self.train_steps is not None and self.eval_every_steps is not None:
            try:
                fixed_schedule(self.train_steps, self.checkpoint_every_steps, self.eval_every_steps)
            except ValueError:
                raise ConfigError(f"training.eval_every_steps must divide training.train_steps={self.train_steps}, "
                                  f"got {self.eval_every_steps}") from None
        if self.select_best_metric is not None and not self.select_best_metric.startswith("val_"):
            raise ConfigError("training.select_best_metric must be null or a validation metric starting with "
                              f"'val_' (val_macro_f1, val_accuracy, val_loss), got {self.select_best_metric!r}")
        if self.early_stopping_patience and self.select_best_metric is None:
            raise ConfigError(f"training.early_stopping_patience={self.early_stopping_patience} needs "
                              "training.select_best_metric (set the patience to 0 to train to the end)")
        _choice("training.class_weights", self.class_weights, CLASS_WEIGHTS)
        _choice("training.classifier_pooling", self.classifier_pooling, POOLINGS)
        if self.learning_rate <= 0:
            raise ConfigError(f"training.learning_rate must be > 0, got {self.learning_rate}")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ConfigError(f"training.warmup_fraction must be in [0, 1), got {self.warmup_fraction}")
        if not 0.0 <= self.weight_average_decay < 1.0:
            raise ConfigError(f"training.weight_average_decay must be 0 (off) or in (0, 1), got "
                              f"{self.weight_average_decay}")
        for name in ("classifier_dropout", "encoder_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"training.{name} must be in [0, 1), got {getattr(self, name)}")
        if self.init_from is not None and not self.init_from:
            raise ConfigError("training.init_from is empty (leave it out to train from scratch)")
        owned = ({f.name for f in dataclasses.fields(self)}
                 - {"encoder_dropout", "warm_start_from_served", "init_from", "extra"}) | {
            "model_dir", "num_classes", "warmup_steps", "train_label_counts"}
        clashing = sorted(set(self.extra) & owned)
        if clashing:
            raise ConfigError(f"training.extra must not set {clashing}: set them as training fields (or leave "
                              "them to the data)")
        known = {f.name for f in dataclasses.fields(TrainingConfig)}
        unknown = sorted(set(self.extra) - known)
        if unknown:
            raise ConfigError(f"training.extra has unknown TrainingConfig field(s) {unknown}")
        self.training_config()  # TrainingConfig's own checks of the combined values

    def training_config(self) -> Dict[str, Any]:
        """The Trainer's `training_config` dict (model_dir, num_classes, max_seq_length come from TFX/data;
        with `epochs`, the steps and intervals come from the data's example count at run time)."""
        from trainer.training_config import fixed_schedule, warmup_steps_for

        qa = self.task == QA_TASK
        if self.train_steps is None and not qa:
            budget = {"train_steps": None, "epochs": self.epochs, "max_train_steps": self.max_train_steps,
                      "checkpoint_every_steps": self.checkpoint_every_steps,
                      "eval_every_steps": self.eval_every_steps}
        else:
            steps = self.train_steps or self.max_train_steps
            interval, eval_every = fixed_schedule(steps, self.checkpoint_every_steps, self.eval_every_steps)
            budget = {"train_steps": steps, "checkpoint_every_steps": interval, "eval_every_steps": eval_every,
                      "warmup_steps": warmup_steps_for(steps, self.warmup_fraction)}
        select_best_metric = self.select_best_metric
        if qa and select_best_metric == DEFAULT_SELECT_BEST_METRIC:
            select_best_metric = QA_SELECT_BEST_METRIC
        values = {
            "task": self.task, "preset": self.preset, **budget,
            "eval_steps": self.eval_steps, "global_batch_size": self.global_batch_size,
            "learning_rate": self.learning_rate, "warmup_fraction": self.warmup_fraction,
            "weight_decay": self.weight_decay, "weight_average_decay": self.weight_average_decay,
            "optimizer": self.optimizer, "precision": self.precision,
            "xla": self.xla, "strategy": self.strategy, "num_cpu_devices": self.num_cpu_devices,
            "classifier_dropout": self.classifier_dropout, "classifier_pooling": self.classifier_pooling,
            "select_best_metric": select_best_metric, "early_stopping_patience": self.early_stopping_patience,
            **({} if qa else {"class_weights": self.class_weights}),
            **self.extra,
        }
        _check_training_config(values, self.longest_seq_length(), "training")
        return values

    def longest_seq_length(self) -> int:
        """The longest sequence the Trainer can get: the fixed length, else the most a derived one can be (task
        qa: its default length)."""
        if self.task == QA_TASK:
            return self.max_seq_length or transform_options.DEFAULT_QA_MAX_SEQ_LENGTH
        return self.max_seq_length or self.max_derived_seq_length


@dataclasses.dataclass(frozen=True)
class PretrainingSettings:
    """The optional MLM + SOP branch: PretrainingDataGen on the text, a `pretrain` Trainer, then warm start.

    Checked at config time as the branch will use it: the data generation's settings by PretrainingDataGen's
    own validation, the Pretrainer's by TrainingConfig (`PipelineConfig.pretrainer_training_config`), even
    when the branch is off, so turning it on later cannot fail an hour into a run.
    """

    enabled: bool = False
    train_steps: int = 1000
    global_batch_size: int = 32
    max_seq_length: int = 64
    learning_rate: float = 2e-3
    dupe_factor: int = 2
    # The data generation writes this many prediction slots and the Pretrainer parses as many.
    max_predictions_per_seq: int = generation.GenerationConfig.max_predictions_per_seq
    # New masks every epoch (trainer/dynamic_masking.py) instead of the data's dupe_factor fixed copies.
    dynamic_masking: bool = False
    # Domain text to pretrain on instead of the train split's text column: a glob of plain-text files (one
    # sentence or paragraph per line, blank lines between documents; .gz read as such).
    text_files: Optional[str] = None

    def validate(self) -> None:
        for name in ("train_steps", "global_batch_size", "max_seq_length", "dupe_factor", "max_predictions_per_seq"):
            if getattr(self, name) < 1:
                raise ConfigError(f"pretraining.{name} must be >= 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ConfigError(f"pretraining.learning_rate must be > 0, got {self.learning_rate}")
        if self.text_files is not None:
            if not self.text_files:
                raise ConfigError("pretraining.text_files is empty (leave it out to pretrain on the train split)")
            if not storage.is_remote(self.text_files) and not glob.glob(os.path.expanduser(self.text_files)):
                raise ConfigError(f"pretraining.text_files {self.text_files!r} matches no file")
        from components.pretraining_data import spec as pretraining_spec  # imports TFX: only when checked

        try:
            pretraining_spec.resolve_parameters(self.data_generation_parameters())
        except ValueError as error:
            raise ConfigError(f"pretraining: {error}") from None

    def data_generation_parameters(self) -> Dict[str, Any]:
        """PretrainingDataGen's settings (the others keep the component's defaults)."""
        return {"max_seq_length": self.max_seq_length, "dupe_factor": self.dupe_factor,
                "max_predictions_per_seq": self.max_predictions_per_seq}


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    """The blessing gate (TFMA thresholds on the eval split; pipeline/evaluation.py), on `blessing_metric`.

    A model is blessed only when its `blessing_metric` is at least `min_score`, beats the majority-class
    predictor (always answering the eval split's most frequent label) by `min_gain_over_majority`, and is
    at most `max_score_drop` below the last blessed model's. macro_f1 by default: a constant predictor's
    macro-F1 is below 1/K for K classes however unbalanced the data, where its accuracy is the majority's
    share. `min_accuracy` / `max_accuracy_drop` (the keys of the accuracy-only gate, still honoured) add
    the same thresholds on accuracy whatever the blessing metric; None: none.
    """

    blessing_metric: str = chance.MACRO_F1  # one of chance.BLESSING_METRICS: accuracy, macro_f1, matthews_correlation
    min_score: float = 0.6  # a model below this is never blessed (MCC lies in [-1, 1], the others in [0, 1])
    # Beating a constant predictor is the least a model must do: > 0, since a tie is no better than chance.
    min_gain_over_majority: float = 0.02
    # Against the last blessed model: blessed only if blessing_metric >= baseline - max_score_drop.
    max_score_drop: float = 0.01
    min_accuracy: Optional[float] = None
    max_accuracy_drop: Optional[float] = None

    def validate(self) -> None:
        _choice("evaluation.blessing_metric", self.blessing_metric, chance.BLESSING_METRICS)
        low = -1.0 if self.blessing_metric == chance.MATTHEWS_CORRELATION else 0.0
        if not low <= self.min_score <= 1.0:
            raise ConfigError(f"evaluation.min_score must be in [{low:g}, 1] for {self.blessing_metric}, got "
                              f"{self.min_score}")
        if not 0.0 < self.min_gain_over_majority <= 1.0:
            raise ConfigError(f"evaluation.min_gain_over_majority must be in (0, 1] (a model must beat the "
                              f"majority-class predictor), got {self.min_gain_over_majority}")
        for name in ("max_score_drop", "min_accuracy", "max_accuracy_drop"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"evaluation.{name} must be in [0, 1], got {value}")


@dataclasses.dataclass(frozen=True)
class QaSettings:
    """Task qa (`training.task: qa`): SQuAD-format JSON (v1.1, v2.0, CMRC 2018, DRCD) read by QaExampleGen.

    Windows (text_contract/transform_options.py says why each default): `[CLS] question [SEP] window [SEP]`
    of `training.max_seq_length` pieces (default 256 for qa), the question cut to `max_query_length` pieces, a
    window every `doc_stride` context pieces, at most `max_windows` per question. `with_no_answer`: SQuAD 2.0
    data, whose unanswerable questions train the [CLS] position and get a no-answer score.

    The blessing gate (components/qa_evaluator, on the eval split's answers through the export's `qa`
    signature): F1 at least `min_f1` and at most `max_f1_drop` below the last blessed model's. F1 and exact
    match are SQuAD's for English and CMRC 2018's character-level ones for Chinese (`language`: auto picks by
    the text). The floor is low: it refuses a model that finds almost no answer; raise it for your data.
    """

    max_query_length: int = transform_options.DEFAULT_MAX_QUERY_LENGTH
    doc_stride: int = transform_options.DEFAULT_DOC_STRIDE
    max_windows: int = transform_options.DEFAULT_MAX_WINDOWS
    with_no_answer: bool = False
    min_f1: float = 0.1
    max_f1_drop: float = 0.01
    language: str = "auto"

    def validate(self) -> None:
        for name in ("max_query_length", "doc_stride", "max_windows"):
            if getattr(self, name) < 1:
                raise ConfigError(f"qa.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("min_f1", "max_f1_drop"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"qa.{name} must be in [0, 1] (F1 as a fraction), got {getattr(self, name)}")
        _choice("qa.language", self.language, qa_scoring.LANGUAGES)


@dataclasses.dataclass(frozen=True)
class ServingConfig:
    """Where blessed models are pushed; the name and retention rules are `serving.layout`'s."""

    serving_dir: str = "outputs/serving_model"
    model_name: str = layout.DEFAULT_MODEL_NAME
    keep_versions: int = layout.DEFAULT_KEEP_VERSIONS
    # Before every push the candidate must answer like itself from a separate server process (serving/canary.py;
    # on Kubeflow, TFX's InfraValidator with TF Serving); a failure blocks the push. The timeout covers the
    # server's start and load.
    canary: bool = True
    canary_timeout_s: float = serving_canary.DEFAULT_TIMEOUT_S

    def validate(self) -> None:
        if not self.serving_dir:
            raise ConfigError("serving.serving_dir is empty")
        try:
            layout.check_model_name(self.model_name, "serving.model_name")
        except layout.InvalidModelName as error:
            raise ConfigError(str(error)) from None
        if self.keep_versions < 1:
            raise ConfigError(f"serving.keep_versions must be >= 1, got {self.keep_versions}")
        if not self.canary_timeout_s > 0:
            raise ConfigError(f"serving.canary_timeout_s must be > 0 seconds, got {self.canary_timeout_s}")


@dataclasses.dataclass(frozen=True)
class OrchestrationConfig:
    pipeline_name: str = "albert-tfx"
    output_dir: str = "outputs"  # pipeline root and ML Metadata (local runner); local, gs:// or s3://
    # ML Metadata's SQLite file (local and Airflow runners); empty: <output_dir>/metadata.sqlite. SQLite needs a
    # local file, so a remote output_dir (gs://, s3://) needs this set.
    metadata_file: str = ""
    enable_cache: bool = True
    # The Beam runner of every Beam step (ExampleGen, StatisticsGen, SentencePieceVocab, PretrainingDataGen,
    # Transform, Evaluator), with `beam_pipeline_args` (Beam options, e.g. ["--project=my-project"]): the
    # options each runner needs are checked here (REQUIRED_BEAM_OPTIONS). beam_num_workers/beam_running_mode
    # are DirectRunner's only.
    beam_runner: str = "direct"
    beam_pipeline_args: Tuple[str, ...] = ()
    beam_num_workers: int = 2  # DirectRunner workers: both cores of the reference machine
    beam_running_mode: str = "multi_processing"
    # Kubeflow Pipelines (compile --target kubeflow)
    kubeflow_image: str = "gcr.io/my-project/albert-tfx:latest"
    kubeflow_pipeline_root: str = "gs://my-bucket/albert-tfx"
    # Airflow (compile --target airflow / pipeline/airflow_dag.py)
    airflow_schedule: str = "0 3 * * *"  # cron: every day at 03:00
    airflow_start_date: str = "2026-01-01"

    def validate(self) -> None:
        if not _PIPELINE_NAME.fullmatch(self.pipeline_name):
            raise ConfigError(f"orchestration.pipeline_name must be ASCII letters, digits, '-' or '_', starting with "
                              f"a letter or digit, got {self.pipeline_name!r}")
        if not self.output_dir:
            raise ConfigError("orchestration.output_dir is empty")
        if storage.is_remote(self.metadata_path):
            raise ConfigError(f"orchestration.metadata_file must be a local path (ML Metadata's SQLite database), "
                              f"got {self.metadata_path!r}" + ("" if self.metadata_file else
                                                               " from the remote orchestration.output_dir; set it"))
        if self.beam_num_workers < 1:
            raise ConfigError(f"orchestration.beam_num_workers must be >= 1, got {self.beam_num_workers}")
        _choice("orchestration.beam_running_mode", self.beam_running_mode, BEAM_RUNNING_MODES)
        self._check_beam_options()
        if len(self.airflow_schedule.split()) != 5 and not self.airflow_schedule.startswith("@"):
            raise ConfigError(f"orchestration.airflow_schedule must be a 5-field cron or an @preset, got "
                              f"{self.airflow_schedule!r}")
        import datetime

        try:
            datetime.date.fromisoformat(self.airflow_start_date)
        except ValueError:
            raise ConfigError(f"orchestration.airflow_start_date must be YYYY-MM-DD, got "
                              f"{self.airflow_start_date!r}") from None

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.output_dir, "pipeline_root")

    @property
    def metadata_path(self) -> str:
        return self.metadata_file or os.path.join(self.output_dir, "metadata.sqlite")

    def _check_beam_options(self) -> None:
        _choice("orchestration.beam_runner", self.beam_runner, tuple(BEAM_RUNNERS))
        given = beam_options(self.beam_pipeline_args)
        for option, key in _OWNED_BEAM_OPTIONS.items():
            if option not in given:
                continue
            if option.startswith("direct_") and self.beam_runner != "direct":
                raise ConfigError(f"orchestration.beam_pipeline_args: --{option} is a DirectRunner option; "
                                  f"orchestration.beam_runner={self.beam_runner} does not take it")
            raise ConfigError(f"orchestration.beam_pipeline_args must not set --{option}: set {key} instead")
        missing = [f"--{option}" for option in REQUIRED_BEAM_OPTIONS[self.beam_runner] if not given.get(option)]
        if missing:
            raise ConfigError(f"orchestration.beam_runner={self.beam_runner} needs {', '.join(missing)} in "
                              f"orchestration.beam_pipeline_args (e.g. --beam-arg={missing[0]}=...), got "
                              f"{list(self.beam_pipeline_args)}")
        if self.beam_runner == "dataflow":
            for option in DATAFLOW_GCS_OPTIONS:
                if not str(given[option]).startswith("gs://"):
                    raise ConfigError(f"orchestration.beam_pipeline_args: --{option} must be a gs:// path for the "
                                      f"dataflow runner, got {given[option]!r}")

    def beam_args(self) -> List[str]:
        """The Beam pipeline args of every Beam step, on every orchestrator (local, Kubeflow, Airflow): the
        runner, DirectRunner's workers (direct only: no other runner gets DirectRunner options) and, when they
        are processes, `BEAM_WORKER_PLUGIN`, then `beam_pipeline_args`."""
        args = [f"--runner={BEAM_RUNNERS[self.beam_runner]}"]
        if self.beam_runner == "direct":
            args.append(f"--direct_num_workers={self.beam_num_workers}")
            if self.beam_num_workers > 1:
                args.append(f"--direct_running_mode={self.beam_running_mode}")
                if self.beam_running_mode == "multi_processing":
                    args.append(f"--beam_plugins={BEAM_WORKER_PLUGIN}")
        return args + list(self.beam_pipeline_args)


def beam_options(args: Tuple[str, ...]) -> Dict[str, Any]:
    """{option: value} of the Beam options `args` set (`--name=value` or `--name value`), read by Beam's own
    parser as the runner will read them."""
    if not args:
        return {}  # no Beam import (seconds, for its Google Cloud clients) when there is nothing to read
    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(list(args))
    named = {arg[2:].partition("=")[0].replace("-", "_") for arg in args if arg.startswith("--")}
    # Beam's drop_default hides an option given at its default value; the names catch those (abbreviations,
    # which Beam's argparse accepts, only show as values that differ from the default).
    return {**{name: value for name, value in options.get_all_options().items() if name in named},
            **options.get_all_options(drop_default=True)}


SECTIONS = {
    "data": DataConfig,
    "vocabulary": VocabularyConfig,
    "training": TrainingSettings,
    "pretraining": PretrainingSettings,
    "evaluation": EvaluationConfig,
    "qa": QaSettings,
    "serving": ServingConfig,
    "orchestration": OrchestrationConfig,
}


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    vocabulary: VocabularyConfig = dataclasses.field(default_factory=VocabularyConfig)
    training: TrainingSettings = dataclasses.field(default_factory=TrainingSettings)
    pretraining: PretrainingSettings = dataclasses.field(default_factory=PretrainingSettings)
    evaluation: EvaluationConfig = dataclasses.field(default_factory=EvaluationConfig)
    qa: QaSettings = dataclasses.field(default_factory=QaSettings)
    serving: ServingConfig = dataclasses.field(default_factory=ServingConfig)
    orchestration: OrchestrationConfig = dataclasses.field(default_factory=OrchestrationConfig)

    def __post_init__(self):
        for name in SECTIONS:
            getattr(self, name).validate()
        # What needs more than one section, checked as the components will check it.
        self._check_task()
        self.transform_options()
        self.vocabulary_parameters()
        self.pretrainer_training_config()
        self._check_init_from()

    # -- what the components are given (pipeline.py passes these on; checked at construction) ------------

    @property
    def is_qa(self) -> bool:
        return self.training.task == QA_TASK

    def text_features(self) -> Tuple[str, ...]:
        """The raw text features the vocabulary and the Transform read: data.text_columns, or for task qa the
        QA ExampleGen's question and context."""
        return transform_options.QA_TEXT_FEATURES if self.is_qa else tuple(self.data.text_columns)

    def _check_task(self) -> None:
        if (self.data.format == JSON_FORMAT) != self.is_qa and self.data.format != "auto":
            raise ConfigError(f"data.format={self.data.format} and training.task={self.training.task}: SQuAD-format "
                              "JSON (data.format json) is the data of task qa, and task qa reads only that")
        if self.is_qa and self.data.label_values:
            raise ConfigError(f"data.label_values does not apply to training.task qa (answers are spans of the "
                              f"context), got {list(self.data.label_values)}")

    def trainer_training_config(self) -> Dict[str, Any]:
        """The fine-tuning Trainer's `training_config`: the training section's, with task qa's settings."""
        values = self.training.training_config()
        if self.is_qa and self.qa.with_no_answer:
            values = {**values, "qa_with_no_answer": True}
            _check_training_config(values, self.training.longest_seq_length(), "training")
        return values

    def vocabulary_source(self) -> Optional[str]:
        """The vocabulary file passed on instead of training one: `vocabulary.import_from`, else the one shipped
        with `training.init_from` (a ConfigError when that checkpoint ships none); None: train one."""
        if self.vocabulary.import_from:
            return self.vocabulary.import_from
        if not self.training.init_from:
            return None
        shipped = _shipped_vocabulary(self.training.init_from)
        if shipped is None:
            raise ConfigError(f"training.init_from {self.training.init_from} ships no vocabulary beside it: set "
                              "vocabulary.import_from to the checkpoint's SentencePiece .model or WordPiece vocab.txt")
        return shipped.path

    def lower_case(self) -> bool:
        """vocabulary.lower_case resolved (see VocabularyConfig)."""
        if self.vocabulary.lower_case is not None:
            return self.vocabulary.lower_case
        if self.vocabulary_source() is None:
            return False
        shipped = _shipped_vocabulary(self.training.init_from) if self.training.init_from else None
        if shipped is not None and shipped.path == self.vocabulary_source() and shipped.lower_case is not None:
            return shipped.lower_case
        return True

    def _check_init_from(self) -> None:
        """The checkpoint and the vocabulary must fit each other and the sequence lengths: checked here, by name,
        rather than as a shape error in the Trainer. Remote paths are checked when the run reads them."""
        source = self.vocabulary_source()
        if source and not storage.is_remote(source):
            from text_contract import vocabulary  # pure Python

            with open(source, "rb") as handle:
                try:
                    vocabulary_info = vocabulary.read_vocabulary(handle.read(), source)
                except vocabulary.VocabularyError as error:
                    raise ConfigError(f"vocabulary.import_from: {error}") from None
            if vocabulary_info.kind == vocabulary.WORDPIECE and self.pretraining.enabled:
                raise ConfigError(f"pretraining.enabled needs a SentencePiece vocabulary; {source} is a WordPiece "
                                  "vocab.txt (the pretraining data's masking works on SentencePiece pieces)")
        init_from = self.training.init_from
        if not init_from or storage.is_remote(init_from):
            return
        from trainer.checkpoints import WeightImportError, sources  # imports TensorFlow: only with init_from

        try:
            albert_config = sources.read_config(init_from)
        except (WeightImportError, ValueError) as error:
            raise ConfigError(f"training.init_from: {error}") from None
        if source and not storage.is_remote(source) and vocabulary_info.size != albert_config.vocab_size:
            raise ConfigError(
                f"the vocabulary {source} has {vocabulary_info.size} entries but training.init_from {init_from} "
                f"has {albert_config.vocab_size} embedding rows (vocab_size): use the checkpoint's own vocabulary")
        lengths = [("training.max_seq_length" if self.training.max_seq_length else "training.max_derived_seq_length",
                    self.training.longest_seq_length())]
        if self.pretraining.enabled:
            lengths.append(("pretraining.max_seq_length", self.pretraining.max_seq_length))
        for name, length in lengths:
            if length > albert_config.max_position_embeddings:
                raise ConfigError(f"{name}={length} exceeds training.init_from's position embeddings "
                                  f"(max_position_embeddings={albert_config.max_position_embeddings})")

    def transform_options(self) -> TransformOptions:
        """The Transform's options (VocabTransform adds the vocabulary's path at run time)."""
        try:
            if self.is_qa:
                return TransformOptions(
                    task=QA_TASK, lower_case=self.lower_case(),
                    max_seq_length=self.training.longest_seq_length(),
                    max_query_length=self.qa.max_query_length, doc_stride=self.qa.doc_stride,
                    max_windows=self.qa.max_windows, **self.data.long_text_options())
            return TransformOptions(
                text_features=tuple(self.data.text_columns), label_feature=self.data.label_column,
                label_values=tuple(self.data.label_values) if self.data.label_values else None,
                max_seq_length=self.training.max_seq_length, lower_case=self.lower_case(),
                length_coverage=self.training.length_coverage,
                max_derived_seq_length=self.training.max_derived_seq_length, **self.data.long_text_options())
        except ValueError as error:
            raise ConfigError(f"data/training/vocabulary: {error}") from None

    def vocabulary_parameters(self) -> Dict[str, Any]:
        """SentencePieceVocab's parameters, checked by the component's own validation."""
        from components.sentencepiece_vocab import spec as vocabulary_spec  # imports TFX: only when checked

        values = {
            vocabulary_spec.TEXT_FEATURES_KEY: list(self.text_features()),
            vocabulary_spec.VOCAB_SIZE_KEY: self.vocabulary.size,
            vocabulary_spec.LOWER_CASE_KEY: self.lower_case(),
            vocabulary_spec.CHARACTER_COVERAGE_KEY: self.vocabulary.character_coverage,
            vocabulary_spec.IMPORT_FROM_KEY: self.vocabulary_source() or "",
        }
        try:
            vocabulary_spec.resolve_parameters(values)
        except ValueError as error:
            raise ConfigError(f"vocabulary: {error}") from None
        return values

    def pretrainer_training_config(self) -> Dict[str, Any]:
        """The pretraining Trainer's `training_config` (its encoder shape and strategy are the classifier's)."""
        values = {
            "task": "pretrain", "preset": self.training.preset,
            "global_batch_size": self.pretraining.global_batch_size,
            "max_seq_length": self.pretraining.max_seq_length,
            "max_predictions_per_seq": self.pretraining.max_predictions_per_seq,
            "learning_rate": self.pretraining.learning_rate,
            "train_steps": self.pretraining.train_steps,
            "checkpoint_every_steps": checkpoint_interval(self.pretraining.train_steps,
                                                          TrainingConfig.checkpoint_every_steps),
            "warmup_steps": max(1, self.pretraining.train_steps // 10),
            "dynamic_masking": self.pretraining.dynamic_masking, "strategy": self.training.strategy,
        }
        _check_training_config(values, self.pretraining.max_seq_length, "pretraining")
        return values

    # -- construction -------------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], source: str = "config") -> "PipelineConfig":
        if not isinstance(values, Mapping):
            raise ConfigError(f"{source}: expected a mapping of sections {sorted(SECTIONS)}, got "
                              f"{type(values).__name__}")
        unknown = sorted(set(values) - set(SECTIONS))
        if unknown:
            raise ConfigError(f"{source}: unknown section(s) {unknown}; the sections are {sorted(SECTIONS)}")
        sections = {}
        for name, section_cls in SECTIONS.items():
            section_values = values.get(name) or {}
            if not isinstance(section_values, Mapping):
                raise ConfigError(f"{source}: section {name!r} must be a mapping, got {section_values!r}")
            sections[name] = _build_section(section_cls, name, section_values)
        return cls(**sections)

    @classmethod
    def from_yaml(cls, path: str) -> "PipelineConfig":
        import yaml

        if not os.path.isfile(path):
            raise ConfigError(f"config file {path} does not exist")
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise ConfigError(f"config file {path} cannot be read: {error.strerror or error}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:  # a config error like any other, not a crash: say where
            line = data.count(b"\n", 0, error.start) + 1
            raise ConfigError(f"{path}: not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start} "
                              f"(line {line}): {error.reason}; save the file as UTF-8") from None
        try:
            values = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML: {error}") from None
        return cls.from_dict(values, source=path)

    def to_dict(self) -> Dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))  # tuples -> lists

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def with_overrides(self, overrides: Mapping[str, Any]) -> "PipelineConfig":
        """`{"section.field": value}`; string values are parsed as the field's type ("500" -> 500)."""
        values = self.to_dict()
        for key, value in overrides.items():
            section, _, field_name = key.partition(".")
            if section not in SECTIONS or not field_name:
                raise ConfigError(f"override {key!r}: expected section.field with a section of {sorted(SECTIONS)}")
            fields = {f.name: f for f in dataclasses.fields(SECTIONS[section])}
            if field_name not in fields:
                raise ConfigError(f"override {key!r}: {section} has no field {field_name!r}; it has {sorted(fields)}")
            if isinstance(value, str):
                value = _parse_string(key, value, _field_type(SECTIONS[section], field_name))
            values[section][field_name] = value
        return PipelineConfig.from_dict(values, source="overrides")

    def resolved(self) -> "PipelineConfig":
        """Local paths made absolute (components run in other working directories)."""
        return dataclasses.replace(
            self,
            data=dataclasses.replace(self.data, path=_absolute(self.data.path), schema_file=_absolute(self.data.schema_file)),
            vocabulary=dataclasses.replace(self.vocabulary, import_from=_absolute(self.vocabulary.import_from)),
            training=dataclasses.replace(self.training, init_from=_absolute(self.training.init_from)),
            pretraining=dataclasses.replace(self.pretraining, text_files=_absolute(self.pretraining.text_files)),
            serving=dataclasses.replace(self.serving, serving_dir=_absolute(self.serving.serving_dir)),
            orchestration=dataclasses.replace(self.orchestration, output_dir=_absolute(self.orchestration.output_dir),
                                              metadata_file=_absolute(self.orchestration.metadata_file)),
        )

    def storage_paths(self) -> List[str]:
        """Every path the pipeline reads or writes; any may be remote (text_contract.storage: the file system
        of each must be known in every process that runs a step, Beam workers included)."""
        return [path for path in (self.data.path, self.data.schema_file, self.vocabulary.import_from,
                                  self.training.init_from, self.pretraining.text_files, self.serving.serving_dir,
                                  self.orchestration.output_dir) if path]

    @property
    def served_model_dir(self) -> str:
        """`<serving_dir>/<model_name>`: the directory TF Serving's --model_base_path names."""
        return os.path.join(self.serving.serving_dir, self.serving.model_name)


def _shipped_vocabulary(init_from: str):
    if storage.is_remote(init_from):
        return None
    from trainer.checkpoints import sources

    return sources.shipped_vocabulary(init_from)


def _check_training_config(values: Mapping[str, Any], max_seq_length: int, section: str) -> None:
    """TrainingConfig's own checks of a Trainer's `training_config`, at config time (the fields TFX and the
    data fill in get placeholder values)."""
    try:
        TrainingConfig.from_dict({**values, "model_dir": "unused", "max_seq_length": max_seq_length}, source=section)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _choice(name: str, value: Any, choices: Tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {list(choices)}, got {value!r}")


def _field_type(section_cls, field_name: str):
    return typing.get_type_hints(section_cls)[field_name]


def _build_section(section_cls, section: str, values: Mapping[str, Any]):
    fields = {f.name for f in dataclasses.fields(section_cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ConfigError(f"{section}: unknown field(s) {unknown}; the fields are {sorted(fields)}")
    converted = {}
    for name, value in values.items():
        converted[name] = _coerce(f"{section}.{name}", value, _field_type(section_cls, name))
    try:
        return section_cls(**converted)
    except TypeError as error:
        raise ConfigError(f"{section}: {error}") from None


def _coerce(name: str, value: Any, field_type) -> Any:
    """Checks `value` against the field's annotation (lists become tuples where a tuple is declared)."""
    origin = typing.get_origin(field_type)
    args = typing.get_args(field_type)
    if origin is typing.Union and type(None) in args:
        if value is None:
            return None
        field_type = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(field_type), typing.get_args(field_type)
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name} must be a list, got {value!r}")
        return tuple(str(v) for v in value)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{name} must be a mapping, got {value!r}")
        return dict(value)
    if field_type is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        return value
    if field_type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer, got {value!r}")
        return value
    if field_type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        return float(value)
    if field_type is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string, got {value!r}")
        return value
    return value


def _parse_string(name: str, text: str, field_type) -> Any:
    """A flag's text as the field's type: YAML scalars ("500", "true", "1e-3"), lists as "a,b"."""
    import yaml

    origin = typing.get_origin(field_type)
    args = typing.get_args(field_type)
    optional = origin is typing.Union and type(None) in args
    inner = next((a for a in args if a is not type(None)), field_type) if optional else field_type
    if optional and text.lower() in ("none", "null", ""):
        return None
    if inner is str:
        return text
    try:
        if inner is float:
            return float(text)
        if inner is int:
            return int(text)
    except ValueError:
        raise ConfigError(f"{name} must be {'a number' if inner is float else 'an integer'}, got {text!r}") from None
    if inner is bool:
        if text.lower() in ("true", "yes", "1", "on"):
            return True
        if text.lower() in ("false", "no", "0", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {text!r}")
    if typing.get_origin(inner) is tuple:
        if text.lstrip().startswith("["):  # a YAML list, for items that hold commas ("--experiments=a,b")
            try:
                items = yaml.safe_load(text)
            except yaml.YAMLError:
                raise ConfigError(f"{name}: cannot read {text!r} as a list") from None
            if not isinstance(items, list) or any(isinstance(item, (list, dict)) for item in items):
                raise ConfigError(f"{name} must be a list of values, got {text!r}")
            return [str(item) for item in items]
        return [part.strip() for part in text.split(",") if part.strip()]
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(f"{name}: cannot read {text!r}") from None
