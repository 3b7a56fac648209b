"""The local pipeline end to end, over data spans: train -> bless -> push, retrain on a new span, refuse a bad one.

One scenario (the runs build on each other), on a small sample written by `pipeline.sample_data`:

1. span 1: the first run blesses its model (no baseline yet) and pushes version 1;
2. the same data again: everything up to the Evaluator comes from TFX's cache, nothing new is pushed;
3. span 2 arrives: the vocabulary of the served model is reused, the Trainer warm-starts from version 1,
   and the model, not worse than version 1, is pushed as version 2;
4. span 3 arrives with shuffled labels: its model is not blessed, and the serving directory is unchanged.
"""

import json

import pytest

from pipeline import evaluation, local_runner, sample_data
from pipeline.configs import PipelineConfig
from serving import contract, layout

pytestmark = pytest.mark.slow


def _config(root) -> PipelineConfig:
    return PipelineConfig().with_overrides({
        "data.path": str(root / "data"),
        "orchestration.output_dir": str(root / "out"),
        "orchestration.beam_num_workers": 1,  # small data: Beam's worker start-up would dominate
        "serving.serving_dir": str(root / "serving"),
        "vocabulary.size": 400,
        "training.train_steps": 80,
        "training.checkpoint_every_steps": 40,
        "evaluation.min_accuracy": 0.7,
        "evaluation.max_accuracy_drop": 0.05,
    })


def _versions(root):
    return [v.version for v in layout.version_dirs(str(root / "serving" / "albert"))]


def _execution_count(config: PipelineConfig, component_id: str) -> int:
    """How many times `component_id` really ran (cached runs reuse an execution's outputs)."""
    from tfx.orchestration import metadata

    with metadata.Metadata(metadata.sqlite_metadata_connection_config(config.resolved().orchestration.metadata_path)) as m:
        executions = m.store.get_executions()
        types = {t.id: t.name for t in m.store.get_execution_types()}
    return sum(1 for e in executions if types[e.type_id].endswith(component_id) and e.last_known_state == 3)  # COMPLETE


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("pipeline")


def test_spans_retrain_warm_start_and_only_better_models_are_pushed(root):
    config = _config(root)
    lines = []
    sample_data.write_span(str(root / "data"), 1, train_rows=600, dev_rows=120)

    first = local_runner.run(config, report=lines.append)
    assert first.blessed and first.pushed, first.lines()
    assert _versions(root) == [1]
    assert first.metrics[evaluation.ACCURACY_KEY] >= 0.7
    assert any("Trainer done" in line for line in lines), lines  # progress per component
    # What the data steps did with the rows, in their progress lines and the summary (tests/pipeline/test_bad_data.py).
    example_gen = "read 720 rows, kept 720 (eval 120, train 600), skipped 0, truncated 0"
    assert any("TextExampleGen done" in line and line.endswith(example_gen) for line in lines), lines
    assert any("StrictExampleValidator done" in line and ": labels: train " in line for line in lines), lines
    assert f"TextExampleGen: {example_gen}" in first.lines(), first.lines()
    assert any(line.startswith("SentencePieceVocab: read 600 examples, kept ") for line in first.lines()), first.lines()
    v1 = root / "serving" / "albert" / "1"
    metadata = json.loads((v1 / contract.ASSETS_EXTRA_DIR / contract.METADATA_FILE).read_text())
    assert metadata["model_name"] == "albert" and metadata["text_features"] == ["text"]
    assert (v1 / contract.ASSETS_EXTRA_DIR / contract.VOCABULARY_FILE).exists()
    # the sequence length derived from the data (training.max_seq_length null), reported in the summary
    derived = first.training["max_seq_length"]
    assert derived % 16 == 0 and derived == metadata["extra"]["training_config"]["max_seq_length"], first.training
    assert any(f"at sequence length {derived}" in line for line in first.lines()), first.lines()
    trainer_runs = _execution_count(config, "Trainer")

    again = local_runner.run(config, report=lines.append)
    assert _execution_count(config, "Trainer") == trainer_runs  # cached: no retraining of an unchanged span
    assert _versions(root) == [1]  # the same model is not pushed twice
    assert again.pushed_version == "1"  # the served model is still the first run's
    assert f"TextExampleGen: {example_gen}" in again.lines()  # from the cached execution's outputs

    sample_data.write_span(str(root / "data"), 2, train_rows=600, dev_rows=120)
    second = local_runner.run(config, report=lines.append)
    assert second.span == 2
    assert second.blessed and second.pushed, second.lines()
    assert _versions(root) == [1, 2]
    v2_metadata = json.loads((root / "serving" / "albert" / "2" / contract.ASSETS_EXTRA_DIR
                              / contract.METADATA_FILE).read_text())
    assert v2_metadata["vocabulary_sha256"] == metadata["vocabulary_sha256"]  # the served vocabulary, reused
    assert v2_metadata["extra"]["warm_started_from"] == str(v1)
    assert second.baseline_metrics  # judged against version 1

    before = sorted(str(p.relative_to(root / "serving")) for p in (root / "serving").rglob("*"))
    sample_data.write_span(str(root / "data"), 3, train_rows=600, dev_rows=120, shuffle_labels=True)
    third = local_runner.run(config, report=lines.append)
    assert third.span == 3
    assert third.blessed is False and not third.pushed, third.lines()
    assert sorted(str(p.relative_to(root / "serving")) for p in (root / "serving").rglob("*")) == before
