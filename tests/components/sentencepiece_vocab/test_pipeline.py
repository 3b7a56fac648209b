"""SentencePieceVocab in a real TFX pipeline: CsvExampleGen -> SentencePieceVocab under LocalDagRunner."""

import csv

import ml_metadata as mlmd
import sentencepiece as spm
from tfx import v1 as tfx

from components.sentencepiece_vocab import SentencePieceModel, SentencePieceVocab, model_path, read_summary, vocab_path
from tests.support import dataset, read_tsv
from text_contract import pieces
from text_contract.normalization import normalize

ODD = 'ｆｕｌｌｗｉｄｔｈ, "quoted" text'  # CSV quoting, NFKC


def test_csv_example_gen_then_sentencepiece_vocab_under_local_dag_runner(tmp_path):
    rows = read_tsv(dataset("sst2") / "dev.tsv", header=True)
    data = tmp_path / "data"
    data.mkdir()
    with open(data / "reviews.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["sentence", "label"])
        writer.writerows(rows)
        writer.writerows([["", "0"], ["   ", "1"], [ODD, "1"]])

    example_gen = tfx.components.CsvExampleGen(input_base=str(data))
    vocab = SentencePieceVocab(examples=example_gen.outputs["examples"], text_features=["sentence"],
                               splits=["train", "eval"], vocab_size=300, heldout_fraction=0.05)
    metadata = tfx.orchestration.metadata.sqlite_metadata_connection_config(str(tmp_path / "metadata.sqlite"))
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="sentencepiece-vocab-test",
        pipeline_root=str(tmp_path / "root"),
        components=[example_gen, vocab],
        metadata_connection_config=metadata,
        enable_cache=False,
    )
    tfx.orchestration.LocalDagRunner().run(pipeline)

    [artifact] = mlmd.MetadataStore(metadata).get_artifacts_by_type(SentencePieceModel.TYPE_NAME)
    assert artifact.uri.startswith(str(tmp_path / "root"))
    summary = read_summary(artifact.uri)
    sp = spm.SentencePieceProcessor(model_file=model_path(artifact.uri))
    assert sp.get_piece_size() == summary["pieces"] == 300
    assert sp.id_to_piece(pieces.CLS_ID) == pieces.CLS_PIECE
    assert len(open(vocab_path(artifact.uri), encoding="utf-8").read().splitlines()) == 300
    assert summary["splits"] == ["train", "eval"]
    assert summary["examples_read"] == len(rows) + 3  # both splits: every row
    # CsvExampleGen writes an empty CSV field as a feature without a value; whitespace stays text.
    assert summary["dropped"]["missing_feature"] == 1 and summary["dropped"]["empty"] == 1
    assert summary["dropped"]["invalid_utf8"] == 0
    assert summary["sentences_heldout"] + summary["sentences_used"] == summary["lines_unique"]
    assert summary["lines_unique"] == len({normalize(text) for text in [r[0] for r in rows] + [ODD]})
    assert artifact.custom_properties["model_sha256"].string_value == summary["model_sha256"]
