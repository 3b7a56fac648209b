"""StrictExampleValidator's executor: the label checks, TFX's ExampleValidator, then a failure that lists the anomalies.

TFX's ExampleValidator only records anomalies (and a `blessed` property nothing downstream reads), so a
bad data drop would still be trained on and, if it scored well enough, pushed. Raising here stops the run
before the vocabulary and the Transform, with a report that names each split, feature and problem
(`report`). The anomalies are still written to the artifact's directory for inspection (TFX does not
publish the artifact of a failed execution, so the report is also in the error).

With `label_feature`, the label column is checked first (`labels.check_labels`: a single class, eval labels
the train split lacks, an eval split too small to judge), from the same statistics: a one-line
`labels.LabelDataError` before anything trains. The label counts and warnings go on the anomalies artifact as
custom properties (set before TFX's executor copies the artifact into its ExecutorOutput), where the run's
progress line reads them.
"""

import json
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.components.example_validator import executor as validator_executor
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.types import artifact_utils
from tfx.utils import json_utils

from components.strict_example_validator import labels, report, spec


class Executor(validator_executor.Executor):
    """TFX's ExampleValidator executor; raises `labels.LabelDataError` or `report.DataAnomaliesError`."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]):
        anomalies = artifact_utils.get_single_instance(output_dict[spec.ANOMALIES_KEY])
        label_feature = exec_properties.get(spec.LABEL_FEATURE_KEY) or ""
        if label_feature:
            statistics = artifact_utils.get_single_instance(input_dict[spec.STATISTICS_KEY])
            excluded = json_utils.loads(exec_properties.get(spec.EXCLUDE_SPLITS_KEY) or "[]")
            datasets = {split: stats_artifact_utils.load_statistics(statistics, split).proto().datasets[0]
                        for split in artifact_utils.decode_split_names(statistics.split_names)
                        if split in (labels.TRAIN_SPLIT, labels.EVAL_SPLIT) and split not in excluded}
            min_eval = exec_properties.get(spec.MIN_EVAL_EXAMPLES_KEY) or labels.MIN_EVAL_EXAMPLES
            found, warnings = labels.check_labels(datasets, label_feature, int(min_eval))
            anomalies.set_string_custom_property(spec.LABEL_COUNTS_PROPERTY, json.dumps(
                {split: stats.values for split, stats in found.items()}, ensure_ascii=False))
            anomalies.set_string_custom_property(spec.LABEL_WARNINGS_PROPERTY, "; ".join(warnings))
            for warning in warnings:
                logging.warning("StrictExampleValidator: %s", warning)
        result = super().Do(input_dict, output_dict, exec_properties)
        report.check(anomalies)
        return result


def describe(custom_properties) -> str:
    """`labels: train positive 1,500, negative 1,500; eval ...; warning: ...` from the anomalies artifact's custom
    properties (ML Metadata's map of name -> Value); '' when the labels were not checked."""
    if spec.LABEL_COUNTS_PROPERTY not in custom_properties:
        return ""
    counts = json.loads(custom_properties[spec.LABEL_COUNTS_PROPERTY].string_value)
    parts = [f"{split} " + (", ".join(f"{label} {n:,}" for label, n in sorted(values.items(), key=lambda kv: -kv[1]))
                            if values is not None else "(many values)") for split, values in counts.items()]
    line = "labels: " + "; ".join(parts)
    warnings = custom_properties[spec.LABEL_WARNINGS_PROPERTY].string_value
    return line + (f"; warning: {warnings}" if warnings else "")
