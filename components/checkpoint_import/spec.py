"""CheckpointImport's spec: one path in (an execution parameter, not an artifact), one Model artifact out.

`source_fingerprint` is part of the execution's identity, so TFX's cache reimports when the files at the
same `source` path change (see `importing.fingerprint`).
"""

from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

SOURCE_KEY = "source"
SOURCE_FINGERPRINT_KEY = "source_fingerprint"
MODEL_KEY = "model"


class CheckpointImportSpec(ComponentSpec):
    PARAMETERS = {
        SOURCE_KEY: ExecutionParameter(type=str),
        SOURCE_FINGERPRINT_KEY: ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {}
    OUTPUTS = {MODEL_KEY: ChannelParameter(type=standard_artifacts.Model)}
