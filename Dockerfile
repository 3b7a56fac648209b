# The albert-tfx image: what Kubeflow Pipelines runs every step in (orchestration.kubeflow_image), and the Beam
# SDK container of Dataflow, Flink and Spark workers (--beam-arg=--sdk_container_image=<this image>), so that
# workers run our Beam steps with the same code and pins as the pipeline.
#
#   docker build -t REGISTRY/albert-tfx:TAG . && docker push REGISTRY/albert-tfx:TAG
#
# Kubeflow gives each step its own command (python -m tfx.orchestration.kubeflow.v2...); the ENTRYPOINT is
# Beam's worker boot program, which Beam runners start the container with.

# Beam's worker boot program, of the apache-beam version constraints.txt pins (runners require the same).
FROM apache/beam_python3.10_sdk:2.61.0 AS beam_sdk

# The Python setup.py requires (TFX 1.16 supports 3.9-3.10).
FROM python:3.10-slim

COPY --from=beam_sdk /opt/apache/beam /opt/apache/beam

WORKDIR /albert-tfx
COPY . .
# g++: crcmod and pyfarmhash ship no wheels and build from source (removed again after the install).
# --constraint pins every transitive dependency (as tools/bootstrap_venv.sh does); the packaging tools first,
# at their pinned versions, since our build uses them (--no-build-isolation). The [s3] extra: TensorFlow reads
# gs:// natively, but s3:// pipeline roots need tensorflow-io (TensorFlow) and boto3 (Beam) in every step.
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ \
    && python -m pip install --no-cache-dir --constraint constraints.txt --upgrade pip setuptools wheel \
    && python -m pip install --no-cache-dir --constraint constraints.txt --no-build-isolation '.[s3]' \
    && python -m pip check \
    && apt-get purge -y --auto-remove g++ \
    && rm -rf /var/lib/apt/lists/*

ENTRYPOINT ["/opt/apache/beam/boot"]
