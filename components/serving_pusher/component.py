"""ServingPusher: TFX's Pusher component with the albert-tfx push step (`executor.Executor`)."""

from typing import Optional

from tfx import types
from tfx.components import Pusher
from tfx.dsl.components.base import base_component, executor_spec
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter
from tfx.utils import json_utils

from components.serving_pusher import executor
from components.serving_pusher.spec import ServingPushOptions
from serving import canary as canary_lib
from serving import layout


class ServingPusherSpec(standard_component_specs.PusherSpec):
    """TFX's PusherSpec plus an optional `examples` input: raw Examples, whose eval split the canary samples."""

    INPUTS = {
        **standard_component_specs.PusherSpec.INPUTS,
        standard_component_specs.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples, optional=True),
    }


class ServingPusher(Pusher):
    """Pushes a blessed export to `<serving_base>/<model_name>/<N>/` for TF Serving: checked, atomic, versioned.

    ```
    pusher = ServingPusher(model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
                           serving_base=serving_dir, model_name="albert", keep_versions=3)
    ```

    The spec, inputs and output (`pushed_model`) of TFX's `Pusher`, plus an optional `examples` input (the
    canary sends a few eval examples besides the warmup requests; see spec.py); the executor differs (a subclass
    rather than the deprecated `custom_executor_spec`). Pass either `serving_base` or a `push_destination` whose
    `filesystem.base_directory` is the serving base (NOT `<base>/<model_name>`). `canary` (default on) serves
    the candidate in a separate process first and blocks the push when it fails (`serving/canary.py`).
    """

    SPEC_CLASS = ServingPusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        model: Optional[types.BaseChannel] = None,
        model_blessing: Optional[types.BaseChannel] = None,
        infra_blessing: Optional[types.BaseChannel] = None,
        serving_base: Optional[str] = None,
        push_destination: Optional[pusher_pb2.PushDestination] = None,
        model_name: str = layout.DEFAULT_MODEL_NAME,
        keep_versions: Optional[int] = layout.DEFAULT_KEEP_VERSIONS,
        check_ops: bool = True,
        canary: bool = True,
        canary_timeout_s: float = canary_lib.DEFAULT_TIMEOUT_S,
        examples: Optional[types.BaseChannel] = None,
    ):
        if (serving_base is None) == (push_destination is None):
            raise ValueError("pass exactly one of serving_base and push_destination")
        if serving_base is not None:
            if not isinstance(serving_base, str) or not serving_base:
                raise ValueError(f"serving_base must be a non-empty path, got {serving_base!r}")
            push_destination = pusher_pb2.PushDestination(
                filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=serving_base))
        elif (isinstance(push_destination, pusher_pb2.PushDestination)
              and not push_destination.filesystem.base_directory):
            raise ValueError("push_destination must be a filesystem destination with a base_directory")
        if model is None and infra_blessing is None:
            raise ValueError("pass the model (or an infra_blessing that holds one)")
        options = ServingPushOptions(model_name=model_name, keep_versions=keep_versions, check_ops=check_ops,
                                     canary=canary, canary_timeout_s=canary_timeout_s)
        # TFX's Pusher.__init__ builds a plain PusherSpec, which has no `examples`: build ours as it does.
        spec = ServingPusherSpec(
            model=model, model_blessing=model_blessing, infra_blessing=infra_blessing, examples=examples,
            push_destination=push_destination, custom_config=json_utils.dumps(options.to_custom_config()),
            pushed_model=types.Channel(type=standard_artifacts.PushedModel))
        base_component.BaseComponent.__init__(self, spec=spec)
