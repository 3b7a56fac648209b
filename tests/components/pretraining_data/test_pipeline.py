"""PretrainingDataGen in a real TFX pipeline under LocalDagRunner: Importer(SentencePieceModel) and
CsvExampleGen feed it, on a small CSV made here."""

import csv
import json

import pytest

from components.pretraining_data import beam_pipeline
from tests.components.pretraining_data.support import read_output, synthetic_documents
from text_contract import features


@pytest.mark.slow
def test_local_dag_runner_pipeline(tmp_path, spm_dir):
    from tfx import v1 as tfx

    from components.pretraining_data import PretrainingDataGen, SentencePieceModel

    data = tmp_path / "data"
    data.mkdir()
    documents = synthetic_documents(40, seed=21)
    with open(data / "docs.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        for index, document in enumerate(documents):
            writer.writerow([index, " ".join(document)])
        writer.writerow([40, ""])  # empty cell
        writer.writerow([41, "Only one sentence here."])

    model = tfx.dsl.Importer(source_uri=str(spm_dir), artifact_type=SentencePieceModel).with_id("spm_importer")
    example_gen = tfx.components.CsvExampleGen(input_base=str(data))
    pretraining = PretrainingDataGen(
        sentencepiece_model=model.outputs["result"], examples=example_gen.outputs["examples"],
        text_feature="text", num_shards=2, max_seq_length=64, max_predictions_per_seq=10)
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="pretraining-data-test",
        pipeline_root=str(tmp_path / "root"),
        components=[model, example_gen, pretraining],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(tmp_path / "metadata.sqlite")),
        beam_pipeline_args=["--direct_num_workers=1"],
    )
    tfx.orchestration.LocalDagRunner().run(pipeline)

    outputs = list((tmp_path / "root" / "PretrainingDataGen" / "pretraining_examples").iterdir())
    assert len(outputs) == 1
    summary = json.loads((outputs[0] / beam_pipeline.SUMMARY_FILE_NAME).read_text())
    # ExampleGen splits 2:1 into train and eval; both are read.
    assert summary["input"]["splits"] == ["eval", "train"]
    assert summary["documents_used"] == 40
    assert summary["skipped"]["single_sentence"] == 1
    assert summary["skipped"]["missing_feature"] == 1  # CsvExampleGen leaves an empty cell without a value
    assert summary["documents_read"] == 42
    _, examples = read_output(outputs[0])
    assert len(examples) == summary["instances_written"] > 40
    for example in examples:
        assert len(example.features.feature[features.INPUT_IDS].int64_list.value) == 64
        assert len(example.features.feature[features.MASKED_LM_WEIGHTS].float_list.value) == 10
