"""`SpanHead`: start and end logits over the sequence output, for extractive question answering."""

import keras
from keras import ops

from text_contract.features import END_LOGITS, NO_ANSWER_SCORE, START_LOGITS

# What a padding position's logits become: far below any trained logit, so that its softmax weight is 0,
# yet finite in every compute dtype (float16's largest is 65504), so that no inf - inf makes a NaN in a
# loss or in a span score `start + end`. BERT's additive attention mask uses the same -10000.
MASKED_LOGIT = -10_000.0


@keras.saving.register_keras_serializable(package="albert_tfx")
class SpanHead(keras.layers.Layer):
    """A dense from each position's final hidden state to 2 values: its start logit and its end logit.

    Call with `(sequence_output, padding_mask)`: `[batch, seq, hidden]` and int `[batch, seq]` (1 = real
    piece). Returns a dict of `start_logits` and `end_logits`, `[batch, seq]` each, padding positions set to
    `MASKED_LOGIT`; softmax belongs to the loss and the answer search.

    One `[hidden, 2]` dense rather than two `[hidden, 1]` ones: the same parameters, and the layout of the
    original BERT/ALBERT SQuAD heads (`cls/squad/output_weights`, `[2, hidden]`), so such a head can be
    imported as it is.

    `with_no_answer` (SQuAD v2.0) adds `no_answer_score` `[batch]`: `start_logits[:, 0] + end_logits[:, 0]`,
    the score of the "span" [CLS]..[CLS], as in BERT's SQuAD v2.0 recipe (Devlin et al., 2019): a question
    is unanswerable in a window when this score exceeds the best real span's `start_i + end_j` by more than a
    threshold tuned on the dev set. Chosen over a separate dense on the pooled output (ALBERT's own v2 code
    has such an answer-class head) because it needs no parameters, targets or loss of its own: unanswerable
    windows are trained by the two position cross-entropies with both targets at [CLS] (position 0), and the
    score is on the same scale as the span scores it is compared with.
    """

    def __init__(self, with_no_answer=False, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(with_no_answer, bool):
            raise ValueError(f"with_no_answer must be True or False, got {with_no_answer!r}")
        if not isinstance(initializer_range, (int, float)) or isinstance(initializer_range, bool) \
                or initializer_range <= 0:
            raise ValueError(f"initializer_range must be a positive number, got {initializer_range!r}")
        self.with_no_answer = with_no_answer
        self.initializer_range = initializer_range
        self.dense = keras.layers.Dense(
            2,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
            dtype=self.dtype_policy,
            name="dense",
        )

    def build(self, sequence_output_shape, padding_mask_shape=None):
        if len(sequence_output_shape) != 3:
            raise ValueError(f"sequence_output must be [batch, seq, hidden], got shape {tuple(sequence_output_shape)}")
        self.dense.build(sequence_output_shape)
        self.built = True

    def call(self, sequence_output, padding_mask):
        logits = self.dense(sequence_output)  # [batch, seq, 2]
        real = ops.cast(padding_mask, "bool")
        masked = ops.full_like(logits[..., 0], MASKED_LOGIT)
        start_logits = ops.where(real, logits[..., 0], masked)
        end_logits = ops.where(real, logits[..., 1], masked)
        outputs = {START_LOGITS: start_logits, END_LOGITS: end_logits}
        if self.with_no_answer:
            outputs[NO_ANSWER_SCORE] = start_logits[:, 0] + end_logits[:, 0]
        return outputs

    def compute_output_shape(self, sequence_output_shape, padding_mask_shape=None):
        positions = tuple(sequence_output_shape[:-1])
        shapes = {START_LOGITS: positions, END_LOGITS: positions}
        if self.with_no_answer:
            shapes[NO_ANSWER_SCORE] = positions[:1]
        return shapes

    def get_config(self):
        config = super().get_config()
        config.update({"with_no_answer": self.with_no_answer, "initializer_range": self.initializer_range})
        return config
