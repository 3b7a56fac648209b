"""ClassMetricsEvaluator: TFX's Evaluator with per-class metrics for each class the candidate model has."""

import os

import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import proto_utils

from components.class_metrics_evaluator import executor as executor_lib
from components.class_metrics_evaluator import per_class, spec
from pipeline import evaluation as pipeline_evaluation  # the pipeline's own config
from pipeline.configs import EvaluationConfig
from tests.serving.support import tiny_task
from tests.serving.support.exports import tiny_export
from text_contract import features


def test_label_count_reads_the_model_s_label_vocabulary(tmp_path):
    assert per_class.label_count(tiny_export()) == len(tiny_task.LABELS)
    (tmp_path / per_class.ASSETS_DIR).mkdir()
    (tmp_path / per_class.ASSETS_DIR / features.LABEL_VOCABULARY).write_text("neutral\nneg\npos\n")
    assert per_class.label_count(str(tmp_path)) == 3
    with pytest.raises(ValueError, match="no assets/label_vocabulary"):
        per_class.label_count(str(tmp_path / "elsewhere"))


def test_the_executor_evaluates_every_class_of_the_model(tmp_path):
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    examples.split_names = artifact_utils.encode_split_names(["eval"])
    os.makedirs(os.path.join(examples.uri, "Split-eval"))
    with tf.io.TFRecordWriter(os.path.join(examples.uri, "Split-eval", "data.gz"), "GZIP") as writer:
        for row in tiny_task.sentences(24, seed=5):
            writer.write(tiny_task.example(**{k: [v] for k, v in row.items()}))
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / "model")
    os.makedirs(model.uri)
    os.symlink(tiny_export(), os.path.join(model.uri, "Format-Serving"))
    evaluation = standard_artifacts.ModelEvaluation()
    evaluation.uri = str(tmp_path / "evaluation")
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(tmp_path / "blessing")

    eval_config = pipeline_evaluation.eval_config(EvaluationConfig(min_accuracy=0.0))
    executor_lib.Executor().Do(
        {spec.MODEL_KEY: [model], "examples": [examples]},
        {"evaluation": [evaluation], "blessing": [blessing]},
        {spec.EVAL_CONFIG_KEY: proto_utils.proto_to_json(eval_config), "example_splits": '["eval"]'})
    (record,) = list(tfma.load_metrics(evaluation.uri))
    class_ids = set()
    for key_and_value in record.metric_keys_and_values:
        sub_key = key_and_value.key.sub_key
        if sub_key.HasField("class_id"):
            class_ids.add((key_and_value.key.name, sub_key.class_id.value))
    assert class_ids == {(name, c) for name in ("auc", "precision", "recall") for c in range(len(tiny_task.LABELS))}
