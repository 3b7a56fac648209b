"""Exact match and F1 as SQuAD v1.1/v2.0 and CMRC 2018 define them: every expected number worked out by hand
(token lists and overlaps in the comments)."""

import pytest

from components import qa_scoring as scoring
from components.qa_scoring import QaScores, evaluate, score_prediction


def _assert_scores(actual, exact_match, f1):
    assert actual == (exact_match, pytest.approx(f1))


# English (SQuAD)

@pytest.mark.parametrize("text, normalized", [
    ("The  Quick, Brown fox!", "quick brown fox"),
    ("An apple a day", "apple day"),
    ("theater athena", "theater athena"),  # articles only as whole words
    ("Don't stop-the-press.", "dont stopthepress"),  # punctuation goes first, so no article is left whole
    ("  the\tend \n", "end"),
])
def test_english_normalization(text, normalized):
    assert scoring.normalize_en(text) == normalized


@pytest.mark.parametrize("prediction, gold, exact_match, f1", [
    ("the Eiffel Tower.", ["Eiffel Tower"], 1.0, 1.0),
    # [cat, sat, on, mat] vs [cat, on, mat]: overlap 3, P 3/4, R 1.
    ("the cat sat on the mat", ["cat on mat"], 0.0, 6 / 7),
    # [cat, cat, cat] vs [cat, cat, dog]: each token as often as its rarer side, so overlap 2, P 2/3, R 2/3.
    ("the the cat cat cat", ["cat cat dog"], 0.0, 2 / 3),
    # [denver, team] vs [broncos] 0, vs [denver, broncos] 1/2: the best gold answer counts.
    ("the Denver team", ["Broncos", "Denver Broncos"], 0.0, 1 / 2),
    ("Broncos", ["Denver Broncos", "broncos."], 1.0, 1.0),
    # [denver] vs [denver, broncos] 2/3, vs [denver, colorado, usa] P 1, R 1/3: 1/2.
    ("Denver", ["Denver, Colorado, USA", "Denver Broncos"], 0.0, 2 / 3),
])
def test_english_exact_match_and_f1(prediction, gold, exact_match, f1):
    _assert_scores(score_prediction(prediction, gold, "en"), exact_match, f1)


@pytest.mark.parametrize("prediction, gold, exact_match, f1", [
    ("", [], 1.0, 1.0),  # unanswerable, and no answer given
    ("the.", [], 1.0, 1.0),  # nothing is left of it: no answer
    ("Paris", [], 0.0, 0.0),
    ("", ["Paris"], 0.0, 0.0),
    ("a", ["Paris"], 0.0, 0.0),
    ("", ["The"], 1.0, 1.0),  # a gold answer that normalizes to nothing is dropped: unanswerable
    ("", ["An", "Paris"], 0.0, 0.0),  # ... and cannot be matched by no answer (v1.1 would give EM 1)
])
def test_english_empty_answers_follow_squad_v2(prediction, gold, exact_match, f1):
    _assert_scores(score_prediction(prediction, gold, "en"), exact_match, f1)


# Chinese (CMRC 2018)

@pytest.mark.parametrize("text, normalized", [
    ("《三体》：", "三体"),
    ("“ALBERT”（2019）", "albert2019"),
    ("「國際奧委會」、『臺北』", "國際奧委會臺北"),
    ("ＡＬＢＥＲＴ～２０１９－", "ａｌｂｅｒｔ２０１９"),  # full-width letters lower-case; '～' and '－' are listed
    ("2019.", "2019."),  # ASCII sentence punctuation is not on the official list
    ("好……", "好……"),  # nor a lone '…' (the list's '……' is two characters)
    ("abc 。", "abc "),  # the official order: strip, then drop punctuation
])
def test_chinese_normalization(text, normalized):
    assert scoring.normalize_zh(text) == normalized


@pytest.mark.parametrize("text, tokens", [
    ("ALBERT于2019年发布，共12层", ["albert", "于", "2019", "年", "发", "布", "共", "12", "层"]),
    ("Tom 你好", ["tom", "你", "好"]),
    ("3.5%的增长", ["3.5", "%", "的", "增", "长"]),
    ("U.S. 1,000.5元 v2.0", ["u.s", ".", "1,000.5", "元", "v2.0"]),
    ("covid-19疫情", ["covid19", "疫", "情"]),  # a listed punctuation mark goes before segmenting
    ("２０１９年", ["２０１９", "年"]),
    ("國際奧委會", ["國", "際", "奧", "委", "會"]),
    ("。！", []),
])
def test_chinese_mixed_segmentation(text, tokens):
    assert scoring.tokens_zh(text) == tokens


@pytest.mark.parametrize("prediction, gold, exact_match, f1", [
    # [于, 2019, 年, 发, 布] vs [2019, 年]: common run [2019, 年], P 2/5, R 1.
    ("于2019年发布", ["2019年"], 0.0, 4 / 7),
    # [北, 京, 的, 大, 学] vs [北, 京, 大, 学]: the longest common substring is 2 long (not the 4 of a
    # subsequence or a multiset), P 2/5, R 2/4.
    ("北京的大学", ["北京大学"], 0.0, 4 / 9),
    # [北, 京] vs [北, 京, 大, 学] P 1, R 1/2: 2/3; vs [北, 京, 市] P 1, R 2/3: 4/5.
    ("北京", ["北京大学", "北京市"], 0.0, 4 / 5),
    ("北京大学", ["北大", "北京大学。"], 1.0, 1.0),
    ("“三体”。", ["《三体》"], 1.0, 1.0),
    # '.' is not on the list: [2019, .] vs [2019], P 1/2, R 1.
    ("2019.", ["2019"], 0.0, 2 / 3),
    # Whitespace inside counts for EM but makes no token: [tom, 你, 好] on both sides.
    ("Tom 你好", ["Tom你好"], 0.0, 1.0),
    # Traditional Chinese: [國, 際, 奧, 委, 會] vs 9 characters, common run [國, 際, 奧], P 3/5, R 3/9.
    ("國際奧委會", ["國際奧林匹克委員會"], 0.0, 3 / 7),
    ("「國際奧委會」", ["國際奧委會"], 1.0, 1.0),
    ("『臺北』", ["台北"], 0.0, 1 / 2),  # no traditional/simplified folding: [臺, 北] vs [台, 北]
    # Full width: letters lower-case alike and '（）' are listed; digits are not folded to ASCII, as in the
    # official script: [２０１９, 年] vs [2019, 年], common run [年].
    ("ＡＬＢＥＲＴ（２０１９）", ["ａｌｂｅｒｔ２０１９"], 1.0, 1.0),
    ("２０１９年", ["2019年"], 0.0, 1 / 2),
    ("", [], 1.0, 1.0),
    ("。", [], 1.0, 1.0),
    ("北京", [], 0.0, 0.0),
    ("", ["北京"], 0.0, 0.0),
])
def test_chinese_exact_match_and_f1(prediction, gold, exact_match, f1):
    _assert_scores(score_prediction(prediction, gold, "zh"), exact_match, f1)


# Choosing the rules

@pytest.mark.parametrize("texts, language", [
    (["2019年"], "zh"),  # 1 CJK character, 1 other word: a tie reads as Chinese
    (["ALBERT模型"], "zh"),
    (["Paris", "巴黎"], "zh"),
    (["the Eiffel Tower", "塔"], "en"),
    (["Paris"], "en"),
    (["2019"], "en"),
    ([], "en"),
])
def test_detect_language(texts, language):
    assert scoring.detect_language(texts) == language


def test_auto_reads_the_gold_answers_then_the_prediction():
    _assert_scores(score_prediction("于2019年发布", ["2019年"]), 0.0, 4 / 7)
    # English rules see one token on each side, and different ones.
    _assert_scores(score_prediction("于2019年发布", ["2019年"], "en"), 0.0, 0.0)
    _assert_scores(score_prediction("北京。", []), 0.0, 0.0)
    _assert_scores(score_prediction("", [], "auto"), 1.0, 1.0)


def test_unknown_language_names_it():
    with pytest.raises(ValueError, match="language must be one of 'en', 'zh', 'auto', got 'fr'"):
        score_prediction("Paris", ["Paris"], "fr")
    with pytest.raises(ValueError, match="got 'EN'"):
        evaluate({}, {"q1": ["Paris"]}, "EN")


# evaluate

def test_evaluate_reproduces_the_official_cmrc_example():
    # The example of the CMRC 2018 evaluation script: EM 1, 0, 0; F1 1, 1/2 ([tom, 你, 好, 啊] vs
    # [tom, 你, 你, 好], common run of 2 of 4), 2/3 ([你, 是, 谁] vs [是, 谁, 啊]).
    references = {"q1": ["I am Tom!"], "q2": ["Tom 你好啊！"], "q3": ["你是谁？"]}
    predictions = {"q1": "I am Tom!", "q2": "Tom 你你好！", "q3": "是谁啊？"}
    scores = evaluate(predictions, references)
    assert scores == QaScores(exact_match=pytest.approx(100 / 3), f1=pytest.approx(650 / 9), count=3, missing=0,
                              language="zh")


def test_evaluate_scores_missing_predictions_as_zero_and_counts_them():
    references = {"q1": ["Paris"], "q2": ["Berlin"], "q3": [], "q4": ["the cat on the mat"]}
    # q4: [cat, on, sofa] vs [cat, on, mat], F1 2/3; F1 (1 + 0 + 1 + 2/3) / 4.
    predictions = {"q1": "paris", "q3": "", "q4": "a cat on a sofa"}
    scores = evaluate(predictions, references, "en")
    assert scores == QaScores(exact_match=50.0, f1=pytest.approx(200 / 3), count=4, missing=1, language="en")


def test_evaluate_auto_decides_once_for_the_whole_set():
    # 2 CJK characters against 1 English word: every question uses the Chinese rules, so 'Paris' vs
    # 'paris.' differs by the '.' that CMRC does not remove ([paris] vs [paris, .]: F1 2/3).
    scores = evaluate({"q1": "巴黎", "q2": "Paris"}, {"q1": ["巴黎"], "q2": ["paris."]})
    assert scores == QaScores(exact_match=50.0, f1=pytest.approx(250 / 3), count=2, missing=0, language="zh")
    # With no gold answer at all, the predictions decide.
    assert evaluate({"q1": "不知道"}, {"q1": [], "q2": []}).language == "zh"


def test_score_prediction_refuses_a_string_for_the_gold_answers():
    with pytest.raises(ValueError, match="gold_answers must be a sequence of answer strings, got 'Paris'"):
        score_prediction("Paris", "Paris")
    with pytest.raises(ValueError, match="prediction must be a string, got NoneType None"):
        score_prediction(None, ["Paris"])


@pytest.mark.parametrize("predictions, references, message", [
    ({"q9": "Paris"}, {"q1": ["Paris"]}, "prediction for question id 'q9', which is not among the 1 reference"),
    ({"q1": None}, {"q1": ["Paris"]}, "prediction for question id 'q1' must be a string, got NoneType None"),
    ({"q1": ["Paris"]}, {"q1": ["Paris"]}, r"question id 'q1' must be a string, got list \['Paris'\]"),
    ({}, {"q1": "Paris"}, r"references\['q1'\] must be a sequence of answer strings, got 'Paris'"),
    ({}, {"q1": ["Paris", 7]}, r"references\['q1'\] must be a sequence of answer strings, got \['Paris', 7\]"),
    ({"q1": "Paris"}, {}, "no reference questions to score"),
])
def test_evaluate_names_the_inconsistent_question(predictions, references, message):
    with pytest.raises(ValueError, match=message):
        evaluate(predictions, references, "en")
