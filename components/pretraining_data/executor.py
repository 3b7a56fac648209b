"""PretrainingDataGen's executor: checks its inputs, runs `beam_pipeline.build`, records the summary."""

import json
import os
from typing import Any, Dict, List

from absl import logging
from apache_beam.io.filesystems import FileSystems
from tfx import types
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifact_utils

from components import artifacts
from components.pretraining_data import beam_pipeline, generation, spec

_GENERATION_FIELDS = ("max_seq_length", "short_seq_prob", "masked_lm_prob", "max_predictions_per_seq",
                      "max_ngram", "dupe_factor", "seed")
_DEFAULT_CONFIG = generation.GenerationConfig()
DEFAULTS: Dict[str, Any] = {
    **{name: getattr(_DEFAULT_CONFIG, name) for name in _GENERATION_FIELDS},
    "num_shards": 4,
    "max_document_chars": 1_000_000,
}


def resolve_parameters(exec_properties: Dict[str, Any]) -> Dict[str, Any]:
    """The numeric parameters with defaults filled in, validated (errors name the parameter)."""
    params = {name: exec_properties.get(name) for name in DEFAULTS}
    params = {name: DEFAULTS[name] if value is None else value for name, value in params.items()}
    for name in ("short_seq_prob", "masked_lm_prob"):
        params[name] = float(params[name])
    generation.GenerationConfig(**{name: params[name] for name in _GENERATION_FIELDS})
    for name in ("num_shards", "max_document_chars"):
        if not isinstance(params[name], int) or params[name] < 1:
            raise ValueError(f"{name} must be an int >= 1, got {params[name]!r}")
    return params


def _record_files(split_dir: str) -> List[str]:
    return sorted(path for path in fileio.glob(os.path.join(split_dir, "*")) if not fileio.isdir(path))


def check_text_feature(files: List[str], text_feature: str) -> None:
    """Fail early, naming the features that exist, when no row has `text_feature`, or it is not text.

    Records are scanned in order until one has the feature, so a present feature costs a few reads; a
    misspelt one costs a pass over the input (only on the way to this error).
    """
    import tensorflow as tf

    seen = set()
    for path in files:
        compression = "GZIP" if path.endswith(".gz") else ""
        for record in tf.data.TFRecordDataset(path, compression_type=compression).as_numpy_iterator():
            try:
                features = beam_pipeline.parse_example_features(record)
            except (ValueError, UnicodeDecodeError):
                continue
            if text_feature in features:
                kind = features[text_feature][0]
                if kind not in (None, "bytes_list"):
                    raise ValueError(f"text_feature {text_feature!r} holds {kind} values, not text "
                                     f"(bytes_list); the examples' features are {sorted(features)}")
                if kind == "bytes_list":
                    return
            seen.update(features)
    if seen and text_feature not in seen:
        raise ValueError(f"text_feature {text_feature!r} is not a feature of the input examples; "
                         f"their features are: {sorted(seen)}")


class Executor(base_beam_executor.BaseBeamExecutor):
    """Reads documents (Examples rows or text files), writes pretraining tf.Examples + summary.json."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        params = resolve_parameters(exec_properties)
        config_kwargs = {name: params[name] for name in _GENERATION_FIELDS}
        text_feature = exec_properties.get("text_feature") or None
        pattern = exec_properties.get("text_file_pattern") or None
        examples = list(input_dict.get(spec.EXAMPLES_KEY) or [])
        if bool(examples) == bool(pattern):
            raise ValueError("PretrainingDataGen needs exactly one of `examples` and `text_file_pattern`")

        model_uri = artifact_utils.get_single_uri(input_dict[spec.SENTENCEPIECE_MODEL_KEY])
        model_path = artifacts.model_path(model_uri)
        if not fileio.exists(model_path):
            raise FileNotFoundError(f"the SentencePieceModel artifact has no {spec.MODEL_FILE_NAME}: {model_path}")
        processor = beam_pipeline.load_sentencepiece(model_path)
        beam_pipeline.check_special_pieces(processor)

        output = artifact_utils.get_single_instance(output_dict[spec.PRETRAINING_EXAMPLES_KEY])
        output.split_names = standard_artifact_utils.encode_split_names([spec.OUTPUT_SPLIT])
        examples_utils.set_payload_format(output, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
        output_dir = os.path.join(output.uri, f"Split-{spec.OUTPUT_SPLIT}")
        fileio.makedirs(output_dir)
        for stale in fileio.glob(os.path.join(output_dir, f"{beam_pipeline.OUTPUT_FILE_PREFIX}-*")):
            fileio.remove(stale)

        details: Dict[str, Any] = {"config": {**config_kwargs, "vocab_size": processor.get_piece_size()},
                                   "max_document_chars": params["max_document_chars"]}
        build_kwargs: Dict[str, Any] = {}
        if examples:
            if not text_feature:
                raise ValueError("PretrainingDataGen with `examples` needs `text_feature`")
            patterns, files, used_splits = self._example_inputs(examples, exec_properties.get("splits"))
            check_text_feature(files, text_feature)
            build_kwargs = {"example_patterns": patterns, "text_feature": text_feature}
            details["input"] = {"mode": "examples", "text_feature": text_feature, "splits": used_splits}
        else:
            files = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
            if not files:
                raise FileNotFoundError(f"text_file_pattern {pattern!r} matches no files")
            build_kwargs = {"text_files": files}
            details["input"] = {"mode": "text_files", "files": len(files)}

        summary_path = os.path.join(output.uri, beam_pipeline.SUMMARY_FILE_NAME)
        with self._make_beam_pipeline() as pipeline:
            beam_pipeline.build(
                pipeline, model_path=model_path, output_dir=output_dir, summary_path=summary_path,
                config_kwargs=config_kwargs, num_shards=params["num_shards"],
                max_document_chars=params["max_document_chars"], details=details, **build_kwargs)

        with fileio.open(summary_path, "r") as handle:
            summary = json.load(handle)
        for name in ("documents_read", "documents_used", "instances_written", "tokens"):
            output.set_int_custom_property(name, summary[name])
        output.set_string_custom_property("summary", json.dumps(summary, sort_keys=True))
        logging.info("PretrainingDataGen wrote %d instances from %d of %d documents (skipped: %s)",
                     summary["instances_written"], summary["documents_used"], summary["documents_read"],
                     summary["skipped"])

    @staticmethod
    def _example_inputs(examples: List[types.Artifact], splits_json: Any):
        available = sorted({s for a in examples for s in standard_artifact_utils.decode_split_names(a.split_names)})
        wanted = json.loads(splits_json) if splits_json else available
        missing = [s for s in wanted if s not in available]
        if missing:
            raise ValueError(f"splits {missing} are not in the input examples; they have {available}")
        for artifact in examples:
            payload = examples_utils.get_payload_format(artifact)
            if payload != example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE:
                raise ValueError("PretrainingDataGen reads tf.Example payloads, got "
                                 f"{example_gen_pb2.PayloadFormat.Name(payload)}")
        patterns, files = [], []
        for split in wanted:
            for uri in standard_artifact_utils.get_split_uris(examples, split):
                split_files = _record_files(uri)
                if split_files:  # ReadFromTFRecord fails on a pattern that matches nothing
                    patterns.append(os.path.join(uri, "*"))
                    files.extend(split_files)
        if not patterns:
            raise FileNotFoundError(f"the input examples have no record files in splits {wanted}")
        return patterns, files, wanted
