"""The whole data path in one real TFX pipeline under LocalDagRunner:
CsvExampleGen -> SentencePieceVocab -> PretrainingDataGen, then the trainer pretrains on its output."""

import csv
import glob
import json

import ml_metadata as mlmd
import pytest
import sentencepiece as spm

from components import artifacts
from tests.support import dataset
from text_contract import pieces


def _paragraphs(limit):
    paragraphs = []
    for line in (dataset("wikitext2") / "valid.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("="):  # headings are not prose
            paragraphs.append(line)
        if len(paragraphs) == limit:
            break
    return paragraphs


@pytest.mark.slow
def test_vocabulary_then_pretraining_data_then_pretraining(tmp_path):
    from tfx import v1 as tfx

    from components.pretraining_data import PretrainingDataGen
    from components.sentencepiece_vocab import SentencePieceVocab
    from trainer.config import AlbertConfig
    from trainer.presets import get_preset
    from trainer.train import train
    from trainer.training_config import TrainingConfig

    data = tmp_path / "data"
    data.mkdir()
    paragraphs = _paragraphs(150)
    with open(data / "articles.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text"])
        writer.writerows([p] for p in paragraphs)

    example_gen = tfx.components.CsvExampleGen(input_base=str(data))
    vocab = SentencePieceVocab(examples=example_gen.outputs["examples"], text_features=["text"], vocab_size=800,
                               character_coverage=1.0)
    pretraining = PretrainingDataGen(
        sentencepiece_model=vocab.outputs["sentencepiece_model"], examples=example_gen.outputs["examples"],
        text_feature="text", max_seq_length=64, max_predictions_per_seq=10, num_shards=2,
    )
    metadata = tfx.orchestration.metadata.sqlite_metadata_connection_config(str(tmp_path / "metadata.sqlite"))
    tfx.orchestration.LocalDagRunner().run(
        tfx.dsl.Pipeline(
            pipeline_name="data-path-test",
            pipeline_root=str(tmp_path / "root"),
            components=[example_gen, vocab, pretraining],
            metadata_connection_config=metadata,
            enable_cache=False,
        )
    )

    store = mlmd.MetadataStore(metadata)
    [model_artifact] = store.get_artifacts_by_type(artifacts.SentencePieceModel.TYPE_NAME)
    processor = spm.SentencePieceProcessor(model_file=artifacts.model_path(model_artifact.uri))
    assert processor.get_piece_size() == 800 and processor.piece_to_id(pieces.MASK_PIECE) == pieces.MASK_ID
    [output] = list((tmp_path / "root" / "PretrainingDataGen" / "pretraining_examples").iterdir())
    summary = json.loads((output / "summary.json").read_text())
    assert summary["documents_read"] == len(paragraphs) and summary["instances_written"] > 100
    files = sorted(glob.glob(str(output / "Split-train" / "*.gz")))
    assert len(files) == 2

    albert_config = get_preset("tiny").replace(vocab_size=800)
    albert_config_path = tmp_path / "albert_config.json"
    albert_config.to_json_file(str(albert_config_path))
    config = TrainingConfig(
        task="pretrain", model_dir=str(tmp_path / "model"), albert_config_path=str(albert_config_path),
        max_seq_length=64, max_predictions_per_seq=10, global_batch_size=16, train_steps=30,
        checkpoint_every_steps=15, warmup_steps=3, learning_rate=2e-3, log_every_steps=5,
    )
    result = train(config, files)
    losses = result.history["mlm_logits_loss"]
    assert result.final_step == 30 and losses[-1] < losses[0]
    assert AlbertConfig.from_json_file(str(tmp_path / "model" / "final" / "albert_config.json")).vocab_size == 800
