"""The QA blessing gate: the decision on F1, and the report the evaluation artifact keeps of it.

A candidate is blessed iff its F1 is at least the floor and, when there is a baseline (the last blessed model)
and a maximum drop, at least the baseline's F1 less that drop. Both bounds are widened by a float-rounding
margin, as pipeline/evaluation.py widens the classifier's, so a value exactly on a bound passes. Scores are
fractions in [0, 1], like the classifier gate's metrics (`components.qa_scoring.evaluate` prints percent).

The executor writes the report into the evaluation artifact (`<evaluation>/qa_metrics.json`); the run
summary reads it back (`read_report`) and prints `describe(report)`. Plain Python: no TFX, and TensorFlow
only inside the functions that read and write files (tf.io.gfile, for remote artifact stores).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, List, Optional, Tuple

REPORT_FILE = "qa_metrics.json"
# Bounds compare with a margin of float rounding: a value exactly at its bound passes.
ROUNDING = 1e-9


@dataclasses.dataclass(frozen=True)
class ModelScores:
    """A model's scores on the eval split, as fractions in [0, 1]."""

    exact_match: float
    f1: float
    question_count: int  # questions scored (unanswerable ones included)

    @classmethod
    def from_percent(cls, exact_match: float, f1: float, question_count: int) -> "ModelScores":
        """From `components.qa_scoring.QaScores`' percentages."""
        return cls(exact_match=exact_match / 100.0, f1=f1 / 100.0, question_count=int(question_count))


@dataclasses.dataclass(frozen=True)
class GateReport:
    candidate: ModelScores
    baseline: Optional[ModelScores]  # the last blessed model's; None on a first run
    floor: float  # the lower bound on the candidate's F1
    max_drop: Optional[float]  # how far below the baseline's F1 it may be; None: no comparison
    blessed: bool
    reasons: List[str]  # why it was not blessed, one sentence per failed threshold; empty when blessed
    language: str = ""  # the scoring rules used, "en" or "zh"
    eval_split: str = ""
    # The non-learned answerer's scores on the same questions (components/qa_baseline.py: the context after the
    # longest overlap with the question), for scale: a model below it learned less than a string match knows.
    # Reported, not gated.
    rule_baseline: Optional[ModelScores] = None

    def to_dict(self) -> Dict[str, Any]:
        values = dataclasses.asdict(self)
        values["baseline"] = values["baseline"] or {}  # the file's "no baseline"
        values["rule_baseline"] = values["rule_baseline"] or {}
        return values

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_dict(cls, values: Dict[str, Any]) -> "GateReport":
        values = dict(values)
        values["candidate"] = ModelScores(**values["candidate"])
        values["baseline"] = ModelScores(**values["baseline"]) if values.get("baseline") else None
        values["rule_baseline"] = ModelScores(**values["rule_baseline"]) if values.get("rule_baseline") else None
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> "GateReport":
        return cls.from_dict(json.loads(text))


def judge(candidate: ModelScores, baseline: Optional[ModelScores], floor: float,
          max_drop: Optional[float]) -> Tuple[bool, List[str]]:
    """(blessed, reasons): blessed iff every threshold holds; one readable sentence per failed threshold."""
    reasons = []
    if candidate.f1 < floor - ROUNDING:
        reasons.append(f"f1 {candidate.f1:.4f} is below the floor {floor:.4f}")
    if baseline is not None and max_drop is not None and candidate.f1 < baseline.f1 - max_drop - ROUNDING:
        reasons.append(f"f1 {candidate.f1:.4f} is {baseline.f1 - candidate.f1:.4f} below the last blessed model's "
                       f"{baseline.f1:.4f} (at most {max_drop:.4f} allowed)")
    return not reasons, reasons


def build_report(candidate: ModelScores, baseline: Optional[ModelScores], floor: float, max_drop: Optional[float],
                 language: str = "", eval_split: str = "", rule_baseline: Optional[ModelScores] = None) -> GateReport:
    blessed, reasons = judge(candidate, baseline, floor, max_drop)
    return GateReport(candidate=candidate, baseline=baseline, floor=floor, max_drop=max_drop, blessed=blessed,
                      reasons=reasons, language=language, eval_split=eval_split, rule_baseline=rule_baseline)


def describe(report: GateReport) -> str:
    """One line for the run summary, e.g. "QA eval (en, 1,204 questions): exact match 0.7012, F1 0.7855; last
    blessed F1 0.7800; blessed (F1 floor 0.3000, max drop 0.0100)"."""
    candidate = report.candidate
    where = ", ".join(part for part in (report.language, f"{candidate.question_count:,} questions") if part)
    line = f"QA {report.eval_split or 'eval'} ({where}): exact match {candidate.exact_match:.4f}, F1 {candidate.f1:.4f}"
    if report.rule_baseline is not None:
        line += f" (non-learned rule: F1 {report.rule_baseline.f1:.4f})"
    line += f"; last blessed F1 {report.baseline.f1:.4f}" if report.baseline is not None else "; no blessed model yet"
    rules = f"F1 floor {report.floor:.4f}"
    if report.max_drop is not None:
        rules += f", max drop {report.max_drop:.4f}"
    if report.blessed:
        return f"{line}; blessed ({rules})"
    return f"{line}; not blessed: " + "; ".join(report.reasons or ["the gate failed"])


def report_path(evaluation_uri: str) -> str:
    return os.path.join(evaluation_uri, REPORT_FILE)


def write_report(report: GateReport, evaluation_uri: str) -> str:
    import tensorflow as tf

    path = report_path(evaluation_uri)
    tf.io.gfile.makedirs(evaluation_uri)
    with tf.io.gfile.GFile(path, "w") as handle:
        handle.write(report.to_json())
    return path


def read_report(evaluation_uri: str) -> Optional[GateReport]:
    """The report of a QaEvaluator's ModelEvaluation; None for an evaluation without one (another evaluator's).
    Local paths are read without TensorFlow."""
    path = report_path(evaluation_uri)
    if "://" not in evaluation_uri:
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as handle:
            return GateReport.from_json(handle.read())
    import tensorflow as tf

    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as handle:
        return GateReport.from_json(handle.read())
