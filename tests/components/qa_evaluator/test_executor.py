"""QaEvaluator's executor on the tiny QA export (tests/serving/support/tiny_qa.py) and hand-written questions:
scores equal to qa_scoring's on the export's own answers, the blessing as TFX's Evaluator writes it (properties
and marker file) with and without a baseline, bad inputs named; and the component's wiring."""

import os

import pytest
from tfx.components.evaluator import constants as evaluator_constants
from tfx.components.pusher import executor as pusher_executor
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy
from tfx.types import channel, standard_artifacts

from components import qa_baseline, qa_scoring
from components.qa_evaluator import QaEvaluator, gate, spec
from tests.components.qa_evaluator import support
from tests.serving.support.exports import in_process
from tests.serving.support.tiny_qa import tiny_qa_export
from text_contract import features

QUESTIONS = ["Who jumps?", "what?", "Where does the dog sleep?"]
CONTEXTS = ["The quick brown fox jumps over the lazy dog.", "what? an answer.", "A lazy dog sleeps in the warm sun."]


def _markers(blessing) -> list:
    return sorted(os.listdir(blessing.uri))


def test_the_executor_scores_the_export_and_blesses_as_tfx_s_evaluator(tmp_path):
    export = tiny_qa_export()
    # The untrained model's answers are arbitrary spans: the first question's gold answer is its own answer,
    # the second's is text it cannot give, the third is unanswerable (SQuAD v2.0).
    answers = [text.decode() for text in in_process(export, "qa", question=QUESTIONS, context=CONTEXTS)["answer_text"]]
    gold = [[answers[0]], ["not in the context at all"], []]
    expected = qa_scoring.evaluate(dict(zip("abc", answers)), dict(zip("abc", gold)), "en")
    f1 = expected.f1 / 100
    assert expected.exact_match >= 100 / 3 and 0 < f1 < 1
    questions = [support.question("q0", QUESTIONS[0], CONTEXTS[0], gold[0]),
                 support.question("q1", QUESTIONS[1], CONTEXTS[1], gold[1]),
                 support.question("q2", QUESTIONS[2], CONTEXTS[2], impossible=True)]
    examples = support.examples_artifact(str(tmp_path / "examples"), questions)
    model = support.model_artifact(str(tmp_path / "model"), export, artifact_id=7)

    # A first run (no baseline), the floor exactly at the candidate's F1: blessed.
    first = support.run_executor(str(tmp_path), examples, model, name="first", min_f1=f1, batch_size=2)
    evaluation, blessing = first[spec.EVALUATION_KEY], first[spec.BLESSING_KEY]
    assert evaluation.get_float_custom_property(spec.F1_PROPERTY) == pytest.approx(f1)
    assert evaluation.get_float_custom_property(spec.EXACT_MATCH_PROPERTY) == pytest.approx(expected.exact_match / 100)
    assert evaluation.get_int_custom_property(spec.QUESTION_COUNT_PROPERTY) == 3
    assert blessing.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY) == 1
    assert blessing.get_string_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY) == model.uri
    assert blessing.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY) == 7
    assert not blessing.has_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BASELINE_MODEL_URI_KEY)
    assert _markers(blessing) == [evaluator_constants.BLESSED_FILE_NAME]
    report = gate.read_report(evaluation.uri)
    assert (report.blessed, report.baseline, report.language, report.reasons) == (True, None, "en", [])
    assert report.candidate == gate.ModelScores(expected.exact_match / 100, f1, 3)
    # the non-learned rule's scores on the same questions, for scale (reported, not gated)
    rule = qa_scoring.evaluate(dict(zip("abc", (qa_baseline.answer_question(q, c, "en") for q, c in zip(
        QUESTIONS, CONTEXTS)))), dict(zip("abc", gold)), "en")
    assert report.rule_baseline == gate.ModelScores(rule.exact_match / 100, rule.f1 / 100, 3)

    # Against a baseline (the same export under another Model artifact, scored again): as good, which passes with
    # no drop allowed; but a floor above the candidate's F1 refuses it, with the reason.
    baseline = support.model_artifact(str(tmp_path / "baseline"), export, artifact_id=3)
    floor = min(f1 + 0.01, 1.0)
    second = support.run_executor(str(tmp_path), examples, model, baseline, name="second", min_f1=floor,
                                  max_f1_drop=0.0)
    blessing = second[spec.BLESSING_KEY]
    assert blessing.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY) == 0
    assert _markers(blessing) == [evaluator_constants.NOT_BLESSED_FILE_NAME]
    assert blessing.get_string_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY) == model.uri
    assert (blessing.get_string_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BASELINE_MODEL_URI_KEY)
            == baseline.uri)
    assert blessing.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BASELINE_MODEL_ID_KEY) == 3
    reason = f"f1 {f1:.4f} is below the floor {floor:.4f}"  # the floor only: the drop of 0 is on its bound
    assert blessing.get_string_custom_property(spec.NOT_BLESSED_BECAUSE_PROPERTY) == reason
    second_report = gate.read_report(second[spec.EVALUATION_KEY].uri)
    assert (second_report.baseline, second_report.reasons) == (report.candidate, [reason])

    # TFX reads them as its Evaluator's: the resolver finds the blessed model (7, not a newer refused one), the
    # Pusher pushes on the first blessing and not on the second.
    newer = standard_artifacts.Model()
    newer.id = 9
    refused = standard_artifacts.ModelBlessing()
    refused.copy_from(second[spec.BLESSING_KEY])
    refused.set_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, newer.id)
    resolved = LatestBlessedModelStrategy().resolve_artifacts(
        None, {"model": [model, newer], "model_blessing": [first[spec.BLESSING_KEY], refused]})
    assert [m.id for m in resolved["model"]] == [7]
    pusher = pusher_executor.Executor()
    assert pusher.CheckBlessing({"model_blessing": [first[spec.BLESSING_KEY]]})
    assert not pusher.CheckBlessing({"model_blessing": [second[spec.BLESSING_KEY]]})


def test_bad_inputs_are_named(tmp_path):
    questions = [support.question("q0", QUESTIONS[0], CONTEXTS[0], ["fox"])]
    model = support.model_artifact(str(tmp_path / "model"), tiny_qa_export(), artifact_id=1)

    broken = support.examples_artifact(str(tmp_path / "broken"), questions, drop_feature=features.QA_CONTEXT)
    with pytest.raises(ValueError, match=r"Split-eval/data_tfrecord-00000-of-00001.gz, record 0 \(question 'q0'\): "
                                         r"feature 'context' is missing"):
        support.run_executor(str(tmp_path), broken, model, min_f1=0.0)

    train_only = support.examples_artifact(str(tmp_path / "train"), questions, split="train")
    with pytest.raises(ValueError, match=r"has no split 'eval' \(splits: \['train'\]\)"):
        support.run_executor(str(tmp_path), train_only, model, min_f1=0.0)

    examples = support.examples_artifact(str(tmp_path / "examples"), questions)
    classifier = support.model_artifact(
        str(tmp_path / "classifier"), support.export_without_qa_signature(str(tmp_path / "classifier-export")), 2)
    with pytest.raises(ValueError, match=r"no 'qa' signature \(signatures: \['serving_default'\]\)"):
        support.run_executor(str(tmp_path), examples, classifier, min_f1=0.0)

    empty = standard_artifacts.Model()
    empty.uri = str(tmp_path / "empty-model")
    with pytest.raises(ValueError, match="no saved_model.pb"):
        support.run_executor(str(tmp_path), examples, empty, min_f1=0.0)


def test_the_component_wires_like_an_evaluator():
    examples = channel.Channel(type=standard_artifacts.Examples)
    model = channel.Channel(type=standard_artifacts.Model)
    baseline = channel.Channel(type=standard_artifacts.Model)
    evaluator = QaEvaluator(examples=examples, model=model, baseline_model=baseline, min_f1=0, language="zh",
                            max_questions=500)
    assert set(evaluator.outputs) == {"evaluation", "blessing"}
    assert evaluator.outputs["blessing"].type is standard_artifacts.ModelBlessing
    assert set(evaluator.inputs) == {"examples", "model", "baseline_model"}
    assert evaluator.exec_properties == {"min_f1": 0.0, "max_f1_drop": spec.DEFAULT_MAX_F1_DROP, "eval_split": "eval",
                                         "language": "zh", "batch_size": spec.DEFAULT_BATCH_SIZE, "max_questions": 500}
    first_run = QaEvaluator(examples=examples, model=model, min_f1=0.5, max_f1_drop=None)
    assert "max_f1_drop" not in first_run.exec_properties and "max_questions" not in first_run.exec_properties
    with pytest.raises(ValueError, match="min_f1 must be a fraction"):
        QaEvaluator(examples=examples, model=model, min_f1=60)
