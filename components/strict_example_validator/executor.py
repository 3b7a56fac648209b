"""StrictExampleValidator's executor: TFX's ExampleValidator, then a failure that lists the anomalies.

TFX's ExampleValidator only records anomalies (and a `blessed` property nothing downstream reads), so a
bad data drop would still be trained on and, if it scored well enough, pushed. Raising here stops the run
before the vocabulary and the Transform, with a report that names each split, feature and problem
(`report`). The anomalies are still written to the artifact's directory for inspection (TFX does not
publish the artifact of a failed execution, so the report is also in the error).
"""

from typing import Any, Dict, List

from tfx import types
from tfx.components.example_validator import executor as validator_executor
from tfx.types import artifact_utils

from components.strict_example_validator import report, spec


class Executor(validator_executor.Executor):
    """TFX's ExampleValidator executor; raises `report.DataAnomaliesError` when it recorded any anomaly."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]):
        result = super().Do(input_dict, output_dict, exec_properties)
        report.check(artifact_utils.get_single_instance(output_dict[spec.ANOMALIES_KEY]))
        return result
