"""What the Transform's `preprocessing_fn` is told: its `custom_config` keys and a validated options dataclass.

The pipeline builds `TransformOptions` at config time (so a bad value fails before anything runs) and
passes `to_custom_config()` to TFX's Transform; VocabTransform adds the vocabulary's path
(`SENTENCEPIECE_MODEL_PATH_KEY`, only known at run time); `preprocessing_fn` reads it back with
`from_custom_config`, which names the key of a missing or bad value. The Trainer's custom_config reuses
`TEXT_FEATURES_KEY` and `SENTENCEPIECE_MODEL_PATH_KEY`.

Two tasks (`TASK_KEY`): "classify" (one or two text features -> one packed sequence, and a label) and "qa"
(issue 15: the QA ExampleGen's question and context -> the sliding windows of `text_contract.windows`, one row
per question, with the first gold answer's positions; the raw keys are `text_contract.features.QA_*`).

Task classify reads long documents one of two ways (`LONG_TEXT_KEY`, issue 15 item 6): "truncate" (the default:
one [CLS] text [SEP] sequence, the text's tail cut) or "windows" (overlapping [CLS] window [SEP] sequences of
one document, `text_contract.windows.document_windows`, one row per document; the trainer trains on each window
with the document's label and the serving graph pools the windows' logits into one prediction per document).
"""

import dataclasses
from typing import Any, Dict, Mapping, Optional, Tuple

from text_contract import features as feature_keys
from text_contract import vocabulary

# The path of the vocabulary file, whatever its kind (a SentencePiece model or a WordPiece vocab.txt): the
# name is from when only SentencePiece models existed, kept so compiled pipelines and saved configs still read.
SENTENCEPIECE_MODEL_PATH_KEY = "sentencepiece_model_path"
# How text becomes ids with that file: one of vocabulary.TOKENIZATIONS (absent: "sentencepiece", ours).
TOKENIZATION_KEY = "tokenization"
TEXT_FEATURES_KEY = "text_features"
LABEL_FEATURE_KEY = "label_feature"
LABEL_VALUES_KEY = "label_values"
MAX_SEQ_LENGTH_KEY = "max_seq_length"
LOWER_CASE_KEY = "lower_case"
MAX_TEXT_CHARS_KEY = "max_text_chars"
# With max_seq_length null: the length is derived from the data before the Transform runs
# (components/vocab_transform/sequence_length.py).
LENGTH_COVERAGE_KEY = "length_coverage"
MAX_DERIVED_SEQ_LENGTH_KEY = "max_derived_seq_length"
# What the Transform makes (absent: "classify"); task qa's window settings (text_contract/windows.py).
TASK_KEY = "task"
MAX_QUERY_LENGTH_KEY = "max_query_length"
DOC_STRIDE_KEY = "doc_stride"
MAX_WINDOWS_KEY = "max_windows"
# Task classify's long documents: truncate or windows, and the windows' stride, cap and pooling (only written
# for windows, so a truncating pipeline's custom_config, and its cache key, stay what they were).
LONG_TEXT_KEY = "long_text"
LONG_TEXT_STRIDE_KEY = "long_text_stride"
MAX_WINDOWS_PER_DOCUMENT_KEY = "max_windows_per_document"
WINDOW_POOLING_KEY = "window_pooling"
KEYS = (SENTENCEPIECE_MODEL_PATH_KEY, TEXT_FEATURES_KEY, LABEL_FEATURE_KEY, LABEL_VALUES_KEY, MAX_SEQ_LENGTH_KEY,
        LOWER_CASE_KEY, MAX_TEXT_CHARS_KEY, TOKENIZATION_KEY, LENGTH_COVERAGE_KEY, MAX_DERIVED_SEQ_LENGTH_KEY,
        TASK_KEY, MAX_QUERY_LENGTH_KEY, DOC_STRIDE_KEY, MAX_WINDOWS_KEY, LONG_TEXT_KEY, LONG_TEXT_STRIDE_KEY,
        MAX_WINDOWS_PER_DOCUMENT_KEY, WINDOW_POOLING_KEY)

# The Transform's tasks; the trainer's TrainingConfig names task qa with this same QA_TASK.
CLASSIFY_TASK = "classify"
QA_TASK = "qa"
TASKS = (CLASSIFY_TASK, QA_TASK)
# Task qa reads the QA ExampleGen's question and context, in this order (its raw keys; not configurable).
QA_TEXT_FEATURES = (feature_keys.QA_QUESTION, feature_keys.QA_CONTEXT)

DEFAULT_MAX_SEQ_LENGTH = 128
# A derived length holds this share of every split's examples whole: the rest (a long tail) is cut rather than
# paid for in every batch. ChnSentiCorp's reviews: 95% hold in 166 pieces, 99% in 362.
DEFAULT_LENGTH_COVERAGE = 0.95
# The longest derived length: the step time grows with the length, and the step cap is a time budget.
DEFAULT_MAX_DERIVED_SEQ_LENGTH = 256
# Task qa's window (BERT's run_squad.py uses 384, 64 and 128). 256 rather than 384: fine-tuning here runs on
# 2-core CPUs, where a step's time follows the window's length (1.5x the positions, 2.25x the attention): a batch
# of 8 windows took 8.0 s at 256 and 18.3 s at 384 with the base preset on 2 threads. A question's context then
# takes more, shorter windows but about as many positions in all (CMRC 2018 dev: 3.6 windows, 933 positions a
# question at 256; 2.6 and 1,015 at 384; DRCD dev: 814 and 838; one piece a character, 20-piece questions), so
# training reads the same text for less compute.
DEFAULT_QA_MAX_SEQ_LENGTH = 256
DEFAULT_MAX_QUERY_LENGTH = 64
DEFAULT_DOC_STRIDE = 128
# Windows kept per question: the Transform's rows are [max_windows, max_seq_length] per feature (padding windows
# cost storage, not training, which reads the windows in use only). At 256 and stride 128 the longest contexts of
# CMRC 2018 dev (980 characters) and DRCD dev (1,036) take 7 and 8 windows (one piece a character at most, a
# 20-piece question); a longer context keeps its first 8 windows and its tail is never seen
# (text_contract/windows.py). Raise it with max_seq_length lowered, or for longer contexts.
DEFAULT_MAX_WINDOWS = 8

# Task classify's long documents (LONG_TEXT_KEY). "truncate": the text's first max_seq_length - 2 pieces (what
# classification always did, so the default changes nothing). "windows": [CLS] window [SEP] sequences that
# start every `long_text_stride` pieces, at most `max_windows_per_document` of them (the document's FIRST ones:
# a longer tail is never seen, as for qa's contexts).
LONG_TEXT_TRUNCATE = "truncate"
LONG_TEXT_WINDOWS = "windows"
LONG_TEXT_MODES = (LONG_TEXT_TRUNCATE, LONG_TEXT_WINDOWS)
DEFAULT_LONG_TEXT = LONG_TEXT_TRUNCATE
# 8 windows of half-window stride: at the default 128 positions a document's first 126 + 7 * 63 = 567 pieces,
# 4.5 times what truncation reads, for 8 times its compute (training and serving run every window).
DEFAULT_MAX_WINDOWS_PER_DOCUMENT = 8
# How serving joins a document's windows: the mean or the maximum, per class, of their logits, softmaxed after.
# Mean by default: every window votes, so one window's noise does not decide; max suits a signal that any
# one window may hold alone (a single damning sentence in a long review).
WINDOW_POOLING_MEAN = "mean"
WINDOW_POOLING_MAX = "max"
WINDOW_POOLINGS = (WINDOW_POOLING_MEAN, WINDOW_POOLING_MAX)
DEFAULT_WINDOW_POOLING = WINDOW_POOLING_MEAN


class _TaskDefault:
    """The default of `TransformOptions.max_seq_length`: the task's (DEFAULT_MAX_SEQ_LENGTH for classify,
    DEFAULT_QA_MAX_SEQ_LENGTH for qa), resolved when the options are built."""

    def __repr__(self) -> str:
        return "TASK_DEFAULT"


TASK_DEFAULT = _TaskDefault()


def window_capacity(max_seq_length: int, max_query_length: int) -> int:
    """Context pieces a qa window holds at least ([CLS] question [SEP] context [SEP], the question at its
    longest): the one statement of that rule (text_contract.windows re-exports it)."""
    return max_seq_length - max_query_length - 3


def document_window_capacity(max_seq_length: int) -> int:
    """Pieces of the document a classify window holds ([CLS] window [SEP]): the one statement of that rule."""
    return max_seq_length - 2


def document_window_stride(max_seq_length: int, long_text_stride: Optional[int] = None) -> int:
    """Pieces between the starts of a document's windows: `long_text_stride`, at most a window (a longer stride
    would skip pieces); None: half a window (every piece in two windows, each boundary inside one)."""
    capacity = document_window_capacity(max_seq_length)
    if long_text_stride is None:
        return max(1, capacity // 2)
    return min(long_text_stride, capacity)


# Characters of normalized text kept per sequence position before tokenizing (a piece is at most 16
# characters by SentencePiece's default max_sentencepiece_length; twice that leaves a margin).
TEXT_CHARS_PER_POSITION = 32


def min_seq_length(num_texts: int) -> int:
    """The shortest sequence that holds [CLS] a [SEP] (3) or [CLS] a [SEP] b [SEP] (5) with a piece of each."""
    return 1 + 2 * num_texts


@dataclasses.dataclass(frozen=True)
class TransformOptions:
    """The Transform's settings. `sentencepiece_model_path` may be left out when the pipeline is built
    (VocabTransform fills it in at run time); `preprocessing_fn` requires it.

    `text_features`: one raw feature name, or two for sentence pairs. `label_feature`: optional.
    `label_values`: fixes the label ids in this order (any other label gets -1); without it TFT orders the
    labels by decreasing frequency. `lower_case`: must equal the vocabulary's. `max_text_chars`: normalized
    text is cut to this many characters before tokenization (default `TEXT_CHARS_PER_POSITION` per position).
    `tokenization`: how text becomes ids with the vocabulary file at `sentencepiece_model_path` (its kind
    whatever the field's name): "sentencepiece" (ours), "albert" or "wordpiece" (`vocabulary.TOKENIZATIONS`).
    `max_seq_length` None: derived from the data before the Transform runs (VocabTransform's
    `sequence_length`): the shortest multiple of 16 that holds `length_coverage` of every
    split's examples whole, at most `max_derived_seq_length`; `preprocessing_fn` needs it set.

    `task`: "classify" (default) or "qa". Task qa reads the raw keys `QA_TEXT_FEATURES` (question, context),
    `features.QA_ANSWER_STARTS`/`QA_ANSWER_TEXTS`/`QA_IS_IMPOSSIBLE`/`QA_ID`; `text_features` may be left out
    (it becomes QA_TEXT_FEATURES) and no label, max_text_chars or derived length applies. Its windows:
    `max_seq_length` (default DEFAULT_QA_MAX_SEQ_LENGTH, 256), the question cut to `max_query_length` pieces,
    windows every `doc_stride` context pieces, at most `max_windows` per question (defaults above: why).

    `long_text` (task classify, one text feature): "truncate" (default) or "windows": each document becomes up
    to `max_windows_per_document` windows of max_seq_length positions starting every `long_text_stride` pieces
    (None: half a window; `document_window_stride`), one row per document (`windows.document_windows`;
    max_seq_length must be set: windows do not derive it);
    `window_pooling` ("mean" or "max") is how the export joins the windows' logits. The windows' settings are
    refused with "truncate" (they would do nothing).
    """

    text_features: Tuple[str, ...] = ()
    sentencepiece_model_path: Optional[str] = None
    label_feature: Optional[str] = None
    label_values: Optional[Tuple[str, ...]] = None
    max_seq_length: Optional[int] = TASK_DEFAULT  # type: ignore[assignment]  (an int once built)
    lower_case: bool = False
    max_text_chars: Optional[int] = None
    tokenization: str = vocabulary.DEFAULT_TOKENIZATION
    length_coverage: float = DEFAULT_LENGTH_COVERAGE
    max_derived_seq_length: int = DEFAULT_MAX_DERIVED_SEQ_LENGTH
    task: str = CLASSIFY_TASK
    max_query_length: int = DEFAULT_MAX_QUERY_LENGTH
    doc_stride: int = DEFAULT_DOC_STRIDE
    max_windows: int = DEFAULT_MAX_WINDOWS
    long_text: str = DEFAULT_LONG_TEXT
    long_text_stride: Optional[int] = None
    max_windows_per_document: int = DEFAULT_MAX_WINDOWS_PER_DOCUMENT
    window_pooling: str = DEFAULT_WINDOW_POOLING

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"custom_config[{TASK_KEY!r}] must be one of {TASKS}, got {self.task!r}")
        qa = self.task == QA_TASK
        if self.max_seq_length is TASK_DEFAULT:
            object.__setattr__(self, "max_seq_length", DEFAULT_QA_MAX_SEQ_LENGTH if qa else DEFAULT_MAX_SEQ_LENGTH)
        if qa:
            if not self.text_features:
                object.__setattr__(self, "text_features", QA_TEXT_FEATURES)
            self._check_qa()
        features = self.text_features
        if isinstance(features, str) or len(features) not in (1, 2) or not all(isinstance(f, str) and f for f in features):
            raise ValueError(f"custom_config[{TEXT_FEATURES_KEY!r}] must name 1 or 2 features, got {features!r}")
        minimum = min_seq_length(len(features))
        lengths = [(MAX_DERIVED_SEQ_LENGTH_KEY, self.max_derived_seq_length)]
        if self.max_seq_length is not None:
            lengths.insert(0, (MAX_SEQ_LENGTH_KEY, self.max_seq_length))
        for key, length in lengths:
            if isinstance(length, bool) or not isinstance(length, int):
                raise ValueError(f"custom_config[{key!r}] must be an integer, got {length!r}")
            if length < minimum:
                raise ValueError(f"custom_config[{key!r}] must be >= {minimum}, got {length}")
        if isinstance(self.length_coverage, bool) or not isinstance(self.length_coverage, (int, float)) or not (
                0.5 <= self.length_coverage <= 1.0):
            raise ValueError(f"custom_config[{LENGTH_COVERAGE_KEY!r}] must be a share in [0.5, 1], got "
                             f"{self.length_coverage!r}")
        if self.max_text_chars is not None and (not isinstance(self.max_text_chars, int) or self.max_text_chars < 1):
            raise ValueError(f"custom_config[{MAX_TEXT_CHARS_KEY!r}] must be a positive integer, got "
                             f"{self.max_text_chars!r}")
        if self.label_feature is not None and self.label_feature in features:
            raise ValueError(f"custom_config[{LABEL_FEATURE_KEY!r}] {self.label_feature!r} is also a text feature")
        if self.tokenization not in vocabulary.TOKENIZATIONS:
            raise ValueError(f"custom_config[{TOKENIZATION_KEY!r}] must be one of {vocabulary.TOKENIZATIONS}, got "
                             f"{self.tokenization!r}")
        self._check_long_text()

    def _check_long_text(self) -> None:
        """Task classify's long-document settings: windows over one text; their settings only with windows."""
        if self.long_text not in LONG_TEXT_MODES:
            raise ValueError(f"custom_config[{LONG_TEXT_KEY!r}] must be one of {LONG_TEXT_MODES}, got "
                             f"{self.long_text!r}")
        if self.window_pooling not in WINDOW_POOLINGS:
            raise ValueError(f"custom_config[{WINDOW_POOLING_KEY!r}] must be one of {WINDOW_POOLINGS}, got "
                             f"{self.window_pooling!r}")
        for key, value in ((LONG_TEXT_STRIDE_KEY, self.long_text_stride),
                           (MAX_WINDOWS_PER_DOCUMENT_KEY, self.max_windows_per_document)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"custom_config[{key!r}] must be an integer >= 1, got {value!r}")
        if self.long_text == LONG_TEXT_TRUNCATE:
            # Window settings with truncation would be silently ignored: a config that sets them meant windows.
            for key, value, default in ((LONG_TEXT_STRIDE_KEY, self.long_text_stride, None),
                                        (MAX_WINDOWS_PER_DOCUMENT_KEY, self.max_windows_per_document,
                                         DEFAULT_MAX_WINDOWS_PER_DOCUMENT),
                                        (WINDOW_POOLING_KEY, self.window_pooling, DEFAULT_WINDOW_POOLING)):
                if value != default:
                    raise ValueError(f"custom_config[{key!r}]={value!r} applies only with "
                                     f"{LONG_TEXT_KEY}={LONG_TEXT_WINDOWS!r} (got {LONG_TEXT_KEY}={self.long_text!r})")
            return
        if self.task != CLASSIFY_TASK:
            raise ValueError(f"custom_config[{LONG_TEXT_KEY!r}]={LONG_TEXT_WINDOWS!r} is for task {CLASSIFY_TASK!r} "
                             f"(task {self.task!r} has windows of its own), got task {self.task!r}")
        if len(self.text_features) != 1:
            raise ValueError(f"custom_config[{LONG_TEXT_KEY!r}]={LONG_TEXT_WINDOWS!r} windows one text feature (a "
                             f"pair's two texts have no one order to window), got {list(self.text_features)}")
        length = self.max_seq_length
        if length is None:  # as for task qa: a length derived to hold most texts whole means nothing for windows
            raise ValueError(f"custom_config[{MAX_SEQ_LENGTH_KEY!r}] is null, but {LONG_TEXT_KEY} "
                             f"{LONG_TEXT_WINDOWS!r} does not derive it from the data (windows hold any text; the "
                             "length is each window's compute budget): set an integer")
        if self.long_text_stride is not None and self.long_text_stride > document_window_capacity(length):
            raise ValueError(f"custom_config[{LONG_TEXT_STRIDE_KEY!r}] must be at most a window's "
                             f"{document_window_capacity(length)} pieces ({MAX_SEQ_LENGTH_KEY} {length} - 2 for [CLS] "
                             f"and [SEP]; a longer stride skips pieces), got {self.long_text_stride}")

    @property
    def windows(self) -> bool:
        """Whether task classify reads each document as windows (`long_text` "windows")."""
        return self.long_text == LONG_TEXT_WINDOWS

    @property
    def window_stride(self) -> int:
        """Pieces between a document's window starts (`document_window_stride`)."""
        return document_window_stride(self.max_seq_length, self.long_text_stride)

    def _check_qa(self) -> None:
        """Task qa's own rules: its fixed raw features, a set length, windows that hold a context piece."""
        if tuple(self.text_features) != QA_TEXT_FEATURES:
            raise ValueError(f"custom_config[{TEXT_FEATURES_KEY!r}] is {QA_TEXT_FEATURES!r} for task {QA_TASK!r} (the "
                             f"QA ExampleGen's question and context; leave it out), got {self.text_features!r}")
        for key, value in ((LABEL_FEATURE_KEY, self.label_feature), (LABEL_VALUES_KEY, self.label_values),
                           (MAX_TEXT_CHARS_KEY, self.max_text_chars)):
            if value is not None:
                raise ValueError(f"custom_config[{key!r}] does not apply to task {QA_TASK!r}, got {value!r}")
        if self.max_seq_length is None:
            raise ValueError(f"custom_config[{MAX_SEQ_LENGTH_KEY!r}] is null, but task {QA_TASK!r} does not derive it "
                             "from the data (windows hold any context; the length is a compute budget): set an "
                             f"integer or leave it out for {DEFAULT_QA_MAX_SEQ_LENGTH}")
        for key, value in ((MAX_SEQ_LENGTH_KEY, self.max_seq_length), (MAX_QUERY_LENGTH_KEY, self.max_query_length),
                           (DOC_STRIDE_KEY, self.doc_stride), (MAX_WINDOWS_KEY, self.max_windows)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"custom_config[{key!r}] must be an integer >= 1, got {value!r}")
        if window_capacity(self.max_seq_length, self.max_query_length) < 1:
            raise ValueError(f"custom_config[{MAX_SEQ_LENGTH_KEY!r}]={self.max_seq_length} must exceed "
                             f"{MAX_QUERY_LENGTH_KEY}={self.max_query_length} + 3 so that a window holds a piece of "
                             "the context")

    @property
    def text_chars(self) -> int:
        """Characters of normalized text kept before tokenization (for a length still to derive: its most); with
        windows, enough for every window's positions."""
        length = self.max_seq_length or self.max_derived_seq_length
        if self.windows:  # max_seq_length is set
            length += self.window_stride * (self.max_windows_per_document - 1)
        return self.max_text_chars or TEXT_CHARS_PER_POSITION * length

    def to_custom_config(self) -> Dict[str, Any]:
        values: Dict[str, Any] = {TEXT_FEATURES_KEY: list(self.text_features), MAX_SEQ_LENGTH_KEY: self.max_seq_length,
                                  LOWER_CASE_KEY: self.lower_case}
        if self.max_seq_length is None:
            values[LENGTH_COVERAGE_KEY] = self.length_coverage
            values[MAX_DERIVED_SEQ_LENGTH_KEY] = self.max_derived_seq_length
        if self.sentencepiece_model_path:
            values[SENTENCEPIECE_MODEL_PATH_KEY] = self.sentencepiece_model_path
        if self.label_feature:
            values[LABEL_FEATURE_KEY] = self.label_feature
        if self.label_values:
            values[LABEL_VALUES_KEY] = list(self.label_values)
        if self.max_text_chars:
            values[MAX_TEXT_CHARS_KEY] = self.max_text_chars
        if self.tokenization != vocabulary.DEFAULT_TOKENIZATION:
            values[TOKENIZATION_KEY] = self.tokenization
        if self.task != CLASSIFY_TASK:
            values.update({TASK_KEY: self.task, MAX_QUERY_LENGTH_KEY: self.max_query_length,
                           DOC_STRIDE_KEY: self.doc_stride, MAX_WINDOWS_KEY: self.max_windows})
        if self.windows:
            values.update({LONG_TEXT_KEY: self.long_text, MAX_WINDOWS_PER_DOCUMENT_KEY: self.max_windows_per_document,
                           WINDOW_POOLING_KEY: self.window_pooling})
            if self.long_text_stride is not None:
                values[LONG_TEXT_STRIDE_KEY] = self.long_text_stride
        return values

    @classmethod
    def from_custom_config(cls, custom_config: Optional[Mapping[str, Any]],
                           require_vocabulary: bool = True) -> "TransformOptions":
        """From a Transform custom_config; ValueError naming the key for a missing or bad value.

        `require_vocabulary` (what `preprocessing_fn` asks): the vocabulary's path and a max_seq_length must be
        there. A max_seq_length left out is the task's default (`TASK_DEFAULT`); null is one still to derive from
        the data (classify only). Task qa needs no text_features.
        """
        config = dict(custom_config or {})
        task = config.get(TASK_KEY) or CLASSIFY_TASK
        required = (SENTENCEPIECE_MODEL_PATH_KEY,) if require_vocabulary else ()
        if task != QA_TASK:
            required += (TEXT_FEATURES_KEY,)
        for key in required:
            if not config.get(key):
                raise ValueError(f"custom_config[{key!r}] is required; got keys {sorted(config)}")
        max_seq_length = config.get(MAX_SEQ_LENGTH_KEY, TASK_DEFAULT)
        if max_seq_length is None and require_vocabulary and task != QA_TASK:  # qa: its own error names the key
            raise ValueError(f"custom_config[{MAX_SEQ_LENGTH_KEY!r}] is null: the length is derived from the data "
                             "before the Transform runs (VocabTransform does it), so preprocessing_fn needs it set")
        text_features = config.get(TEXT_FEATURES_KEY) or ()
        return cls(
            text_features=(text_features,) if isinstance(text_features, str) else tuple(text_features),
            sentencepiece_model_path=config.get(SENTENCEPIECE_MODEL_PATH_KEY) or None,
            label_feature=config.get(LABEL_FEATURE_KEY) or None,
            label_values=tuple(str(v) for v in config.get(LABEL_VALUES_KEY) or ()) or None,
            max_seq_length=max_seq_length if max_seq_length is None or max_seq_length is TASK_DEFAULT else _integer(
                max_seq_length, MAX_SEQ_LENGTH_KEY),
            lower_case=bool(config.get(LOWER_CASE_KEY, False)),
            max_text_chars=int(config[MAX_TEXT_CHARS_KEY]) if config.get(MAX_TEXT_CHARS_KEY) else None,
            tokenization=config.get(TOKENIZATION_KEY) or vocabulary.DEFAULT_TOKENIZATION,
            length_coverage=float(config.get(LENGTH_COVERAGE_KEY, DEFAULT_LENGTH_COVERAGE)),
            max_derived_seq_length=_integer(config.get(MAX_DERIVED_SEQ_LENGTH_KEY, DEFAULT_MAX_DERIVED_SEQ_LENGTH),
                                            MAX_DERIVED_SEQ_LENGTH_KEY),
            task=task,
            max_query_length=_integer(config.get(MAX_QUERY_LENGTH_KEY, DEFAULT_MAX_QUERY_LENGTH), MAX_QUERY_LENGTH_KEY),
            doc_stride=_integer(config.get(DOC_STRIDE_KEY, DEFAULT_DOC_STRIDE), DOC_STRIDE_KEY),
            max_windows=_integer(config.get(MAX_WINDOWS_KEY, DEFAULT_MAX_WINDOWS), MAX_WINDOWS_KEY),
            long_text=config.get(LONG_TEXT_KEY) or DEFAULT_LONG_TEXT,
            long_text_stride=None if config.get(LONG_TEXT_STRIDE_KEY) is None else _integer(
                config[LONG_TEXT_STRIDE_KEY], LONG_TEXT_STRIDE_KEY),
            max_windows_per_document=_integer(
                config.get(MAX_WINDOWS_PER_DOCUMENT_KEY, DEFAULT_MAX_WINDOWS_PER_DOCUMENT), MAX_WINDOWS_PER_DOCUMENT_KEY),
            window_pooling=config.get(WINDOW_POOLING_KEY) or DEFAULT_WINDOW_POOLING,
        )


def _integer(value: Any, key: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"custom_config[{key!r}] must be an integer, got {value!r}") from None
