"""Where the canary before the push runs: in the ServingPusher (local runner, Airflow), or as TFX's InfraValidator
with the TF Serving image in the compiled Kubeflow JSON; `serving.canary: false` turns both off."""

import json

import pytest
from tfx.types import standard_component_specs

from components.serving_pusher import CANARY_KEY, CANARY_TIMEOUT_KEY
from pipeline import kubeflow_runner
from pipeline.configs import PipelineConfig
from pipeline.pipeline import create_pipeline
from serving import contract, deploy


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    config = PipelineConfig().with_overrides({"serving.serving_dir": "gs://acme-ml/serving",
                                              "serving.canary_timeout_s": "240"})
    path = kubeflow_runner.compile_pipeline(config, str(tmp_path_factory.mktemp("kfp") / "pipeline.json"))
    with open(path) as handle:
        return json.load(handle)


def _parameter(task, name):
    return task["inputs"]["parameters"][name]["runtimeValue"]["constantValue"]["stringValue"]


def test_the_kubeflow_pipeline_validates_with_tf_serving_before_the_pusher(compiled):
    tasks = compiled["pipelineSpec"]["root"]["dag"]["tasks"]
    validator, pusher = tasks["InfraValidator"], tasks["ServingPusher"]
    serving_spec = json.loads(_parameter(validator, standard_component_specs.SERVING_SPEC_KEY))
    image, _, tag = deploy.TF_SERVING_IMAGE.rpartition(":")
    assert serving_spec["tensorflow_serving"] == {"image_name": image, "tags": [tag]}
    assert "kubernetes" in serving_spec and serving_spec["model_name"] == PipelineConfig().serving.model_name
    assert json.loads(_parameter(validator, standard_component_specs.VALIDATION_SPEC_KEY)) == {
        "max_loading_time_seconds": 240}
    request_spec = json.loads(_parameter(validator, standard_component_specs.REQUEST_SPEC_KEY))
    assert request_spec["tensorflow_serving"]["signature_names"] == [contract.CLASSIFY_SIGNATURE,
                                                                     contract.EXAMPLES_SIGNATURE]
    assert {"Trainer", "TextExampleGen"} <= set(validator["dependentTasks"])

    # The Pusher waits for the InfraValidator and reads its blessing; its own canary is off (TF Serving did it).
    assert "InfraValidator" in pusher["dependentTasks"]
    infra_blessing = pusher["inputs"]["artifacts"][standard_component_specs.INFRA_BLESSING_KEY]
    assert infra_blessing["taskOutputArtifact"]["producerTask"] == "InfraValidator"
    custom_config = json.loads(_parameter(pusher, standard_component_specs.CUSTOM_CONFIG_KEY))
    assert custom_config[CANARY_KEY] is False


def _pusher(pipeline):
    [pusher] = [c for c in pipeline.components if c.id == "ServingPusher"]
    return pusher, json.loads(pusher.exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY])


def test_locally_the_pusher_runs_the_canary_on_the_eval_examples_and_the_switch_turns_it_off():
    config = PipelineConfig().with_overrides({"serving.canary_timeout_s": "90"})
    pipeline = create_pipeline(config)
    pusher, custom_config = _pusher(pipeline)
    assert (custom_config[CANARY_KEY], custom_config[CANARY_TIMEOUT_KEY]) == (True, 90)
    assert standard_component_specs.EXAMPLES_KEY in pusher.inputs
    assert "InfraValidator" not in [c.id for c in pipeline.components]

    for canary in ("pusher", "infra_validator"):
        off = create_pipeline(PipelineConfig().with_overrides({"serving.canary": "false"}), canary=canary)
        assert _pusher(off)[1][CANARY_KEY] is False
        assert "InfraValidator" not in [c.id for c in off.components]
    with pytest.raises(ValueError, match="canary must be one of"):
        create_pipeline(config, canary="docker")


def test_the_run_summary_says_in_one_line_why_the_canary_blocked_the_push():
    from pipeline.local_runner import RunSummary

    reason = "the server could not load the candidate: DataLossError: truncated record at 999"
    summary = RunSummary(output_dir="out", span=None, blessed=True, metrics={}, baseline_metrics={}, pushed=False,
                         pushed_destination=None, pushed_version=None, seconds=60.0, components=[],
                         canary_failure=reason)
    assert summary.lines()[-1] == f"pushed: no, the canary failed (the serving directory is unchanged): {reason}"
    blocked_by_the_gate = RunSummary(**{**summary.__dict__, "blessed": False, "canary_failure": None})
    assert blocked_by_the_gate.lines()[-1] == "pushed: no (the serving directory is unchanged)"
