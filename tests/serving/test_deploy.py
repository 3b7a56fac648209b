"""The deployment configs parse as TF Serving's protos and agree with each other, the contract and the pins."""

import os
import re

import pytest
import tensorflow as tf
import yaml

from serving import layout
from serving import deploy
from serving import warmup
from serving.deploy import config_protos

FILES = (deploy.MODELS_CONFIG, deploy.BATCHING_CONFIG, deploy.MONITORING_CONFIG)


def _yaml(name):
    with open(deploy.deploy_file(name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _flags(args):
    """{"--flag": "value"} of a server command line."""
    return dict(arg.split("=", 1) for arg in args)


def _host_and_container(volume):
    """("./models.config", "/config/models.config") of "./models.config:/config/models.config:ro"."""
    parts = volume.rsplit(":", 2)
    return tuple(parts[:2]) if parts[-1] in ("ro", "rw") else tuple(volume.rsplit(":", 1))


@pytest.fixture(scope="module")
def model_config():
    configs = config_protos.load_model_server_config().model_config_list.config
    assert len(configs) == 1
    return configs[0]


def test_models_config_serves_the_pushed_versions_of_our_model(model_config):
    assert model_config.name == layout.DEFAULT_MODEL_NAME
    # The container mounts push's serving base at /models; push writes <base>/<model name>/<version>/.
    assert model_config.base_path == f"{deploy.CONTAINER_MODEL_ROOT}/{layout.DEFAULT_MODEL_NAME}"
    assert model_config.model_platform == "tensorflow"
    served = model_config.model_version_policy.latest.num_versions
    assert served == 2
    assert layout.DEFAULT_KEEP_VERSIONS > served  # push never deletes a version the server may still serve


def test_batching_parameters_are_valid_for_tf_serving():
    batching = config_protos.load_batching_parameters()
    sizes = list(batching.allowed_batch_sizes)
    assert batching.max_batch_size.value == 32
    assert sizes == sorted(set(sizes)) and sizes[-1] == batching.max_batch_size.value  # TF Serving's rules
    assert batching.batch_timeout_micros.value > 0 and batching.num_batch_threads.value >= 1
    assert batching.max_enqueued_batches.value >= 1
    assert set(warmup.DEFAULT_BATCH_SIZES) <= set(sizes)  # every warmed-up size is a size batches are padded to


def test_monitoring_exposes_prometheus_metrics_where_prometheus_scrapes():
    monitoring = config_protos.load_monitoring_config()
    assert monitoring.prometheus_config.enable
    assert monitoring.prometheus_config.path == deploy.PROMETHEUS_METRICS_PATH
    job = _yaml("prometheus.yml")["scrape_configs"][0]
    assert job["metrics_path"] == deploy.PROMETHEUS_METRICS_PATH
    assert job["static_configs"][0]["targets"] == [f"tf-serving:{deploy.REST_PORT}"]


def test_a_typo_in_a_config_file_is_caught(tmp_path):
    path = tmp_path / "batching.config"
    path.write_text("max_batch_sise { value: 32 }\n")
    with pytest.raises(ValueError, match=r"batching.config: 1:1 .*max_batch_sise"):
        config_protos.parse_text_file(str(path), config_protos.BatchingParameters())


def test_the_image_pins_the_tensorflow_we_build_with():
    assert deploy.TF_SERVING_IMAGE == f"tensorflow/serving:{deploy.TF_SERVING_VERSION}"
    major_minor = ".".join(tf.__version__.split(".")[:2])
    assert deploy.TF_SERVING_VERSION.startswith(major_minor + ".")  # the op check relies on it


def test_docker_compose_runs_the_server_on_our_configs():
    service = _yaml("docker-compose.yml")["services"]["tf-serving"]
    assert service["image"] == deploy.TF_SERVING_IMAGE
    assert service["ports"] == [f"{deploy.GRPC_PORT}:{deploy.GRPC_PORT}", f"{deploy.REST_PORT}:{deploy.REST_PORT}"]
    flags = _flags(service["command"])
    assert flags["--port"] == str(deploy.GRPC_PORT) and flags["--rest_api_port"] == str(deploy.REST_PORT)
    assert flags["--enable_batching"] == "true" and int(flags["--model_config_file_poll_wait_seconds"]) > 0
    mounts = dict(_host_and_container(volume) for volume in service["volumes"])
    for flag, name in (("--model_config_file", deploy.MODELS_CONFIG),
                       ("--batching_parameters_file", deploy.BATCHING_CONFIG),
                       ("--monitoring_config_file", deploy.MONITORING_CONFIG)):
        assert flags[flag] == f"{deploy.CONTAINER_CONFIG_DIR}/{name}"
        host = [h for h, container in mounts.items() if container == flags[flag]]
        assert host == [f"./{name}"] and os.path.isfile(deploy.deploy_file(name))
    assert any(container == deploy.CONTAINER_MODEL_ROOT for container in mounts.values())
    assert f"/v1/models/{layout.DEFAULT_MODEL_NAME}/metadata" in " ".join(service["healthcheck"]["test"])


def test_kubernetes_deployment_matches_compose_and_probes_the_model(model_config):
    deployment = _yaml("k8s/deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == deploy.TF_SERVING_IMAGE
    assert container["args"] == _yaml("docker-compose.yml")["services"]["tf-serving"]["command"]  # one server setup
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": deploy.GRPC_PORT, "http": deploy.REST_PORT}

    readiness = container["readinessProbe"]["httpGet"]
    assert readiness["path"] == f"/v1/models/{model_config.name}/metadata"  # ready once a version is loaded
    assert ports[readiness["port"]] == deploy.REST_PORT
    assert ports[container["livenessProbe"]["tcpSocket"]["port"]] == deploy.GRPC_PORT
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])

    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["models"]["mountPath"] == deploy.CONTAINER_MODEL_ROOT and mounts["models"]["readOnly"]
    assert mounts["config"]["mountPath"] == deploy.CONTAINER_CONFIG_DIR
    volumes = {v["name"]: v for v in pod["volumes"]}
    generated = _yaml("kustomization.yaml")["configMapGenerator"][0]
    assert volumes["config"]["configMap"]["name"] == generated["name"]
    assert sorted(generated["files"]) == sorted(FILES)
    assert deployment["spec"]["selector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"][
        "labels"].items()


def test_kubernetes_service_exposes_grpc_and_http_of_the_deployment():
    service = _yaml("k8s/service.yaml")
    deployment = _yaml("k8s/deployment.yaml")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    ports = {p["name"]: (p["port"], p["targetPort"]) for p in service["spec"]["ports"]}
    assert ports == {"grpc": (deploy.GRPC_PORT, "grpc"), "http": (deploy.REST_PORT, "http")}


def test_kustomization_names_files_that_exist():
    kustomization = _yaml("kustomization.yaml")
    for name in kustomization["resources"] + kustomization["configMapGenerator"][0]["files"]:
        assert os.path.isfile(deploy.deploy_file(name)), name


def test_the_model_name_is_spelled_once():
    """Every config that names the served model uses the contract's default name."""
    for name in ("docker-compose.yml", "k8s/deployment.yaml", deploy.MODELS_CONFIG):
        with open(deploy.deploy_file(name), encoding="utf-8") as handle:
            text = handle.read()
        assert set(re.findall(r"/models/(\w+)", text)) == {layout.DEFAULT_MODEL_NAME}, name
