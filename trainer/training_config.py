"""`TrainingConfig`: every knob of a training run (task, schedule, optimizer, precision, distribution)."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Dict, Optional, Sequence, Tuple

from text_contract.transform_options import QA_TASK
from trainer.config import ConfigError

# Tasks a pipeline fine-tunes on; "pretrain" is the MLM + SOP task of the pretraining branch.
FINE_TUNING_TASKS = ("classify",)
# Extractive question answering (issue 15): start and end positions of the answer in each window; the
# Transform's name for the task (text_contract.transform_options), so that both say the same. Not among
# FINE_TUNING_TASKS, the classification tasks (epochs, class weights); the pipeline offers PIPELINE_TASKS.
TASKS = ("pretrain",) + FINE_TUNING_TASKS + (QA_TASK,)
PIPELINE_TASKS = FINE_TUNING_TASKS + (QA_TASK,)
OPTIMIZERS = ("auto", "lamb", "adamw")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")
CLASS_WEIGHTS = ("none", "balanced")
# What the classifier's head reads (trainer/classifier.py): "cls", the pooler at [CLS] (ALBERT's, trained by
# SOP in a released checkpoint); "mean", the pooler over the mean of the non-padding final hidden states.
POOLINGS = ("cls", "mean")
# With `epochs` and no `eval_every_steps`: evaluate about twice a pass over the data, so the best checkpoint
# is found to within half an epoch, but never more often than every 20 steps (tiny data: each evaluation
# and checkpoint costs about as much as a few steps) nor less often than every 1,000 (large data: a run
# capped by max_train_steps still gets several evaluations to choose from and to stop early on).
EVALUATIONS_PER_EPOCH = 2
EVAL_EVERY_STEPS_BOUNDS = (20, 1000)


def checkpoint_interval(train_steps: int, at_most: int) -> int:
    """The checkpoint interval to use for a run of `train_steps`: the largest divisor of `train_steps` that is
    at most `at_most` (the interval must divide the run; see `TrainingConfig.checkpoint_every_steps`)."""
    return max(d for d in range(1, min(train_steps, at_most) + 1) if train_steps % d == 0)


def warmup_steps_for(train_steps: int, warmup_fraction: float) -> int:
    """The warmup of a run of `train_steps` that warms up over `warmup_fraction` of it (at least 1 step
    when the fraction is not 0)."""
    return max(1, int(train_steps * warmup_fraction)) if warmup_fraction > 0 else 0


def fixed_schedule(train_steps: int, checkpoint_every_steps: int,
                   eval_every_steps: Optional[int] = None) -> Tuple[int, Optional[int]]:
    """`(checkpoint_every_steps, eval_every_steps)` for a run of a fixed `train_steps`: checkpoints at most
    `checkpoint_every_steps` apart on a divisor of the evaluation interval (or of the run, when evaluations
    follow the checkpoints). `eval_every_steps` must divide `train_steps`."""
    if eval_every_steps is None:
        return checkpoint_interval(train_steps, checkpoint_every_steps), None
    if eval_every_steps < 1 or train_steps % eval_every_steps:
        raise ConfigError(f"eval_every_steps must divide train_steps={train_steps}, got {eval_every_steps!r}")
    return checkpoint_interval(eval_every_steps, checkpoint_every_steps), eval_every_steps


def epoch_budget(
    examples: int,
    epochs: float,
    global_batch_size: int,
    checkpoint_every_steps: int,
    eval_every_steps: Optional[int] = None,
    max_train_steps: Optional[int] = None,
) -> Dict[str, int]:
    """`train_steps`, `checkpoint_every_steps` and `eval_every_steps` for `epochs` passes over `examples`.

    `ceil(epochs * examples / global_batch_size)` steps (at most `max_train_steps`), rounded to a whole
    number of evaluation intervals, each a whole number of checkpoint intervals of at most
    `checkpoint_every_steps` (checkpoints fall on interval ends, so resuming repeats no step). The
    evaluation interval is `eval_every_steps` when given, else about `EVALUATIONS_PER_EPOCH` a pass,
    within `EVAL_EVERY_STEPS_BOUNDS`.
    """
    if examples < 1:
        raise ConfigError(f"epochs={epochs!r} needs labelled train examples, got {examples!r}")
    steps = max(1, math.ceil(epochs * examples / global_batch_size))
    if max_train_steps:
        steps = min(steps, max_train_steps)
    if eval_every_steps:
        evaluation = min(eval_every_steps, steps)
        interval = checkpoint_interval(evaluation, checkpoint_every_steps)
    else:
        low, high = EVAL_EVERY_STEPS_BOUNDS
        steps_per_epoch = math.ceil(examples / global_batch_size)
        target = min(max(math.ceil(steps_per_epoch / EVALUATIONS_PER_EPOCH), low), high, steps)
        # k equal checkpoint intervals per evaluation, each at most checkpoint_every_steps.
        per_evaluation = math.ceil(target / checkpoint_every_steps)
        interval = target // per_evaluation
        evaluation = interval * per_evaluation
    evaluations = max(1, round(steps / evaluation))
    if max_train_steps and evaluations * evaluation > max_train_steps:
        evaluations = max(1, max_train_steps // evaluation)
    return {"train_steps": evaluations * evaluation, "checkpoint_every_steps": interval,
            "eval_every_steps": evaluation}


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """A training run. `auto` values are resolved against the task and the hardware at run time:
    optimizer `lamb` for pretraining and `adamw` for fine-tuning (as in the paper); precision
    `mixed_bfloat16` on TPU, `mixed_float16` on GPU, `float32` on CPU."""

    task: str = "classify"
    model_dir: str = "outputs/model"
    preset: str = "tiny"
    albert_config_path: Optional[str] = None  # overrides `preset`
    num_classes: int = 2  # classify only (task qa's classes are the window's positions)
    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    global_batch_size: int = 32
    # None only with `epochs` (then computed from the data by `with_label_counts`).
    train_steps: Optional[int] = 1000
    # A budget that fits the data: `epochs` passes over the labelled train examples. The data's label counts
    # (`train_label_counts`, filled in by trainer.train.train before it builds anything) then give
    # train_steps, checkpoint_every_steps (at most the value here) and eval_every_steps; see `epoch_budget`.
    epochs: Optional[float] = None
    max_train_steps: Optional[int] = None  # caps the steps `epochs` gives (only with `epochs`)
    train_label_counts: Optional[Tuple[int, ...]] = None  # labelled train examples per class (the data's)
    checkpoint_every_steps: int = 100
    keep_checkpoints: int = 3
    learning_rate: float = 5e-5
    end_learning_rate: float = 0.0
    warmup_steps: int = 100
    # When set, warmup_steps = this fraction of train_steps (`warmup_steps_for`), whatever train_steps becomes.
    warmup_fraction: Optional[float] = None
    decay_power: float = 1.0
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    optimizer: str = "auto"
    gradient_accumulation_steps: int = 1
    precision: str = "auto"
    xla: bool = False
    strategy: str = "auto"
    num_cpu_devices: int = 1  # logical CPU devices for the `mirrored` strategy on a CPU-only host
    tpu_address: Optional[str] = None
    classifier_dropout: float = 0.1
    classifier_pooling: str = "cls"  # one of POOLINGS
    # Task qa: the model also outputs `no_answer_score` (SQuAD v2.0 unanswerable questions; trainer/heads/span.py).
    # Training is the same either way: a window without the answer targets [CLS] at both positions.
    qa_with_no_answer: bool = False
    # Task qa: the rows are questions with up to this many windows each (the Transform's layout,
    # text_contract/windows.py); None: one window per row (trainer/input_pipeline.py: qa_feature_spec).
    qa_max_windows: Optional[int] = None
    # Task classify with the Transform's long_text "windows": the rows are documents with up to this many windows
    # each (text_contract/windows.py: document_windows), trained on as one example per window with the
    # document's label; None: one sequence per row (trainer/input_pipeline.py: classification_feature_spec).
    # run_fn reads it from the Transform output.
    max_windows_per_document: Optional[int] = None
    warm_start_path: Optional[str] = None  # a directory written by `albert-tfx convert` or our pretraining
    dynamic_masking: bool = False
    log_every_steps: int = 10
    eval_steps: int = 0
    # Model selection: with eval files, the run is evaluated at the end of every checkpoint interval and the
    # weights with the best value of this Keras log key (e.g. "val_accuracy", "val_loss") are restored at the
    # end, so final/ (and the export) hold them. Lower is better for a key containing "loss", higher otherwise.
    select_best_metric: Optional[str] = None
    # Evaluate (and select the best weights, and decide on early stopping) every this many steps: a multiple
    # of checkpoint_every_steps that divides train_steps. None: at every checkpoint (with `epochs`: derived).
    eval_every_steps: Optional[int] = None
    # Stop after this many evaluations without a better select_best_metric (0: never stop early).
    early_stopping_patience: int = 0
    # "balanced": each labelled train example weighs total / (num_classes * its class's count) in the loss,
    # so every class counts as much as the others (the weights average 1: the loss keeps its scale).
    class_weights: str = "none"
    # Stop with TrainingDiverged when the smoothed loss, after warmup, exceeds this many times its best and
    # its starting value (a NaN or infinite loss always stops). 0: only the NaN/inf check.
    divergence_factor: float = 3.0
    # Evaluate and export an exponential moving average of the weights (trainer/callbacks.py: WeightAverage)
    # with at most this decay per step; 0: the trained weights themselves.
    weight_average_decay: float = 0.0
    seed: int = 42

    def __post_init__(self):
        def check(condition: bool, field: str, requirement: str) -> None:
            if not condition:
                raise ConfigError(f"TrainingConfig.{field} {requirement}, got {getattr(self, field)!r}")

        def integer(value) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        def number(value) -> bool:
            return isinstance(value, (int, float)) and not isinstance(value, bool)

        if self.train_label_counts is not None:  # JSON gives a list
            object.__setattr__(self, "train_label_counts", tuple(self.train_label_counts))
        check(self.task in TASKS, "task", f"must be one of {TASKS}")
        check(self.optimizer in OPTIMIZERS, "optimizer", f"must be one of {OPTIMIZERS}")
        check(self.precision in PRECISIONS, "precision", f"must be one of {PRECISIONS}")
        check(self.strategy in STRATEGIES, "strategy", f"must be one of {STRATEGIES}")
        check(self.classifier_pooling in POOLINGS, "classifier_pooling", f"must be one of {POOLINGS}")
        check(self.class_weights in CLASS_WEIGHTS, "class_weights", f"must be one of {CLASS_WEIGHTS}")
        for name in ("max_seq_length", "global_batch_size", "checkpoint_every_steps",
                     "keep_checkpoints", "gradient_accumulation_steps", "num_cpu_devices", "log_every_steps",
                     "max_predictions_per_seq"):
            check(integer(getattr(self, name)) and getattr(self, name) >= 1, name, "must be an integer >= 1")
        for name in ("train_steps", "max_train_steps", "eval_every_steps"):
            value = getattr(self, name)
            check(value is None or (integer(value) and value >= 1), name, "must be None or an integer >= 1")
        for name in ("warmup_steps", "eval_steps", "early_stopping_patience"):
            value = getattr(self, name)
            check(integer(value) and value >= 0, name, "must be an integer >= 0")
        check(self.epochs is None or (number(self.epochs) and 0 < self.epochs <= 10_000), "epochs",
              "must be None or a number in (0, 10000]")
        check(self.train_steps is not None or self.epochs is not None, "train_steps",
              "must be set unless epochs is (the steps then follow the data)")
        check(self.max_train_steps is None or self.epochs is not None, "max_train_steps",
              "only applies with epochs (it caps the steps they give); leave it out with a fixed train_steps")
        check(self.warmup_fraction is None or (number(self.warmup_fraction) and 0 <= self.warmup_fraction < 1),
              "warmup_fraction", "must be None or in [0, 1)")
        check(number(self.divergence_factor) and (self.divergence_factor == 0 or self.divergence_factor > 1),
              "divergence_factor", "must be 0 (off) or a number > 1")
        check(number(self.weight_average_decay) and 0 <= self.weight_average_decay < 1, "weight_average_decay",
              "must be 0 (off) or in (0, 1)")
        if self.task == QA_TASK:
            # A window's answer positions are its classes: a num_classes other than the default was meant for
            # another task, and the run would silently ignore it.
            check(self.num_classes == TrainingConfig.num_classes, "num_classes",
                  f"does not apply to task {QA_TASK!r} (the classes are the window's positions); leave it out")
        else:
            check(self.num_classes >= 2, "num_classes", "must be at least 2")
        check(isinstance(self.qa_with_no_answer, bool), "qa_with_no_answer", "must be true or false")
        check(self.qa_max_windows is None or (integer(self.qa_max_windows) and self.qa_max_windows >= 1),
              "qa_max_windows", "must be None or an integer >= 1")
        check(self.max_windows_per_document is None
              or (integer(self.max_windows_per_document) and self.max_windows_per_document >= 1),
              "max_windows_per_document", "must be None or an integer >= 1")
        check(self.max_windows_per_document is None or self.task in FINE_TUNING_TASKS, "max_windows_per_document",
              f"applies to the classification tasks {FINE_TUNING_TASKS} only (long documents read as windows)")
        for name, is_set in (("qa_with_no_answer", self.qa_with_no_answer), ("qa_max_windows", self.qa_max_windows)):
            check(not is_set or self.task == QA_TASK, name, f"applies to task {QA_TASK!r} only")
        check(self.learning_rate > 0, "learning_rate", "must be positive")
        check(0 <= self.end_learning_rate <= self.learning_rate, "end_learning_rate", "must be in [0, learning_rate]")
        check(self.weight_decay >= 0, "weight_decay", "must be >= 0")
        check(self.clip_norm >= 0, "clip_norm", "must be >= 0 (0: no clipping)")
        check(0 <= self.classifier_dropout < 1, "classifier_dropout", "must be in [0, 1)")
        check(
            self.select_best_metric is None
            or (isinstance(self.select_best_metric, str) and self.select_best_metric.startswith("val_")),
            "select_best_metric",
            "must be None or a validation log key starting with 'val_' (e.g. 'val_accuracy')",
        )
        check(self.early_stopping_patience == 0 or self.select_best_metric is not None, "early_stopping_patience",
              "needs select_best_metric (the metric that must improve)")
        check(self.epochs is None or self.task in FINE_TUNING_TASKS, "epochs",
              f"applies to the classification tasks {FINE_TUNING_TASKS} only (pretraining and {QA_TASK!r} "
              "count steps: set train_steps)")
        check(self.class_weights == "none" or self.task in FINE_TUNING_TASKS, "class_weights",
              f"applies to the classification tasks {FINE_TUNING_TASKS} only")
        check(self.train_label_counts is None
              or (len(self.train_label_counts) == self.num_classes
                  and all(integer(c) and c >= 0 for c in self.train_label_counts)),
              "train_label_counts", f"must be None or num_classes={self.num_classes} counts >= 0")
        check(self.max_seq_length <= 512, "max_seq_length", "must be <= 512 (position embeddings)")
        if not self.budget_known:
            return  # train_steps and what depends on it come from the data
        if self.warmup_fraction is not None:
            object.__setattr__(self, "warmup_steps", warmup_steps_for(self.train_steps, self.warmup_fraction))
        check(self.warmup_steps <= self.train_steps, "warmup_steps", f"must not exceed train_steps={self.train_steps}")
        # Checkpoints fall on "epoch" ends (an epoch here = one checkpoint interval), so resuming never
        # repeats or skips a step: the interval must divide the run.
        check(
            self.train_steps % self.checkpoint_every_steps == 0,
            "checkpoint_every_steps",
            f"must divide train_steps={self.train_steps}",
        )
        check(self.eval_every_steps is None
              or (self.eval_every_steps % self.checkpoint_every_steps == 0
                  and self.train_steps % self.eval_every_steps == 0),
              "eval_every_steps",
              f"must be a multiple of checkpoint_every_steps={self.checkpoint_every_steps} that divides "
              f"train_steps={self.train_steps}")

    @property
    def budget_known(self) -> bool:
        """False while `epochs` waits for the data's label counts (`with_label_counts`)."""
        return self.epochs is None or self.train_label_counts is not None

    @property
    def needs_label_counts(self) -> bool:
        """Whether the run needs the train split's label counts (epochs or balanced class weights)."""
        return self.train_label_counts is None and (self.epochs is not None or self.class_weights != "none")

    def with_label_counts(self, counts: Sequence[int]) -> "TrainingConfig":
        """This run fitted to its data: `counts[c]` labelled train examples of class c. With `epochs`,
        train_steps, checkpoint_every_steps and eval_every_steps follow from them (`epoch_budget`)."""
        counts = tuple(int(c) for c in counts)
        changes: Dict[str, Any] = {"train_label_counts": counts}
        if self.epochs is not None:
            try:
                changes.update(epoch_budget(sum(counts), self.epochs, self.global_batch_size,
                                            self.checkpoint_every_steps, self.eval_every_steps, self.max_train_steps))
            except ConfigError as error:
                raise ConfigError(f"TrainingConfig.{error}") from None
            if self.warmup_fraction is None:
                changes["warmup_steps"] = min(self.warmup_steps, changes["train_steps"])
        return self.replace(**changes)

    @property
    def train_examples(self) -> Optional[int]:
        """The labelled train examples, when the data's counts are known."""
        return None if self.train_label_counts is None else sum(self.train_label_counts)

    @property
    def evaluation_interval(self) -> int:
        """Steps between evaluations (when there is eval data): `eval_every_steps`, else every checkpoint."""
        return self.eval_every_steps or self.checkpoint_every_steps

    def class_weight_values(self) -> Optional[Tuple[float, ...]]:
        """The loss weight of each class id, or None for unweighted training."""
        if self.class_weights == "none":
            return None
        if self.train_label_counts is None:
            raise ConfigError("TrainingConfig.class_weights='balanced' needs train_label_counts (the data's)")
        total, present = self.train_examples, sum(1 for c in self.train_label_counts if c)
        # A class absent from the train split gets weight 0: no example carries it anyway.
        return tuple(total / (present * c) if c else 0.0 for c in self.train_label_counts)

    @property
    def num_checkpoint_intervals(self) -> int:
        return self.train_steps // self.checkpoint_every_steps

    @property
    def select_best_mode(self) -> str:
        """'min' for a loss, 'max' for anything else (accuracy)."""
        return "min" if self.select_best_metric and "loss" in self.select_best_metric else "max"

    def resolved_optimizer(self) -> str:
        if self.optimizer != "auto":
            return self.optimizer
        return "lamb" if self.task == "pretrain" else "adamw"

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Dict[str, Any], source: str = "training config") -> "TrainingConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown TrainingConfig field(s) {unknown}")
        try:
            return cls(**values)
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None

    @classmethod
    def from_json(cls, text: str, source: str = "training config") -> "TrainingConfig":
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{source}: not valid JSON ({error})") from None
        return cls.from_dict(values, source)

    def replace(self, **changes: Any) -> "TrainingConfig":
        return dataclasses.replace(self, **changes)
