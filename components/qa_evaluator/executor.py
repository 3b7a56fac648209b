"""QaEvaluator's executor: reads the eval questions, has the candidate (and the baseline) answer them, scores
the answers, and records the gate's decision as TFX's Evaluator records its own.

The ModelBlessing gets what TFX's Evaluator writes (tfx/components/evaluator/executor.py), so TFX's
LatestBlessedModelStrategy resolver and the Pusher read it unchanged: the custom properties `blessed` (1/0),
`current_model`, `current_model_id`, `baseline_model` and `baseline_model_id` (when there is a baseline),
`component_id` (when the orchestrator names it), and an empty BLESSED or NOT_BLESSED file in its uri.
"""

import os
from typing import Any, Dict, List, Optional

from absl import logging
from tfx import types
from tfx.components.evaluator import constants as evaluator_constants
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils, standard_artifact_utils
from tfx.utils import io_utils, path_utils

from components import artifacts
from components.qa_evaluator import answering, gate, questions as questions_lib, spec

_COMPONENT_ID_KEY = "current_component_id"  # the exec property TFX's Evaluator copies onto its blessing


def _single(input_dict: Dict[str, List[types.Artifact]], key: str, optional: bool = False) -> Optional[types.Artifact]:
    found = input_dict.get(key) or []
    if len(found) > 1:
        raise ValueError(f"the QaEvaluator takes one {key} artifact, got {len(found)}")
    if not found and not optional:
        raise ValueError(f"the QaEvaluator needs the {key} input")
    return found[0] if found else None


def _split_dir(examples: types.Artifact, split: str) -> str:
    splits = standard_artifact_utils.decode_split_names(examples.split_names)
    if split not in splits:
        raise ValueError(f"the Examples artifact at {examples.uri} has no split {split!r} (splits: {splits})")
    return standard_artifact_utils.get_split_uri([examples], split)


def _model_scores(model: types.Artifact, eval_questions, options: spec.QaEvaluatorOptions, language: str,
                  name: str) -> gate.ModelScores:
    export_dir = path_utils.serving_model_path(model.uri)
    logging.info("QaEvaluator: %s model %s", name, export_dir)
    answers = answering.answer_all(answering.ExportAnswerer(export_dir), eval_questions, options.batch_size, name)
    return answering.score(eval_questions, answers, language)


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        options = spec.QaEvaluatorOptions.from_exec_properties(exec_properties)
        examples = _single(input_dict, spec.EXAMPLES_KEY)
        model = _single(input_dict, spec.MODEL_KEY)
        baseline = _single(input_dict, spec.BASELINE_MODEL_KEY, optional=True)
        evaluation = artifact_utils.get_single_instance(output_dict[spec.EVALUATION_KEY])
        blessing = artifact_utils.get_single_instance(output_dict[spec.BLESSING_KEY])

        artifacts.check_tf_example_payload(examples, "the QaEvaluator")
        eval_questions = questions_lib.read_questions(_split_dir(examples, options.eval_split), options.max_questions)
        language = answering.scoring_language(options.language, eval_questions)
        logging.info("QaEvaluator: %d questions of split %r, scored by the %r rules", len(eval_questions),
                     options.eval_split, language)
        candidate = _model_scores(model, eval_questions, options, language, "candidate")
        baseline_scores = None
        if baseline is not None:
            # A rerun may resolve the candidate itself as the last blessed model: same export, same scores.
            same = baseline.uri == model.uri
            baseline_scores = candidate if same else _model_scores(baseline, eval_questions, options, language,
                                                                   "baseline")
        rule = answering.score(eval_questions, answering.rule_answers(eval_questions, language), language)
        report = gate.build_report(candidate, baseline_scores, options.min_f1, options.max_f1_drop, language,
                                   options.eval_split, rule_baseline=rule)

        gate.write_report(report, evaluation.uri)
        evaluation.set_float_custom_property(spec.EXACT_MATCH_PROPERTY, candidate.exact_match)
        evaluation.set_float_custom_property(spec.F1_PROPERTY, candidate.f1)
        evaluation.set_int_custom_property(spec.QUESTION_COUNT_PROPERTY, candidate.question_count)
        _write_blessing(blessing, model, baseline, report, exec_properties)
        logging.info("QaEvaluator: %s", gate.describe(report))


def _write_blessing(blessing: types.Artifact, model: types.Artifact, baseline: Optional[types.Artifact],
                    report: gate.GateReport, exec_properties: Dict[str, Any]) -> None:
    """The ModelBlessing as TFX's Evaluator writes it (see the module docstring)."""
    blessing.set_string_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY, model.uri)
    blessing.set_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, model.id)
    if baseline is not None:
        blessing.set_string_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BASELINE_MODEL_URI_KEY, baseline.uri)
        blessing.set_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BASELINE_MODEL_ID_KEY, baseline.id)
    if _COMPONENT_ID_KEY in exec_properties:
        blessing.set_string_custom_property("component_id", exec_properties[_COMPONENT_ID_KEY])
    blessing.set_string_custom_property(spec.NOT_BLESSED_BECAUSE_PROPERTY, "; ".join(report.reasons))
    if report.blessed:
        marker, value = evaluator_constants.BLESSED_FILE_NAME, evaluator_constants.BLESSED_VALUE
    else:
        marker, value = evaluator_constants.NOT_BLESSED_FILE_NAME, evaluator_constants.NOT_BLESSED_VALUE
    io_utils.write_string_file(os.path.join(blessing.uri, marker), "")
    blessing.set_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY, value)
