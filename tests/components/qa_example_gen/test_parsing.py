"""QaExampleGen's pure parts (no Beam): the parser on synthetic SQuAD-format JSON, the by-article split rule,
the options; and what the parser counts on the real CMRC 2018 and DRCD dev files."""

import json

import pytest
from google.protobuf import json_format

from components.qa_example_gen import parsing
from components.qa_example_gen import spec as spec_lib
from components.qa_example_gen.spec import QaOptions
from tests.support import dataset

CONTEXT = "Paris is the capital of France. It lies on the Seine."


def squad(*articles, version="v2.0") -> bytes:
    return json.dumps({"version": version, "data": list(articles)}, ensure_ascii=False).encode("utf-8")


def article(title, *qas, context=CONTEXT, **extra):
    return {"title": title, "paragraphs": [{"context": context, "qas": list(qas)}], **extra}


def qa(qid, question="Where is Paris?", answers=(("France", 24),), **extra):
    return {"id": qid, "question": question, "answers": [{"text": t, "answer_start": s} for t, s in answers], **extra}


def parse(*articles, source="f.json"):
    return parsing.parse_squad(squad(*articles), source)


def reasons(parsed):
    return [(p.reason, p.question_id, p.field) for p in parsed.problems]


def test_questions_with_bom_drcd_answer_ids_and_v2_impossible():
    drcd_answers = [{"id": "1", "text": "Paris", "answer_start": 0}, {"id": "2", "text": "the Seine", "answer_start": 43}]
    data = b"\xef\xbb\xbf" + squad(
        article("Paris", {"id": "q1", "question": "What?", "answers": drcd_answers},
                qa("q2", "Unanswerable?", answers=(), is_impossible=True, plausible_answers=[{"text": "x"}]),
                {"id": "q3", "question": "No answers key?", "is_impossible": True},
                qa(7, "An integer id", is_impossible=False)))
    parsed = parsing.parse_squad(data, "f.json")
    assert parsed.problems == []
    assert parsed.questions == [
        parsing.Question("q1", "Paris", "What?", CONTEXT, ("Paris", "the Seine"), (0, 43), False),
        parsing.Question("q2", "Paris", "Unanswerable?", CONTEXT, (), (), True),
        parsing.Question("q3", "Paris", "No answers key?", CONTEXT, (), (), True),
        parsing.Question("7", "Paris", "An integer id", CONTEXT, ("France",), (24,), False),
    ]
    assert dict(parsed.counts) == {"articles": 1, "paragraphs": 1, "questions": 4, "examples": 4, "answers": 3,
                                   "answers_kept": 3, "impossible_questions": 2}


def test_bad_answers_are_dropped_and_the_question_kept_while_one_is_good():
    text = "Paris: 北京 and ünïcode"  # offsets count characters (code points), not UTF-8 bytes
    parsed = parse(article("T",
                           qa("keep", answers=(("Paris", 0), ("Paris", 3), ("北京", 7), ("ünïcode", 14), ("", 0),
                                               ("x", -1), ("ünïcode", 100))),
                           {"id": "malformed", "question": "q?", "answers": [
                               "Paris", {"text": 5, "answer_start": 0}, {"text": "Paris", "answer_start": "0"},
                               {"answer_start": 0}, {"text": "Paris", "answer_start": True}, {"text": "Paris"},
                               {"text": "Paris", "answer_start": 0}]},
                           qa("none_valid", answers=(("Paris", 1), ("  ", 0))),
                           qa("no_answers", answers=()),
                           context=text))
    assert [(q.id, q.answer_texts, q.answer_starts) for q in parsed.questions] == [
        ("keep", ("Paris", "北京", "ünïcode"), (0, 7, 14)),
        ("malformed", ("Paris",), (0,)),
    ]
    assert reasons(parsed) == [
        ("bad_answer_start", "keep", "paragraphs[0].qas[0].answers[1].answer_start"),
        ("empty_answer", "keep", "paragraphs[0].qas[0].answers[4].text"),
        ("bad_answer_start", "keep", "paragraphs[0].qas[0].answers[5].answer_start"),
        ("bad_answer_start", "keep", "paragraphs[0].qas[0].answers[6].answer_start"),
        ("malformed_answer", "malformed", "paragraphs[0].qas[1].answers[0]"),
        ("malformed_answer", "malformed", "paragraphs[0].qas[1].answers[1].text"),
        ("malformed_answer", "malformed", "paragraphs[0].qas[1].answers[2].answer_start"),
        ("malformed_answer", "malformed", "paragraphs[0].qas[1].answers[3].text"),
        ("malformed_answer", "malformed", "paragraphs[0].qas[1].answers[4].answer_start"),
        ("malformed_answer", "malformed", "paragraphs[0].qas[1].answers[5].answer_start"),
        ("bad_answer_start", "none_valid", "paragraphs[0].qas[2].answers[0].answer_start"),
        ("empty_answer", "none_valid", "paragraphs[0].qas[2].answers[1].text"),
        ("no_valid_answer", "none_valid", "paragraphs[0].qas[2].answers"),
        ("no_valid_answer", "no_answers", "paragraphs[0].qas[3].answers"),
    ]
    counts = parsed.counts
    assert (counts["questions"], counts["examples"], counts["no_valid_answer"]) == (4, 2, 2)
    assert (counts["answers"], counts["answers_kept"]) == (16, 4)
    assert (counts["bad_answer_start"], counts["empty_answer"], counts["malformed_answer"]) == (4, 2, 6)
    bad = str(parsed.problems[0])  # one line naming the file, article, question id and field, and what is wrong
    assert bad.startswith("f.json: article 0 ('T'), question 'keep': paragraphs[0].qas[0].answers[1].answer_start: "
                          "3 does not point at the answer 'Paris'")
    assert "is -1, not a position in the context" in str(parsed.problems[2])


def test_each_skip_reason_is_counted_with_where_it_happened():
    parsed = parse(
        article("A", qa("ok"), qa("ok"), qa("", "empty id"), {"question": "no id", "answers": []},
                qa("q_type", question=["not", "text"]), {"id": "no_question", "answers": []},
                qa("blank", question="  \n"), qa("imp", is_impossible="yes"),
                {"id": "ans_type", "question": "q", "answers": {"text": "France"}}, {"id": "no_answers", "question": "q"},
                "not an object"),
        article("B", qa("in_empty_context"), context=" "),
        {"title": "C", "paragraphs": [{"qas": [qa("no_context")]}, {"context": 3, "qas": [qa("int_context")]},
                                      {"context": CONTEXT}, {"context": CONTEXT, "qas": {}}, ["not a paragraph"],
                                      {"context": CONTEXT, "qas": [qa("ok")]}]},
        {"title": "D"}, {"title": "E", "paragraphs": "text"}, "not an article",
    )
    assert [q.id for q in parsed.questions] == ["ok"]
    assert reasons(parsed) == [
        ("duplicate_id", "ok", "paragraphs[0].qas[1].id"),
        ("wrong_type", None, "paragraphs[0].qas[2].id"),
        ("missing_field", None, "paragraphs[0].qas[3].id"),
        ("wrong_type", "q_type", "paragraphs[0].qas[4].question"),
        ("missing_field", "no_question", "paragraphs[0].qas[5].question"),
        ("empty_question", "blank", "paragraphs[0].qas[6].question"),
        ("wrong_type", "imp", "paragraphs[0].qas[7].is_impossible"),
        ("wrong_type", "ans_type", "paragraphs[0].qas[8].answers"),
        ("missing_field", "no_answers", "paragraphs[0].qas[9].answers"),
        ("wrong_type", None, "paragraphs[0].qas[10]"),
        ("empty_context", "in_empty_context", "paragraphs[0].context"),
        ("missing_field", "no_context", "paragraphs[0].context"),
        ("wrong_type", "int_context", "paragraphs[1].context"),
        ("missing_field", None, "paragraphs[2].qas"),
        ("wrong_type", None, "paragraphs[3].qas"),
        ("wrong_type", None, "paragraphs[4]"),
        ("duplicate_id", "ok", "paragraphs[5].qas[0].id"),
        ("missing_field", None, "paragraphs"),
        ("wrong_type", None, "paragraphs"),
        ("wrong_type", None, "(article)"),
    ]
    counts = parsed.counts
    # 15 questions in "qas" lists, and 6 articles or paragraphs whose questions cannot be counted: one each
    assert (counts["questions"], counts["examples"]) == (21, 1)
    assert {reason: counts[reason] for reason in parsing.SKIP_REASONS} == {
        "missing_field": 6, "wrong_type": 10, "empty_context": 1, "empty_question": 1, "no_valid_answer": 0,
        "duplicate_id": 2}
    assert counts["questions"] == counts["examples"] + sum(counts[reason] for reason in parsing.SKIP_REASONS)
    assert (counts["articles"], counts["paragraphs"]) == (6, 8)
    [paragraphs_text] = [p for p in parsed.problems if p.title == "E"]
    assert str(paragraphs_text) == "f.json: article 4 ('E'): paragraphs: is a string, not a list (wrong_type)"


def test_a_question_skipped_for_another_reason_does_not_claim_its_id():
    parsed = parse(article("A", qa("q", question=""), qa("q")))
    assert [q.id for q in parsed.questions] == ["q"] and reasons(parsed)[0][0] == "empty_question"


def test_untitled_articles_get_a_stable_stand_in():
    paragraph = {"id": "P_7", "context": CONTEXT, "qas": [qa("b")]}
    parsed = parse({"id": "DEV_234", "title": "", "paragraphs": [{"context": CONTEXT, "qas": [qa("a")]}]},
                   {"title": None, "paragraphs": [paragraph]},
                   {"paragraphs": [{"context": CONTEXT, "qas": [qa("c")]}]},
                   article("Real title", qa("d")), source="data/train.json")
    assert [q.title for q in parsed.questions] == ["DEV_234", "P_7", "train.json#2", "Real title"]
    assert parsed.counts["untitled_articles"] == 3


@pytest.mark.parametrize("data, message", [
    (b'{"version": "1.1", "data": [}', r"bad\.json: not valid JSON: Expecting value at line 1 column 29"),
    (b'{"data": [\n  {"title": "x",\n   "paragraphs": []\n', r"bad\.json: not valid JSON: Expecting ',' delimiter at line 4 column 1"),
    (b"", r"bad\.json: not valid JSON: Expecting value at line 1 column 1"),
    (b'{"data": "\xff"}', r"bad\.json: not UTF-8 \(byte 10"),
    (b"[1, 2]", r"bad\.json: not SQuAD-format JSON: the top level is a list"),
    (b'{"version": "1.1"}', r'bad\.json: not SQuAD-format JSON: the top-level object has no "data" list'),
    (b'{"data": {}}', r'bad\.json: .*has an object as its "data" list'),
])
def test_a_file_that_is_not_squad_json_is_an_error_naming_it(data, message):
    with pytest.raises(parsing.QaFileError, match=message):
        parsing.parse_squad(data, "bad.json")


def test_article_split_is_tfxs_hash_partition_by_title():
    import hashlib

    from tfx.components.example_gen import base_example_gen_executor as tfx_base

    from components.qa_example_gen import beam_pipeline

    titles = [f"article {i}" for i in range(200)] + ["战国无双3", "", "DEV_234", "x" * 300, "梵文"]
    for fraction in (0.2, 0.05, 0.5):
        split_config = spec_lib.article_split_output_config(fraction).split_config
        buckets = [split_config.splits[0].hash_buckets, spec_lib.SPLIT_BUCKETS]
        names = [split.name for split in split_config.splits]
        for title in titles:
            example = beam_pipeline.make_example(parsing.Question("id", title, "q", "c", (), (), True))
            tfx_index = tfx_base._PartitionFn(example, 2, buckets, split_config)
            assert names[tfx_index] == parsing.article_split(title, fraction), (title, fraction)
            key = example.features.feature["title"].SerializeToString(deterministic=True)
            assert parsing.title_partition_key(title) == key
            assert parsing.article_bucket(title) == int(hashlib.sha256(key).hexdigest(), 16) % 100
    # The same in every process and run (SHA-256, not Python's salted hash): fixed values guard the rule.
    assert [parsing.article_bucket(t) for t in ("战国无双3", "锣鼓经", "梵文", "DEV_234", "Paris")] == [78, 41, 76, 13, 21]
    shares = [parsing.article_split(f"title {i}", 0.2) for i in range(2000)]
    assert 0.17 < shares.count("eval") / len(shares) < 0.23


def test_options_round_trip_validation_and_output_config():
    options = QaOptions(eval_fraction=0.25, max_skipped_fraction=0.5)
    assert QaOptions.from_dict(options.to_dict()) == options
    proto = options.to_custom_config()
    for value in (proto, json_format.MessageToJson(proto), json_format.MessageToDict(proto), options.to_dict(),
                  json.dumps(options.to_dict())):
        assert spec_lib.from_exec_properties({"custom_config": value}) == options
    assert spec_lib.from_exec_properties({}) == QaOptions() == QaOptions(eval_fraction=0.2)
    for values, field in (({"eval_fraction": 0}, "eval_fraction"), ({"eval_fraction": 1.0}, "eval_fraction"),
                          ({"eval_fraction": "0.2"}, "eval_fraction"), ({"eval_fraction": 0.001}, "eval_fraction"),
                          ({"max_skipped_fraction": 2}, "max_skipped_fraction"), ({"eval_frac": 0.2}, "eval_frac")):
        with pytest.raises(ValueError, match=field):
            QaOptions.from_dict(values)
    config = spec_lib.article_split_output_config(0.25)
    assert config.split_config.partition_feature_name == "title"
    assert [(s.name, s.hash_buckets) for s in config.split_config.splits] == [("train", 75), ("eval", 25)]
    spec_lib.check_output_config(config)
    spec_lib.check_output_config(spec_lib.example_gen_pb2.Output())  # no partition: the user's own splits
    by_example = spec_lib.example_gen_pb2.Output()
    by_example.CopyFrom(config)
    by_example.split_config.ClearField("partition_feature_name")
    with pytest.raises(ValueError, match="partition_feature_name.*'title'"):
        spec_lib.check_output_config(by_example)


def test_cmrc2018_dev_counts():
    path = dataset("cmrc2018") / "cmrc2018_dev.json"
    parsed = parsing.parse_squad(path.read_bytes(), str(path))
    counts = parsed.counts
    assert (counts["articles"], counts["paragraphs"], counts["questions"]) == (848, 848, 3219)
    # 200 of its 9,657 gold answers do not sit at their answer_start (193 have answer_start -1); three
    # questions have no other answer and are skipped, so 3,216 remain.
    assert (counts["answers"], counts["bad_answer_start"], counts["answers_kept"]) == (9657, 200, 9457)
    assert (counts["no_valid_answer"], counts["examples"]) == (3, 3216)
    assert sum(counts[reason] for reason in parsing.SKIP_REASONS) == 3
    assert counts["untitled_articles"] == 2  # two articles have an empty title: their "id" stands in
    assert sum(p.detail.startswith("is -1,") for p in parsed.problems) == 193
    titles = {q.title for q in parsed.questions}
    assert {"DEV_234", "DEV_350"} <= titles and "" not in titles


def test_drcd_dev_counts():
    path = dataset("drcd") / "DRCD_dev.json"
    parsed = parsing.parse_squad(path.read_bytes(), str(path))
    counts = parsed.counts
    assert (counts["articles"], counts["paragraphs"], counts["questions"], counts["examples"]) == (383, 1000, 3524, 3524)
    assert (counts["answers"], counts["answers_kept"]) == (7048, 7048) and parsed.problems == []
