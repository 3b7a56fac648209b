"""SentencePieceVocab's executor, the TFX glue: reads the Examples artifact and the parameters (`spec`), runs
the Beam steps (`beam_pipeline`) and the training (`training`), or reuses a vocabulary, and records the
summary's main figures as the SentencePieceModel artifact's custom properties.

The steps, the counts and the summary's fields: `beam_pipeline` and `training`. The same data and parameters
give the same model bytes.
"""

import json
import os
import tempfile
from typing import Any, Dict, List

import apache_beam as beam
import tensorflow as tf
from absl import logging
from tfx import types
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from components import artifacts
from components.sentencepiece_vocab import beam_pipeline, training
from components.sentencepiece_vocab import spec as spec_lib


class Executor(base_beam_executor.BaseBeamExecutor):
    """Trains (or reuses) the SentencePiece model; see the module docstring."""

    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        params = spec_lib.resolve_parameters(exec_properties)
        examples = artifact_utils.get_single_instance(input_dict[spec_lib.EXAMPLES_KEY])
        output = artifact_utils.get_single_instance(output_dict[spec_lib.SENTENCEPIECE_MODEL_KEY])
        artifacts.check_tf_example_payload(examples, "SentencePieceVocab")
        compression = (
            beam.io.filesystem.CompressionTypes.GZIP
            if examples_utils.get_file_format(examples) == "tfrecords_gzip"
            else beam.io.filesystem.CompressionTypes.AUTO
        )
        patterns = []
        for split in params[spec_lib.SPLITS_KEY]:
            try:
                patterns += examples_utils.get_split_file_patterns([examples], split)
            except ValueError as e:
                available = artifact_utils.decode_split_names(examples.split_names)
                raise ValueError(f"split {split!r} is not in the Examples; the splits are {available}") from e

        if params[spec_lib.IMPORT_FROM_KEY]:
            model_bytes, summary = training.import_vocabulary(params[spec_lib.IMPORT_FROM_KEY], params)
            logging.info("SentencePieceVocab: passing on the imported %s vocabulary %s (%d entries)",
                         summary["kind"], params[spec_lib.IMPORT_FROM_KEY], summary["pieces"])
            training.write_outputs(output.uri, model_bytes, summary)
            output.set_int_custom_property("pieces", summary["pieces"])
            output.set_string_custom_property("model_sha256", summary["model_sha256"])
            output.set_string_custom_property("imported_from", params[spec_lib.IMPORT_FROM_KEY])
            return
        reusable = training.newest_match(params[spec_lib.REUSE_MODEL_GLOB_KEY])
        if reusable:
            model_proto, summary = training.reuse(reusable, params)
            logging.info("SentencePieceVocab: reusing %s (%d pieces) instead of training", reusable, summary["pieces"])
            training.write_outputs(output.uri, model_proto, summary)
            output.set_int_custom_property("pieces", summary["pieces"])
            output.set_string_custom_property("model_sha256", summary["model_sha256"])
            output.set_string_custom_property("reused_from", reusable)
            return
        work_dir = self._work_dir()
        try:
            self._run_beam(patterns, compression, params, work_dir)
            model_proto, summary = training.train(params, beam_pipeline.read_prepared(work_dir))
            training.write_outputs(output.uri, model_proto, summary)
        finally:
            if tf.io.gfile.exists(work_dir):
                tf.io.gfile.rmtree(work_dir)
        output.set_int_custom_property("pieces", summary["pieces"])
        output.set_int_custom_property("sentences_used", summary["sentences_used"])
        output.set_string_custom_property("model_sha256", summary["model_sha256"])
        if summary["unknown_rate"] is not None:
            output.set_string_custom_property("unknown_rate", f"{summary['unknown_rate']:.6g}")
        logging.info("SentencePieceVocab summary: %s", json.dumps(summary, sort_keys=True))

    def _work_dir(self) -> str:
        if self._context is not None:
            return os.path.join(self._get_tmp_dir(), "sentencepiece_vocab")
        return tempfile.mkdtemp(prefix="sentencepiece_vocab_")

    def _run_beam(self, patterns: List[str], compression: str, params: Dict[str, Any], work_dir: str) -> None:
        with self._make_beam_pipeline() as p:
            beam_pipeline.build(
                p, patterns, compression, work_dir,
                text_features=params[spec_lib.TEXT_FEATURES_KEY],
                lower_case=params[spec_lib.LOWER_CASE_KEY],
                max_sentence_chars=params[spec_lib.MAX_SENTENCE_CHARS_KEY],
                seed=params[spec_lib.SEED_KEY],
                heldout_fraction=params[spec_lib.HELDOUT_FRACTION_KEY],
                max_heldout_sentences=params[spec_lib.MAX_HELDOUT_SENTENCES_KEY],
                max_sentences=params[spec_lib.MAX_SENTENCES_KEY],
            )
        try:
            counters = p.result.metrics().query(
                beam.metrics.MetricsFilter().with_namespace(beam_pipeline.METRICS_NAMESPACE))
            logging.info("SentencePieceVocab counters: %s",
                         {c.key.metric.name: c.committed for c in counters["counters"]})
        except Exception:  # some runners do not report metrics; the log line is only informative
            pass
