"""Deployment of pushed exports on TF Serving: the image we pin and the config files beside this module.

Files (see README.md here): `models.config` (ModelServerConfig), `batching.config` (BatchingParameters),
`monitoring.config` (MonitoringConfig), `prometheus.yml`, `docker-compose.yml`, `kustomization.yaml` and
`k8s/` (Deployment, Service). `config_protos` parses the text protos. Constants only here: `serving.op_check`
imports this module to name the server it checks against.
"""

import os

# The model server we deploy. Its TensorFlow is the release TF Serving's version names; setup.py pins the same
# TensorFlow minor version, so the installed TF's op registry stands for the server's (serving/op_check.py).
TF_SERVING_VERSION = "2.16.1"
TF_SERVING_IMAGE = f"tensorflow/serving:{TF_SERVING_VERSION}"

GRPC_PORT = 8500
REST_PORT = 8501
CONTAINER_MODEL_ROOT = "/models"  # the serving base directory (serving/push.py's `serving_base`) in the container
CONTAINER_CONFIG_DIR = "/config"

DEPLOY_DIR = os.path.dirname(os.path.abspath(__file__))
MODELS_CONFIG = "models.config"
BATCHING_CONFIG = "batching.config"
MONITORING_CONFIG = "monitoring.config"
PROMETHEUS_METRICS_PATH = "/monitoring/prometheus/metrics"

# The gRPC client's defaults (serving/client.py, `albert-tfx predict`), here so the CLI shows them without importing
# TensorFlow. They ride out a server restart of 10 s plus its model load: UNAVAILABLE is retried on a fresh
# connection every CLIENT_MAX_BACKOFF_S at most, and the deadline, not the retry count, ends the trying.
CLIENT_DEADLINE_S = 30.0
CLIENT_BACKOFF_S = 0.1
CLIENT_MAX_BACKOFF_S = 1.0
CLIENT_MIN_JITTER = 0.5  # a backoff is drawn from [CLIENT_MIN_JITTER, 1] times its exponential value
# Enough retries that the deadline comes first even when every backoff is drawn at its shortest.
CLIENT_RETRIES = int(CLIENT_DEADLINE_S / (CLIENT_MAX_BACKOFF_S * CLIENT_MIN_JITTER))


def deploy_file(name: str) -> str:
    """The path of a file in this directory (`deploy_file(MODELS_CONFIG)`)."""
    return os.path.join(DEPLOY_DIR, name)
