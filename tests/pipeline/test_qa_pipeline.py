"""Task qa end to end: SQuAD-format JSON -> QaExampleGen (split by article) -> vocabulary over questions and
contexts -> windows -> qa Trainer -> QaEvaluator (EM/F1 gate) -> push; then `albert-tfx serve` answers
`albert-tfx predict --question --context` with text taken from the context.

The data is written here: one file of English and Chinese articles (so the split is the by-article one), with
one misaligned answer the ExampleGen must count and skip. The gate's floor is 0: a few dozen steps teach a
tiny model little, and what is tested is the wiring (the benchmark measures quality).
"""

import json

import pytest

from pipeline import local_runner
from pipeline.configs import ConfigError, PipelineConfig
from pipeline.inputs import InputError, plan_input
from serving import contract, layout
from tests.serving.support.serve_process import ready_addresses, running_serve

pytestmark = pytest.mark.slow

CITIES = ["Paris", "Berlin", "Madrid", "Rome", "Vienna", "Prague", "Lisbon", "Dublin", "Oslo", "Athens"]
CITIES_ZH = ["北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "武汉", "西安", "重庆"]


def _articles():
    articles = []
    for index in range(40):
        city, city_zh = CITIES[index % 10], CITIES_ZH[index % 10]
        year = 1900 + index
        context = (f"The museum of article {index} opened in {year}. It stands in {city}, near the river. "
                   f"Visitors come from many countries every summer.")
        context_zh = f"第{index}号博物馆建于{year}年。它位于{city_zh}，靠近河边。每年夏天都有很多游客。"
        qas = [
            {"id": f"en-{index}-city", "question": f"Where does the museum of article {index} stand?",
             "answers": [{"text": city, "answer_start": context.index(city)}]},
            {"id": f"en-{index}-year", "question": f"When did the museum of article {index} open?",
             "answers": [{"text": str(year), "answer_start": context.index(str(year))}]},
        ]
        qas_zh = [{"id": f"zh-{index}-city", "question": f"第{index}号博物馆位于哪里？",
                   "answers": [{"text": city_zh, "answer_start": context_zh.index(city_zh)}]}]
        if index == 0:  # an answer_start that does not point at its text: counted and skipped
            qas_zh.append({"id": "zh-0-bad", "question": "第0号博物馆建于哪年？",
                           "answers": [{"text": "1900", "answer_start": 0}]})
        articles.append({"title": f"Museum {index}", "paragraphs": [{"context": context, "qas": qas}]})
        articles.append({"title": f"博物馆 {index}", "paragraphs": [{"context": context_zh, "qas": qas_zh}]})
    return articles


def _config(root, **overrides) -> PipelineConfig:
    return PipelineConfig().with_overrides({
        "training.task": "qa",
        "data.path": str(root / "data"),
        "data.eval_fraction": 0.25,
        "orchestration.output_dir": str(root / "out"),
        "orchestration.beam_num_workers": 1,
        "serving.serving_dir": str(root / "serving"),
        "vocabulary.size": 300,
        "training.max_seq_length": 48,
        "training.train_steps": 40,
        "training.checkpoint_every_steps": 20,
        "training.global_batch_size": 16,
        "qa.doc_stride": 16,
        "qa.max_query_length": 16,
        "qa.min_f1": 0.0,
        **overrides,
    })


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("qa-pipeline")
    (root / "data").mkdir()
    (root / "data" / "museums.json").write_text(json.dumps({"version": "1.1", "data": _articles()}, ensure_ascii=False),
                                                encoding="utf-8")
    return root


def test_qa_config_and_input_errors_name_the_problem(root, tmp_path):
    with pytest.raises(ConfigError, match="data.format=csv and training.task=qa"):
        _config(root, **{"data.format": "csv"})
    with pytest.raises(ConfigError, match="qa.min_f1 must be in"):
        _config(root, **{"qa.min_f1": 2})
    (tmp_path / "broken.json").write_text('{"version": "1.1"}', encoding="utf-8")
    config = _config(root, **{"data.path": str(tmp_path)})
    with pytest.raises(InputError, match='broken.json: not SQuAD-format JSON.*"data" list'):
        plan_input(config.data, qa=True)
    # classification pointed at QA data says what to do
    with pytest.raises(InputError, match="question answering data: use training.task qa"):
        plan_input(PipelineConfig().with_overrides({"data.path": str(root / "data")}).data)


def test_qa_pipeline_trains_gates_pushes_and_the_served_model_answers_from_the_context(root, capsys):
    config = _config(root)
    lines = []
    summary = local_runner.run(config, report=lines.append)
    text = "\n".join(summary.lines())
    assert summary.blessed and summary.pushed, text
    # the ExampleGen's counts: 121 questions read, the misaligned one skipped, split by article
    assert any("QaExampleGen done" in line and "skipped 1" in line for line in lines), lines
    # the QA gate's scores in the run summary, beside the non-learned rule's for scale
    assert "eval metrics: exact_match " in text and "(non-learned rule: F1 " in text, text
    versions = [v.version for v in layout.version_dirs(str(root / "serving" / "albert"))]
    assert versions == [1]
    metadata = json.loads((root / "serving" / "albert" / "1" / contract.ASSETS_EXTRA_DIR
                           / contract.METADATA_FILE).read_text())
    assert metadata["task"] == contract.TASK_QA

    from albert_tfx.cli import main

    context = "The museum of article 7 opened in 1907. It stands in Dublin, near the river."
    with running_serve(["--model-base-path", str(root / "serving" / "albert"), "--port", "0"],
                       root / "serve.log") as (_, line, _):
        address, _ = ready_addresses(line)
        capsys.readouterr()
        code = main(["predict", "--server", address, "--model", "albert", "--question",
                     "Where does the museum of article 7 stand?", "--context", context])
    out = capsys.readouterr().out
    assert code == 0, out
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["answer"] and row["answer"] == context[row["start_char"]:row["end_char"]], row
