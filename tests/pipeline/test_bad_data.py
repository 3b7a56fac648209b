"""Bad data where users look, through `albert-tfx run`'s runner: bad rows counted in the progress line and the
run summary, a cap on skipped rows that fails the run with the counts, and label errors (one class, unseen eval
labels, an eval split too small to judge) that stop the run before anything trains.

Each run stops at the data steps (ExampleGen, or the validator after StatisticsGen and SchemaGen), so the
tests are short; the Trainer must never have started.
"""

import os
import time

import pytest

from components.data_counts import TooManySkippedRowsError
from components.strict_example_validator.labels import MIN_EVAL_EXAMPLES, LabelDataError
from pipeline import local_runner, sample_data
from pipeline.configs import PipelineConfig

LONG_FIELD = "x" * 1_200_000  # over TextOptions' max_field_chars (1,000,000): cut and counted, the row kept


def _config(tmp_path, **overrides) -> PipelineConfig:
    return PipelineConfig().with_overrides({
        "data.path": str(tmp_path / "data"), "orchestration.output_dir": str(tmp_path / "out"),
        "orchestration.beam_num_workers": 1, "serving.serving_dir": str(tmp_path / "serving"), **overrides})


def _write_csv(path, rows, bad=b""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"text,label\n" + "".join(f"{text},{label}\n" for text, label in rows).encode() + bad)


# One row of each kind: invalid UTF-8, too few fields, too many fields (skipped), an empty text field and a
# 1.2 MB field (kept).
BAD_ROWS = (b"caf\xe9 au lait,positive\n" + b"only one field\n" + b"one,two,positive\n" + b",positive\n"
            + f"{LONG_FIELD},positive\n".encode())


def _trainer_ran(config: PipelineConfig) -> bool:
    root = config.resolved().orchestration.pipeline_root
    return os.path.exists(os.path.join(root, "Trainer"))


def test_one_class_unseen_eval_labels_and_a_tiny_eval_split_stop_the_run_before_training(tmp_path):
    rows = [(text.replace(",", " "), "positive") for text, _ in sample_data.generate_rows(120, seed=1)]
    _write_csv(tmp_path / "data" / "train.csv", rows, BAD_ROWS)
    _write_csv(tmp_path / "data" / "dev.csv", [("fine", "positive"), ("awful", "negative")] * 10)
    config = _config(tmp_path)
    progress = []
    started = time.time()
    with pytest.raises(LabelDataError) as error:
        local_runner.run(config, report=progress.append)
    message = str(error.value)
    assert "\n" not in message
    assert "label column 'label': the train split has 1 class(es) (positive 122 in 122 examples)" in message
    assert f"the eval split has 20 examples, fewer than the {MIN_EVAL_EXAMPLES} needed to judge a model" in message
    assert "eval label value(s) ['negative'] are not in the train split (['positive'])" in message
    assert not _trainer_ran(config) and not any("Trainer" in line for line in progress), progress

    # ExampleGen's progress line and the run summary show every count: read, kept, skipped by reason, truncated.
    counts = ("read 145 rows, kept 142 (eval 20, train 122), skipped 3 (too_few_fields 1, too_many_fields 1, "
              "invalid_utf8 1), truncated 1 (fields cut to 1,000,000 characters); empty fields 1")
    assert any(line.startswith("[1/") and "TextExampleGen done" in line and line.endswith(counts)
               for line in progress), progress
    names = [line.split()[1] for line in progress if line.endswith(" ...")]
    summary = local_runner.summarize(config.resolved(), started, names, None)
    assert f"TextExampleGen: {counts}" in summary.lines(), summary.lines()


def test_too_many_skipped_rows_fail_the_run_with_the_file_and_counts(tmp_path):
    rows = [(text.replace(",", " "), label) for text, label in sample_data.generate_rows(20, seed=2)]
    _write_csv(tmp_path / "data" / "train.csv", rows, BAD_ROWS)  # 3 of 25 rows skipped: 12% > 10%
    _write_csv(tmp_path / "data" / "dev.csv", rows)
    config = _config(tmp_path)
    with pytest.raises(TooManySkippedRowsError) as error:
        local_runner.run(config, report=lambda line: None)
    train = tmp_path / "data" / "train.csv"
    assert str(error.value) == (
        f"TextExampleGen: {train}: 3 of 25 rows skipped (12.0%: too_few_fields 1, too_many_fields 1, invalid_utf8 1): "
        "more than max_skipped_fraction 0.1 allows; fix the data or how it is read (delimiter, quoting, columns), "
        "or raise the cap (data.max_skipped_fraction in the pipeline config)")
    assert not _trainer_ran(config)
    # Nothing was published: a rerun does not take the failed ExampleGen's output from the cache.
    from tfx.orchestration import metadata

    with metadata.Metadata(metadata.sqlite_metadata_connection_config(
            config.resolved().orchestration.metadata_path)) as m:
        assert local_runner._latest(m.store, "Examples", config.orchestration.pipeline_name) is None
    assert not (tmp_path / "serving").exists()


def test_the_cap_is_a_validated_config_knob():
    from pipeline.configs import ConfigError

    assert PipelineConfig().data.max_skipped_fraction == 0.1
    assert PipelineConfig().with_overrides({"data.max_skipped_fraction": "0.5"}).data.max_skipped_fraction == 0.5
    with pytest.raises(ConfigError, match=r"^data.max_skipped_fraction must be a fraction in \[0, 1\], got 1.5$"):
        PipelineConfig().with_overrides({"data.max_skipped_fraction": "1.5"})
