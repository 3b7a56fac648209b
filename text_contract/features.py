"""Feature keys of the examples albert-tfx writes and reads, and the files the Transform leaves for the Trainer.

Defined once here; the components, the Transform, the trainer's input pipelines, the serving export and
the pipeline's Evaluator config import these names rather than spelling them out.
"""

# Pretraining tf.Example features (PretrainingDataGen output; the pretrain task's input).
INPUT_IDS = "input_ids"
SEGMENT_IDS = "segment_ids"
INPUT_MASK = "input_mask"
MASKED_LM_POSITIONS = "masked_lm_positions"
MASKED_LM_IDS = "masked_lm_ids"
MASKED_LM_WEIGHTS = "masked_lm_weights"
SENTENCE_ORDER_LABEL = "sentence_order_label"
PRETRAINING_FEATURES = (
    INPUT_IDS,
    SEGMENT_IDS,
    INPUT_MASK,
    MASKED_LM_POSITIONS,
    MASKED_LM_IDS,
    MASKED_LM_WEIGHTS,
    SENTENCE_ORDER_LABEL,
)
# sentence_order_label values
SENTENCE_ORDER_KEPT = 0
SENTENCE_ORDER_SWAPPED = 1

# Transformed features (Transform output; the classify task's input). Model inputs keep the encoder's names.
TOKEN_IDS = "token_ids"
PADDING_MASK = "padding_mask"
LABEL_IDS = "label_ids"
# What the encoder reads, in this order.
MODEL_INPUTS = (TOKEN_IDS, SEGMENT_IDS, PADDING_MASK)
TRANSFORMED_FEATURES = MODEL_INPUTS + (LABEL_IDS,)

# The TFT vocabulary file (and its name) that maps label values to label_ids, and the id of a missing,
# empty or unlisted label (the trainer skips those rows).
LABEL_VOCABULARY = "label_vocabulary"
UNKNOWN_LABEL_ID = -1

# Where the pipeline's VocabTransform leaves a copy of the vocabulary it preprocessed with, relative to the
# transform graph directory (the Trainer's fn_args.transform_output): run_fn reads it from there.
TRANSFORM_VOCABULARY_FILE = "albert_tfx/spm.model"
# Beside it, the Transform's custom_config as preprocessing_fn got it (JSON: the vocabulary's tokenization and
# a derived max_seq_length included): task qa's Trainer rebuilds the Transform's tokenizer and windows from it.
TRANSFORM_OPTIONS_FILE = "albert_tfx/transform_options.json"

# PretrainingDataGen's summary, at its artifact's root beside `Split-train/`; its "config" holds the
# "vocab_size" the data was made with, which sizes the Pretrainer's fresh encoder.
PRETRAINING_SUMMARY_FILE = "summary.json"

# Question answering (issue 15). The QA ExampleGen's raw tf.Example features: one example per question.
QA_ID = "id"  # the question's id in the source file (SQuAD `qas[].id`)
QA_TITLE = "title"  # its article's title (the train/eval split is by article, never by question)
QA_QUESTION = "question"
QA_CONTEXT = "context"
QA_ANSWER_TEXTS = "answer_texts"  # every gold answer (bytes list; empty for an unanswerable v2.0 question)
QA_ANSWER_STARTS = "answer_starts"  # their character starts in `context` (int64 list, same length)
QA_IS_IMPOSSIBLE = "is_impossible"  # int64 0/1 (SQuAD v2.0; 0 for v1.1)
QA_RAW_FEATURES = (QA_ID, QA_TITLE, QA_QUESTION, QA_CONTEXT, QA_ANSWER_TEXTS, QA_ANSWER_STARTS, QA_IS_IMPOSSIBLE)
# Per-window training features (Transform output for task qa; one window of one question per row): the model
# inputs above plus the answer's first and last piece positions in the window ([CLS], 0, when the answer is
# not inside it or there is none).
START_POSITIONS = "start_positions"
END_POSITIONS = "end_positions"
# The per-question window layout of the QA Transform (text_contract/windows.py): each window position's
# [start, end) in code points of the original context (-1 for question, special and padding positions) and
# the number of windows in use; per_window_rows adds each window's index and its question's row.
CONTEXT_CHAR_STARTS = "context_char_starts"
CONTEXT_CHAR_ENDS = "context_char_ends"
WINDOW_COUNT = "window_count"
WINDOW_INDEX = "window_index"
QUESTION_INDEX = "question_index"
# The QA model's outputs (trainer/heads/span.py), read by the serving export: start and end logits over a
# window's positions, and for SQuAD v2.0 models the no-answer score of its [CLS] position.
START_LOGITS = "start_logits"
END_LOGITS = "end_logits"
NO_ANSWER_SCORE = "no_answer_score"
