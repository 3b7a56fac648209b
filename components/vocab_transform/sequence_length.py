"""The sequence length derived from the data, for a Transform whose `max_seq_length` is null.

A fixed length suits no data set: 64 pieces cut 39% of ChnSentiCorp's reviews and 36% of MRPC's sentence
pairs, and pads SST-2's phrases (median 10 pieces) six-fold. Before TFX's Transform runs, VocabTransform
samples each split's examples, tokenizes them with the very tokenizer `preprocessing_fn` will use, and pads
to the shortest multiple of `SEQ_LENGTH_MULTIPLE` that holds `length_coverage` of every split's examples
whole, at most `max_derived_seq_length`. Every split, not the pooled examples: SST-2's 67k training phrases
(95% within 34 pieces) would otherwise set a length that cuts its full-sentence eval split (95% within 49).
"""

import dataclasses
import math
from typing import Dict, List, Mapping, Sequence

import numpy as np
import tensorflow as tf
from tfx.components.util import examples_utils
from tfx.types import Artifact, artifact_utils

from text_contract.transform import TextTokenizer, make_tokenizer
from text_contract.transform_options import TransformOptions, min_seq_length

# Lengths are rounded up to this: fewer distinct shapes to compile (XLA, TPUs) and aligned matrix tiles.
SEQ_LENGTH_MULTIPLE = 16
# Examples read from each split: enough for a 95th percentile within a fraction of a percent, and a few
# seconds of tokenizing whatever the split's size.
SAMPLE_PER_SPLIT = 20_000
_BATCH = 1024


@dataclasses.dataclass(frozen=True)
class DerivedLength:
    """The length chosen and what it covers: `covered[split]` is the share of the sampled examples that fit
    whole (`sampled[split]` of them); `quantiles[split]` the pieces (with [CLS]/[SEP]) at the coverage asked."""

    max_seq_length: int
    length_coverage: float
    covered: Dict[str, float]
    sampled: Dict[str, int]
    quantiles: Dict[str, int]

    def describe(self) -> str:
        splits = ", ".join(f"{split} {self.covered[split]:.1%} of {self.sampled[split]:,} whole "
                           f"(p{self.length_coverage * 100:g} {self.quantiles[split]} pieces)"
                           for split in sorted(self.covered))
        return f"max_seq_length {self.max_seq_length} from the data: {splits}"


def choose_length(lengths_by_split: Mapping[str, Sequence[int]], coverage: float, longest: int,
                  shortest: int) -> DerivedLength:
    """The shortest multiple of SEQ_LENGTH_MULTIPLE holding `coverage` of each split's packed lengths, within
    [shortest, longest] (`longest` itself need not be a multiple). ValueError when no split has an example."""
    arrays = {split: np.asarray(values, dtype=np.int64) for split, values in lengths_by_split.items() if len(values)}
    if not arrays:
        raise ValueError(f"no examples to derive max_seq_length from in the splits {sorted(lengths_by_split)}")
    # "inverted_cdf": the smallest sampled length that at least `coverage` of the examples do not exceed.
    quantiles = {split: int(np.quantile(values, coverage, method="inverted_cdf")) for split, values in arrays.items()}
    needed = max(quantiles.values())
    length = min(longest, max(shortest, SEQ_LENGTH_MULTIPLE * math.ceil(needed / SEQ_LENGTH_MULTIPLE)))
    return DerivedLength(
        max_seq_length=length, length_coverage=coverage,
        covered={split: float(np.mean(values <= length)) for split, values in arrays.items()},
        sampled={split: int(values.size) for split, values in arrays.items()}, quantiles=quantiles)


def _text(example: tf.train.Example, name: str) -> bytes:
    feature = example.features.feature.get(name)
    if feature is None:
        return b""
    kind = feature.WhichOneof("kind")
    values = getattr(feature, kind).value if kind else []
    if not values:
        return b""
    return values[0] if kind == "bytes_list" else str(values[0]).encode()


def sample_texts(file_patterns: Sequence[str], text_features: Sequence[str], compression: str,
                 limit: int = SAMPLE_PER_SPLIT) -> List[List[bytes]]:
    """Up to `limit` examples' raw text features (one list per feature) from a split's tf.Example files,
    read round-robin across the files so that no one shard stands for the split."""
    files = sorted({path for pattern in file_patterns for path in tf.io.gfile.glob(pattern)})
    if not files:
        return [[] for _ in text_features]
    records = tf.data.Dataset.from_tensor_slices(files).interleave(
        lambda path: tf.data.TFRecordDataset(path, compression_type=compression), cycle_length=len(files))
    columns: List[List[bytes]] = [[] for _ in text_features]
    for record in records.take(limit).as_numpy_iterator():
        example = tf.train.Example.FromString(record)
        for column, name in zip(columns, text_features):
            column.append(_text(example, name))
    return columns


def packed_lengths(tokenizer: TextTokenizer, text_chars: int, columns: Sequence[Sequence[bytes]]) -> np.ndarray:
    """Pieces each example would take packed whole: [CLS] a [SEP] (b [SEP]), tokenized as `preprocessing_fn`
    does (its tokenizer, `make_tokenizer(options)`, with text cut to `options.text_chars`)."""
    count = len(columns[0]) if columns else 0
    lengths = np.full(count, 1 + len(columns), dtype=np.int64)  # [CLS] and one [SEP] per text
    for column in columns:
        for start in range(0, count, _BATCH):
            ids = tokenizer(tf.constant(list(column[start:start + _BATCH]), tf.string), text_chars)
            lengths[start:start + _BATCH] += ids.row_lengths().numpy()
    return lengths


def derive(options: TransformOptions, split_patterns: Mapping[str, Sequence[str]], compression: str,
           limit: int = SAMPLE_PER_SPLIT) -> DerivedLength:
    """The DerivedLength for `options` (max_seq_length None, vocabulary path set) over each split's files."""
    tokenizer = make_tokenizer(options)  # once: it reads the vocabulary and builds its ops
    lengths = {split: packed_lengths(tokenizer, options.text_chars,
                                     sample_texts(patterns, options.text_features, compression, limit))
               for split, patterns in split_patterns.items()}
    return choose_length(lengths, options.length_coverage, options.max_derived_seq_length,
                         min_seq_length(len(options.text_features)))


def derive_for_examples(options: TransformOptions, examples: Sequence[Artifact],
                        limit: int = SAMPLE_PER_SPLIT) -> DerivedLength:
    """`derive` over every split of the Transform's Examples artifacts (the splits it transforms by default)."""
    split_names = [(artifact, artifact_utils.decode_split_names(artifact.split_names)) for artifact in examples]
    splits = sorted({split for _, names in split_names for split in names})
    gzip = {examples_utils.get_file_format(artifact) for artifact in examples} == {"tfrecords_gzip"}
    patterns = {split: examples_utils.get_split_file_patterns([a for a, names in split_names if split in names], split)
                for split in splits}
    return derive(options, patterns, "GZIP" if gzip else "", limit)
