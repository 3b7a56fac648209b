"""ServingInfraValidator: TFX's InfraValidator as a plain component (its spec, its executor).

Why not `tfx.components.InfraValidator` itself: TFX's KubeflowV2DagRunner refuses that class by name
(`step_builder`: "The component type InfraValidator is not supported"), although its executor runs in any
container of the pipeline's image. The same spec under another class compiles to an ordinary container task.
"""

from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.proto import infra_validator_pb2
from tfx.types import standard_artifacts

from components.serving_infra_validator import executor
from components.serving_infra_validator.spec import InfraValidatorSpec


class ServingInfraValidator(base_component.BaseComponent):
    """Serves the model in the serving binary `serving_spec` names (e.g. the TF Serving image in a Kubernetes pod),
    sends requests built from `examples` as `request_spec` says, and blesses the model when all of it works."""

    SPEC_CLASS = InfraValidatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, model: types.BaseChannel, serving_spec: infra_validator_pb2.ServingSpec,
                 examples: Optional[types.BaseChannel] = None,
                 request_spec: Optional[infra_validator_pb2.RequestSpec] = None,
                 validation_spec: Optional[infra_validator_pb2.ValidationSpec] = None):
        super().__init__(spec=InfraValidatorSpec(
            model=model, examples=examples, blessing=types.Channel(type=standard_artifacts.InfraBlessing),
            serving_spec=serving_spec, validation_spec=validation_spec, request_spec=request_spec))
