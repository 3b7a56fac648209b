"""PipelineConfig: YAML in, flags over it, every bad value named."""

import dataclasses

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
