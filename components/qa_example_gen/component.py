"""QaExampleGen: a FileBasedExampleGen for SQuAD-format JSON (SQuAD v1.1 / v2.0, CMRC 2018, DRCD)."""

from typing import Any, Mapping, Optional, Union

from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2, range_config_pb2

from components.qa_example_gen import executor
from components.qa_example_gen import spec as spec_lib
from components.qa_example_gen.spec import QaOptions


class QaExampleGen(FileBasedExampleGen):
    """Reads SQuAD-format JSON into one tf.Example per question, counting and skipping bad entries.

    ```
    # the user's own files: train and eval as they are
    example_gen = QaExampleGen(input_base=data_dir, input_config=example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name="train", pattern="train.json"),
        example_gen_pb2.Input.Split(name="eval", pattern="dev.json")]))
    # one file (every *.json under input_base), split into train and eval by article
    example_gen = QaExampleGen(input_base="../shared/datasets/cmrc2018", options=QaOptions(eval_fraction=0.2))
    example_gen.outputs["examples"]  # Examples; qa_example_gen_summary.json at the artifact's root
    ```

    A FileBasedExampleGen (TFX's spec) with `executor.Executor` (a BaseExampleGenExecutor), so input_config,
    range_config and `{SPAN}`/`{VERSION}` patterns behave as in CsvExampleGen. Two defaults differ: without
    input_config it reads `*.json` under input_base (not every file there); with one input split and no
    output_config it splits by article, `spec.article_split_output_config(options.eval_fraction)`, not by
    example. An output_config that partitions by anything but the article title is refused (ValueError):
    questions on one paragraph share its context, so splitting them would leak eval passages into training.
    The options (`QaOptions` or a dict of its fields) travel as `custom_config`; bad values raise a
    ValueError naming the field here, when the pipeline is built. The id is "QaExampleGen" unless `with_id`.
    """

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        input_base: str,
        options: Union[QaOptions, Mapping[str, Any], None] = None,
        input_config: Optional[example_gen_pb2.Input] = None,
        output_config: Optional[example_gen_pb2.Output] = None,
        range_config: Optional[range_config_pb2.RangeConfig] = None,
    ):
        options = QaOptions.coerce(options)
        if input_config is None:
            input_config = spec_lib.default_input_config()
        if output_config is None and len(input_config.splits) == 1:
            output_config = spec_lib.article_split_output_config(options.eval_fraction)
        if output_config is not None:
            spec_lib.check_output_config(output_config)
        self.qa_options = options
        super().__init__(
            input_base=input_base,
            input_config=input_config,
            output_config=output_config,
            custom_config=options.to_custom_config(),
            range_config=range_config,
        )
