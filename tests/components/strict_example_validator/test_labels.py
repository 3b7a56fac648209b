"""The label checks before anything trains (labels.py), on TFDV's statistics of small tables, and through the
executor: a single class, an eval label the train split lacks and a tiny eval split are one-line data errors; a
train label missing from eval and rows without a label are warnings on the anomalies artifact."""

import json

import pandas as pd
import pytest

from components.strict_example_validator import executor as executor_lib
from components.strict_example_validator import labels, spec
from tests.components.strict_example_validator import support


def _table(label_counts, start=0):
    rows = [label for label, n in label_counts.items() for _ in range(n)]
    return pd.DataFrame({"text": [f"row {start + i}" for i in range(len(rows))], "label": rows})


def _datasets(tmp_path, splits):
    from tfx.components.statistics_gen import stats_artifact_utils

    artifact = support.statistics(tmp_path / "statistics", splits)
    return {split: stats_artifact_utils.load_statistics(artifact, split).proto().datasets[0] for split in splits}


def test_balanced_labels_pass_with_their_counts(tmp_path):
    found, warnings = labels.check_labels(
        _datasets(tmp_path, {"train": _table({"pos": 40, "neg": 30}), "eval": _table({"pos": 30, "neg": 20})}), "label")
    assert found["train"].values == {"pos": 40, "neg": 30} and found["eval"].examples == 50
    assert warnings == []


def test_a_single_class_a_tiny_eval_split_and_unseen_eval_labels_are_one_line_errors(tmp_path):
    datasets = _datasets(tmp_path, {"train": _table({"pos": 60}), "eval": _table({"pos": 10, "maybe": 2})})
    with pytest.raises(labels.LabelDataError) as error:
        labels.check_labels(datasets, "label")
    message = str(error.value)
    assert "\n" not in message
    assert "label column 'label': the train split has 1 class(es) (pos 60 in 60 examples)" in message
    assert f"the eval split has 12 examples, fewer than the {labels.MIN_EVAL_EXAMPLES} needed to judge" in message
    assert "eval label value(s) ['maybe'] are not in the train split (['pos'])" in message


def test_a_train_label_missing_from_eval_and_rows_without_a_label_are_warnings(tmp_path):
    train = _table({"pos": 40, "neg": 40, "rare": 2})
    train.loc[0, "label"] = None
    _, warnings = labels.check_labels(
        _datasets(tmp_path, {"train": train, "eval": _table({"pos": 30, "neg": 30})}), "label")
    assert warnings == ["train label value(s) ['rare'] are not in the eval split: those classes are not scored",
                        "1 train example(s) have no 'label' value"]


def test_a_missing_label_column_is_named_with_the_columns_there_are(tmp_path):
    datasets = _datasets(tmp_path, {"train": _table({"pos": 40, "neg": 40}).rename(columns={"label": "y"})})
    with pytest.raises(labels.LabelDataError, match=r"label column 'label': split 'train' has no such column \(its columns: "
                                                    r"\['text', 'y'\]\)"):
        labels.check_labels(datasets, "label")


def _run(tmp_path, splits, label_feature="label"):
    output = support.anomalies(tmp_path / "anomalies")
    schema = support.SCHEMA.replace('value: "neg" value: "pos"', 'value: "neg" value: "pos" value: "rare"')
    inputs = {spec.STATISTICS_KEY: [support.statistics(tmp_path / "statistics", splits)],
              spec.SCHEMA_KEY: [support.schema(tmp_path / "schema", schema)]}
    result = executor_lib.Executor().Do(inputs, {spec.ANOMALIES_KEY: [output]},
                                        {spec.EXCLUDE_SPLITS_KEY: "[]", spec.LABEL_FEATURE_KEY: label_feature})
    return output, result


def test_the_executor_fails_on_a_single_class_before_validating_the_schema(tmp_path):
    with pytest.raises(labels.LabelDataError, match="has 1 class"):
        _run(tmp_path, {"train": _table({"pos": 60}), "eval": _table({"pos": 30, "neg": 30})})
    assert not (tmp_path / "anomalies").exists()


def test_the_executor_puts_label_counts_and_warnings_on_the_anomalies_artifact(tmp_path):
    output, result = _run(tmp_path, {"train": _table({"pos": 40, "neg": 30, "rare": 1}),
                                     "eval": _table({"pos": 30, "neg": 20})})
    counts = json.loads(output.get_string_custom_property(spec.LABEL_COUNTS_PROPERTY))
    assert counts == {"train": {"pos": 40, "neg": 30, "rare": 1}, "eval": {"pos": 30, "neg": 20}}
    # What ML Metadata gets (TFX's ExecutorOutput), and the line the run's progress shows from it.
    published = result.output_artifacts[spec.ANOMALIES_KEY].artifacts[0].custom_properties
    assert executor_lib.describe(published) == (
        "labels: train pos 40, neg 30, rare 1; eval pos 30, neg 20; "
        "warning: train label value(s) ['rare'] are not in the eval split: those classes are not scored")


def test_without_a_label_feature_the_labels_are_not_checked(tmp_path):
    output, _ = _run(tmp_path, {"train": _table({"pos": 3}), "eval": _table({"pos": 1})}, label_feature="")
    assert spec.LABEL_COUNTS_PROPERTY not in output.mlmd_artifact.custom_properties


def test_the_component_passes_the_label_column_and_the_eval_minimum_on():
    from tfx.types import channel, standard_artifacts

    from components.strict_example_validator import StrictExampleValidator

    statistics = channel.Channel(type=standard_artifacts.ExampleStatistics)
    schema = channel.Channel(type=standard_artifacts.Schema)
    validator = StrictExampleValidator(statistics=statistics, schema=schema, label_feature="label")
    assert validator.exec_properties[spec.LABEL_FEATURE_KEY] == "label"
    assert validator.exec_properties[spec.MIN_EVAL_EXAMPLES_KEY] == labels.MIN_EVAL_EXAMPLES
    with pytest.raises(ValueError, match="min_eval_examples must be >= 1, got 0"):
        StrictExampleValidator(statistics=statistics, schema=schema, label_feature="label", min_eval_examples=0)
