"""CheckpointImport: imports a released ALBERT checkpoint once (cached like any step) for the Trainers."""

from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts

from components.checkpoint_import import executor, importing
from components.checkpoint_import.spec import CheckpointImportSpec


class CheckpointImport(base_component.BaseComponent):
    """`source`: an albert-tfx convert directory, an original TF1 checkpoint or TF-Hub module, a Hugging Face
    ALBERT directory or a keras-hub preset. Output `model`: an `albert-tfx convert` directory, the format
    `TrainingConfig.warm_start_path` reads (wire it as a Trainer's `base_model`)."""

    SPEC_CLASS = CheckpointImportSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, source: str, source_fingerprint: Optional[str] = None):
        if not isinstance(source, str) or not source:
            raise ValueError(f"source must be a non-empty path, got {source!r}")
        super().__init__(spec=CheckpointImportSpec(
            model=types.Channel(type=standard_artifacts.Model),
            source=source,
            source_fingerprint=importing.fingerprint(source) if source_fingerprint is None else source_fingerprint))
