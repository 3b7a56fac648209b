"""QaExampleGen's spec: TFX's FileBasedExampleGen spec, reused, and the options that travel in its custom_config.

As for TextExampleGen (components/text_example_gen/spec.py), only the executor differs from TFX's
`FileBasedExampleGenSpec`. `QaOptions` checks every value when it is built (a ValueError names the field),
round-trips through plain JSON types (`to_dict` / `from_dict`) and travels as the JSON of `to_dict()` in a
`google.protobuf.StringValue` packed into `example_gen_pb2.CustomConfig`; `from_exec_properties` reads that
and the other forms TFX may hand an executor (the CustomConfig's JSON, a plain dict, None).

The by-article split. The questions of one paragraph share its context, so a train/eval split by question
would put the same passage on both sides. With one input split, QaExampleGen asks TFX's own hash partition
to split by the `title` feature (`article_split_output_config`): every question of an article lands in the
same output split, and `parsing.article_split` computes that split for a title without TFX, for
benchmarks. No TFX component machinery or TensorFlow here: Beam workers import this module.
"""

import dataclasses
from typing import Any, Dict

from tfx.proto import example_gen_pb2

from components import data_counts
from components.example_gen_options import ExampleGenOptions
from text_contract import features


TRAIN_SPLIT = "train"
EVAL_SPLIT = "eval"
# Hash buckets of the by-article split: the eval fraction is rounded to whole percent.
SPLIT_BUCKETS = 100
DEFAULT_EVAL_FRACTION = 0.2
# What the component reads when no input_config is given: the JSON files under input_base (not a LICENCE or
# README beside them, which TFX's default pattern "*" would also pick up).
DEFAULT_PATTERN = "*.json"
SINGLE_SPLIT = "single_split"  # TFX's name for the one input split of a default input_config


def eval_buckets(eval_fraction: float) -> int:
    """How many of the SPLIT_BUCKETS buckets go to eval; ValueError unless that is 1 .. SPLIT_BUCKETS - 1."""
    if isinstance(eval_fraction, bool) or not isinstance(eval_fraction, (int, float)):
        raise ValueError(f"eval_fraction must be a number, got {eval_fraction!r}")
    buckets = round(eval_fraction * SPLIT_BUCKETS)
    if not 0 < buckets < SPLIT_BUCKETS:
        raise ValueError(f"eval_fraction must be between {1 / SPLIT_BUCKETS:g} and {1 - 1 / SPLIT_BUCKETS:g} "
                         f"(it is rounded to 1/{SPLIT_BUCKETS}), got {eval_fraction!r}")
    return buckets


@dataclasses.dataclass(frozen=True)
class QaOptions(ExampleGenOptions):
    """How QaExampleGen reads SQuAD-format JSON.

    eval_fraction: with one input split and no output_config, the share of articles (not questions) that go
        to the "eval" output split, rounded to whole percent (`parsing.article_split`). Ignored when the input
        has its own train and eval files.
    max_skipped_fraction: the run fails (`data_counts.TooManySkippedRowsError`, naming the split's files and
        the counts per reason) when more than this fraction of a split's questions is skipped. Dropped answers
        of a question that keeps another valid answer do not count.
    """

    COMPONENT_NAME = "QaExampleGen"

    eval_fraction: float = DEFAULT_EVAL_FRACTION
    max_skipped_fraction: float = data_counts.DEFAULT_MAX_SKIPPED_FRACTION

    def __post_init__(self):
        eval_buckets(self.eval_fraction)
        data_counts.check_max_skipped_fraction(self.max_skipped_fraction)

    def to_dict(self) -> Dict[str, Any]:
        return {"eval_fraction": self.eval_fraction, "max_skipped_fraction": self.max_skipped_fraction}


# Read back in any form TFX hands an executor (components/example_gen_options.py).
from_custom_config = QaOptions.from_custom_config
from_exec_properties = QaOptions.from_exec_properties


def default_input_config() -> example_gen_pb2.Input:
    """One input split of every `*.json` file under input_base."""
    return example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name=SINGLE_SPLIT, pattern=DEFAULT_PATTERN)])


def article_split_output_config(eval_fraction: float = DEFAULT_EVAL_FRACTION) -> example_gen_pb2.Output:
    """train / eval output splits by a hash of the article title (`parsing.article_split` is the same rule)."""
    buckets = eval_buckets(eval_fraction)
    return example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(
        splits=[example_gen_pb2.SplitConfig.Split(name=TRAIN_SPLIT, hash_buckets=SPLIT_BUCKETS - buckets),
                example_gen_pb2.SplitConfig.Split(name=EVAL_SPLIT, hash_buckets=buckets)],
        partition_feature_name=features.QA_TITLE))


def check_output_config(output_config: example_gen_pb2.Output) -> None:
    """ValueError unless an output_config that partitions examples does so by article title: partitioning by
    question would give train and eval questions on the same context."""
    split_config = output_config.split_config
    if split_config.splits and split_config.partition_feature_name != features.QA_TITLE:
        got = split_config.partition_feature_name or "the whole example (no partition_feature_name)"
        raise ValueError(f"QaExampleGen output_config must split by article: set split_config.partition_feature_name "
                         f"to {features.QA_TITLE!r} (it partitions by {got}), or use "
                         "spec.article_split_output_config(eval_fraction)")
