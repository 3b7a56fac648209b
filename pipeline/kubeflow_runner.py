"""Kubeflow Pipelines: compile the pipeline to a KFP v2 pipeline JSON (KubeflowV2DagRunner).

    albert-tfx compile --target kubeflow --config prod.yaml --output-file albert_pipeline.json

The image (`orchestration.kubeflow_image`, built by the repo's Dockerfile: albert-tfx with constraints.txt's
pins) runs every component; the pipeline root is `orchestration.kubeflow_pipeline_root` (a gs:// bucket), and
data, schema and serving paths should be remote too. The Beam steps run on `orchestration.beam_runner` with
`orchestration.beam_pipeline_args` (`OrchestrationConfig.beam_args`, in every step's container args): the
default DirectRunner runs them inside the step's pod; `--set orchestration.beam_runner=dataflow` with
`--beam-arg=--project=...` etc. sends them to Dataflow. Upload the JSON with the KFP client or the UI.
"""

from __future__ import annotations

import dataclasses
import os

from pipeline import inputs
from pipeline.configs import PipelineConfig


def kubeflow_config(config: PipelineConfig) -> PipelineConfig:
    """The config as the cluster sees it: the pipeline root is the Kubeflow one. Kubeflow keeps ML Metadata
    itself: the local SQLite path stays as it was (unused there), not one under the remote root."""
    return dataclasses.replace(config, orchestration=dataclasses.replace(
        config.orchestration, output_dir=config.orchestration.kubeflow_pipeline_root,
        metadata_file=config.orchestration.metadata_path))


def compile_pipeline(config: PipelineConfig, output_file: str) -> str:
    from tfx import v1 as tfx

    from pipeline.pipeline import CANARY_INFRA_VALIDATOR, create_pipeline

    config = kubeflow_config(config.resolved())
    plan = inputs.plan_any_input(config.data, qa=config.is_qa)
    pipeline = create_pipeline(config, plan, canary=CANARY_INFRA_VALIDATOR)  # TF Serving in a pod vets the push
    # KubeflowV2 takes the pipeline root as given (orchestration.output_dir/pipeline_root).
    output_file = os.path.abspath(output_file)
    os.makedirs(os.path.dirname(output_file), exist_ok=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=config.orchestration.kubeflow_image),
        output_dir=os.path.dirname(output_file), output_filename=os.path.basename(output_file))
    runner.run(pipeline, write_out=True)
    return output_file
