"""The blessing gate's report: the model's scores, the majority-class predictor's, and why it was (not) blessed.

The executor writes it beside TFMA's output (`<evaluation>/blessing_gate.json`) once TFMA has decided;
the run summary reads it back (`read_report`). The decision itself is TFMA's (the thresholds of the
EvalConfig, pipeline/evaluation.py); the report only says it in words, one reason per failed threshold of
TFMA's validation result, e.g. "macro_f1 0.4100 does not beat the majority-class predictor's 0.4100 + 0.0200".
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Dict, List, Optional, Sequence

from components.class_metrics_evaluator import chance

REPORT_FILE = "blessing_gate.json"
# The per-class metrics' keys in TFMA's output, in the order the report lists them.
PER_CLASS_METRICS = ("f1_score", "precision", "recall", "auc")


@dataclasses.dataclass(frozen=True)
class GateReport:
    blessing_metric: str  # a name of chance.BLESSING_METRICS
    blessed: bool  # TFMA's validation result
    model: Dict[str, float]  # {metric name of chance.BLESSING_METRICS: the candidate's value}
    majority_class: str  # the label the majority-class predictor answers (its id when the model has no name for it)
    majority_share: float  # that label's share of the eval examples
    majority: Dict[str, float]  # {metric name: the majority-class predictor's value}
    baseline: Dict[str, float]  # {metric name: the last blessed model's value}; empty on a first run
    example_count: Optional[float]
    floor: Optional[float]  # the lower bound on the blessing metric
    min_gain: Optional[float]  # the margin over the majority-class predictor
    max_drop: Optional[float]  # the largest drop against the baseline
    reasons: List[str]  # why it was not blessed, one per failed threshold
    # {label: {metric key: value}}: the candidate's one-vs-rest metrics of each class (f1_score, precision,
    # recall, auc); for a binary task the positive label's F1 is the F1 that GLUE reports (MRPC's label "1").
    per_class: Dict[str, Dict[str, float]] = dataclasses.field(default_factory=dict)

    def lines(self) -> List[str]:
        metric = self.blessing_metric
        rules = [f"{metric} >= {self.floor:.4f}" if self.floor is not None else None,
                 f"beats the majority-class predictor by {self.min_gain:.4f}" if self.min_gain is not None else None,
                 f"at most {self.max_drop:.4f} below the last blessed model" if self.max_drop is not None else None]
        count = f" of {self.example_count:.0f} eval examples" if self.example_count is not None else " of eval"
        lines = [f"blessing gate on {metric}: " + ", ".join(r for r in rules if r),
                 "model: " + _scores(self.model),
                 f"majority-class predictor (always {self.majority_class!r}, {self.majority_share:.1%}{count}): "
                 + _scores(self.majority)]
        if self.baseline:
            lines.append("last blessed model: " + _scores(self.baseline))
        if self.per_class:
            lines.append("per class: " + "; ".join(
                f"{label!r} " + ", ".join(f"{m} {values[m]:.4f}" for m in PER_CLASS_METRICS if m in values)
                for label, values in self.per_class.items()))
        if self.blessed:
            gain = self.model.get(metric, float("nan")) - self.majority.get(metric, float("nan"))
            lines.append(f"blessed: yes ({metric} {self.model.get(metric, float('nan')):.4f} beats the "
                         f"majority-class predictor's {self.majority.get(metric, float('nan')):.4f} by {gain:.4f})")
        else:
            lines.append("not blessed: " + "; ".join(self.reasons or ["TFMA's validation failed"]))
        return lines

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "GateReport":
        return cls(**json.loads(text))


def _scores(values: Dict[str, float]) -> str:
    return ", ".join(f"{name} {values[name]:.4f}" for name in chance.BLESSING_METRICS if name in values)


def report_path(evaluation_uri: str) -> str:
    return os.path.join(evaluation_uri, REPORT_FILE)


def write_report(report: GateReport, evaluation_uri: str) -> str:
    import tensorflow as tf

    path = report_path(evaluation_uri)
    with tf.io.gfile.GFile(path, "w") as handle:
        handle.write(report.to_json())
    return path


def read_report(evaluation_uri: str) -> Optional[GateReport]:
    """The report of a ModelEvaluation; None for one written without it (before the gate had one)."""
    import tensorflow as tf

    path = report_path(evaluation_uri)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as handle:
        return GateReport.from_json(handle.read())


def _overall_slice(evaluation_uri: str):
    """(MetricKey, value) of each number TFMA computed on the overall slice; diffs against the baseline left out."""
    import tensorflow_model_analysis as tfma

    for record in tfma.load_metrics(evaluation_uri):
        if record.slice_key.single_slice_keys:
            continue
        for key_and_value in record.metric_keys_and_values:
            key, value = key_and_value.key, key_and_value.value
            if not key.is_diff and value.HasField("double_value"):
                yield key, value.double_value.value


def _by_class(entries, label_names: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """{label: {metric key: value}} of the candidate's per-class (`binarize`) entries of `_overall_slice` (a
    class id without a name keeps its number)."""
    from tensorflow_model_analysis import constants as tfma_constants

    found: Dict[int, Dict[str, float]] = {}
    for key, value in entries:
        if key.sub_key.HasField("class_id") and key.model_name != tfma_constants.BASELINE_KEY:
            found.setdefault(key.sub_key.class_id.value, {})[key.name] = value
    return {(label_names[i] if 0 <= i < len(label_names) else str(i)): found[i] for i in sorted(found)}


def _by_model(entries) -> Dict[str, Dict[str, float]]:
    """{model name: {metric key: value}} of the entries of `_overall_slice` that are not per class."""
    found: Dict[str, Dict[str, float]] = {}
    for key, value in entries:
        if not key.HasField("sub_key"):
            found.setdefault(key.model_name, {})[key.name] = value
    return found


def overall_metrics(evaluation_uri: str) -> Dict[str, Dict[str, float]]:
    """{model name: {metric key: value}} for the overall slice; diffs against the baseline left out."""
    return _by_model(_overall_slice(evaluation_uri))


def build_report(eval_config, evaluation_uri: str, label_names: Sequence[str]) -> Optional[GateReport]:
    """The report of TFMA's output under `evaluation_uri` for `eval_config`; None when it has no gate metric."""
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis import constants as tfma_constants

    from components.class_metrics_evaluator import tfma_metrics

    metric = tfma_metrics.gate_metric(eval_config)
    if metric is None:
        return None
    names = {key: name for name, key in tfma_metrics.KEYS.items()}
    entries = list(_overall_slice(evaluation_uri))  # TFMA's output, read once for both views
    by_model = _by_model(entries)
    baseline = by_model.pop(tfma_constants.BASELINE_KEY, {})
    candidate = next(iter(by_model.values()), {})  # named "" alone, "candidate" beside a baseline
    floor = max_drop = min_gain = None
    for metrics_spec in eval_config.metrics_specs:
        for config in metrics_spec.metrics:
            threshold = config.threshold
            if config.class_name == tfma_metrics.GainOverMajorityClass.__name__:
                min_gain = _lower_bound(threshold)
            elif config.class_name == tfma_metrics.CLASS_NAMES[metric]:
                floor = _lower_bound(threshold)
                if threshold.HasField("change_threshold"):
                    max_drop = _configured(-threshold.change_threshold.absolute.value)
    majority = {m: candidate[chance.majority_key(m)] for m in chance.BLESSING_METRICS
                if chance.majority_key(m) in candidate}
    majority_id = candidate.get(chance.MAJORITY_CLASS_KEY)
    if majority_id is not None and 0 <= int(majority_id) < len(label_names):
        majority_label = label_names[int(majority_id)]
    else:
        majority_label = str(None if majority_id is None else int(majority_id))
    model = {names[k]: v for k, v in candidate.items() if k in names}
    baseline_scores = {names[k]: v for k, v in baseline.items() if k in names}
    # The gate metric always has a threshold (the margin), so TFMA always validates.
    result = tfma.load_validation_result(evaluation_uri)
    reasons = [_reason(failure, metric, names, model, majority, baseline_scores, min_gain)
               for per_slice in result.metric_validations_per_slice for failure in per_slice.failures]
    if not result.validation_ok and not reasons:
        reasons.append(f"TFMA's validation failed: {' '.join(str(result).split())[:300]}")
    return GateReport(
        blessing_metric=metric, blessed=bool(result.validation_ok), model=model, majority_class=majority_label,
        majority_share=majority.get(chance.ACCURACY, float("nan")), majority=majority, baseline=baseline_scores,
        example_count=candidate.get(tfma_metrics.EXAMPLE_COUNT_KEY), floor=floor, min_gain=min_gain,
        max_drop=max_drop, reasons=reasons, per_class=_by_class(entries, label_names))


def _lower_bound(threshold) -> Optional[float]:
    if threshold.HasField("value_threshold") and threshold.value_threshold.HasField("lower_bound"):
        return _configured(threshold.value_threshold.lower_bound.value)
    return None


def _configured(bound: float) -> float:
    """A bound as configured: EvalConfigs may widen theirs by a float-rounding margin (1e-9)."""
    return round(bound, 6)


def _reason(failure, metric: str, names: Dict[str, str], model: Dict[str, float], majority: Dict[str, float],
            baseline: Dict[str, float], min_gain: Optional[float]) -> str:
    key, threshold = failure.metric_key, failure.metric_threshold
    value = failure.metric_value.double_value.value if failure.metric_value.HasField("double_value") else float("nan")
    if key.name == chance.gain_key(metric):
        return (f"{metric} {model.get(metric, float('nan')):.4f} does not beat the majority-class predictor's "
                f"{majority.get(metric, float('nan')):.4f} + {min_gain:.4f}")
    name = names.get(key.name, key.name)
    if key.is_diff:
        allowed = -threshold.change_threshold.absolute.value
        return (f"{name} {model.get(name, float('nan')):.4f} is {-value:.4f} below the last blessed model's "
                f"{baseline.get(name, float('nan')):.4f} (at most {allowed:.4f} allowed)")
    bounds = threshold.value_threshold
    if bounds.HasField("lower_bound") and value < bounds.lower_bound.value:
        return f"{name} {value:.4f} is below the floor {bounds.lower_bound.value:.4f}"
    if bounds.HasField("upper_bound") and value > bounds.upper_bound.value:
        return f"{name} {value:.4f} is above the ceiling {bounds.upper_bound.value:.4f}"
    return failure.message or f"{name} {value:.4f} fails {threshold}"
