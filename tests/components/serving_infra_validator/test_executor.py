"""ServingInfraValidator: TFX's InfraValidator spec and executor under a class KFP v2 compiles, and the namespace
its Kubernetes runner reads, filled in from the service account where KFP v2 does not set it."""

import os

from tfx.components import InfraValidator
from tfx.proto import infra_validator_pb2
from tfx.types import channel, standard_artifacts

from components.serving_infra_validator import ServingInfraValidator, executor, spec


def test_a_pod_without_kfp_namespace_gets_its_service_accounts(tmp_path, monkeypatch):
    monkeypatch.setenv(spec.KFP_NAMESPACE_ENV, "restored-after-the-test")  # so that teardown restores the original
    monkeypatch.delenv(spec.KFP_NAMESPACE_ENV)
    namespace_file = tmp_path / "namespace"
    executor.complete_kfp_environment(str(namespace_file))  # outside Kubernetes: nothing to read, nothing set
    assert spec.KFP_NAMESPACE_ENV not in os.environ
    namespace_file.write_text("kubeflow-user\n")
    executor.complete_kfp_environment(str(namespace_file))
    assert os.environ[spec.KFP_NAMESPACE_ENV] == "kubeflow-user"
    namespace_file.write_text("other")
    executor.complete_kfp_environment(str(namespace_file))  # a namespace KFP set is kept
    assert os.environ[spec.KFP_NAMESPACE_ENV] == "kubeflow-user"


def test_the_component_is_tfx_infra_validator_under_another_class():
    serving_spec = infra_validator_pb2.ServingSpec(
        tensorflow_serving=infra_validator_pb2.TensorFlowServing(tags=["2.16.1"]),
        kubernetes=infra_validator_pb2.KubernetesConfig())
    validator = ServingInfraValidator(model=channel.Channel(type=standard_artifacts.Model), serving_spec=serving_spec,
                                      examples=channel.Channel(type=standard_artifacts.Examples))
    assert ServingInfraValidator.SPEC_CLASS is InfraValidator.SPEC_CLASS
    assert issubclass(validator.executor_spec.executor_class, InfraValidator.EXECUTOR_SPEC.executor_class)
    assert not isinstance(validator, InfraValidator)  # what KubeflowV2DagRunner refuses
    assert validator.outputs["blessing"].type is standard_artifacts.InfraBlessing
