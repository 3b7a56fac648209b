"""Dynamic masked-LM masking for the trainer's input pipeline: fresh masks every epoch.

The static PretrainingDataGen data fixes each example's masks at generation time (`dupe_factor`
copies at most). `apply_dynamic_masking` instead draws new masks each time the dataset is iterated,
with tf-text's `mask_language_model`, `RandomItemSelector` and a `MaskValuesChooser` (80% [MASK],
10% a random id, 10% unchanged). It takes batches or single examples with `input_ids` (plus
`input_mask`, `segment_ids` ...) and returns the static data's features: `masked_lm_positions`,
`masked_lm_ids`, `masked_lm_weights` padded to `max_predictions_per_seq`. Static examples are accepted
too: their masked positions are restored to the original ids first, then masked anew.

Randomness. tf-text's default ops are stateful (`tf.random.shuffle`, `tf.random.uniform`); inside
`Dataset.map` with a global seed set (as `keras.utils.set_random_seed` does) they replay the *same*
values every epoch. Here every call gets a seed pair from `tf.data.Dataset.random(seed,
rerandomize_each_iteration=True)` and all draws are stateless: masks differ between epochs (and rows),
yet a fixed `seed` reproduces the whole sequence of epochs.

Masking here is per piece (tf-text's item = one token), not ALBERT's n-gram whole-word masking of the
static data; selection is ceil(selection_rate x maskable tokens) per row, capped at
`max_predictions_per_seq`; [CLS], [SEP] and padding are never selected, and random replacements are
never special ids.
"""

from typing import Dict, Optional, Sequence

import tensorflow as tf
import tensorflow_text as tf_text

from text_contract.features import INPUT_IDS, INPUT_MASK, MASKED_LM_IDS, MASKED_LM_POSITIONS, MASKED_LM_WEIGHTS
from text_contract.pieces import CLS_ID, FIRST_REGULAR_ID, MASK_ID, PAD_ID, SEP_ID

# Random replacements are drawn from [FIRST_REGULAR_ID, vocab_size): never a special piece.
UNSELECTABLE_IDS = (PAD_ID, CLS_ID, SEP_ID)


class _SeededMaskValuesChooser(tf_text.MaskValuesChooser):
    """tf-text's 80/10/10 chooser with stateless draws and random ids from [FIRST_REGULAR_ID, vocab)."""

    def __init__(self, vocab_size, mask_token, mask_token_rate, random_token_rate, seed):
        super().__init__(vocab_size, mask_token, mask_token_rate, random_token_rate)
        self._seed = seed

    def get_mask_values(self, masked_lm_ids):
        flat = masked_lm_ids.flat_values
        seeds = tf.random.experimental.stateless_split(self._seed, 2)
        choice = tf.random.stateless_uniform(tf.shape(flat), seed=seeds[0])
        random_ids = tf.random.stateless_uniform(tf.shape(flat), seed=seeds[1], minval=FIRST_REGULAR_ID,
                                                 maxval=self.vocab_size, dtype=tf.int64)
        mask_rate = tf.constant(self._mask_token_rate, tf.float32)
        values = tf.where(choice < mask_rate, tf.cast(self.mask_token, flat.dtype),
                          tf.where(choice < mask_rate + self.random_token_rate,
                                   tf.cast(random_ids, flat.dtype), flat))
        return masked_lm_ids.with_flat_values(values)


class DynamicMasker:
    """Masks a batch (or one example) anew for a given stateless seed pair."""

    def __init__(self, vocab_size: int, max_predictions_per_seq: int = 20, selection_rate: float = 0.15,
                 mask_token_rate: float = 0.8, random_token_rate: float = 0.1,
                 unselectable_ids: Sequence[int] = UNSELECTABLE_IDS):
        if vocab_size <= FIRST_REGULAR_ID:
            raise ValueError(f"vocab_size must be > {FIRST_REGULAR_ID}, got {vocab_size}")
        if max_predictions_per_seq < 1:
            raise ValueError(f"max_predictions_per_seq must be >= 1, got {max_predictions_per_seq}")
        if not 0.0 < selection_rate <= 1.0:
            raise ValueError(f"selection_rate must be in (0, 1], got {selection_rate}")
        if mask_token_rate < 0 or random_token_rate < 0 or mask_token_rate + random_token_rate > 1:
            raise ValueError("mask_token_rate and random_token_rate must be >= 0 and sum to <= 1")
        self.vocab_size = vocab_size
        self.max_predictions_per_seq = max_predictions_per_seq
        self.selection_rate = selection_rate
        self.mask_token_rate = mask_token_rate
        self.random_token_rate = random_token_rate
        self.unselectable_ids = [int(i) for i in unselectable_ids]

    def __call__(self, features: Dict[str, tf.Tensor], seed: tf.Tensor) -> Dict[str, tf.Tensor]:
        features = dict(features)
        input_ids = tf.convert_to_tensor(features[INPUT_IDS])
        single = input_ids.shape.rank == 1
        expand = (lambda t: tf.expand_dims(t, 0)) if single else (lambda t: t)
        squeeze = (lambda t: tf.squeeze(t, 0)) if single else (lambda t: t)

        ids = tf.cast(expand(input_ids), tf.int64)
        if INPUT_MASK in features:
            lengths = tf.reduce_sum(tf.cast(expand(features[INPUT_MASK]), tf.int64), axis=1)
        else:
            lengths = tf.reduce_sum(tf.cast(tf.not_equal(ids, PAD_ID), tf.int64), axis=1)
        if MASKED_LM_POSITIONS in features:  # static data: put the original ids back first
            ids = _restore_originals(ids, expand(features[MASKED_LM_POSITIONS]),
                                     expand(features[MASKED_LM_IDS]), expand(features[MASKED_LM_WEIGHTS]))

        seed = tf.cast(seed, tf.int64)
        selector_seed, chooser_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))

        def shuffle(positions):
            # Called once per row with that row's flat positions, which no other row shares: folding
            # the smallest into the seed gives every row its own permutation.
            row_seed = tf.random.experimental.stateless_fold_in(selector_seed, tf.reduce_min(positions))
            return tf.random.experimental.stateless_shuffle(positions, seed=row_seed)

        selector = tf_text.RandomItemSelector(
            max_selections_per_batch=self.max_predictions_per_seq, selection_rate=self.selection_rate,
            unselectable_ids=self.unselectable_ids, shuffle_fn=shuffle)
        chooser = _SeededMaskValuesChooser(self.vocab_size, MASK_ID, self.mask_token_rate,
                                           self.random_token_rate, chooser_seed)
        ragged = tf.RaggedTensor.from_tensor(ids, lengths=lengths)
        masked, positions, originals = tf_text.mask_language_model(ragged, selector, chooser)

        seq_length = input_ids.shape[-1] or tf.shape(ids)[1]
        new_ids = masked.to_tensor(default_value=PAD_ID, shape=tf.stack([tf.shape(ids)[0], seq_length]))
        padded_positions, weights = tf_text.pad_model_inputs(positions, self.max_predictions_per_seq)
        padded_ids, _ = tf_text.pad_model_inputs(originals, self.max_predictions_per_seq)

        out_dtype = input_ids.dtype
        features[INPUT_IDS] = squeeze(tf.cast(new_ids, out_dtype))
        features[MASKED_LM_POSITIONS] = squeeze(tf.cast(padded_positions, out_dtype))
        features[MASKED_LM_IDS] = squeeze(tf.cast(padded_ids, out_dtype))
        features[MASKED_LM_WEIGHTS] = squeeze(tf.cast(weights, tf.float32))
        features[INPUT_IDS].set_shape(input_ids.shape)
        prediction_shape = [self.max_predictions_per_seq]
        if not single:
            prediction_shape = [input_ids.shape[0]] + prediction_shape
        for name in (MASKED_LM_POSITIONS, MASKED_LM_IDS, MASKED_LM_WEIGHTS):
            features[name].set_shape(prediction_shape)
        return features


def _restore_originals(ids, positions, masked_ids, weights):
    """ids with each weighted masked position set back to its original id."""
    positions = tf.cast(positions, tf.int64)
    shape = tf.shape(positions, out_type=tf.int64)
    rows = tf.broadcast_to(tf.range(shape[0])[:, None], shape)
    keep = tf.cast(weights, tf.float32) > 0
    indices = tf.stack([tf.boolean_mask(rows, keep), tf.boolean_mask(positions, keep)], axis=1)
    return tf.tensor_scatter_nd_update(ids, indices, tf.boolean_mask(tf.cast(masked_ids, ids.dtype), keep))


def apply_dynamic_masking(dataset: tf.data.Dataset, vocab_size: int, *, max_predictions_per_seq: int = 20,
                          selection_rate: float = 0.15, mask_token_rate: float = 0.8,
                          random_token_rate: float = 0.1, seed: Optional[int] = None,
                          unselectable_ids: Sequence[int] = UNSELECTABLE_IDS,
                          num_parallel_calls: int = tf.data.AUTOTUNE) -> tf.data.Dataset:
    """`dataset` (dicts of batches or of single examples) with fresh MLM masks on every iteration.

    Each element is paired with a seed from `tf.data.Dataset.random(seed, rerandomize_each_iteration=
    True)`, so every epoch (each new iterator, including through `.repeat()` after this) draws new
    masks, reproducibly for a given `seed` (None: different on every run). The seeds follow element
    positions, so applied after `.repeat()` and before `.skip(n)` a resumed run re-draws the masks the
    interrupted run would have used. It is a dataset -> dataset transform (not a `Dataset.map` fn).
    """
    masker = DynamicMasker(vocab_size, max_predictions_per_seq, selection_rate, mask_token_rate,
                           random_token_rate, unselectable_ids)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip((dataset, seeds)).map(
        masker, num_parallel_calls=num_parallel_calls, deterministic=True)
