"""plan_input: which files ExampleGen reads, and readable errors for data that cannot be read."""

import pytest

from pipeline import inputs, sample_data
from pipeline.configs import DataConfig, PipelineConfig


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_sample_is_small_bilingual_and_balanced():
    plan = inputs.plan_input(PipelineConfig().data)
    assert plan.span == 1 and plan.format == "tsv" and plan.delimiter == "\t"
    assert plan.split_patterns == (("train", "span-{SPAN}/train.tsv"), ("eval", "span-{SPAN}/dev.tsv"))
    import os

    root = os.path.dirname(plan.sample_file)
    total = sum(os.path.getsize(os.path.join(root, n)) for n in os.listdir(root))
    assert total <= 1_000_000
    rows = [line.split("\t") for line in open(plan.sample_file, encoding="utf-8").read().splitlines()[1:]]
    assert {label for _, label in rows} == {"positive", "negative"}
    chinese = sum(1 for text, _ in rows if any("\u4e00" <= c <= "\u9fff" for c in text))
    assert 0.3 < chinese / len(rows) < 0.7
    assert abs(sum(label == "positive" for _, label in rows) / len(rows) - 0.5) < 0.05


def test_sample_generation_is_reproducible_and_shuffling_breaks_the_labels(tmp_path):
    a = sample_data.generate_rows(200, seed=3)
    assert a == sample_data.generate_rows(200, seed=3)
    assert a != sample_data.generate_rows(200, seed=4)
    span = sample_data.write_span(str(tmp_path), 2, train_rows=200, dev_rows=20, shuffle_labels=True)
    shuffled = open(f"{span}/train.tsv", encoding="utf-8").read().splitlines()[1:]
    clean = sample_data.generate_rows(200, seed=4)
    assert sorted(line.split("\t")[1] for line in shuffled) == sorted(label for _, label in clean)


def test_train_and_dev_files_are_two_splits(tmp_path):
    _write(tmp_path / "train.tsv", "sentence\tlabel\nfine\t1\n")
    _write(tmp_path / "dev.tsv", "sentence\tlabel\nbad\t0\n")
    plan = inputs.plan_input(DataConfig(path=str(tmp_path), text_columns=("sentence",)))
    assert plan.split_patterns == (("train", "train.tsv"), ("eval", "dev.tsv"))
    assert plan.quoting == "none" and plan.span is None
    input_config, output_config = inputs.example_gen_protos(plan, 0.1)
    assert [s.name for s in input_config.splits] == ["train", "eval"] and output_config is None


def test_a_single_file_is_hash_split(tmp_path):
    path = _write(tmp_path / "reviews.csv", "review,stars\n\"good, really\",5\n")
    plan = inputs.plan_input(DataConfig(path=str(path), text_columns=("review",), label_column="stars",
                                        eval_fraction=0.2))
    assert plan.format == "csv" and plan.delimiter == "," and plan.quoting == "csv"
    _, output_config = inputs.example_gen_protos(plan, 0.2)
    assert [(s.name, s.hash_buckets) for s in output_config.split_config.splits] == [("train", 8), ("eval", 2)]


def test_the_newest_span_directory_is_read(tmp_path):
    for span in (1, 2, 10):
        _write(tmp_path / f"span-{span}" / "drop.csv", "text,label\na,b\n")
    plan = inputs.plan_input(DataConfig(path=str(tmp_path)))
    assert plan.span == 10 and plan.split_patterns == (("train", "span-{SPAN}/*.csv"),)


def test_an_explicit_span_pattern(tmp_path):
    for span in (3, 4):
        _write(tmp_path / "drops" / f"reviews-{span}.csv", "text,label\na,b\n")
    plan = inputs.plan_input(DataConfig(path=str(tmp_path), span_pattern="drops/reviews-{SPAN}.csv"))
    assert plan.span == 4 and plan.uses_spans


def test_headerless_files_need_and_use_column_names(tmp_path):
    _write(tmp_path / "train.tsv", "很好\tpositive\n")
    _write(tmp_path / "dev.tsv", "很差\tnegative\n")
    plan = inputs.plan_input(DataConfig(path=str(tmp_path), header=False, column_names=("text", "label")))
    assert plan.column_names == ("text", "label") and not plan.header


@pytest.mark.parametrize("make, settings, message", [
    (lambda p: p, {"path": "/no/such/dir"}, "does not exist"),
    (lambda p: p, {}, "no .csv/.tsv/.txt/.tfrecord file"),
    (lambda p: _write(p / "train.tsv", "sentence\tlabel\nx\t1\n"), {}, "no column 'text'; its header names ['sentence', 'label']"),
    (lambda p: _write(p / "a.csv", "text;label\nx;1\n"), {}, "(is data.delimiter right?)"),
    (lambda p: _write(p / "a.csv", "text,label\n"), {}, "no data rows"),
    (lambda p: _write(p / "a.csv", ""), {}, "the file is empty"),
    (lambda p: _write(p / "a.data", "text,label\nx,1\n"), {"path_file": "a.data"}, "cannot tell the format"),
])
def test_unreadable_data_is_one_clear_error(tmp_path, make, settings, message):
    make(tmp_path)
    settings = dict(settings)
    if "path_file" in settings:
        settings["path"] = str(tmp_path / settings.pop("path_file"))
    settings.setdefault("path", str(tmp_path))
    with pytest.raises(inputs.InputError) as error:
        inputs.plan_input(DataConfig(**settings))
    assert message in str(error.value)


def test_remote_data_needs_a_format_and_is_not_listed():
    with pytest.raises(inputs.InputError, match="set data.format"):
        inputs.plan_any_input(DataConfig(path="gs://bucket/data"))
    plan = inputs.plan_any_input(DataConfig(path="gs://bucket/data", format="csv"))
    assert plan.split_patterns == (("train", "train.csv"), ("eval", "dev.csv"))


SQUAD = '{"version": "1.1", "data": [{"title": "t", "paragraphs": []}]}'


def test_task_qa_reads_json_pairs_single_files_and_spans(tmp_path):
    qa_data = PipelineConfig().with_overrides({"training.task": "qa", "data.path": str(tmp_path)}).data
    _write(tmp_path / "train.json", SQUAD)
    _write(tmp_path / "dev.json", SQUAD)
    _write(tmp_path / "README.csv", "text,label\nnot,qa\n")  # not QA data: ignored by task qa
    plan = inputs.plan_input(qa_data, qa=True)
    assert plan.format == "json" and plan.split_patterns == (("train", "train.json"), ("eval", "dev.json"))
    single = tmp_path / "one"
    _write(single / "cmrc.json", SQUAD)
    _write(single / "LICENCE", "text")
    plan = inputs.plan_input(DataConfig(path=str(single)), qa=True)
    assert plan.split_patterns == (("train", "*.json"),)  # one split: QaExampleGen splits it by article
    _write(tmp_path / "spans" / "span-3" / "squad.json", SQUAD)
    plan = inputs.plan_input(DataConfig(path=str(tmp_path / "spans")), qa=True)
    assert plan.span == 3 and plan.split_patterns == (("train", "span-{SPAN}/*.json"),)
    remote = inputs.plan_any_input(DataConfig(path="gs://bucket/squad"), qa=True)
    assert remote.format == "json" and remote.split_patterns == (("train", "train.json"), ("eval", "dev.json"))


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ('{"data": {}}', 'not SQuAD-format JSON: the top-level object has an object as its "data" list'),
    ('{"data": []}', "its 'data' list holds no article"),
])
def test_task_qa_refuses_files_that_are_not_squad_json_naming_them(tmp_path, text, message):
    path = _write(tmp_path / "train.json", text)
    with pytest.raises(inputs.InputError, match=message) as caught:
        inputs.plan_input(DataConfig(path=str(path)), qa=True)
    assert str(path) in str(caught.value)
