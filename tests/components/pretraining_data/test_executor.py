"""PretrainingDataGen's executor run directly on Beam's DirectRunner, on small data made here."""

import gzip
import json

import numpy as np
import pytest

from components.pretraining_data import beam_pipeline
from tests.components.pretraining_data.support import (feature_array, read_output, run_executor,
                                                       synthetic_documents, synthetic_sentence,
                                                       train_sentencepiece)
from text_contract.features import (
    INPUT_IDS, INPUT_MASK, MASKED_LM_IDS, MASKED_LM_POSITIONS, MASKED_LM_WEIGHTS, SEGMENT_IDS,
    SENTENCE_ORDER_LABEL
)
from text_contract.pieces import CLS_ID, PAD_ID, SEP_ID

TWO_WORKERS = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
MAX_CHARS = 20_000
VALID_ROWS = 30


def _example(**features):
    import tensorflow as tf

    example = tf.train.Example()
    for name, values in features.items():
        feature = example.features.feature[name]
        if values and isinstance(values[0], bytes):
            feature.bytes_list.value.extend(values)
        else:
            feature.int64_list.value.extend(values)
    return example.SerializeToString()


def _huge_text(megabytes=3):
    rng = np.random.default_rng(11)
    sentences, size = [], 0
    while size < megabytes * 1_000_000:
        sentences.append(synthetic_sentence(rng))
        size += len(sentences[-1]) + 1
    return sentences


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory):
    """Split-train (tf.Example rows, gzipped TFRecords in two files) with every kind of bad row."""
    import tensorflow as tf

    directory = tmp_path_factory.mktemp("examples")
    documents = synthetic_documents(VALID_ROWS, seed=5)
    rows = [_example(text=[" ".join(doc).encode()], id=[i]) for i, doc in enumerate(documents)]
    rows += [
        _example(text=[b""], id=[100]),
        _example(text=[b""], id=[101]),
        _example(text=[b"   \n\t  "], id=[102]),
        _example(text=[b" \r\n "], id=[103]),
        _example(text=[b"Kalo mi tu. Ra \xff\xfe ne si."], id=[104]),  # invalid UTF-8
        _example(id=[105]),  # no text feature
        _example(id=[106]),
        _example(text=[" ".join(_huge_text()).encode()], id=[107]),  # ~3 MB: truncated, kept
        _example(text=[b"Kalo mi tu ra ne."], id=[108]),  # one sentence: no SOP pair
        b"this is not a tf.Example",
        _example(text=[b"Kalo mi. Tu ra.", b"Ne si po. Ve du."], id=[110]),  # two values: joined, kept
        _example(text=[7], id=[111]),  # int64, not text
    ]
    split = directory / "Split-train"
    split.mkdir()
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    for part in range(2):
        with tf.io.TFRecordWriter(str(split / f"data_tfrecord-0000{part}-of-00002.gz"), options) as writer:
            for row in rows[part::2]:
                writer.write(row)
    return directory


EXPECTED_SKIPS = {"empty": 4, "invalid_utf8": 1, "missing_feature": 2, "not_text": 1,
                  "single_sentence": 1, "unparseable_record": 1}


@pytest.fixture(scope="module")
def examples_run(tmp_path_factory, examples_dir, spm_dir):
    out = tmp_path_factory.mktemp("run") / "out"
    artifact = run_executor(out, spm_dir, examples_dir=examples_dir, text_feature="text",
                            max_document_chars=MAX_CHARS, num_shards=3)
    return out, artifact


def test_bad_rows_are_counted_and_every_valid_row_is_used(examples_run):
    out, artifact = examples_run
    summary = json.loads((out / beam_pipeline.SUMMARY_FILE_NAME).read_text())
    assert summary["skipped"] == EXPECTED_SKIPS
    assert summary["truncated"] == 1 and summary["multi_value"] == 1
    assert summary["documents_used"] == VALID_ROWS + 2  # + the truncated and the two-valued rows
    assert summary["documents_read"] == summary["documents_used"] + sum(EXPECTED_SKIPS.values())
    assert summary["input"] == {"mode": "examples", "splits": ["train"], "text_feature": "text"}
    raw, examples = read_output(out)
    assert sorted(raw) == [f"pretraining-0000{i}-of-00003.gz" for i in range(3)]
    assert len(examples) == summary["instances_written"] == sum(summary["instances_per_shard"])
    # The truncated document gave about MAX_CHARS characters' worth of pieces, not 3 MB's.
    assert summary["tokens"] < 3 * MAX_CHARS
    assert artifact.get_int_custom_property("instances_written") == len(examples)
    assert artifact.split_names == '["train"]'
    assert artifact.get_string_custom_property("payload_format") == "FORMAT_TF_EXAMPLE"
    # The run's progress line: documents read, kept, each skip reason, the truncated one.
    from components.pretraining_data import executor

    assert executor.describe(str(out)) == (
        f"read {summary['documents_read']:,} documents, kept {summary['documents_used']:,}, skipped 10 (empty 4, "
        f"invalid_utf8 1, missing_feature 2, not_text 1, unparseable_record 1, single_sentence 1), truncated 1 (cut "
        f"to {MAX_CHARS:,} characters); wrote {len(examples):,} instances of {summary['tokens']:,} tokens")


def test_output_is_what_the_trainer_parses(examples_run, spm_dir):
    import sentencepiece
    import tensorflow as tf

    out, _ = examples_run
    spec = {name: tf.io.FixedLenFeature([128], tf.int64) for name in (INPUT_IDS, SEGMENT_IDS, INPUT_MASK)}
    spec.update({MASKED_LM_POSITIONS: tf.io.FixedLenFeature([20], tf.int64),
                 MASKED_LM_IDS: tf.io.FixedLenFeature([20], tf.int64),
                 MASKED_LM_WEIGHTS: tf.io.FixedLenFeature([20], tf.float32),
                 SENTENCE_ORDER_LABEL: tf.io.FixedLenFeature([1], tf.int64)})
    files = sorted(str(p) for p in (out / "Split-train").iterdir())
    batch = next(iter(tf.data.TFRecordDataset(files, compression_type="GZIP").batch(1000)
                      .map(lambda x: tf.io.parse_example(x, spec))))
    ids = batch[INPUT_IDS].numpy()
    assert (ids[:, 0] == CLS_ID).all()
    assert ((ids == SEP_ID).sum(axis=1) == 2).all()
    assert (batch[INPUT_MASK].numpy().sum(axis=1) == (ids != PAD_ID).sum(axis=1)).all()
    processor = sentencepiece.SentencePieceProcessor(model_file=str(spm_dir / "spm.model"))
    assert ids.max() < processor.get_piece_size()
    fraction = batch[MASKED_LM_WEIGHTS].numpy().sum() / batch[INPUT_MASK].numpy().sum()
    assert 0.12 < fraction < 0.16
    assert set(np.unique(batch[SENTENCE_ORDER_LABEL].numpy())) == {0, 1}


def test_two_workers_and_reruns_give_identical_bytes(tmp_path, examples_dir, examples_run, spm_dir):
    reference, _ = examples_run
    expected = read_output(reference)[0], (reference / "summary.json").read_bytes()
    for name, args in (("rerun", []), ("two_workers", TWO_WORKERS)):
        out = tmp_path / name
        run_executor(out, spm_dir, examples_dir=examples_dir, text_feature="text",
                     max_document_chars=MAX_CHARS, num_shards=3, beam_args=args)
        assert (read_output(out)[0], (out / "summary.json").read_bytes()) == expected, name


def test_text_files_with_bad_documents(tmp_path, spm_dir):
    documents = synthetic_documents(12, seed=9)
    text = tmp_path / "text"
    text.mkdir()
    first = "\ufeff" + "\n\n".join("\n".join(doc) for doc in documents[:6])
    first += "\n  \t \n\n" + "Lonely single sentence."  # whitespace-only separator lines
    first += "\n\n" + "\r\n".join(documents[6]) + "\r\n"  # CRLF
    (text / "a.txt").write_bytes(first.encode() + b"\n\nKalo mi.\nTu \xc3\x28 ra.\n\n" +
                                 "\n".join(_huge_text(2)).encode() + b"\n")
    with gzip.open(text / "b.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write("\n\n\n".join("\n".join(doc) for doc in documents[7:]) + "\n")
    out = tmp_path / "out"
    run_executor(out, spm_dir, text_file_pattern=str(text / "*"), max_document_chars=MAX_CHARS)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["skipped"] == {**dict.fromkeys(EXPECTED_SKIPS, 0), "invalid_utf8": 1, "single_sentence": 1}
    assert summary["truncated"] == 1
    assert summary["documents_used"] == 12 + 1
    assert summary["documents_read"] == 15
    assert summary["input"] == {"mode": "text_files", "files": 2}
    _, examples = read_output(out)
    assert len(examples) == summary["instances_written"] > 13
    assert all(feature_array(e, INPUT_IDS)[0] == CLS_ID for e in examples)


def test_documents_that_give_no_instance_fail_the_step_naming_why(tmp_path, spm_dir):
    from components.pretraining_data.executor import NoPretrainingDataError

    text = tmp_path / "text"
    text.mkdir()
    (text / "a.txt").write_text("One review, one sentence.\n\nAnother lonely line.\n", encoding="utf-8")
    with pytest.raises(NoPretrainingDataError, match=r"wrote no pretraining instances from 2 documents "
                                                     r"\(skipped: single_sentence 2\): sentence-order prediction"):
        run_executor(tmp_path / "out", spm_dir, text_file_pattern=str(text / "*"))


def test_unknown_text_feature_names_it_and_the_existing_ones(tmp_path, examples_dir, spm_dir):
    with pytest.raises(ValueError, match=r"'txet'.*\['id', 'text'\]"):
        run_executor(tmp_path / "out", spm_dir, examples_dir=examples_dir, text_feature="txet")
    with pytest.raises(ValueError, match=r"'id' holds int64_list"):
        run_executor(tmp_path / "out", spm_dir, examples_dir=examples_dir, text_feature="id")
    with pytest.raises(ValueError, match=r"\['eval'\].*\['train'\]"):
        run_executor(tmp_path / "out", spm_dir, examples_dir=examples_dir, text_feature="text",
                     splits='["eval"]')


def test_a_model_without_the_contract_special_pieces_is_refused_naming_its_path(tmp_path):
    import re

    from text_contract.pieces import VocabularyError

    model = train_sentencepiece(tmp_path / "spm", control_symbols=[], user_defined_symbols=["[MASK]"])
    (tmp_path / "t.txt").write_text("A b. C d.\n")
    path = re.escape(str(model / "spm.model"))
    with pytest.raises(VocabularyError, match=rf"{path}: special pieces at the wrong ids"):
        run_executor(tmp_path / "out", model, text_file_pattern=str(tmp_path / "t.txt"))


def test_bad_parameters_name_the_parameter(tmp_path, spm_dir):
    with pytest.raises(ValueError, match="num_shards"):
        run_executor(tmp_path / "out", spm_dir, text_file_pattern=str(tmp_path / "*"), num_shards=0)
    with pytest.raises(FileNotFoundError, match="matches no files"):
        run_executor(tmp_path / "out", spm_dir, text_file_pattern=str(tmp_path / "nothing*"))


def test_beam_metrics_count_every_reason(tmp_path, examples_dir, spm_dir):
    import apache_beam as beam
    from apache_beam.metrics.metric import MetricsFilter

    pipeline = beam.Pipeline()
    beam_pipeline.build(pipeline, model_path=str(spm_dir / "spm.model"), output_dir=str(tmp_path / "out"),
                        summary_path=str(tmp_path / "summary.json"), config_kwargs={}, num_shards=2,
                        max_document_chars=MAX_CHARS, example_patterns=[str(examples_dir / "Split-train" / "*")],
                        text_feature="text")
    result = pipeline.run()
    result.wait_until_finish()
    query = result.metrics().query(MetricsFilter().with_namespace(beam_pipeline.METRICS_NAMESPACE))
    counters = {c.key.metric.name: c.committed for c in query["counters"]}
    assert {reason: counters.get(reason, 0) for reason in EXPECTED_SKIPS} == EXPECTED_SKIPS
    assert counters["truncated"] == 1 and counters["multi_value"] == 1
    assert counters["documents_used"] == VALID_ROWS + 2
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert counters["instances_written"] == summary["instances_written"] > 0


def test_a_model_artifact_without_spm_model_names_the_artifact_and_the_file(tmp_path):
    import re

    from components import artifacts

    empty = tmp_path / "vocabulary"
    empty.mkdir()
    (tmp_path / "t.txt").write_text("A b. C d.\n")
    with pytest.raises(FileNotFoundError, match=rf"{re.escape(str(empty))}.* no {re.escape(artifacts.MODEL_FILE)}"):
        run_executor(tmp_path / "out", empty, text_file_pattern=str(tmp_path / "t.txt"))
