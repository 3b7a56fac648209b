"""ServingPusher: TFX's Pusher component with the albert-tfx push step (`executor.Executor`)."""

from typing import Optional

from tfx import types
from tfx.components import Pusher
from tfx.dsl.components.base import executor_spec
from tfx.proto import pusher_pb2

from components.serving_pusher import executor
from components.serving_pusher.spec import ServingPushOptions
from serving import layout


class ServingPusher(Pusher):
    """Pushes a blessed export to `<serving_base>/<model_name>/<N>/` for TF Serving: checked, atomic, versioned.

    ```
    pusher = ServingPusher(model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
                           serving_base=serving_dir, model_name="albert", keep_versions=3)
    ```

    The same spec (TFX's `PusherSpec`, see spec.py), inputs and output (`pushed_model`) as TFX's `Pusher`; only
    the executor differs (a subclass rather than the deprecated `custom_executor_spec`). Pass either `serving_base` or a
    `push_destination` whose `filesystem.base_directory` is the serving base (NOT `<base>/<model_name>`).
    """

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
        options = ServingPushOptions(model_name=model_name, keep_versions=keep_versions, check_ops=check_ops)
        super().__init__(model=model, model_blessing=model_blessing, infra_blessing=infra_blessing,
                         push_destination=push_destination, custom_config=options.to_custom_config())
