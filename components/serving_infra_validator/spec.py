"""ServingInfraValidator's spec: TFX's `InfraValidatorSpec`, unchanged, and the environment its executor completes.

Inputs `model` (required) and `examples`; output `blessing` (InfraBlessing); parameters `serving_spec`,
`validation_spec`, `request_spec` (tfx.proto: ServingSpec, ValidationSpec, RequestSpec), as TFX's InfraValidator.

TFX's Kubernetes model-server runner was written for Kubeflow Pipelines v1, whose pods carry the environment
variables `KFP_POD_NAME` and `KFP_NAMESPACE`. KFP v2's launcher sets `KFP_POD_NAME` (and `KFP_POD_UID`) only; the
namespace is the one of the pod's service account, which Kubernetes mounts at `SERVICE_ACCOUNT_NAMESPACE_FILE`.
"""

from tfx.types.standard_component_specs import InfraValidatorSpec

KFP_NAMESPACE_ENV = "KFP_NAMESPACE"  # tfx.utils.kube_utils.KFP_NAMESPACE
SERVICE_ACCOUNT_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

__all__ = ["InfraValidatorSpec", "KFP_NAMESPACE_ENV", "SERVICE_ACCOUNT_NAMESPACE_FILE"]
