"""TextExampleGen: a FileBasedExampleGen for delimited text (CSV, TSV) that counts bad rows instead of failing."""

from typing import Any, Mapping, Optional, Union

from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2, range_config_pb2

from components.text_example_gen import executor
from components.text_example_gen.spec import TextOptions


class TextExampleGen(FileBasedExampleGen):
    """Reads delimited text files into tf.Examples (one feature per column), counting and skipping bad rows.

    ```
    example_gen = TextExampleGen(
        input_base="../shared/datasets/mrpc",
        options=TextOptions(delimiter="\\t", quoting="none"),
        input_config=example_gen_pb2.Input(splits=[
            example_gen_pb2.Input.Split(name="train", pattern="train.tsv"),
            example_gen_pb2.Input.Split(name="eval", pattern="dev.tsv"),
        ]),
    )
    example_gen.outputs["examples"]  # Examples; text_example_gen_summary.json at the artifact's root
    ```

    A FileBasedExampleGen (TFX's spec, see spec.py) with `executor.Executor` (a BaseExampleGenExecutor), so
    input_config, output_config, range_config and `{SPAN}`/`{VERSION}` patterns behave as in CsvExampleGen. The options
    (`TextOptions` or a dict of its fields) travel as `custom_config`; bad values raise a ValueError naming
    the field here, when the pipeline is built. The component's id is "TextExampleGen" unless `with_id`.
    """

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        input_base: str,
        options: Union[TextOptions, Mapping[str, Any], None] = None,
        input_config: Optional[example_gen_pb2.Input] = None,
        output_config: Optional[example_gen_pb2.Output] = None,
        range_config: Optional[range_config_pb2.RangeConfig] = None,
    ):
        options = TextOptions.coerce(options)
        self.text_options = options
        super().__init__(
            input_base=input_base,
            input_config=input_config,
            output_config=output_config,
            custom_config=options.to_custom_config(),
            range_config=range_config,
        )
