"""ServingPusher's executor run directly on fake artifacts: blessing, PushedModel properties, options, errors;
and the component's wiring (spec, executor, custom_config). The canary is off here (test_canary.py runs it)."""

import dataclasses
import json
import os
import time

import pytest
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.utils import proto_utils

from components.serving_pusher import (CANARY_KEY, CANARY_TIMEOUT_KEY, CHECK_OPS_KEY, KEEP_VERSIONS_KEY,
                                       MODEL_NAME_KEY, ServingPushOptions)
from components.serving_pusher import executor as executor_lib
from components.serving_pusher import spec
from serving import canary, contract, layout
from serving import push as push_lib
from tests.components.serving_pusher.support import blessing, model_artifact, run_executor, versions
from tests.serving.support.exports import tiny_export


@pytest.fixture
def model(tmp_path):
    """A TFX Model artifact whose export is the tiny export."""
    return model_artifact(tmp_path / "trainer" / "model", tiny_export())


def test_a_blessed_model_is_pushed_and_the_pushed_model_says_where(tmp_path, model):
    base = str(tmp_path / "serving")
    inputs = {standard_component_specs.MODEL_KEY: [model],
              standard_component_specs.MODEL_BLESSING_KEY: [blessing(tmp_path, 1)]}
    pushed = run_executor(tmp_path, inputs, base)
    version_dir = os.path.join(base, layout.DEFAULT_MODEL_NAME, "1")
    assert pushed.get_int_custom_property("pushed") == 1
    assert pushed.get_string_custom_property("pushed_version") == "1"
    assert pushed.get_string_custom_property("pushed_destination") == version_dir
    assert versions(base) == [1]
    # The export is archived in the PushedModel artifact, as TFX's Pusher does.
    assert os.path.isfile(os.path.join(pushed.uri, contract.SAVED_MODEL_FILE))
    assert contract.read_metadata(version_dir) == contract.read_metadata(pushed.uri)

    # A rerun with the same model (an orchestrator retry) adds no version; a new model would.
    again = run_executor(tmp_path, inputs, base, name="again")
    assert again.get_int_custom_property("pushed") == 1 and again.get_string_custom_property("pushed_version") == "1"
    assert versions(base) == [1]


def test_a_model_that_is_not_blessed_is_not_pushed(tmp_path, model):
    base = tmp_path / "serving"
    for key, kind in ((standard_component_specs.MODEL_BLESSING_KEY, standard_artifacts.ModelBlessing),
                      (standard_component_specs.INFRA_BLESSING_KEY, standard_artifacts.InfraBlessing)):
        inputs = {standard_component_specs.MODEL_KEY: [model], key: [blessing(tmp_path, 0, kind)]}
        pushed = run_executor(tmp_path, inputs, str(base), name=key)
        assert pushed.get_int_custom_property("pushed") == 0
        assert not pushed.has_custom_property("pushed_version")
    assert not base.exists()


def test_custom_config_names_the_model_and_the_versions_kept(tmp_path, model):
    base = str(tmp_path / "serving")
    config = {MODEL_NAME_KEY: "sentiment", KEEP_VERSIONS_KEY: 1, CHECK_OPS_KEY: False}
    inputs = {standard_component_specs.MODEL_KEY: [model]}  # no blessing inputs: pushed (TFX only warns)
    run_executor(tmp_path, inputs, base, config, name="first")
    os.remove(os.path.join(model.uri, "Format-Serving", "fingerprint.pb"))  # not known to be the same: pushed
    pushed = run_executor(tmp_path, inputs, base, config, name="second")
    assert pushed.get_string_custom_property("pushed_version") == "2"
    assert pushed.get_string_custom_property("pushed_destination") == os.path.join(base, "sentiment", "2")
    assert sorted(os.listdir(os.path.join(base, "sentiment"))) == ["2"]  # keep_versions=1
    assert not os.path.exists(os.path.join(base, layout.DEFAULT_MODEL_NAME))


def test_unix_timestamp_versioning_gives_the_push_time(tmp_path, model):
    start = int(time.time())
    pushed = run_executor(tmp_path, {standard_component_specs.MODEL_KEY: [model]}, str(tmp_path / "serving"),
                          versioning=pusher_pb2.Versioning.UNIX_TIMESTAMP)
    assert start <= int(pushed.get_string_custom_property("pushed_version")) <= int(time.time())


@pytest.mark.parametrize("config, message", [
    ({"model_nmae": "albert"}, "unknown custom_config key"),
    ({MODEL_NAME_KEY: "a/b"}, MODEL_NAME_KEY),
    ({KEEP_VERSIONS_KEY: 0}, KEEP_VERSIONS_KEY),
    ({CHECK_OPS_KEY: "yes"}, CHECK_OPS_KEY),
    ({CANARY_KEY: "on"}, CANARY_KEY),
    ({CANARY_TIMEOUT_KEY: 0}, CANARY_TIMEOUT_KEY),
])
def test_bad_options_fail_even_for_a_model_that_is_not_blessed(tmp_path, model, config, message):
    inputs = {standard_component_specs.MODEL_KEY: [model],
              standard_component_specs.MODEL_BLESSING_KEY: [blessing(tmp_path, 0)]}
    with pytest.raises(ValueError, match=message):
        run_executor(tmp_path, inputs, str(tmp_path / "serving"), config)


def test_a_bad_export_fails_the_push_and_writes_nothing(tmp_path, model):
    os.remove(contract.metadata_path(os.path.join(model.uri, "Format-Serving")))
    for canary_on in (False, True):  # with the canary too: an error before any server starts, not a blocked push
        with pytest.raises(push_lib.PushError, match="not an albert-tfx export"):
            run_executor(tmp_path, {standard_component_specs.MODEL_KEY: [model]}, str(tmp_path / "serving"),
                         {CANARY_KEY: canary_on})
    assert not (tmp_path / "serving").exists()


def test_the_component_is_tfx_pusher_with_our_executor_and_options(tmp_path):
    from tfx.components import Pusher
    from tfx.types import channel

    from components.serving_pusher import ServingPusher

    model = channel.Channel(type=standard_artifacts.Model)
    blessing = channel.Channel(type=standard_artifacts.ModelBlessing)
    pusher = ServingPusher(model=model, model_blessing=blessing, serving_base="/srv/models", model_name="sentiment",
                           keep_versions=4)
    assert isinstance(pusher, Pusher) and pusher.executor_spec.executor_class is executor_lib.Executor
    properties = pusher.exec_properties
    assert json.loads(properties[standard_component_specs.CUSTOM_CONFIG_KEY]) == {
        MODEL_NAME_KEY: "sentiment", KEEP_VERSIONS_KEY: 4, CHECK_OPS_KEY: True, CANARY_KEY: True,
        CANARY_TIMEOUT_KEY: canary.DEFAULT_TIMEOUT_S}
    destination = proto_utils.json_to_proto(properties[standard_component_specs.PUSH_DESTINATION_KEY],
                                            pusher_pb2.PushDestination())
    assert destination.filesystem.base_directory == "/srv/models"
    assert executor_lib.serving_base(properties) == ("/srv/models", pusher_pb2.Versioning.AUTO)
    assert executor_lib.push_options(properties) == ServingPushOptions("sentiment", 4, True)
    assert set(pusher.outputs) == {standard_component_specs.PUSHED_MODEL_KEY}
    # TFX's Pusher inputs, and the raw examples the canary samples.
    assert set(pusher.spec.INPUTS) == set(Pusher.SPEC_CLASS.INPUTS) | {standard_component_specs.EXAMPLES_KEY}
    examples = channel.Channel(type=standard_artifacts.Examples)
    with_examples = ServingPusher(model=model, serving_base="/srv/models", examples=examples, canary_timeout_s=30)
    assert with_examples.inputs[standard_component_specs.EXAMPLES_KEY] is examples
    assert executor_lib.push_options(with_examples.exec_properties).canary_timeout_s == 30

    with pytest.raises(ValueError, match="exactly one of serving_base and push_destination"):
        ServingPusher(model=model)
    with pytest.raises(ValueError, match=KEEP_VERSIONS_KEY):
        ServingPusher(model=model, serving_base="/srv/models", keep_versions=-1)


def test_options_take_the_serving_layout_defaults_and_model_name_rule():
    from tfx.types import channel

    from components.serving_pusher import ServingPusher

    assert spec.ServingPushOptions is ServingPushOptions
    assert ServingPushOptions() == ServingPushOptions(layout.DEFAULT_MODEL_NAME, layout.DEFAULT_KEEP_VERSIONS, True)
    assert [field.name for field in dataclasses.fields(ServingPushOptions)] == list(spec.KEYS)  # custom_config's keys
    options = ServingPushOptions("sentiment-v2_zh", None, False, canary=False, canary_timeout_s=12.5)
    assert ServingPushOptions.from_custom_config(json.loads(json.dumps(options.to_custom_config()))) == options
    for name in ("模型", "", "-albert", "a b", 3):  # ASCII only, as TF Serving's paths and metrics need
        with pytest.raises(layout.InvalidModelName, match=MODEL_NAME_KEY):
            ServingPushOptions(model_name=name)
    pusher = ServingPusher(model=channel.Channel(type=standard_artifacts.Model), serving_base="/srv/models")
    assert executor_lib.push_options(pusher.exec_properties) == ServingPushOptions()
