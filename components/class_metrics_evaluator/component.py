"""ClassMetricsEvaluator: TFX's Evaluator component with the executor that fills in per-class metrics."""

from tfx.components import Evaluator
from tfx.dsl.components.base import executor_spec

from components.class_metrics_evaluator import executor, spec


class ClassMetricsEvaluator(Evaluator):
    """`Evaluator(examples=..., model=..., baseline_model=..., eval_config=...)`, the same arguments and outputs.

    A MetricsSpec of `eval_config` with `binarize=tfma.BinarizationOptions()` (no class ids) gets every class
    id of the candidate model at run time (see spec.py); with a `tfma_metrics.GainOverMajorityClass` in it,
    the evaluation artifact also gets the gate's report (gate.py). The rest is TFX's Evaluator.
    """

    SPEC_CLASS = spec.SPEC_CLASS
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
