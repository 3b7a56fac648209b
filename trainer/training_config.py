"""`TrainingConfig`: every knob of a training run (task, schedule, optimizer, precision, distribution)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, Optional

from trainer.config import ConfigError

# Tasks a pipeline fine-tunes on; "pretrain" is the MLM + SOP task of the pretraining branch.
FINE_TUNING_TASKS = ("classify",)
TASKS = ("pretrain",) + FINE_TUNING_TASKS
OPTIMIZERS = ("auto", "lamb", "adamw")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")


def checkpoint_interval(train_steps: int, at_most: int) -> int:
    """The checkpoint interval to use for a run of `train_steps`: the largest divisor of `train_steps` that is
    at most `at_most` (the interval must divide the run; see `TrainingConfig.checkpoint_every_steps`)."""
    return max(d for d in range(1, min(train_steps, at_most) + 1) if train_steps % d == 0)


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """A training run. `auto` values are resolved against the task and the hardware at run time:
    optimizer `lamb` for pretraining and `adamw` for fine-tuning (as in the paper); precision
    `mixed_bfloat16` on TPU, `mixed_float16` on GPU, `float32` on CPU."""

    task: str = "classify"
    model_dir: str = "outputs/model"
    preset: str = "tiny"
    albert_config_path: Optional[str] = None  # overrides `preset`
    num_classes: int = 2
    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    global_batch_size: int = 32
    train_steps: int = 1000
    checkpoint_every_steps: int = 100
    keep_checkpoints: int = 3
    learning_rate: float = 5e-5
    end_learning_rate: float = 0.0
    warmup_steps: int = 100
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
    warm_start_path: Optional[str] = None  # a directory written by `albert-tfx convert` or our pretraining
    dynamic_masking: bool = False
    log_every_steps: int = 10
    eval_steps: int = 0
    # Model selection: with eval files, the run is evaluated at the end of every checkpoint interval and the
    # weights with the best value of this Keras log key (e.g. "val_accuracy", "val_loss") are restored at the
    # end, so final/ (and the export) hold them. Lower is better for a key containing "loss", higher otherwise.
    select_best_metric: Optional[str] = None
    seed: int = 42

    def __post_init__(self):
        def check(condition: bool, field: str, requirement: str) -> None:
            if not condition:
                raise ConfigError(f"TrainingConfig.{field} {requirement}, got {getattr(self, field)!r}")

        check(self.task in TASKS, "task", f"must be one of {TASKS}")
        check(self.optimizer in OPTIMIZERS, "optimizer", f"must be one of {OPTIMIZERS}")
        check(self.precision in PRECISIONS, "precision", f"must be one of {PRECISIONS}")
        check(self.strategy in STRATEGIES, "strategy", f"must be one of {STRATEGIES}")
        for name in ("max_seq_length", "global_batch_size", "train_steps", "checkpoint_every_steps",
                     "keep_checkpoints", "gradient_accumulation_steps", "num_cpu_devices", "log_every_steps",
                     "max_predictions_per_seq"):
            value = getattr(self, name)
            check(isinstance(value, int) and not isinstance(value, bool) and value >= 1, name, "must be an integer >= 1")
        for name in ("warmup_steps", "eval_steps"):
            value = getattr(self, name)
            check(isinstance(value, int) and value >= 0, name, "must be an integer >= 0")
        check(self.num_classes >= 2, "num_classes", "must be at least 2")
        check(self.learning_rate > 0, "learning_rate", "must be positive")
        check(0 <= self.end_learning_rate <= self.learning_rate, "end_learning_rate", "must be in [0, learning_rate]")
        check(self.weight_decay >= 0, "weight_decay", "must be >= 0")
        check(self.clip_norm >= 0, "clip_norm", "must be >= 0 (0: no clipping)")
        check(0 <= self.classifier_dropout < 1, "classifier_dropout", "must be in [0, 1)")
        check(self.warmup_steps <= self.train_steps, "warmup_steps", f"must not exceed train_steps={self.train_steps}")
        check(
            self.select_best_metric is None
            or (isinstance(self.select_best_metric, str) and self.select_best_metric.startswith("val_")),
            "select_best_metric",
            "must be None or a validation log key starting with 'val_' (e.g. 'val_accuracy')",
        )
        check(self.max_seq_length <= 512, "max_seq_length", "must be <= 512 (position embeddings)")
        # Checkpoints fall on "epoch" ends (an epoch here = one checkpoint interval), so resuming never
        # repeats or skips a step: the interval must divide the run.
        check(
            self.train_steps % self.checkpoint_every_steps == 0,
            "checkpoint_every_steps",
            f"must divide train_steps={self.train_steps}",
        )

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
