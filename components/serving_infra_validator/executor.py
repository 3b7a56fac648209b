"""ServingInfraValidator's executor: TFX's InfraValidator executor, after filling in the namespace KFP v2 omits."""

import os
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.components.infra_validator import executor as tfx_infra_validator_executor

from components.serving_infra_validator import spec


def complete_kfp_environment(namespace_file: str = spec.SERVICE_ACCOUNT_NAMESPACE_FILE) -> None:
    """Sets `KFP_NAMESPACE` from the service account's namespace file when the pod has no such variable (see spec)."""
    if spec.KFP_NAMESPACE_ENV in os.environ or not os.path.isfile(namespace_file):
        return
    with open(namespace_file, encoding="utf-8") as handle:
        namespace = handle.read().strip()
    if namespace:
        os.environ[spec.KFP_NAMESPACE_ENV] = namespace
        logging.info("%s=%s (from %s)", spec.KFP_NAMESPACE_ENV, namespace, namespace_file)


class Executor(tfx_infra_validator_executor.Executor):
    """TFX's InfraValidator executor: serves the model, sends the requests, blesses it or not."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        complete_kfp_environment()
        super().Do(input_dict, output_dict, exec_properties)
