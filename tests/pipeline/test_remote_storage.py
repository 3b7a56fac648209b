"""The pipeline with its pipeline root and serving directory on an object store: S3, served by moto's S3 server.

The test starts `moto_server` as a separate process on 127.0.0.1 (a free port) and stops it at the end. The
pipeline runs as users run it, `python -m albert_tfx run`, in a process of its own whose environment points
TensorFlow (tensorflow-io's S3 file system: S3_ENDPOINT) and Beam (boto3: AWS_ENDPOINT_URL) at that server;
only ML Metadata's SQLite file is local (`orchestration.metadata_file`). Beam runs on two worker processes,
which reach S3 through the `--beam_plugins=tensorflow_io` the pipeline adds for s3:// paths.

1. span 1: every step reads and writes S3, the blessed model is pushed as version 1, completion marker last;
2. span 2: the vocabulary is reused from the served model on S3, the Trainer warm-starts from version 1 on
   S3, and version 2 is pushed.

The test reads S3 with boto3, never through tensorflow-io: a process that used its S3 file system aborts as it
exits (tensorflow/io#2039; `albert-tfx` ends its own process first), which must not happen to pytest.
"""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from pipeline import sample_data
from serving import contract
from text_contract import storage
from trainer import run_fn

pytestmark = pytest.mark.slow

BUCKET = "albert-tfx-test"
OUTPUT = f"s3://{BUCKET}/out"
SERVING = f"s3://{BUCKET}/serving"
PUSHED_COMPONENTS = ("TextExampleGen", "StatisticsGen", "SchemaGen", "SentencePieceVocab", "VocabTransform", "Trainer",
                     "Evaluator", "ServingPusher")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """(boto3 client, environment for the pipeline process) of a moto S3 server started for this module."""
    import boto3  # the [s3] extra, which `make` installs

    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
               AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               AWS_ENDPOINT_URL=endpoint,  # boto3, so Beam's S3 file system
               S3_ENDPOINT=endpoint, S3_USE_HTTPS="0", S3_VERIFY_SSL="0")  # tensorflow-io's S3 file system
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    try:
        deadline = time.time() + 60
        while True:
            try:
                client.create_bucket(Bucket=BUCKET)
                break
            except Exception:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"moto's S3 server did not start (see {log.name})") from None
                time.sleep(0.5)
        yield client, env
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _keys(client, prefix: str):
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


def _json(client, key: str) -> dict:
    return json.loads(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def _run_pipeline(env, root, log_name):
    args = [sys.executable, "-m", "albert_tfx", "run", "--data", str(root / "data"), "--output", OUTPUT,
            "--serving-dir", SERVING]
    for key, value in {"orchestration.metadata_file": str(root / "local" / "metadata.sqlite"),
                       "vocabulary.size": 400, "training.train_steps": 80, "training.checkpoint_every_steps": 40,
                       "evaluation.min_accuracy": 0.7, "evaluation.max_accuracy_drop": 0.05}.items():
        args += ["--set", f"{key}={value}"]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1800)
    (root / log_name).write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout + result.stderr


def test_the_pipeline_runs_retrains_and_pushes_on_s3(s3, tmp_path):
    client, env = s3
    sample_data.write_span(str(tmp_path / "data"), 1, train_rows=600, dev_rows=120)

    first = _run_pipeline(env, tmp_path, "run1.log")
    v1 = f"{SERVING}/albert/1"
    assert f"pushed: version 1 -> {v1}" in first, first[-3000:]
    # TFX's clean-up finds no empty directories on S3; its ~300-line warnings per component are not printed.
    assert "is not found" not in first and "This is the full execution_info" not in first
    # Every artifact is on S3: nothing but ML Metadata's file was written locally.
    assert sorted(os.listdir(tmp_path / "local")) == ["metadata.sqlite"]
    root_keys = _keys(client, "out/pipeline_root/")
    for component in PUSHED_COMPONENTS:
        assert any(key.startswith(f"out/pipeline_root/{component}/") for key in root_keys), component
    run_files = {key.rsplit("/", 1)[-1] for key in root_keys if "/Trainer/model_run/" in key}
    assert {"metrics.json", "progress.json", "best_weights.npz", "best_weights.json", "albert_config.json",
            "model.weights.h5"} <= run_files, sorted(run_files)
    # The checkpoints lived under the pipeline root (trainer/run_fn.py: resume_dir), removed after the export.
    assert not any(f"/{run_fn.RESUME_ROOT_DIR}/" in key for key in root_keys), root_keys
    # The pushed version: complete, with its completion marker.
    v1_keys = _keys(client, "serving/albert/1/")
    assert f"serving/albert/1/{contract.SAVED_MODEL_FILE}" in v1_keys
    marker = _json(client, f"serving/albert/1/{storage.COMPLETE_MARKER}")
    assert marker["source"].startswith(f"{OUTPUT}/pipeline_root/Trainer/model/")
    v1_metadata = _json(client, f"serving/albert/1/{contract.ASSETS_EXTRA_DIR}/{contract.METADATA_FILE}")
    assert v1_metadata["model_name"] == "albert"

    sample_data.write_span(str(tmp_path / "data"), 2, train_rows=600, dev_rows=120)
    second = _run_pipeline(env, tmp_path, "run2.log")
    assert "data span: 2" in second and f"pushed: version 2 -> {SERVING}/albert/2" in second, second[-3000:]
    v2_metadata = _json(client, f"serving/albert/2/{contract.ASSETS_EXTRA_DIR}/{contract.METADATA_FILE}")
    assert v2_metadata["extra"]["warm_started_from"] == v1  # warm start from the served model on S3
    assert v2_metadata["vocabulary_sha256"] == v1_metadata["vocabulary_sha256"]  # its vocabulary, reused
    assert f"serving/albert/2/{storage.COMPLETE_MARKER}" in _keys(client, "serving/albert/2/")
    assert sorted(os.listdir(tmp_path / "local")) == ["metadata.sqlite"]
