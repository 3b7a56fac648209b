"""ServingPusher's spec: TFX's Pusher spec, reused, and the options that travel in its `custom_config`.

The component keeps TFX's `PusherSpec` (`tfx.types.standard_component_specs.PusherSpec`: inputs `model`,
`model_blessing`, `infra_blessing`; output `pushed_model`; parameters `push_destination` and `custom_config`)
and adds one optional input, `examples` (raw Examples: the canary sends a few of the eval split's); its keys are
`standard_component_specs`'s (component.py). Otherwise only the executor differs. This module is what is ours,
and imports neither TFX nor TensorFlow: `ServingPushOptions`, a typed, validated dataclass, and how it travels
in the Pusher's `custom_config`, which TFX passes to its executor as JSON (a dict at construction time). The
keys:

- `"model_name"` (`MODEL_NAME_KEY`): the served name; versions go to `<base>/<model_name>/<N>/`. Default
  `serving.layout.DEFAULT_MODEL_NAME` ("albert", the name in serving/deploy/models.config); the rule is
  `serving.layout.check_model_name`'s.
- `"keep_versions"` (`KEEP_VERSIONS_KEY`): how many pushed versions stay, the new one included; null keeps
  all. Default `serving.layout.DEFAULT_KEEP_VERSIONS`.
- `"check_ops"` (`CHECK_OPS_KEY`): refuse exports using ops TF Serving lacks. Default true.
- `"canary"` (`CANARY_KEY`): before the push, serve the candidate in a separate `albert-tfx serve` process and
  check its answers to its warmup requests and a sample of eval examples (`serving.canary`); a failure blocks
  the push (the PushedModel says `pushed=0` and, in `CANARY_FAILURE_PROPERTY`, why). Default true.
- `"canary_timeout_s"` (`CANARY_TIMEOUT_KEY`): how long the canary may take, the server's start and load
  included. Default `serving.canary.DEFAULT_TIMEOUT_S`.

Other keys in `custom_config` are an error (a misspelt key would otherwise silently push with defaults).
The push destination itself is TFX's `PushDestination.filesystem.base_directory`: the serving base, NOT
`<serving base>/<model name>` as with TFX's own Pusher (which writes versions straight into it).
"""

import dataclasses
from typing import Any, Dict, Mapping, Optional

from serving import canary as canary_lib
from serving import layout

MODEL_NAME_KEY = "model_name"
KEEP_VERSIONS_KEY = "keep_versions"
CHECK_OPS_KEY = "check_ops"
CANARY_KEY = "canary"
CANARY_TIMEOUT_KEY = "canary_timeout_s"
KEYS = (MODEL_NAME_KEY, KEEP_VERSIONS_KEY, CHECK_OPS_KEY, CANARY_KEY, CANARY_TIMEOUT_KEY)
# The PushedModel's custom property saying why the canary blocked the push (one line; absent otherwise).
CANARY_FAILURE_PROPERTY = "canary_failure"
# The PushedModel's custom property: how many requests the server answered as the in-process model did.
CANARY_REQUESTS_PROPERTY = "canary_requests"
# The split whose first examples the canary sends (the Evaluator's).
CANARY_SPLIT = "eval"


@dataclasses.dataclass(frozen=True)
class ServingPushOptions:
    """What `serving.push.push_export` gets besides the export and the serving base."""

    model_name: str = layout.DEFAULT_MODEL_NAME
    keep_versions: Optional[int] = layout.DEFAULT_KEEP_VERSIONS
    check_ops: bool = True
    canary: bool = True
    canary_timeout_s: float = canary_lib.DEFAULT_TIMEOUT_S

    def __post_init__(self):
        layout.check_model_name(self.model_name, MODEL_NAME_KEY)
        if self.keep_versions is not None and (isinstance(self.keep_versions, bool)
                                               or not isinstance(self.keep_versions, int) or self.keep_versions < 1):
            raise ValueError(f"{KEEP_VERSIONS_KEY} must be a positive integer or None, got {self.keep_versions!r}")
        if not isinstance(self.check_ops, bool):
            raise ValueError(f"{CHECK_OPS_KEY} must be true or false, got {self.check_ops!r}")
        if not isinstance(self.canary, bool):
            raise ValueError(f"{CANARY_KEY} must be true or false, got {self.canary!r}")
        if (isinstance(self.canary_timeout_s, bool) or not isinstance(self.canary_timeout_s, (int, float))
                or not self.canary_timeout_s > 0):
            raise ValueError(f"{CANARY_TIMEOUT_KEY} must be a positive number of seconds, "
                             f"got {self.canary_timeout_s!r}")

    def to_custom_config(self) -> Dict[str, Any]:
        return {MODEL_NAME_KEY: self.model_name, KEEP_VERSIONS_KEY: self.keep_versions, CHECK_OPS_KEY: self.check_ops,
                CANARY_KEY: self.canary, CANARY_TIMEOUT_KEY: self.canary_timeout_s}

    @classmethod
    def from_custom_config(cls, custom_config: Optional[Mapping[str, Any]]) -> "ServingPushOptions":
        """From the Pusher's `custom_config` dict (None or {} give the defaults)."""
        if custom_config is None:
            return cls()
        if not isinstance(custom_config, Mapping):
            raise ValueError(f"custom_config must be a dict, got {type(custom_config).__name__}")
        unknown = sorted(set(custom_config) - set(KEYS))
        if unknown:
            raise ValueError(f"unknown custom_config key(s) {unknown}; ServingPusher reads {list(KEYS)}")
        return cls(**dict(custom_config))  # the keys are the field names
