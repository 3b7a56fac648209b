"""PretrainingDataGen's executor, the TFX glue: reads the artifacts and parameters (`spec`), checks the
vocabulary and the input examples (`inputs`), runs `beam_pipeline.build`, records the summary on the output.
`counts_line` / `describe`: the summary's documents read, kept, skipped by reason and truncated, in one line."""

import json
import os
from typing import Any, Dict, List, Mapping, Optional

from absl import logging
from apache_beam.io.filesystems import FileSystems
from tfx import types
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifact_utils

from components import artifacts, data_counts
from components.pretraining_data import beam_pipeline, inputs, spec
from text_contract import pieces, vocabulary


def _record_files(split_dir: str) -> List[str]:
    return sorted(path for path in fileio.glob(os.path.join(split_dir, "*")) if not fileio.isdir(path))


def counts_line(summary: Mapping[str, Any]) -> str:
    """`read 1,000 documents, kept 990, skipped 10 (single_sentence 10), truncated 0; wrote 4,000 instances ...`."""
    line = data_counts.counts_text(
        summary["documents_read"], summary["documents_used"],
        {reason: summary["skipped"].get(reason, 0) for reason in beam_pipeline.SKIP_REASONS},  # JSON sorts keys
        summary[beam_pipeline.TRUNCATED],
        unit="documents", truncated_detail=f"cut to {summary.get(spec.MAX_DOCUMENT_CHARS_KEY, 0):,} characters")
    return line + f"; wrote {summary['instances_written']:,} instances of {summary['tokens']:,} tokens"


def describe(uri: str) -> Optional[str]:
    """`counts_line` of the pretraining Examples artifact at `uri`; None when PretrainingDataGen did not write it."""
    path = os.path.join(uri, beam_pipeline.SUMMARY_FILE_NAME)
    if not fileio.exists(path):
        return None
    with fileio.open(path, "r") as handle:
        return counts_line(json.load(handle))


class NoPretrainingDataError(data_counts.DataError):
    """No document gave a pretraining instance (for example, every one a single sentence)."""


class Executor(base_beam_executor.BaseBeamExecutor):
    """Reads documents (Examples rows or text files), writes pretraining tf.Examples + summary.json."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        params = spec.resolve_parameters(exec_properties)
        config_kwargs = spec.generation_kwargs(params)
        text_feature = exec_properties.get(spec.TEXT_FEATURE_KEY) or None
        pattern = exec_properties.get(spec.TEXT_FILE_PATTERN_KEY) or None
        examples = list(input_dict.get(spec.EXAMPLES_KEY) or [])
        if bool(examples) == bool(pattern):
            raise ValueError("PretrainingDataGen needs exactly one of `examples` and `text_file_pattern`")

        model_uri = artifact_utils.get_single_uri(input_dict[spec.SENTENCEPIECE_MODEL_KEY])
        model_path = artifacts.require_model_path(model_uri)
        processor = beam_pipeline.load_sentencepiece(model_path)
        pieces.check_special_pieces(processor, f"the SentencePiece model {model_path}")
        vocabulary_summary = artifacts.read_summary(model_uri) if fileio.exists(artifacts.summary_path(model_uri)) else {}
        albert_lower_case = (bool(vocabulary_summary.get(artifacts.SUMMARY_LOWER_CASE_KEY))
                             if vocabulary_summary.get(artifacts.SUMMARY_TOKENIZATION_KEY) == vocabulary.ALBERT else None)

        output = artifact_utils.get_single_instance(output_dict[spec.PRETRAINING_EXAMPLES_KEY])
        output.split_names = standard_artifact_utils.encode_split_names([spec.OUTPUT_SPLIT])
        examples_utils.set_payload_format(output, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
        output_dir = os.path.join(output.uri, f"Split-{spec.OUTPUT_SPLIT}")
        fileio.makedirs(output_dir)
        for stale in fileio.glob(os.path.join(output_dir, f"{beam_pipeline.OUTPUT_FILE_PREFIX}-*")):
            fileio.remove(stale)

        details: Dict[str, Any] = {"config": {**config_kwargs, "vocab_size": processor.get_piece_size()},
                                   spec.MAX_DOCUMENT_CHARS_KEY: params[spec.MAX_DOCUMENT_CHARS_KEY]}
        build_kwargs: Dict[str, Any] = {}
        if examples:
            if not text_feature:
                raise ValueError("PretrainingDataGen with `examples` needs `text_feature`")
            patterns, files, used_splits = self._example_inputs(examples, exec_properties.get(spec.SPLITS_KEY))
            inputs.check_text_feature(files, text_feature)
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
                config_kwargs=config_kwargs, num_shards=params[spec.NUM_SHARDS_KEY], albert_lower_case=albert_lower_case,
                max_document_chars=params[spec.MAX_DOCUMENT_CHARS_KEY], details=details, **build_kwargs)

        with fileio.open(summary_path, "r") as handle:
            summary = json.load(handle)
        for name in ("documents_read", "documents_used", "instances_written", "tokens"):
            output.set_int_custom_property(name, summary[name])
        output.set_string_custom_property("summary", json.dumps(summary, sort_keys=True))
        logging.info("PretrainingDataGen wrote %d instances from %d of %d documents (skipped: %s)",
                     summary["instances_written"], summary["documents_used"], summary["documents_read"],
                     summary["skipped"])
        if not summary["instances_written"]:
            # A Pretrainer on no data would "train" zero steps and export its initial weights as the encoder
            # the classifier then starts from, with nothing to say so.
            skipped = data_counts.reasons_text(summary["skipped"])
            raise NoPretrainingDataError(
                f"PretrainingDataGen wrote no pretraining instances from {summary['documents_read']:,} documents "
                f"(skipped: {skipped or 'none'}): sentence-order prediction needs documents of at least two "
                "sentences; give pretraining.text_files with multi-sentence documents (blank lines between them)")

    @staticmethod
    def _example_inputs(examples: List[types.Artifact], splits_json: Any):
        available = sorted({s for a in examples for s in standard_artifact_utils.decode_split_names(a.split_names)})
        wanted = json.loads(splits_json) if splits_json else available
        missing = [s for s in wanted if s not in available]
        if missing:
            raise ValueError(f"splits {missing} are not in the input examples; they have {available}")
        for artifact in examples:
            artifacts.check_tf_example_payload(artifact, "PretrainingDataGen")
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
