"""ServingInfraValidator: TFX's InfraValidator (its spec and executor) in a form Kubeflow Pipelines v2 compiles.

```
from components.serving_infra_validator import ServingInfraValidator
validator = ServingInfraValidator(model=trainer.outputs["model"], examples=example_gen.outputs["examples"],
                                  serving_spec=..., request_spec=..., validation_spec=...)
pusher = ServingPusher(..., infra_blessing=validator.outputs["blessing"])
```

Component: `component.ServingInfraValidator` (TFX's InfraValidator's arguments and output `blessing`).
Executor: `executor.Executor` (TFX's, with the KFP v2 environment its Kubernetes runner expects).
Spec: `spec` (TFX's `InfraValidatorSpec`, reused; the environment names).
"""

__all__ = ["ServingInfraValidator"]


def __getattr__(name):
    if name == "ServingInfraValidator":
        from components.serving_infra_validator.component import ServingInfraValidator

        return ServingInfraValidator
    raise AttributeError(name)
