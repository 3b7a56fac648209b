"""The optional pretraining branch: PretrainingDataGen -> Trainer (MLM + SOP) -> the classifier's warm start."""

import json
import os

import pytest

from pipeline import local_runner, sample_data
from pipeline.configs import PipelineConfig
from serving import contract

pytestmark = pytest.mark.slow


def test_the_pretrained_encoder_warm_starts_the_classifier(tmp_path):
    sample_data.write_span(str(tmp_path / "data"), 1, train_rows=400, dev_rows=80)
    config = PipelineConfig().with_overrides({
        "data.path": str(tmp_path / "data"), "orchestration.output_dir": str(tmp_path / "out"),
        "orchestration.beam_num_workers": 1, "serving.serving_dir": str(tmp_path / "serving"),
        "vocabulary.size": 300, "training.train_steps": 40, "evaluation.min_accuracy": 0.0,
        "pretraining.enabled": True, "pretraining.train_steps": 20,
    })
    lines = []
    summary = local_runner.run(config, report=lines.append)
    assert any("Pretrainer done" in line for line in lines) and any("PretrainingDataGen done" in l for l in lines)
    assert summary.pushed
    pretrained = [d for d in (tmp_path / "out" / "pipeline_root" / "Pretrainer" / "model").iterdir()]
    assert len(pretrained) == 1
    assert (pretrained[0] / "Format-Serving" / "albert_config.json").exists()
    metadata = json.loads((tmp_path / "serving" / "albert" / "1" / contract.ASSETS_EXTRA_DIR
                           / contract.METADATA_FILE).read_text())
    assert metadata["extra"]["warm_started_from"] == os.path.join(str(pretrained[0]), "Format-Serving")
    # The pretraining examples came from the train split only (the eval rows judge the model).
    summary_file = next((tmp_path / "out" / "pipeline_root" / "PretrainingDataGen").rglob("summary.json"))
    assert json.loads(summary_file.read_text())["input"]["splits"] == ["train"]
