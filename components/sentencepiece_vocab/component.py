"""SentencePieceVocab: a custom TFX Beam component that trains a SentencePiece model on Examples."""

import json
from typing import Sequence

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec

from components.artifacts import SentencePieceModel
from components.sentencepiece_vocab import executor
from components.sentencepiece_vocab import spec as spec_lib


class SentencePieceVocab(base_beam_component.BaseBeamComponent):
    """Trains a SentencePiece vocabulary with ALBERT's special pieces on the text features of Examples.

    ```
    vocab = SentencePieceVocab(examples=example_gen.outputs["examples"], text_features=["sentence"])
    vocab.outputs["sentencepiece_model"]  # SentencePieceModel: spm.model, spm.vocab, summary.json
    ```

    Beam reads the chosen splits, normalizes the text (NFKC, optionally lower case, whitespace), drops
    empty and duplicate lines, keeps a held-out sample and a capped training sample (both chosen by a
    seeded hash of the line, so runs are deterministic), then SentencePiece trains on the training lines.
    With `import_from` (a released checkpoint's SentencePiece model or WordPiece vocab.txt) nothing is trained:
    that vocabulary is checked and passed on, its tokenization recorded in summary.json.
    Bad input (missing feature, invalid UTF-8, empty text, over-long lines) is counted, never fatal. See
    `spec.DEFAULTS` for the defaults, `beam_pipeline` for the steps and `training.train` for the summary.
    """

    SPEC_CLASS = spec_lib.SentencePieceVocabSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        examples: types.BaseChannel,
        text_features: Sequence[str],
        splits: Sequence[str] = tuple(spec_lib.DEFAULTS[spec_lib.SPLITS_KEY]),
        vocab_size: int = spec_lib.DEFAULTS[spec_lib.VOCAB_SIZE_KEY],
        model_type: str = spec_lib.DEFAULTS[spec_lib.MODEL_TYPE_KEY],
        character_coverage: float = spec_lib.DEFAULTS[spec_lib.CHARACTER_COVERAGE_KEY],
        lower_case: bool = spec_lib.DEFAULTS[spec_lib.LOWER_CASE_KEY],
        max_sentences: int = spec_lib.DEFAULTS[spec_lib.MAX_SENTENCES_KEY],
        heldout_fraction: float = spec_lib.DEFAULTS[spec_lib.HELDOUT_FRACTION_KEY],
        max_heldout_sentences: int = spec_lib.DEFAULTS[spec_lib.MAX_HELDOUT_SENTENCES_KEY],
        seed: int = spec_lib.DEFAULTS[spec_lib.SEED_KEY],
        max_sentence_chars: int = spec_lib.DEFAULTS[spec_lib.MAX_SENTENCE_CHARS_KEY],
        num_threads: int = spec_lib.DEFAULTS[spec_lib.NUM_THREADS_KEY],
        reuse_model_glob: str = spec_lib.DEFAULTS[spec_lib.REUSE_MODEL_GLOB_KEY],
        import_from: str = spec_lib.DEFAULTS[spec_lib.IMPORT_FROM_KEY],
    ):
        params = {
            spec_lib.TEXT_FEATURES_KEY: list(text_features) if not isinstance(text_features, str) else [text_features],
            spec_lib.SPLITS_KEY: list(splits) if not isinstance(splits, str) else [splits],
            spec_lib.VOCAB_SIZE_KEY: vocab_size,
            spec_lib.MODEL_TYPE_KEY: model_type,
            spec_lib.CHARACTER_COVERAGE_KEY: character_coverage,
            spec_lib.LOWER_CASE_KEY: lower_case,
            spec_lib.MAX_SENTENCES_KEY: max_sentences,
            spec_lib.HELDOUT_FRACTION_KEY: heldout_fraction,
            spec_lib.MAX_HELDOUT_SENTENCES_KEY: max_heldout_sentences,
            spec_lib.SEED_KEY: seed,
            spec_lib.MAX_SENTENCE_CHARS_KEY: max_sentence_chars,
            spec_lib.NUM_THREADS_KEY: num_threads,
            spec_lib.REUSE_MODEL_GLOB_KEY: reuse_model_glob,
            spec_lib.IMPORT_FROM_KEY: import_from,
        }
        params = spec_lib.resolve_parameters(params)  # fail at pipeline construction, naming the parameter
        # Lists travel as JSON strings, as TFX's own components pass theirs (portable across orchestrators).
        params[spec_lib.TEXT_FEATURES_KEY] = json.dumps(params[spec_lib.TEXT_FEATURES_KEY])
        params[spec_lib.SPLITS_KEY] = json.dumps(params[spec_lib.SPLITS_KEY])
        spec = spec_lib.SentencePieceVocabSpec(
            examples=examples,
            sentencepiece_model=types.Channel(type=SentencePieceModel),
            **params,
        )
        super().__init__(spec=spec)
