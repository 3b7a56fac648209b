"""StrictExampleValidator's executor on real statistics: it fails the run on anomalies, naming split, feature and
problem, and passes clean data; and the component is ExampleValidator with this executor."""

import pytest
from tfx.types import artifact_utils, channel, standard_artifacts

from components.strict_example_validator import executor as executor_lib
from components.strict_example_validator import report, spec
from tests.components.strict_example_validator import support


def _run(tmp_path, splits, exclude_splits="[]"):
    output = support.anomalies(tmp_path / "anomalies")
    inputs = {spec.STATISTICS_KEY: [support.statistics(tmp_path / "statistics", splits)],
              spec.SCHEMA_KEY: [support.schema(tmp_path / "schema")]}
    result = executor_lib.Executor().Do(inputs, {spec.ANOMALIES_KEY: [output]},
                                        {spec.EXCLUDE_SPLITS_KEY: exclude_splits})
    return output, result


def test_anomalies_fail_the_run_with_a_report_naming_split_feature_and_problem(tmp_path):
    missing_text = support.CLEAN.assign(text=["x", None, "y"])
    with pytest.raises(report.DataAnomaliesError) as error:
        _run(tmp_path, {"train": support.CLEAN, "eval": support.NEW_LABEL, "test": missing_text})
    message = str(error.value)
    assert message.startswith("the data does not match the schema; fix the data or the schema")
    assert str(tmp_path / "anomalies") in message
    assert "split 'eval', feature 'label': Unexpected string values (" in message and "maybe" in message
    assert "split 'test', feature 'text': " in message
    assert "split 'train'" not in message
    # The anomalies stay on disk for inspection.
    assert all((tmp_path / "anomalies" / f"Split-{s}" / report.ANOMALIES_FILE).is_file() for s in ("eval", "test"))


def test_clean_data_passes_and_the_artifact_says_so(tmp_path):
    output, result = _run(tmp_path, {"train": support.CLEAN, "eval": support.CLEAN.iloc[1:]})
    assert artifact_utils.decode_split_names(output.split_names) == ["train", "eval"]
    assert output.get_json_value_custom_property("blessed") == {"train": 1, "eval": 1}
    assert list(result.output_artifacts[spec.ANOMALIES_KEY].artifacts)  # TFX's ExecutorOutput, passed on


def test_excluded_splits_are_not_validated(tmp_path):
    output, _ = _run(tmp_path, {"train": support.CLEAN, "eval": support.NEW_LABEL}, exclude_splits='["eval"]')
    assert artifact_utils.decode_split_names(output.split_names) == ["train"]


def test_the_component_is_example_validator_with_the_strict_executor():
    from tfx.components import ExampleValidator

    from components.strict_example_validator import StrictExampleValidator

    validator = StrictExampleValidator(statistics=channel.Channel(type=standard_artifacts.ExampleStatistics),
                                       schema=channel.Channel(type=standard_artifacts.Schema))
    assert isinstance(validator, ExampleValidator) and isinstance(validator.spec, spec.SPEC_CLASS)
    assert validator.executor_spec.executor_class is executor_lib.Executor
    assert validator.outputs[spec.ANOMALIES_KEY].type is standard_artifacts.ExampleAnomalies
