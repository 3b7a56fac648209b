"""StrictExampleValidator: ExampleValidator whose anomalies and label errors fail the run (see executor.py for why)."""

from typing import List, Optional

from tfx.components import ExampleValidator
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, standard_artifacts
from tfx.utils import json_utils

from components.strict_example_validator import executor, labels, spec


class StrictExampleValidator(ExampleValidator):
    """`ExampleValidator(statistics=..., schema=...)` with the same arguments; fails on any anomaly. With
    `label_feature`, also on a label column that cannot train or judge a classifier (`labels`)."""

    SPEC_CLASS = spec.SPEC_CLASS
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, statistics: channel.BaseChannel, schema: channel.BaseChannel,
                 exclude_splits: Optional[List[str]] = None, custom_validation_config=None,
                 label_feature: str = "", min_eval_examples: int = labels.MIN_EVAL_EXAMPLES):
        if min_eval_examples < 1:
            raise ValueError(f"min_eval_examples must be >= 1, got {min_eval_examples}")
        # ExampleValidator's __init__ builds TFX's own spec; ours is that spec with two more parameters.
        base_component.BaseComponent.__init__(self, spec=spec.SPEC_CLASS(
            statistics=statistics, schema=schema, exclude_splits=json_utils.dumps(exclude_splits or []),
            custom_validation_config=custom_validation_config, label_feature=label_feature,
            min_eval_examples=min_eval_examples,
            anomalies=channel.Channel(type=standard_artifacts.ExampleAnomalies)))
