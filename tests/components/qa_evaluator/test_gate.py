"""The QA blessing gate without a model: the floor, the drop against the last blessed model, values exactly on
a bound, a first run without a baseline; the report's round trip and its one-line description; the options'
checks; the names shared with the serving contract; and that the report's readers stay light."""

import json
import subprocess
import sys

import pytest

from components.qa_evaluator import gate
from components.qa_evaluator.gate import GateReport, ModelScores, build_report, describe, judge, read_report

FLOOR = 0.3


def scores(f1: float, exact_match: float = 0.5, count: int = 10) -> ModelScores:
    return ModelScores(exact_match=exact_match, f1=f1, question_count=count)


def test_the_floor_alone_decides_without_a_baseline():
    assert judge(scores(0.31), None, FLOOR, 0.01) == (True, [])
    assert judge(scores(0.12), None, FLOOR, 0.01) == (False, ["f1 0.1200 is below the floor 0.3000"])
    assert judge(scores(0.12), None, 0.0, None) == (True, [])


def test_the_drop_against_the_last_blessed_model():
    assert judge(scores(0.75), scores(0.80), FLOOR, 0.06) == (True, [])
    blessed, reasons = judge(scores(0.70), scores(0.75), FLOOR, 0.01)
    assert not blessed
    assert reasons == ["f1 0.7000 is 0.0500 below the last blessed model's 0.7500 (at most 0.0100 allowed)"]
    assert judge(scores(0.70), scores(0.75), FLOOR, None) == (True, [])  # no drop rule: the floor only
    assert judge(scores(0.90), scores(0.75), FLOOR, 0.0) == (True, [])  # better than the baseline


def test_both_thresholds_fail_with_one_reason_each():
    blessed, reasons = judge(scores(0.10), scores(0.50), FLOOR, 0.05)
    assert not blessed and len(reasons) == 2
    assert reasons[0].startswith("f1 0.1000 is below the floor") and "last blessed model's 0.5000" in reasons[1]


@pytest.mark.parametrize("f1, floor, baseline_f1, max_drop", [
    (0.3, 0.3, None, 0.01),  # exactly on the floor
    (2 / 3, 2 / 3, None, None),  # a floor computed as the score was
    (0.7, 0.0, 0.71, 0.01),  # exactly max_drop below the baseline (0.71 - 0.01 is 0.7 less a rounding error)
    (0.6, 0.0, 0.6, 0.0),  # as good as the baseline, with no drop allowed
    (0.1 + 0.2, 0.3, 0.3, 0.0),  # 0.30000000000000004 against 0.3 the other way round
])
def test_a_value_exactly_on_a_bound_passes(f1, floor, baseline_f1, max_drop):
    baseline = scores(baseline_f1) if baseline_f1 is not None else None
    assert judge(scores(f1), baseline, floor, max_drop) == (True, [])
    assert not judge(scores(f1 - 1e-6), baseline, floor, max_drop)[0]  # each case's bound binds: just below fails


def test_scores_are_fractions_of_qa_scoring_s_percentages():
    from components import qa_scoring

    result = qa_scoring.evaluate({"1": "Paris", "2": "in Lyon", "3": ""}, {"1": ["Paris"], "2": ["Lyon"], "3": []})
    fractions = ModelScores.from_percent(result.exact_match, result.f1, result.count)
    assert fractions.exact_match == pytest.approx(2 / 3) and fractions.question_count == 3
    assert fractions.f1 == pytest.approx((1 + 2 / 3 + 1) / 3)


def test_the_report_round_trips_through_the_evaluation_directory(tmp_path):
    report = build_report(scores(0.12, 0.1, 57), scores(0.5, 0.4, 57), FLOOR, 0.01, "zh", "eval")
    assert gate.write_report(report, str(tmp_path)) == str(tmp_path / gate.REPORT_FILE)
    assert read_report(str(tmp_path)) == report
    on_disk = json.loads((tmp_path / gate.REPORT_FILE).read_text())
    assert on_disk["candidate"] == {"exact_match": 0.1, "f1": 0.12, "question_count": 57}
    assert on_disk["baseline"]["f1"] == 0.5 and (on_disk["floor"], on_disk["max_drop"]) == (FLOOR, 0.01)
    assert on_disk["blessed"] is False and len(on_disk["reasons"]) == 2

    first_run = build_report(scores(0.4), None, FLOOR, None, "en", "eval")
    gate.write_report(first_run, str(tmp_path / "first"))
    assert json.loads((tmp_path / "first" / gate.REPORT_FILE).read_text())["baseline"] == {}
    assert read_report(str(tmp_path / "first")) == first_run
    assert read_report(str(tmp_path / "elsewhere")) is None  # an evaluation without the report


def test_describe_says_the_scores_and_the_decision_in_one_line():
    blessed = build_report(scores(0.7855, 0.7012, 1204), scores(0.78), FLOOR, 0.01, "en", "eval")
    assert describe(blessed) == ("QA eval (en, 1,204 questions): exact match 0.7012, F1 0.7855; last blessed F1 "
                                 "0.7800; blessed (F1 floor 0.3000, max drop 0.0100)")
    refused = build_report(scores(0.12, 0.05, 8), None, FLOOR, None, "zh", "eval")
    assert describe(refused) == ("QA eval (zh, 8 questions): exact match 0.0500, F1 0.1200; no blessed model yet; "
                                 "not blessed: f1 0.1200 is below the floor 0.3000")
    assert "\n" not in describe(GateReport.from_json(refused.to_json()))
    with_rule = build_report(scores(0.12, 0.05, 8), None, FLOOR, None, "zh", "eval", rule_baseline=scores(0.2, 0.03, 8))
    assert describe(with_rule).startswith("QA eval (zh, 8 questions): exact match 0.0500, F1 0.1200 (non-learned rule: "
                                          "F1 0.2000); no blessed model yet")
    assert GateReport.from_json(with_rule.to_json()) == with_rule


def test_options_are_checked_and_name_the_value_received():
    from components.qa_evaluator.spec import QaEvaluatorOptions

    options = QaEvaluatorOptions(min_f1=0, max_f1_drop=None, max_questions=100)
    assert options.min_f1 == 0.0 and isinstance(options.min_f1, float)  # TFX's float parameter refuses an int
    assert QaEvaluatorOptions.from_exec_properties(options.to_exec_properties()) == options
    assert QaEvaluatorOptions.from_exec_properties({"min_f1": 0.5}) == QaEvaluatorOptions(min_f1=0.5, max_f1_drop=None)
    for field, value, message in (("min_f1", 30, r"min_f1 must be a fraction in \[0, 1\] \(0.3 for 30%\), got 30"),
                                  ("max_f1_drop", -0.1, "max_f1_drop .* got -0.1"),
                                  ("language", "fr", "language must be one of 'en', 'zh', 'auto', got 'fr'"),
                                  ("batch_size", 0, "batch_size must be a positive integer, got 0"),
                                  ("max_questions", 2.5, "max_questions must be a positive integer, got 2.5"),
                                  ("eval_split", "", "eval_split must be a non-empty split name, got ''")):
        with pytest.raises(ValueError, match=message):
            QaEvaluatorOptions(**{"min_f1": 0.5, field: value})
    with pytest.raises(ValueError, match="needs min_f1"):
        QaEvaluatorOptions.from_exec_properties({})


def test_the_report_readers_import_neither_tfx_nor_tensorflow():
    from tests.support import REPO_ROOT

    script = ("import sys\nfrom components.qa_evaluator import read_report, describe, GateReport\n"
              "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(('tensorflow', 'tfx'))}))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout
