"""The label checks made before anything trains: a classifier's data errors found in StatisticsGen's statistics.

A schema cannot say "at least two classes" or "every eval label was trained on", and the Trainer only finds out
minutes later (`num_classes must be at least 2`), so the validator checks the label column of the train and
eval splits here, from the statistics it already reads (`label_counts`: the label values and their counts from
TFDV's rank histogram of a string feature; an integer label gives only its range):

Errors (`LabelDataError`, one line naming each problem):
- the label column is missing from a split, or the train split has fewer than two label values: there is
  nothing to learn;
- an eval label value that the train split does not have: the model has no class for it (the Transform's label
  vocabulary is computed on the train split), so those rows would be scored against a class it cannot answer;
- an eval split of fewer than `MIN_EVAL_EXAMPLES` examples: too small to judge a model.
Warnings (returned, shown in the run's progress line): a train label that the eval split lacks (that class
cannot be scored, the others still can: a rare class often misses a small eval split, which is no reason
to refuse the data) and examples without a label value.
"""

import dataclasses
from typing import Dict, List, Mapping, Optional, Tuple

from tensorflow_metadata.proto.v0 import statistics_pb2

from components import data_counts

TRAIN_SPLIT = "train"  # the pipeline's ExampleGen splits (TFX's default names)
EVAL_SPLIT = "eval"
# The blessing gate asks a model to beat the majority-class predictor by 0.02 (pipeline evaluation default):
# below 1 / 0.02 = 50 eval examples a single example moves accuracy by more than that margin, and the gate
# would bless or refuse on noise. The bundled sample has 400 eval rows and the tests' smallest 60.
MIN_EVAL_EXAMPLES = 50


class LabelDataError(data_counts.DataError):
    """The label column cannot train or judge a classifier (single class, unseen eval labels, tiny eval split)."""


@dataclasses.dataclass(frozen=True)
class LabelStats:
    """A split's label column, from its statistics."""

    examples: int  # examples in the split
    missing: int  # examples without a label value
    values: Optional[Dict[str, int]]  # label value -> examples; None when not all are known (see `distinct`)
    distinct: int  # number of distinct label values (for an integer label: 1 when min == max, else 2 or more)

    def text(self) -> str:
        if self.values is None:
            return f"{self.distinct}+ values" if self.distinct > 1 else f"{self.distinct} value"
        return ", ".join(f"{value} {n:,}" for value, n in sorted(self.values.items(), key=lambda kv: (-kv[1], kv[0])))


def _feature(dataset: statistics_pb2.DatasetFeatureStatistics, name: str):
    for feature in dataset.features:
        if list(feature.path.step) == [name] or feature.name == name:
            return feature
    return None


def label_stats(dataset: statistics_pb2.DatasetFeatureStatistics, label_feature: str) -> Optional[LabelStats]:
    """The label column of one split's statistics; None when the split has no such feature."""
    feature = _feature(dataset, label_feature)
    if feature is None:
        return None
    if feature.HasField("string_stats"):
        stats = feature.string_stats
        values = {bucket.label: int(bucket.sample_count) for bucket in stats.rank_histogram.buckets}
        complete = len(values) >= stats.unique  # the histogram keeps the top values only (1,000 by default)
        return LabelStats(int(dataset.num_examples), int(stats.common_stats.num_missing),
                          values if complete else None, int(stats.unique))
    if feature.HasField("num_stats"):
        stats = feature.num_stats
        present = stats.common_stats.num_non_missing > 0
        distinct = 0 if not present else (1 if stats.min == stats.max else 2)
        values = {f"{stats.min:g}": int(stats.common_stats.num_non_missing)} if distinct == 1 else None
        return LabelStats(int(dataset.num_examples), int(stats.common_stats.num_missing), values, distinct)
    return LabelStats(int(dataset.num_examples), int(dataset.num_examples), {}, 0)


def check_labels(datasets: Mapping[str, statistics_pb2.DatasetFeatureStatistics], label_feature: str,
                 min_eval_examples: int = MIN_EVAL_EXAMPLES) -> Tuple[Dict[str, LabelStats], List[str]]:
    """({split: LabelStats}, warnings) of the train and eval splits present in `datasets`.

    Raises LabelDataError with every error of the module docstring, in one line.
    """
    found: Dict[str, LabelStats] = {}
    errors: List[str] = []
    for split in (TRAIN_SPLIT, EVAL_SPLIT):
        if split not in datasets:
            continue
        stats = label_stats(datasets[split], label_feature)
        if stats is None:
            names = sorted(".".join(f.path.step) or f.name for f in datasets[split].features)
            errors.append(f"split {split!r} has no such column (its columns: {names})")
        else:
            found[split] = stats
    train, evaluation = found.get(TRAIN_SPLIT), found.get(EVAL_SPLIT)
    if train is not None and train.distinct < 2:
        errors.append(f"the train split has {train.distinct} class(es) ({train.text() or 'no values'} in "
                      f"{train.examples:,} examples); a classifier needs at least two")
    if evaluation is not None and evaluation.examples < min_eval_examples:
        errors.append(f"the eval split has {evaluation.examples:,} examples, fewer than the {min_eval_examples} needed "
                      "to judge a model; add eval rows (or raise data.eval_fraction when the eval rows are split off)")
    warnings: List[str] = []
    if train is not None and evaluation is not None and train.values is not None and evaluation.values is not None:
        unseen = sorted(set(evaluation.values) - set(train.values))
        if unseen:
            errors.append(f"eval label value(s) {unseen} are not in the train split ({sorted(train.values)}): "
                          "the model would have no class for them")
        untested = sorted(set(train.values) - set(evaluation.values))
        if untested:
            warnings.append(f"train label value(s) {untested} are not in the eval split: those classes are not scored")
    for split, stats in found.items():
        if stats.missing:
            warnings.append(f"{stats.missing:,} {split} example(s) have no {label_feature!r} value")
    if errors:
        raise LabelDataError(f"label column {label_feature!r}: " + "; ".join(errors))
    return found, warnings
