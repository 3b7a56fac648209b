"""ServingPusher: TFX's Pusher whose push step is `serving.push.push_export` (checked, atomic, versioned).

```
from components.serving_pusher import ServingPusher
pusher = ServingPusher(model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
                       serving_base="outputs/serving_model", model_name="albert", keep_versions=3)
```

Component: `component.ServingPusher`. Executor (blessing, artifact properties): `executor.Executor`.
Spec (TFX's `PusherSpec` plus an optional `examples` input), options and `custom_config` keys: `spec`
(`ServingPushOptions`, `MODEL_NAME_KEY`, `KEEP_VERSIONS_KEY`, `CHECK_OPS_KEY`, `CANARY_KEY`, `CANARY_TIMEOUT_KEY`;
the PushedModel's properties `CANARY_FAILURE_PROPERTY`, why the canary blocked a push, and
`CANARY_REQUESTS_PROPERTY`, how many requests it checked).
"""

__all__ = ["CANARY_FAILURE_PROPERTY", "CANARY_KEY", "CANARY_REQUESTS_PROPERTY", "CANARY_SPLIT", "CANARY_TIMEOUT_KEY",
           "CHECK_OPS_KEY", "KEEP_VERSIONS_KEY", "MODEL_NAME_KEY", "ServingPushOptions", "ServingPusher"]


def __getattr__(name):
    # Lazy: the options (spec.py) need neither TFX nor TensorFlow.
    if name == "ServingPusher":
        from components.serving_pusher.component import ServingPusher

        return ServingPusher
    if name in __all__:
        from components.serving_pusher import spec

        return getattr(spec, name)
    raise AttributeError(name)
