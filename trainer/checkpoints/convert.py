"""`albert-tfx convert`: any supported source → our model, saved as `albert_config.json` + Keras weights."""

from __future__ import annotations

import os
from typing import Optional

from text_contract import storage
from text_contract.storage import publish_directory
from trainer.checkpoints.original import (
    ImportReport,
    WeightImportError,
    has_pretraining_heads,
    infer_config_from_weights,
    load_original_weights,
    read_original_checkpoint,
)
from trainer.config import AlbertConfig, ConfigError

SOURCE_FORMATS = ("original", "hf", "keras-hub")
CONFIG_FILE = "albert_config.json"
WEIGHTS_FILE = "model.weights.h5"
SUMMARY_FILE = "conversion.json"


def config_for_original(src: str, config: Optional[str]) -> Optional[AlbertConfig]:
    """`--config` (a JSON path or a preset name), else an `albert_config.json` beside the checkpoint."""
    from trainer.presets import PRESETS, get_preset

    if config:
        return get_preset(config) if config in PRESETS else AlbertConfig.from_json_file(config)
    directory = src if storage.isdir(src) else os.path.dirname(src if storage.is_remote(src) else os.path.abspath(src))
    for candidate in (os.path.join(directory, CONFIG_FILE), os.path.join(directory, "assets", CONFIG_FILE)):
        if storage.exists(candidate):
            return AlbertConfig.from_json_file(candidate)
    return None


def check_config_matches(src: str, albert_config: AlbertConfig, weights) -> None:
    """WeightImportError when the shapes of `weights` (arrays, or anything with a `.shape`) say otherwise than
    `albert_config` about a field they determine."""
    inferred = infer_config_from_weights(weights, albert_config)
    if inferred != albert_config:
        differing = [k for k, v in inferred.to_dict().items() if getattr(albert_config, k) != v]
        raise WeightImportError(
            f"{src}: the config does not match the checkpoint's shapes in {differing} "
            f"(checkpoint: { {k: getattr(inferred, k) for k in differing} })"
        )


def read_source(source_format: str, src: str, config: Optional[str] = None):
    """(config, original-layout weights) for `src` in `source_format`."""
    if source_format == "original":
        weights = read_original_checkpoint(src)
        albert_config = config_for_original(src, config)
        if albert_config is None:
            raise ConfigError(
                f"{src}: no {CONFIG_FILE} beside the checkpoint (TF-Hub modules ship none); pass "
                "--config PATH or a preset name such as --config base"
            )
        check_config_matches(src, albert_config, weights)
        return albert_config, weights
    if source_format == "hf":
        from trainer.checkpoints.huggingface import read_huggingface

        return read_huggingface(src, config)
    if source_format == "keras-hub":
        from trainer.checkpoints.keras_hub import read_keras_hub

        return read_keras_hub(src)
    raise ValueError(f"unknown source format {source_format!r}; use one of {SOURCE_FORMATS}")


def build_model(albert_config: AlbertConfig, with_pretraining_heads: bool):
    from trainer.encoder import AlbertEncoder
    from trainer.pretrainer import AlbertPretrainer

    encoder = AlbertEncoder.from_albert_config(albert_config)
    return AlbertPretrainer(encoder) if with_pretraining_heads else encoder


def import_weights(source_format: str, src: str, config: Optional[str] = None):
    """Builds our model for `src` and loads its weights: (model, report). Heads come along when present."""
    albert_config, weights = read_source(source_format, src, config)
    model = build_model(albert_config, has_pretraining_heads(weights))
    report = load_original_weights(model, weights, source=str(src))
    if report.unused:
        raise WeightImportError(f"{src}: variables the model has no place for: {report.unused[:10]}"
                                + (f" and {len(report.unused) - 10} more" if len(report.unused) > 10 else ""))
    return model, report


def save_converted(model, out_dir: str, report: ImportReport, source_format: str, *, overwrite: bool = False) -> str:
    """Writes an imported model with a summary of where it came from (see `save_model_directory`)."""
    summary = {
        "source": report.source,
        "source_format": source_format,
        "heads": report.heads,
        "variables_loaded": len(report.loaded),
    }
    return save_model_directory(model, out_dir, summary, overwrite=overwrite)


def save_model_directory(model, out_dir: str, summary: dict, *, overwrite: bool = False) -> str:
    """Writes config, weights and `summary` (plus the model class) into `out_dir`, atomically: a failure
    leaves no half directory, and an existing non-empty `out_dir` is kept unless `overwrite`. A remote
    `out_dir` is built locally (Keras writes its .h5 weights to local files) and copied (`publish_directory`)."""
    from trainer.encoder import AlbertEncoder

    storage.register_filesystem(out_dir)
    if storage.isdir(out_dir) and storage.listdir(out_dir) and not overwrite:
        raise FileExistsError(f"{out_dir}: exists and is not empty (pass --overwrite to replace it)")
    encoder = model if isinstance(model, AlbertEncoder) else model.encoder
    summary = {**summary, "model": type(model).__name__, "parameters": int(model.count_params())}

    def write(staging: str) -> None:
        encoder.albert_config.to_json_file(os.path.join(staging, CONFIG_FILE))
        model.save_weights(os.path.join(staging, WEIGHTS_FILE))
        storage.write_json(os.path.join(staging, SUMMARY_FILE), summary)

    return publish_directory(out_dir, write, written_last=(SUMMARY_FILE,))


def load_converted(directory: str):
    """The model that `save_converted` wrote (an `AlbertPretrainer` when heads were imported); `directory` may
    be remote (its weights file is read through a local copy: Keras reads .h5 files from local paths)."""
    storage.register_filesystem(directory)
    summary_path = os.path.join(directory, SUMMARY_FILE)
    if not storage.exists(summary_path):
        raise WeightImportError(f"{directory}: no {SUMMARY_FILE}; not a directory written by albert-tfx convert")
    summary = storage.read_json(summary_path)
    albert_config = AlbertConfig.from_json_file(os.path.join(directory, CONFIG_FILE))
    model = build_model(albert_config, summary["model"] == "AlbertPretrainer")
    with storage.local_copy(os.path.join(directory, WEIGHTS_FILE)) as weights:
        model.load_weights(weights)
    return model
