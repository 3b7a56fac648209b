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
