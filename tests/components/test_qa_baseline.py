"""The non-learned baseline: the context text right after the longest overlap with the question, on small
hand-written examples whose overlap and answer are worked out in the comments."""

import pytest

from components.qa_baseline import answer_question, predict
from components.qa_scoring import evaluate

RELEASE = "ALBERT于2019年发布。它是BERT的轻量版本。"


@pytest.mark.parametrize("question, context, kwargs, answer", [
    # Overlap 'ALBERT' (6 characters, longer than '发布'); the answer stops at '。'.
    ("ALBERT是哪一年发布的？", RELEASE, {}, "于2019年发布"),
    # No stop within 10 characters: 于, 2, 0, 1, 9, 年, 由, 谷, 歌, 研.
    ("ALBERT是哪一年发布的？", "ALBERT于2019年由谷歌研究院正式发布。", {}, "于2019年由谷歌研"),
    ("ALBERT是哪一年发布的？", "ALBERT于2019年由谷歌研究院正式发布。", {"max_chars": 6}, "于2019年"),
    # No overlap: the context's start, 10 characters.
    ("天气如何？", RELEASE, {}, "ALBERT于201"),
    # Overlap '发明了电话' ends at '。', which is skipped: the next clause.
    ("谁发明了电话？", "贝尔发明了电话。电话改变了通信。", {}, "电话改变了通信"),
    # The longest overlap wins over an earlier shorter one: 'ALBERT模型' (8) over 'BERT模型' (6).
    ("ALBERT模型有多大？", "BERT模型很大。ALBERT模型很小。", {}, "很小"),
    # Equally long overlaps ('模型', twice): the first in the context.
    ("哪个模型更小？", "BERT模型很大。ALBERT模型很小。", {}, "很大"),
    # An ASCII '.' between digits does not stop; the full-width '，' does.
    ("增长率是多少？", "今年的增长率为3.5%，高于去年。", {}, "为3.5%"),
    # Traditional characters.
    ("ALBERT是哪一年發佈的？", "ALBERT於2019年發佈。", {}, "於2019年發佈"),
    # Full-width capitals case-fold to the full-width lower case of the context: overlap 'ａｌｂｅｒｔ是'.
    ("ＡＬＢＥＲＴ是什么？", "ａｌｂｅｒｔ是一个轻量模型。", {}, "一个轻量模型"),
])
def test_chinese_answers(question, context, kwargs, answer):
    assert answer_question(question, context, "zh", **kwargs) == answer
    assert answer_question(question, context, **kwargs) == answer  # "auto" reads these as Chinese


@pytest.mark.parametrize("question, context, kwargs, answer", [
    # Words compare case-folded without punctuation: 'albert WAS proposed by' (4 words) then up to the '.'.
    ("albert WAS proposed by whom?", "In 2019, ALBERT was proposed by Google Research. It is small.", {},
     "Google Research"),
    # Overlap 'The ALBERT model' (3 words), then 5 words; 'al.' would be the sixth.
    ("Who proposed the ALBERT model?", "The ALBERT model was proposed by Lan et al. in 2019.", {},
     "was proposed by Lan et"),
    ("Who proposed the ALBERT model?", "The ALBERT model was proposed by Lan et al. in 2019.", {"max_words": 2},
     "was proposed"),
    # Overlap 'The speed-up' ('speed-up' compares as 'speedup'); '1.7' is not a sentence end.
    ("What was the speed-up?", "The speed-up was 1.7 times. It is small.", {}, "was 1.7 times"),
    # Overlap 'Paris' ends the sentence: what follows the '.' instead.
    ("Where is Paris?", "Berlin and Paris. Both are capitals, and large.", {}, "Both are capitals"),
    # No overlap: the context's start.
    ("Why?", "Because it is cheap, and small.", {}, "Because it is cheap"),
    ("Why?", "", {}, ""),
])
def test_english_answers(question, context, kwargs, answer):
    assert answer_question(question, context, "en", **kwargs) == answer
    assert answer_question(question, context, **kwargs) == answer


def test_lengths_must_be_positive_integers():
    with pytest.raises(ValueError, match="max_chars must be a positive integer, got 0"):
        answer_question("问", "答", max_chars=0)
    with pytest.raises(ValueError, match="max_words must be a positive integer, got True"):
        answer_question("q", "a", max_words=True)
    with pytest.raises(ValueError, match="got 'xx'"):
        answer_question("q", "a", language="xx")


def test_predict_feeds_evaluate():
    examples = [("q1", "ALBERT是哪一年发布的？", RELEASE), ("q2", "谁发明了电话？", "贝尔发明了电话。电话改变了通信。")]
    predictions = predict(examples)
    assert predictions == {"q1": "于2019年发布", "q2": "电话改变了通信"}
    # q1: vs '2019年' [于, 2019, 年, 发, 布] / [2019, 年] F1 4/7, vs '2019' F1 1/3; q2 exact.
    scores = evaluate(predictions, {"q1": ["2019年", "2019"], "q2": ["电话改变了通信"]})
    assert (scores.exact_match, scores.f1, scores.language) == (50.0, pytest.approx(550 / 7), "zh")


def test_predict_names_a_repeated_id():
    with pytest.raises(ValueError, match="question id 'q1' appears more than once"):
        predict([("q1", "问", "答"), ("q2", "问", "答"), ("q1", "问", "答")])
