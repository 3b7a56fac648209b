"""TextExampleGen in a real TFX pipeline (LocalDagRunner, sqlite metadata) on GLUE MRPC dev."""

import shutil

import ml_metadata as mlmd
from tfx import v1 as tfx

from components.text_example_gen import TextExampleGen, TextOptions, read_summary
from tests.components.text_example_gen.support import read_tfrecords, tsv_rows
from tests.support import dataset

COLUMNS = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]


def test_mrpc_under_local_dag_runner(tmp_path):
    source = dataset("mrpc") / "dev.tsv"
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(source, data / "dev.tsv")
    example_gen = TextExampleGen(input_base=str(data), options=TextOptions(delimiter="\t", quoting="none"))
    metadata = tfx.orchestration.metadata.sqlite_metadata_connection_config(str(tmp_path / "metadata.sqlite"))
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="text-example-gen-test",
        pipeline_root=str(tmp_path / "root"),
        components=[example_gen],
        metadata_connection_config=metadata,
        enable_cache=False,
    )
    tfx.orchestration.LocalDagRunner().run(pipeline)

    [artifact] = mlmd.MetadataStore(metadata).get_artifacts_by_type("Examples")
    assert artifact.uri.startswith(str(tmp_path / "root"))
    splits = {name: read_tfrecords(f"{artifact.uri}/Split-{name}/*.gz", "GZIP") for name in ("train", "eval")}
    rows = splits["train"] + splits["eval"]
    expected = tsv_rows(source)
    assert expected[0] == COLUMNS  # the file's header, once its BOM is gone
    assert len(rows) == 408 and all(set(row) == set(COLUMNS) for row in rows)
    assert sorted(tuple(row[c][0] for c in COLUMNS) for row in rows) == sorted(map(tuple, expected[1:]))
    sanitation = '"Sanitation is poor... there could be typhoid and cholera," he said.'
    assert [row["#2 ID"] for row in rows if row["#1 String"] == [sanitation]] == [["524119"]]  # quotes literal

    summary = read_summary(artifact.uri)
    assert summary["options"]["delimiter"] == "\t" and summary["options"]["quoting"] == "none"
    assert summary["examples"] == 408 and summary["skipped_total"] == 0
    single = summary["input_splits"]["single_split"]
    assert (single["files"], single["records"], single["examples"]) == (1, 408, 408)
    assert {name: s["examples"] for name, s in summary["splits"].items()} == {
        name: len(split_rows) for name, split_rows in splits.items()}
    assert artifact.custom_properties["text_example_gen_examples"].int_value == 408
    assert artifact.custom_properties["text_example_gen_skipped"].int_value == 0
