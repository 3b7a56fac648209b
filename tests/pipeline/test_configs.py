"""PipelineConfig: YAML in, flags over it, every bad value named."""

import dataclasses
import os

import pytest

from pipeline.configs import ConfigError, PipelineConfig


def test_defaults_validate_and_round_trip_through_yaml(tmp_path):
    config = PipelineConfig()
    path = tmp_path / "pipeline.yaml"
    path.write_text(config.to_yaml())
    assert PipelineConfig.from_yaml(str(path)) == config


def test_yaml_sections_set_fields_and_lists_become_tuples(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text("data:\n  text_columns: [question, answer]\n  label_column: is_duplicate\n"
                    "training:\n  train_steps: 25\n  learning_rate: 0.0005\n")
    config = PipelineConfig.from_yaml(str(path))
    assert config.data.text_columns == ("question", "answer")
    assert config.training.train_steps == 25 and config.training.learning_rate == 0.0005
    assert config.vocabulary == PipelineConfig().vocabulary


def test_overrides_parse_strings_as_the_fields_type():
    config = PipelineConfig().with_overrides({
        "training.train_steps": "50", "training.learning_rate": "1e-4", "vocabulary.lower_case": "true",
        "data.text_columns": "a,b", "data.label_values": "none"})
    assert config.training.train_steps == 50
    assert config.training.learning_rate == pytest.approx(1e-4)
    assert config.vocabulary.lower_case is True
    assert config.data.text_columns == ("a", "b")
    assert config.data.label_values is None


def test_a_list_override_in_brackets_keeps_commas_inside_its_items():
    config = PipelineConfig().with_overrides({
        "orchestration.beam_pipeline_args": '["--experiments=use_runner_v2,no_use_multiple_sdk_containers", '
                                            '"--max_num_workers=4"]'})
    assert config.orchestration.beam_pipeline_args == (
        "--experiments=use_runner_v2,no_use_multiple_sdk_containers", "--max_num_workers=4")
    with pytest.raises(ConfigError, match=r"orchestration.beam_pipeline_args: cannot read '\[\"--a' as a list"):
        PipelineConfig().with_overrides({"orchestration.beam_pipeline_args": '["--a'})


@pytest.mark.parametrize("overrides, message", [
    ({"training.learning_rate": "-1"}, "training.learning_rate must be > 0"),
    ({"training.train_steps": "many"}, "training.train_steps must be an integer"),
    ({"training.preset": "huge"}, "training.preset must be one of"),
    ({"training.strategy": "gpu"}, "training.strategy must be one of"),
    ({"data.text_columns": "a,b,c"}, "data.text_columns must name one column or two"),
    ({"data.label_column": "text"}, "data.label_column 'text' is also a text column"),
    ({"data.header": "false"}, "data.column_names is required"),
    ({"data.span_pattern": "drops/*.csv"}, "must contain {SPAN}"),
    ({"evaluation.min_accuracy": "1.5"}, "evaluation.min_accuracy must be in [0, 1]"),
    ({"serving.model_name": "my model"}, "serving.model_name must be"),
    # The name is a directory, a REST path segment and a metrics label: ASCII, decided in serving.layout.
    ({"serving.model_name": "模型"}, "serving.model_name must be ASCII letters, digits, '-' or '_'"),
    ({"orchestration.pipeline_name": "流水线"}, "orchestration.pipeline_name must be ASCII"),
    # Checked as the Pretrainer and PretrainingDataGen will check them, even with the branch off.
    ({"pretraining.max_seq_length": "1024"}, "must be <= 512 (position embeddings), got 1024"),
    ({"pretraining.max_seq_length": "4"}, "pretraining: max_seq_length must be an int >= 5"),
    ({"pretraining.max_predictions_per_seq": "0"}, "pretraining.max_predictions_per_seq must be >= 1"),
    # Checked as SentencePieceVocab and the Transform will check them.
    ({"data.text_columns": "a,a"}, "vocabulary: text_features has duplicates"),
    ({"training.max_seq_length": "4", "data.text_columns": "a,b"},
     "custom_config['max_seq_length'] must be >= 5, got 4"),
    ({"training.length_coverage": "0.2"}, "custom_config['length_coverage'] must be a share in [0.5, 1], got 0.2"),
    ({"training.max_derived_seq_length": "1024"}, "must be <= 512 (position embeddings), got 1024"),
    ({"training.max_derived_seq_length": "2"}, "custom_config['max_derived_seq_length'] must be >= 3, got 2"),
    ({"training.max_seq_length": "0"}, "training.max_seq_length must be >= 1 (or null)"),
    ({"orchestration.airflow_schedule": "daily"}, "orchestration.airflow_schedule must be"),
    ({"training.extra": {"num_classes": 3}}, "training.extra must not set ['num_classes']"),
    ({"training.extra": {"optimizer_name": "sgd"}}, "optimizer_name"),
    ({"trainer.train_steps": "5"}, "expected section.field with a section of"),
    ({"training.steps": "5"}, "training has no field 'steps'"),
])
def test_bad_values_name_the_field(overrides, message):
    with pytest.raises(ConfigError) as error:
        PipelineConfig().with_overrides(overrides)
    assert message in str(error.value)


def test_unknown_sections_and_fields_in_yaml_are_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("trainig:\n  train_steps: 5\n")
    with pytest.raises(ConfigError, match=r"unknown section\(s\) \['trainig'\]"):
        PipelineConfig.from_yaml(str(path))
    path.write_text("training:\n  train_step: 5\n")
    with pytest.raises(ConfigError, match=r"training: unknown field\(s\) \['train_step'\]"):
        PipelineConfig.from_yaml(str(path))
    path.write_text("training: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        PipelineConfig.from_yaml(str(path))
    with pytest.raises(ConfigError, match="does not exist"):
        PipelineConfig.from_yaml(str(tmp_path / "missing.yaml"))


def test_training_config_is_what_the_trainer_accepts():
    from trainer.training_config import TrainingConfig

    settings = PipelineConfig().with_overrides({"training.train_steps": "200", "training.warmup_fraction": "0.25"}).training
    values = settings.training_config()
    assert values["warmup_steps"] == 50
    config = TrainingConfig.from_dict({**values, "model_dir": "x"})
    assert config.train_steps == 200 and config.learning_rate == settings.learning_rate


def test_resolved_makes_local_paths_absolute_and_keeps_remote_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = PipelineConfig().with_overrides({"orchestration.output_dir": "out", "serving.serving_dir": "gs://b/serving"})
    resolved = config.resolved()
    assert resolved.orchestration.output_dir == str(tmp_path / "out")
    assert resolved.serving.serving_dir == "gs://b/serving"
    assert resolved.served_model_dir == "gs://b/serving/albert"
    assert dataclasses.replace(resolved, orchestration=config.orchestration, serving=config.serving).data.path == resolved.data.path


def test_the_defaults_are_the_components_defaults():
    from components.pretraining_data import spec as pretraining_spec
    from components.sentencepiece_vocab import spec as vocabulary_spec
    from components.serving_pusher import ServingPushOptions
    from text_contract import sentencepiece_training

    config = PipelineConfig()
    assert config.vocabulary.size == vocabulary_spec.DEFAULTS[vocabulary_spec.VOCAB_SIZE_KEY] == \
        sentencepiece_training.DEFAULT_VOCAB_SIZE
    assert config.vocabulary.character_coverage == vocabulary_spec.DEFAULTS[vocabulary_spec.CHARACTER_COVERAGE_KEY]
    pusher = ServingPushOptions()
    assert (config.serving.model_name, config.serving.keep_versions) == (pusher.model_name, pusher.keep_versions)
    # Both sides of the pretraining branch read as many prediction slots.
    assert config.pretrainer_training_config()["max_predictions_per_seq"] == \
        pretraining_spec.resolve_parameters(config.pretraining.data_generation_parameters())["max_predictions_per_seq"]


def test_checkpoint_intervals_divide_the_runs_of_both_trainers():
    config = PipelineConfig().with_overrides({"training.train_steps": "150", "training.checkpoint_every_steps": "200",
                                              "pretraining.train_steps": "150"})
    assert config.training.training_config()["checkpoint_every_steps"] == 150
    assert config.pretrainer_training_config()["checkpoint_every_steps"] == 75  # the largest divisor <= 100


def test_the_blessing_gate_defaults_to_macro_f1_with_a_margin_over_the_majority_class():
    evaluation = PipelineConfig().evaluation
    assert (evaluation.blessing_metric, evaluation.min_score, evaluation.min_gain_over_majority,
            evaluation.max_score_drop) == ("macro_f1", 0.6, 0.02, 0.01)
    assert (evaluation.min_accuracy, evaluation.max_accuracy_drop) == (None, None)
    config = PipelineConfig().with_overrides({"evaluation.blessing_metric": "matthews_correlation",
                                              "evaluation.min_score": "-0.5", "evaluation.min_gain_over_majority": "0.1"})
    assert (config.evaluation.blessing_metric, config.evaluation.min_score) == ("matthews_correlation", -0.5)


def test_the_accuracy_only_gate_s_yaml_keys_still_load(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text("evaluation:\n  min_accuracy: 0.8\n  max_accuracy_drop: 0.05\n")
    evaluation = PipelineConfig.from_yaml(str(path)).evaluation
    assert (evaluation.min_accuracy, evaluation.max_accuracy_drop, evaluation.blessing_metric) == (0.8, 0.05, "macro_f1")
    assert PipelineConfig().with_overrides({"evaluation.min_accuracy": "none"}).evaluation.min_accuracy is None


@pytest.mark.parametrize("overrides, message", [
    ({"evaluation.blessing_metric": "auc"},
     "evaluation.blessing_metric must be one of ['accuracy', 'macro_f1', 'matthews_correlation'], got 'auc'"),
    ({"evaluation.min_score": "1.5"}, "evaluation.min_score must be in [0, 1] for macro_f1, got 1.5"),
    ({"evaluation.min_score": "-0.1"}, "evaluation.min_score must be in [0, 1] for macro_f1, got -0.1"),
    ({"evaluation.blessing_metric": "matthews_correlation", "evaluation.min_score": "-1.5"},
     "evaluation.min_score must be in [-1, 1] for matthews_correlation, got -1.5"),
    ({"evaluation.min_gain_over_majority": "0"}, "evaluation.min_gain_over_majority must be in (0, 1]"),
    ({"evaluation.min_gain_over_majority": "2"}, "got 2.0"),
    ({"evaluation.max_score_drop": "-0.01"}, "evaluation.max_score_drop must be in [0, 1], got -0.01"),
    ({"evaluation.max_accuracy_drop": "3"}, "evaluation.max_accuracy_drop must be in [0, 1], got 3.0"),
    ({"evaluation.min_score": "high"}, "evaluation.min_score must be a number, got 'high'"),
])
def test_bad_gate_values_name_the_field_and_the_value(overrides, message):
    with pytest.raises(ConfigError) as error:
        PipelineConfig().with_overrides(overrides)
    assert message in str(error.value)


def test_the_default_budget_is_epochs_fitted_to_the_data_with_early_stopping():
    from trainer.training_config import TrainingConfig

    config = PipelineConfig()
    assert config.training.train_steps is None
    values = config.training.training_config()
    assert values["train_steps"] is None and "warmup_steps" not in values  # both follow from the data
    assert (values["epochs"], values["max_train_steps"], values["select_best_metric"],
            values["early_stopping_patience"], values["class_weights"]) == (10.0, 5000, "val_macro_f1", 6, "balanced")
    trainer = TrainingConfig.from_dict({**values, "model_dir": "x"})
    assert not trainer.budget_known
    fitted = trainer.with_label_counts([30_000, 37_349])  # SST-2's size: capped by max_train_steps
    assert fitted.train_steps <= 5000 and fitted.warmup_steps == int(0.1 * fitted.train_steps)
    # --print-config (to_yaml) shows every budget knob, and the YAML reads back as the same config.
    printed = config.to_yaml()
    for line in ("train_steps: null", "epochs: 10.0", "max_train_steps: 5000", "eval_every_steps: null",
                 "early_stopping_patience: 6", "select_best_metric: val_macro_f1", "class_weights: balanced"):
        assert f"  {line}\n" in printed, line

    fixed = PipelineConfig().with_overrides({"training.train_steps": "600", "training.eval_every_steps": "300",
                                             "training.class_weights": "none"}).training.training_config()
    assert (fixed["train_steps"], fixed["eval_every_steps"], fixed["checkpoint_every_steps"], fixed["warmup_steps"]) == (
        600, 300, 150, 60)
    assert "epochs" not in fixed and "max_train_steps" not in fixed
    assert PipelineConfig().with_overrides({"training.early_stopping_patience": "0",
                                            "training.select_best_metric": "none"}).training.select_best_metric is None


def test_weight_averaging_is_on_by_default_and_both_new_knobs_pass_through():
    values = PipelineConfig().training.training_config()
    assert (values["weight_average_decay"], values["classifier_pooling"]) == (0.999, "cls")
    changed = PipelineConfig().with_overrides({"training.weight_average_decay": "0",
                                               "training.classifier_pooling": "mean"}).training.training_config()
    assert (changed["weight_average_decay"], changed["classifier_pooling"]) == (0.0, "mean")


@pytest.mark.parametrize("overrides, message", [
    ({"training.epochs": "0"}, "training.epochs must be in (0, 10000], got 0.0"),
    ({"training.weight_average_decay": "1.0"}, "training.weight_average_decay must be 0 (off) or in (0, 1), got 1.0"),
    ({"training.classifier_pooling": "max"}, "training.classifier_pooling must be one of ['cls', 'mean'], got 'max'"),
    ({"training.max_train_steps": "0"}, "training.max_train_steps must be >= 1, got 0"),
    ({"training.train_steps": "0"}, "training.train_steps must be >= 1 (or null), got 0"),
    ({"training.eval_every_steps": "0"}, "training.eval_every_steps must be >= 1 (or null), got 0"),
    ({"training.train_steps": "600", "training.eval_every_steps": "250"},
     "training.eval_every_steps must divide training.train_steps=600, got 250"),
    ({"training.early_stopping_patience": "-1"}, "training.early_stopping_patience must be >= 0, got -1"),
    ({"training.select_best_metric": "none"}, "training.early_stopping_patience=6 needs training.select_best_metric"),
    ({"training.select_best_metric": "accuracy"}, "training.select_best_metric must be null or a validation metric"),
    ({"training.class_weights": "inverse"}, "training.class_weights must be one of ['none', 'balanced'], got 'inverse'"),
    ({"training.epochs": "many"}, "training.epochs must be a number, got 'many'"),
    ({"training.extra": {"train_label_counts": [1, 2]}}, "training.extra must not set ['train_label_counts']"),
])
def test_bad_budget_values_name_the_field_and_the_value(overrides, message):
    with pytest.raises(ConfigError) as error:
        PipelineConfig().with_overrides(overrides)
    assert message in str(error.value)


def test_a_remote_output_dir_needs_a_local_metadata_file_and_s3_reaches_the_beam_workers(tmp_path):
    from pipeline.pipeline import create_pipeline
    from pipeline import inputs, sample_data

    with pytest.raises(ConfigError, match=r"orchestration.metadata_file must be a local path .*'s3://b/out/metadata"
                                          r"\.sqlite' from the remote orchestration.output_dir; set it"):
        PipelineConfig().with_overrides({"orchestration.output_dir": "s3://b/out"})
    with pytest.raises(ConfigError, match=r"orchestration.metadata_file must be a local path .*'gs://b/m.sqlite'$"):
        PipelineConfig().with_overrides({"orchestration.metadata_file": "gs://b/m.sqlite"})
    sample_data.write_span(str(tmp_path / "data"), 1, train_rows=40, dev_rows=10)
    config = PipelineConfig().with_overrides({
        "data.path": str(tmp_path / "data"), "orchestration.output_dir": "s3://b/out",
        "orchestration.metadata_file": "meta/m.sqlite", "serving.serving_dir": "s3://b/serving"}).resolved()
    assert config.orchestration.metadata_path == os.path.abspath(os.path.join("meta", "m.sqlite"))
    assert config.orchestration.pipeline_root == "s3://b/out/pipeline_root"
    pipeline = create_pipeline(config, inputs.plan_input(config.data))
    assert "--beam_plugins=tensorflow_io" in pipeline.beam_pipeline_args  # tensorflow-io in every Beam worker
    local = PipelineConfig().with_overrides({"data.path": str(tmp_path / "data"),
                                             "orchestration.output_dir": str(tmp_path / "out")}).resolved()
    assert "--beam_plugins=tensorflow_io" not in create_pipeline(local, inputs.plan_input(local.data)).beam_pipeline_args


def test_task_qa_builds_windows_a_step_budget_and_the_qa_gate():
    from pipeline import evaluation, pipeline as pipeline_lib

    config = PipelineConfig().with_overrides({"training.task": "qa", "qa.doc_stride": "96", "qa.max_windows": "4",
                                              "qa.min_f1": "0.4", "qa.with_no_answer": "true"})
    options = config.transform_options()
    assert (options.task, options.max_seq_length, options.doc_stride, options.max_windows) == ("qa", 256, 96, 4)
    assert options.text_features == ("question", "context") and options.label_feature is None
    assert config.vocabulary_parameters()["text_features"] == ["question", "context"]
    training = config.trainer_training_config()
    # steps, not epochs (a question's window count is unknown before the data is read); windows are scored by loss
    assert training["train_steps"] == config.training.max_train_steps and "epochs" not in training
    assert training["select_best_metric"] == "val_loss" and "class_weights" not in training
    assert training["qa_with_no_answer"] is True
    custom = pipeline_lib.trainer_custom_config(config)
    assert "warm_start_from_served" not in custom and custom["text_features"] == ["question", "context"]
    assert evaluation.qa_gate_parameters(config.qa) == {"min_f1": 0.4, "max_f1_drop": 0.01, "language": "auto"}
    fixed = config.with_overrides({"training.train_steps": "300", "training.max_seq_length": "384"})
    assert fixed.trainer_training_config()["train_steps"] == 300 and fixed.transform_options().max_seq_length == 384


@pytest.mark.parametrize("overrides, message", [
    ({"training.task": "qa", "data.format": "tsv"}, "data.format=tsv and training.task=qa"),
    ({"data.format": "json"}, "data.format=json and training.task=classify"),
    ({"training.task": "qa", "qa.doc_stride": "0"}, "qa.doc_stride must be >= 1, got 0"),
    ({"training.task": "qa", "qa.max_f1_drop": "5"}, r"qa.max_f1_drop must be in \[0, 1\]"),
    ({"training.task": "qa", "qa.language": "fr"}, "qa.language must be one of"),
    ({"training.task": "qa", "data.label_values": "a,b"}, "data.label_values does not apply to training.task qa"),
])
def test_task_qa_bad_values_name_the_field(overrides, message):
    with pytest.raises(ConfigError, match=message):
        PipelineConfig().with_overrides(overrides)
