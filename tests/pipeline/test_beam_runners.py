"""Beam on any runner: `orchestration.beam_runner` / `beam_pipeline_args` / `--beam-arg`, checked at config
time, reaching every Beam step of the local runner and the Airflow DAG (the Kubeflow JSON:
test_kubeflow_runner.py), and our Beam steps giving DirectRunner's outputs under Beam's PortableRunner with
the embedded job service (the portability path of the Flink and Spark runners)."""

import json
import os
import pathlib

import pytest

from albert_tfx import cli
from pipeline.configs import BEAM_RUNNERS, REQUIRED_BEAM_OPTIONS, ConfigError, PipelineConfig
from tests.support import REPO_ROOT

# Complete settings for each runner; spark's in the two-token form Beam also reads.
RUNNER_ARGS = {
    "direct": [],
    "dataflow": ["--project=acme-ml", "--region=europe-west4", "--temp_location=gs://acme-ml/tmp",
                 "--staging_location=gs://acme-ml/staging", "--sdk_container_image=eu.gcr.io/acme/albert-tfx:1"],
    "flink": ["--flink_master=flink-jobmanager:8081", "--parallelism=4"],
    "spark": ["--spark_master_url", "spark://spark-master:7077"],
    "portable": ["--job_endpoint=localhost:8099", "--environment_type=LOOPBACK"],
}
PORTABLE_EMBEDDED = {"orchestration.beam_runner": "portable",
                     "orchestration.beam_pipeline_args": ["--job_endpoint=embed", "--environment_type=LOOPBACK"]}
BEAM_STEPS = {"TextExampleGen", "StatisticsGen", "SentencePieceVocab", "VocabTransform", "PretrainingDataGen",
              "Evaluator"}


def _config(runner, args, **overrides):
    return PipelineConfig().with_overrides({"orchestration.beam_runner": runner,
                                            "orchestration.beam_pipeline_args": list(args), **overrides})


def _cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- the config ------------------------------------------------------------------------------------------


def test_the_default_is_the_direct_runner_on_the_configured_workers():
    assert PipelineConfig().orchestration.beam_args() == [
        "--runner=DirectRunner", "--direct_num_workers=2", "--direct_running_mode=multi_processing",
        "--beam_plugins=pipeline.beam_worker"]  # worker processes: see tests/pipeline/test_beam_worker.py
    one = PipelineConfig().with_overrides({"orchestration.beam_num_workers": 1})
    assert one.orchestration.beam_args() == ["--runner=DirectRunner", "--direct_num_workers=1"]


@pytest.mark.parametrize("runner", sorted(BEAM_RUNNERS))
def test_each_runner_gets_its_runner_and_the_given_args_and_only_direct_gets_directrunner_args(runner):
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    args = _config(runner, RUNNER_ARGS[runner]).orchestration.beam_args()
    assert args[0] == f"--runner={BEAM_RUNNERS[runner]}"
    assert args[len(args) - len(RUNNER_ARGS[runner]):] == RUNNER_ARGS[runner]
    assert any(arg.startswith("--direct_") for arg in args) == (runner == "direct")
    # What the runner will read: Beam's own parser over the final list.
    options = PipelineOptions(args)
    assert options.view_as(StandardOptions).runner == BEAM_RUNNERS[runner]
    given = options.get_all_options(drop_default=True)
    for option in REQUIRED_BEAM_OPTIONS[runner]:
        assert given[option]


@pytest.mark.parametrize("runner, missing", [(runner, option) for runner, options in REQUIRED_BEAM_OPTIONS.items()
                                             for option in options])
def test_a_missing_runner_option_is_a_one_line_error_naming_it(runner, missing):
    args = [arg for arg in RUNNER_ARGS[runner] if not arg.startswith(f"--{missing}")]
    if runner == "spark":
        args = []  # its option and value are two tokens
    with pytest.raises(ConfigError) as error:
        _config(runner, args)
    message = str(error.value)
    assert f"orchestration.beam_runner={runner} needs --{missing}" in message and "\n" not in message


@pytest.mark.parametrize("option", ["temp_location", "staging_location"])
def test_dataflow_locations_must_be_on_cloud_storage(option):
    args = [f"--{option}=/tmp/local" if arg.startswith(f"--{option}=") else arg for arg in RUNNER_ARGS["dataflow"]]
    with pytest.raises(ConfigError, match=rf"--{option} must be a gs:// path for the dataflow runner, got '/tmp/local'"):
        _config("dataflow", args)


@pytest.mark.parametrize("runner, arg, message", [
    ("direct", "--runner=DataflowRunner", "must not set --runner: set orchestration.beam_runner instead"),
    ("direct", "--direct_num_workers=4", "must not set --direct_num_workers: set orchestration.beam_num_workers"),
    ("flink", "--direct_running_mode=in_memory", "--direct_running_mode is a DirectRunner option; "
                                                 "orchestration.beam_runner=flink does not take it"),
])
def test_options_the_config_owns_are_refused_in_the_args(runner, arg, message):
    with pytest.raises(ConfigError, match=message):
        _config(runner, [*RUNNER_ARGS[runner], arg])


def test_an_unknown_runner_names_the_choices():
    with pytest.raises(ConfigError, match=r"orchestration.beam_runner must be one of \['direct', 'dataflow', "
                                          r"'flink', 'spark', 'portable'\], got 'samza'"):
        _config("samza", [])


# --- the CLI ---------------------------------------------------------------------------------------------


def test_beam_arg_appends_to_the_config_files_args(capsys, tmp_path):
    config_file = tmp_path / "p.yaml"
    config_file.write_text("orchestration:\n  beam_runner: portable\n  beam_pipeline_args: ['--job_endpoint=jobs:8099']\n")
    code, out, _ = _cli(capsys, "run", "--config", str(config_file), "--beam-arg=--environment_type=LOOPBACK",
                        "--beam-arg=--experiments=a,b", "--print-config")
    assert code == 0
    import yaml

    printed = yaml.safe_load(out)["orchestration"]
    assert printed["beam_runner"] == "portable"
    assert printed["beam_pipeline_args"] == ["--job_endpoint=jobs:8099", "--environment_type=LOOPBACK",
                                             "--experiments=a,b"]


def test_beam_arg_is_checked_with_the_runner_set_on_the_command_line(capsys, tmp_path):
    target = tmp_path / "pipeline.json"
    code, _, err = _cli(capsys, "compile", "--target", "kubeflow", "--output-file", str(target),
                        "--set", "orchestration.beam_runner=dataflow", "--beam-arg=--project=acme-ml",
                        "--beam-arg=--region=europe-west4", "--beam-arg=--temp_location=gs://acme-ml/tmp")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "orchestration.beam_runner=dataflow needs --staging_location" in err
    assert not target.exists()
    code, _, err = _cli(capsys, "run", "--print-config", "--set", "orchestration.beam_pipeline_args=--x=1",
                        "--beam-arg=--y=2")
    assert code == 2 and "give that list with --set or with --beam-arg, not both" in err


# --- the orchestrators -----------------------------------------------------------------------------------


def test_the_local_runner_gives_every_beam_step_the_configs_args(tmp_path):
    """The pipeline as LocalDagRunner runs it: TFX's compiled IR, whose Beam executor specs carry the args."""
    from tfx.dsl.compiler import compiler
    from tfx.proto.orchestration import executable_spec_pb2, pipeline_pb2

    from pipeline.pipeline import create_pipeline

    config = _config("flink", RUNNER_ARGS["flink"], **{
        "pretraining.enabled": True, "orchestration.output_dir": str(tmp_path / "out")}).resolved()
    ir = compiler.Compiler().compile(create_pipeline(config))
    deployment = pipeline_pb2.IntermediateDeploymentConfig()
    ir.deployment_config.Unpack(deployment)
    beam_steps = {}
    for node_id, spec in deployment.executor_specs.items():
        if spec.Is(executable_spec_pb2.BeamExecutableSpec.DESCRIPTOR):
            beam = executable_spec_pb2.BeamExecutableSpec()
            spec.Unpack(beam)
            beam_steps[node_id] = [arg.value.string_value for arg in beam.beam_pipeline_args_placeholders]
    assert BEAM_STEPS <= set(beam_steps)
    for node_id, args in beam_steps.items():
        assert args == config.orchestration.beam_args(), node_id


def test_the_airflow_dag_gives_every_task_the_configs_args(tmp_path, monkeypatch):
    """The DAG file as Airflow loads it (the config round-trips through the file)."""
    from airflow.models import DagBag

    from pipeline import airflow_dag

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow_home"))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    config = _config("spark", RUNNER_ARGS["spark"], **{
        "orchestration.pipeline_name": "albert-spark", "orchestration.output_dir": str(tmp_path / "out"),
        "serving.serving_dir": str(tmp_path / "serving")})
    path = airflow_dag.write_dag_file(config, str(tmp_path / "dags" / "albert_dag.py"))
    dag_bag = DagBag(dag_folder=os.path.dirname(path), include_examples=False)
    assert dag_bag.import_errors == {}
    tasks = {task.task_id: task for task in dag_bag.dags["albert-spark"].tasks}
    assert BEAM_STEPS - {"PretrainingDataGen"} <= set(tasks)
    expected = ["--runner=SparkRunner", "--spark_master_url", "spark://spark-master:7077"]
    assert config.orchestration.beam_args() == expected
    for name, task in tasks.items():  # TFX's AirflowComponent: the launcher's arguments
        assert task.python_callable.keywords["beam_pipeline_args"] == expected, name


# --- our Beam steps under the PortableRunner -------------------------------------------------------------


def _write_documents(directory: pathlib.Path) -> None:
    """train.tsv / dev.tsv of the bundled sample, four of its sentences per row (PretrainingDataGen needs
    documents of several sentences)."""
    sample = (REPO_ROOT / "data" / "sample" / "span-1" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    rows = [line.split("\t") for line in sample if line.strip()]
    documents = [(" ".join(text for text, _ in rows[i:i + 4]), rows[i][1]) for i in range(0, 320, 4)]
    directory.mkdir(parents=True)
    for name, part in (("train.tsv", documents[:64]), ("dev.tsv", documents[64:])):
        (directory / name).write_text("text\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in part),
                                      encoding="utf-8")


def _run_beam_steps(root: pathlib.Path, data: pathlib.Path, beam_args) -> pathlib.Path:
    """TextExampleGen -> SentencePieceVocab -> PretrainingDataGen and VocabTransform (TFX's Transform), each
    executor run as TFX runs it with `beam_args`; their outputs under `root`."""
    from google.protobuf import json_format
    from tfx.proto import example_gen_pb2
    from tfx.types import standard_artifacts
    from tfx.types import standard_component_specs as keys

    from components import artifacts
    from components.pretraining_data import executor as pretraining_executor
    from components.pretraining_data import spec as pretraining_spec
    from components.sentencepiece_vocab import executor as vocab_executor
    from components.sentencepiece_vocab import spec as vocab_spec
    from components.text_example_gen import executor as example_gen_executor
    from components.text_example_gen.spec import TextOptions
    from components.vocab_transform import executor as transform_executor
    from components.vocab_transform import spec as transform_spec
    from pipeline.pipeline import PREPROCESSING_FN
    from text_contract.transform_options import TransformOptions

    def artifact(cls, name):
        made = cls()
        made.uri = str(root / name)
        return made

    def context(executor, name):
        return executor.Executor.Context(beam_pipeline_args=list(beam_args), tmp_dir=str(root / "tmp" / name),
                                         unique_id=name)

    examples = artifact(standard_artifacts.Examples, "examples")
    input_config = example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="train", pattern="train.tsv"),
                                                 example_gen_pb2.Input.Split(name="eval", pattern="dev.tsv")])
    example_gen_executor.Executor(context(example_gen_executor, "example_gen")).Do({}, {keys.EXAMPLES_KEY: [examples]}, {
        keys.INPUT_BASE_KEY: str(data),
        keys.CUSTOM_CONFIG_KEY: json_format.MessageToJson(TextOptions(delimiter="\t").to_custom_config()),
        keys.INPUT_CONFIG_KEY: json_format.MessageToJson(input_config),
        keys.OUTPUT_CONFIG_KEY: json_format.MessageToJson(example_gen_pb2.Output()),
        keys.OUTPUT_DATA_FORMAT_KEY: example_gen_pb2.FORMAT_TF_EXAMPLE,
        keys.OUTPUT_FILE_FORMAT_KEY: example_gen_pb2.FORMAT_TFRECORDS_GZIP})

    vocabulary = artifact(artifacts.SentencePieceModel, "vocabulary")
    vocab_executor.Executor(context(vocab_executor, "vocabulary")).Do(
        {vocab_spec.EXAMPLES_KEY: [examples]}, {vocab_spec.SENTENCEPIECE_MODEL_KEY: [vocabulary]},
        {vocab_spec.TEXT_FEATURES_KEY: json.dumps(["text"]), vocab_spec.VOCAB_SIZE_KEY: 200})

    pretraining = artifact(standard_artifacts.Examples, "pretraining")
    pretraining_executor.Executor(context(pretraining_executor, "pretraining")).Do(
        {pretraining_spec.SENTENCEPIECE_MODEL_KEY: [vocabulary], pretraining_spec.EXAMPLES_KEY: [examples]},
        {pretraining_spec.PRETRAINING_EXAMPLES_KEY: [pretraining]},
        {pretraining_spec.TEXT_FEATURE_KEY: "text", pretraining_spec.SPLITS_KEY: json.dumps(["train"]),
         "max_seq_length": 32, pretraining_spec.NUM_SHARDS_KEY: 2})

    schema = artifact(standard_artifacts.Schema, "schema")
    os.makedirs(schema.uri)
    pathlib.Path(schema.uri, "schema.pbtxt").write_text(
        'feature { name: "text" type: BYTES }\nfeature { name: "label" type: BYTES }\n', encoding="utf-8")
    options = TransformOptions(text_features=("text",), label_feature="label", max_seq_length=32, lower_case=False)
    transform_executor.Executor(context(transform_executor, "transform")).Do(
        {keys.EXAMPLES_KEY: [examples], keys.SCHEMA_KEY: [schema], transform_spec.SENTENCEPIECE_MODEL_KEY: [vocabulary]},
        {keys.TRANSFORM_GRAPH_KEY: [artifact(standard_artifacts.TransformGraph, "transform_graph")],
         keys.TRANSFORMED_EXAMPLES_KEY: [artifact(standard_artifacts.Examples, "transformed")]},
        {keys.PREPROCESSING_FN_KEY: PREPROCESSING_FN, keys.DISABLE_STATISTICS_KEY: 1,
         transform_spec.CUSTOM_CONFIG_KEY: json.dumps(options.to_custom_config())})
    return root


def _records(directory: pathlib.Path):
    """The tf.Examples of every gzipped TFRecord file under `directory`, each serialized deterministically (the
    runners write a feature map in different orders: the same Example, other bytes), sorted (shards aside)."""
    import tensorflow as tf

    files = sorted(str(path) for path in directory.glob("*.gz"))
    assert files, f"no records under {directory}"
    return sorted(tf.train.Example.FromString(record.numpy()).SerializeToString(deterministic=True)
                  for record in tf.data.TFRecordDataset(files, compression_type="GZIP"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    data = tmp_path_factory.mktemp("runners") / "data"
    _write_documents(data)
    direct = PipelineConfig().with_overrides({"orchestration.beam_num_workers": 1})
    portable = PipelineConfig().with_overrides(PORTABLE_EMBEDDED)
    return {name: _run_beam_steps(tmp_path_factory.mktemp(name), data, config.orchestration.beam_args())
            for name, config in (("direct", direct), ("portable", portable))}


@pytest.mark.slow
def test_text_example_gen_writes_the_same_examples_under_the_portable_runner(runs):
    for split, count in (("train", 64), ("eval", 16)):
        direct = _records(runs["direct"] / "examples" / f"Split-{split}")
        assert len(direct) == count
        assert _records(runs["portable"] / "examples" / f"Split-{split}") == direct, split


@pytest.mark.slow
def test_sentencepiece_vocab_trains_the_same_model_under_the_portable_runner(runs):
    from components import artifacts

    direct, portable = (runs[name] / "vocabulary" for name in ("direct", "portable"))
    assert pathlib.Path(artifacts.model_path(str(portable))).read_bytes() == \
        pathlib.Path(artifacts.model_path(str(direct))).read_bytes()
    assert artifacts.read_summary(str(portable)) == artifacts.read_summary(str(direct))
    assert artifacts.read_summary(str(direct))["pieces"] == 200


@pytest.mark.slow
def test_pretraining_data_gen_writes_the_same_bytes_under_the_portable_runner(runs):
    def outputs(name):
        directory = runs[name] / "pretraining"
        shards = {path.name: path.read_bytes() for path in sorted((directory / "Split-train").iterdir())}
        return shards, (directory / "summary.json").read_bytes()

    direct = outputs("direct")
    assert len(direct[0]) == 2 and json.loads(direct[1])["instances_written"] > 0
    assert outputs("portable") == direct


@pytest.mark.slow
def test_vocab_transform_gives_the_same_examples_and_graph_assets_under_the_portable_runner(runs):
    for split in ("train", "eval"):
        direct = _records(runs["direct"] / "transformed" / f"Split-{split}")
        assert _records(runs["portable"] / "transformed" / f"Split-{split}") == direct, split
    for asset in ("transform_fn/assets/label_vocabulary", "transformed_metadata/schema.pbtxt"):
        direct = (runs["direct"] / "transform_graph" / asset).read_bytes()
        assert (runs["portable"] / "transform_graph" / asset).read_bytes() == direct, asset
