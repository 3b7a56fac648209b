"""The optional pretraining branch: PretrainingDataGen -> Trainer (MLM + SOP) -> the classifier's warm start."""

import json
import os

import pytest

from pipeline import local_runner, sample_data
from pipeline.configs import PipelineConfig
from serving import contract

pytestmark = pytest.mark.slow


def _two_sentence_train_reviews(span_dir: str) -> None:
    """Each train review followed by the next one of its label: the sample's one-sentence reviews give no
    sentence-order pairs, and PretrainingDataGen refuses to write no pretraining data."""
    path = os.path.join(span_dir, "train.tsv")
    with open(path, encoding="utf-8") as handle:
        header, *lines = handle.read().splitlines()
    rows = [line.split("\t") for line in lines]
    following = {}
    for text, label in reversed(rows):
        following[(text, label)] = following.get(label, text)
        following[label] = text
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join([header] + [f"{text} {following[(text, label)]}\t{label}" for text, label in rows]) + "\n")


def test_the_pretrained_encoder_warm_starts_the_classifier(tmp_path):
    _two_sentence_train_reviews(sample_data.write_span(str(tmp_path / "data"), 1, train_rows=400, dev_rows=80))
    config = PipelineConfig().with_overrides({
        "data.path": str(tmp_path / "data"), "orchestration.output_dir": str(tmp_path / "out"),
        "orchestration.beam_num_workers": 1, "serving.serving_dir": str(tmp_path / "serving"),
        "serving.canary": False,  # the canary has its own tests; here it would only add a server start
        "vocabulary.size": 300, "training.train_steps": 40, "evaluation.min_accuracy": 0.0,
        "pretraining.enabled": True, "pretraining.train_steps": 20,
    })
    lines = []
    summary = local_runner.run(config, report=lines.append)
    assert any("Pretrainer done" in line for line in lines) and any("PretrainingDataGen done" in l for l in lines)
    assert summary.pushed
    pretrained = [d for d in (tmp_path / "out" / "pipeline_root" / "Pretrainer" / "model").iterdir()]
    assert len(pretrained) == 1
    pretrained_config = json.loads((pretrained[0] / "Format-Serving" / "albert_config.json").read_text())
    assert pretrained_config["vocab_size"] == 300  # the vocabulary's size, not the preset's 30,000
    metadata = json.loads((tmp_path / "serving" / "albert" / "1" / contract.ASSETS_EXTRA_DIR
                           / contract.METADATA_FILE).read_text())
    assert metadata["extra"]["warm_started_from"] == os.path.join(str(pretrained[0]), "Format-Serving")
    # The pretraining examples came from the train split only (the eval rows judge the model).
    summary_file = next((tmp_path / "out" / "pipeline_root" / "PretrainingDataGen").rglob("summary.json"))
    pretraining_summary = json.loads(summary_file.read_text())
    assert pretraining_summary["input"]["splits"] == ["train"]
    assert pretraining_summary["instances_written"] > 0  # the Pretrainer trained on data


def test_continued_pretraining_on_domain_text_starts_from_the_released_checkpoint(tmp_path):
    """init_from + pretraining: the Pretrainer starts from the imported checkpoint (heads included), on text
    files of the user's own, with dynamic masking; the classifier then starts from the Pretrainer."""
    from tests.pipeline.support import CHECKPOINTS, VOCABULARY_FILES

    sample_data.write_span(str(tmp_path / "data"), 1, train_rows=300, dev_rows=60)
    corpus = tmp_path / "domain.txt"
    corpus.write_text("\n\n".join(f"Review {i} starts here. It goes on about the plot. It ends well."
                                    for i in range(200)) + "\n", encoding="utf-8")
    config = PipelineConfig().with_overrides({
        "data.path": str(tmp_path / "data"), "orchestration.output_dir": str(tmp_path / "out"),
        "orchestration.beam_num_workers": 1, "serving.serving_dir": str(tmp_path / "serving"),
        "serving.canary": False,  # the canary has its own tests; here it would only add a server start
        "training.init_from": str(CHECKPOINTS["hf"]), "vocabulary.import_from": str(VOCABULARY_FILES["sentencepiece"]),
        "training.max_seq_length": 32, "training.train_steps": 20, "evaluation.min_accuracy": 0.0,
        "pretraining.enabled": True, "pretraining.train_steps": 10, "pretraining.max_seq_length": 32,
        "pretraining.text_files": str(corpus), "pretraining.dynamic_masking": True,
    })
    local_runner.run(config, report=lambda line: None)
    root = tmp_path / "out" / "pipeline_root"
    summary_file = next((root / "PretrainingDataGen").rglob("summary.json"))
    assert json.loads(summary_file.read_text())["input"]["mode"] == "text_files"
    imported = next((root / "CheckpointImport" / "model").iterdir()) / "Format-Serving"
    pretrainer_run = next((root / "Pretrainer" / "model_run").iterdir())
    final_summary = json.loads((pretrainer_run / "final" / "conversion.json").read_text())
    assert final_summary["training_config"]["warm_start_path"] == str(imported)
    assert final_summary["training_config"]["dynamic_masking"] is True
    assert final_summary["model"] == "AlbertPretrainer"
    pretrained_config = json.loads((pretrainer_run / "final" / "albert_config.json").read_text())
    assert pretrained_config["hidden_size"] == 32 and pretrained_config["vocab_size"] == 100  # the checkpoint's
