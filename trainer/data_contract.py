"""The data the trainer consumes: special pieces of the vocabulary and the feature names of its examples.

Defined once here; the SentencePiece and pretraining-data components, the Transform module and the
input pipelines import these names rather than spelling them out.
"""

# Special pieces and their ids, as in the released ALBERT vocabularies (30k-clean.model): the
# SentencePiece trainer is told pad_id=0, unk_id=1 and the control symbols in this order, no BOS/EOS.
PAD_PIECE = "<pad>"
UNK_PIECE = "<unk>"
CLS_PIECE = "[CLS]"
SEP_PIECE = "[SEP]"
MASK_PIECE = "[MASK]"
PAD_ID = 0
UNK_ID = 1
CLS_ID = 2
SEP_ID = 3
MASK_ID = 4
CONTROL_PIECES = (CLS_PIECE, SEP_PIECE, MASK_PIECE)  # ids 2, 3, 4
# Marks the start of a word in SentencePiece pieces (whole-word n-gram masking splits on it).
WORD_BOUNDARY = "\u2581"

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

# Where the pipeline's VocabTransform leaves a copy of the vocabulary it preprocessed with, relative to the
# transform graph directory (the Trainer's fn_args.transform_output): run_fn reads it from there.
TRANSFORM_VOCABULARY_FILE = "albert_tfx/spm.model"

# Text normalization shared by the SentencePiece vocabulary (components/sentencepiece_vocab/normalize.py)
# and the in-graph Transform (trainer/preprocessing.py): removed first, then NFKC, then every whitespace
# run (str.isspace() on Python 3.10, checked by the tests) becomes one space.
REMOVED_CODEPOINTS = (0x0000, 0xFEFF)
WHITESPACE_CODEPOINTS = (
    0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
    0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
    0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
)
