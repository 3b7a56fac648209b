"""PretrainingDataGen: a Beam TFX component that writes ALBERT pretraining examples (MLM + SOP)."""

import json
from typing import Optional, Sequence

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts

from components.pretraining_data import executor, spec


class PretrainingDataGen(base_beam_component.BaseBeamComponent):
    """ALBERT pretraining data from raw documents.

    Reads documents either from an `examples` channel (each row's `text_feature` is a document, split
    into sentences on [.!?] followed by whitespace, on 。！？ and on line breaks) or from text files
    matching `text_file_pattern` (blank lines separate documents; each other line is a sentence),
    tokenizes them with the `sentencepiece_model` artifact's `spm.model`, and writes gzipped TFRecords
    of tf.Example with the pretraining features (`text_contract.features`) to the output Examples artifact's
    split "train" (`pretraining-SSSSS-of-NNNNN.gz`), plus `summary.json` in the artifact directory.

    Output bytes depend only on the inputs and parameters: not on re-runs, worker counts or runner.

    ```
    data = PretrainingDataGen(sentencepiece_model=vocab.outputs["sentencepiece_model"],
                              examples=example_gen.outputs["examples"], text_feature="text")
    trainer_input = data.outputs["pretraining_examples"]
    ```
    """

    SPEC_CLASS = spec.PretrainingDataGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        sentencepiece_model: types.BaseChannel,
        examples: Optional[types.BaseChannel] = None,
        text_feature: Optional[str] = None,
        text_file_pattern: Optional[str] = None,
        splits: Optional[Sequence[str]] = None,
        max_seq_length: int = spec.DEFAULTS["max_seq_length"],
        short_seq_prob: float = spec.DEFAULTS["short_seq_prob"],
        masked_lm_prob: float = spec.DEFAULTS["masked_lm_prob"],
        max_predictions_per_seq: int = spec.DEFAULTS["max_predictions_per_seq"],
        max_ngram: int = spec.DEFAULTS["max_ngram"],
        dupe_factor: int = spec.DEFAULTS["dupe_factor"],
        seed: int = spec.DEFAULTS["seed"],
        num_shards: int = spec.DEFAULTS["num_shards"],
        max_document_chars: int = spec.DEFAULTS["max_document_chars"],
    ):
        """Args:
          sentencepiece_model: channel of SentencePieceModel (`<uri>/spm.model`).
          examples: optional channel of Examples (tf.Example rows); needs `text_feature`.
          text_feature: the bytes feature holding each row's document (with `examples`).
          text_file_pattern: a file pattern of text files (instead of `examples`).
          splits: which input splits to read (default: all of them).
          max_seq_length ... seed: ALBERT's generation settings (see generation.GenerationConfig).
          num_shards: output files; instances are spread over them by a stable hash.
          max_document_chars: longer documents are cut to this many characters (counted).
        """
        if (examples is None) == (text_file_pattern is None):
            raise ValueError("PretrainingDataGen needs exactly one of `examples` and `text_file_pattern`")
        if examples is not None and not text_feature:
            raise ValueError("PretrainingDataGen with `examples` needs `text_feature`")
        if examples is None and (text_feature or splits):
            raise ValueError("`text_feature` and `splits` only apply with `examples`")
        params = spec.resolve_parameters(dict(
            max_seq_length=max_seq_length, short_seq_prob=float(short_seq_prob),
            masked_lm_prob=float(masked_lm_prob), max_predictions_per_seq=max_predictions_per_seq,
            max_ngram=max_ngram, dupe_factor=dupe_factor, seed=seed, num_shards=num_shards,
            max_document_chars=max_document_chars))
        super().__init__(spec=spec.PretrainingDataGenSpec(
            sentencepiece_model=sentencepiece_model,
            examples=examples,
            text_feature=text_feature,
            text_file_pattern=text_file_pattern,
            splits=json.dumps(list(splits)) if splits is not None else None,
            pretraining_examples=types.Channel(type=standard_artifacts.Examples),
            **params,
        ))
