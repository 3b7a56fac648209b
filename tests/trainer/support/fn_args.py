"""A fake of the `fn_args` TFX's GenericExecutor hands `run_fn`, for the run_fn tests."""

import types


def fake_fn_args(root, custom_config, *, train_files, eval_files, transform_output=None, train_steps=None,
                 eval_steps=None, base_model=None):
    """The attributes of tfx.components.trainer.fn_args_utils.FnArgs (file lists are patterns, as TFX gives)."""
    return types.SimpleNamespace(
        working_dir=str(root / "working"),
        train_files=[train_files],
        eval_files=[eval_files] if eval_files else [],
        train_steps=train_steps,
        eval_steps=eval_steps,
        schema_path=None,
        schema_file=None,
        transform_graph_path=transform_output,
        transform_output=transform_output,
        data_accessor=None,
        serving_model_dir=str(root / "model" / "Format-Serving"),
        eval_model_dir=str(root / "model" / "Format-TFMA"),
        model_run_dir=str(root / "model_run"),
        base_model=base_model,
        hyperparameters=None,
        custom_config=custom_config,
    )
