"""Kubeflow Pipelines: compile the pipeline to a KFP v2 pipeline JSON (KubeflowV2DagRunner).

    albert-tfx compile --target kubeflow --config prod.yaml --output-file albert_pipeline.json

The image (`orchestration.kubeflow_image`, built from this project with the [kubeflow]-free base install)
runs every component; the pipeline root is `orchestration.kubeflow_pipeline_root` (a gs:// bucket), and
data, schema and serving paths should be remote too. Upload the JSON with the KFP client or the UI.
"""

from __future__ import annotations

import dataclasses
import os

from pipeline import inputs
from pipeline.configs import PipelineConfig


def kubeflow_config(config: PipelineConfig) -> PipelineConfig:
    """The config as the cluster sees it: the pipeline root is the Kubeflow one."""
    return dataclasses.replace(config, orchestration=dataclasses.replace(
        config.orchestration, output_dir=config.orchestration.kubeflow_pipeline_root))


def compile_pipeline(config: PipelineConfig, output_file: str) -> str:
    from tfx import v1 as tfx

    from pipeline.pipeline import create_pipeline

    config = kubeflow_config(config.resolved())
    plan = inputs.plan_any_input(config.data)
    pipeline = create_pipeline(config, plan)
    # KubeflowV2 takes the pipeline root as given (orchestration.output_dir/pipeline_root).
    output_file = os.path.abspath(output_file)
    os.makedirs(os.path.dirname(output_file), exist_ok=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=config.orchestration.kubeflow_image),
        output_dir=os.path.dirname(output_file), output_filename=os.path.basename(output_file))
    runner.run(pipeline, write_out=True)
    return output_file
