"""The anomalies that TFX's ExampleValidator writes, read back and reported (`report`), on statistics that
TFDV made from small tables and a schema that one split breaks."""

import pytest
from tfx.components.example_validator import executor as validator_executor

from components.strict_example_validator import report, spec
from tests.components.strict_example_validator import support


def _validate(tmp_path, splits, schema_text=support.SCHEMA):
    """Runs TFX's own ExampleValidator executor (which records anomalies and never fails); the output artifact."""
    output = support.anomalies(tmp_path / "anomalies")
    inputs = {spec.STATISTICS_KEY: [support.statistics(tmp_path / "statistics", splits)],
              spec.SCHEMA_KEY: [support.schema(tmp_path / "schema", schema_text)]}
    validator_executor.Executor().Do(inputs, {spec.ANOMALIES_KEY: [output]}, {spec.EXCLUDE_SPLITS_KEY: "[]"})
    return output


def test_the_anomalies_of_each_split_are_read_back(tmp_path):
    output = _validate(tmp_path, {"train": support.CLEAN, "eval": support.NEW_LABEL})
    assert (tmp_path / "anomalies" / "Split-eval" / report.ANOMALIES_FILE).is_file()
    found = report.read_anomalies(output)
    assert sorted(found) == ["eval", "train"]
    assert not found["train"].anomaly_info and not found["train"].HasField("dataset_anomaly_info")
    assert list(found["eval"].anomaly_info) == ["label"]


def test_the_report_names_split_feature_and_problem(tmp_path):
    output = _validate(tmp_path, {"train": support.CLEAN, "eval": support.NEW_LABEL})
    lines = report.format_report(report.read_anomalies(output)).splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("split 'eval', feature 'label': Unexpected string values (")
    assert "maybe" in lines[0]


def test_a_whole_dataset_anomaly_is_reported_too(tmp_path):
    at_least_ten = support.SCHEMA + "dataset_constraints { min_examples_count: 10 }\n"
    output = _validate(tmp_path, {"train": support.CLEAN}, at_least_ten)
    [line] = report.format_report(report.read_anomalies(output)).splitlines()
    assert line == ("split 'train', whole dataset: Low num examples in dataset. "
                    "(The dataset has 3 examples, which is fewer than expected.)")


def test_clean_data_gives_an_empty_report_and_check_passes(tmp_path):
    output = _validate(tmp_path, {"train": support.CLEAN, "eval": support.CLEAN.iloc[:2]})
    assert report.format_report(report.read_anomalies(output)) == ""
    report.check(output)
    assert report.format_report({}) == ""


def test_check_raises_with_the_report_and_where_the_anomalies_are(tmp_path):
    output = _validate(tmp_path, {"train": support.CLEAN, "eval": support.NEW_LABEL})
    with pytest.raises(report.DataAnomaliesError) as error:
        report.check(output)
    message = str(error.value)
    assert output.uri in message and "split 'eval', feature 'label': Unexpected string values" in message
