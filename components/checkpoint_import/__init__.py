"""CheckpointImport: a released ALBERT checkpoint (albert-tfx convert output, original TF1 / TF-Hub, Hugging
Face, keras-hub preset) imported once into a Model artifact the Trainers start from.

```
from components.checkpoint_import import CheckpointImport
imported = CheckpointImport(source="/models/albert_base_v2")   # imported.outputs["model"]
```

Component: `component.CheckpointImport`. Executor (TFX glue): `executor.Executor`. Spec and keys: `spec`.
The import itself: `importing.import_checkpoint` (trainer.checkpoints does the weight mapping).
"""

__all__ = ["CheckpointImport"]


def __getattr__(name):
    # Lazy: importing the package must not pull in TFX.
    if name == "CheckpointImport":
        from components.checkpoint_import.component import CheckpointImport

        return CheckpointImport
    raise AttributeError(name)
