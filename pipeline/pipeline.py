"""`create_pipeline(config)`: the albert-tfx TFX pipeline, wiring only (every knob is in pipeline/configs.py).

    TextExampleGen | ImportExampleGen (the newest {SPAN})
      -> StatisticsGen -> SchemaGen | ImportSchemaGen -> StrictExampleValidator (anomalies stop the run)
      -> SentencePieceVocab (reuses the served model's vocabulary when there is one)
      -> VocabTransform (text_contract/transform.py) -> Trainer (trainer/run_fn.py, warm start from the served model)
      -> Resolver (latest blessed model) -> ClassMetricsEvaluator (TFMA gate vs that baseline; per-class
         metrics for every class of the model)
      -> ServingPusher (serving/push.py: op-checked, atomic, versioned; only when blessed)
    optional: CheckpointImport (training.init_from) -> the Pretrainer's or the classifier's base_model; with
      vocabulary.import_from (or the checkpoint's own), SentencePieceVocab passes that vocabulary on
    optional: SentencePieceVocab -> PretrainingDataGen -> Trainer (pretrain) -> the classifier's base_model
"""

from __future__ import annotations

import os
from typing import List, Optional

from tfx import v1 as tfx

from components.checkpoint_import import CheckpointImport
from components.class_metrics_evaluator import ClassMetricsEvaluator
from components.pretraining_data import PretrainingDataGen
from components.sentencepiece_vocab import SentencePieceVocab
from components.serving_pusher import ServingPusher
from components.strict_example_validator import StrictExampleValidator
from components.text_example_gen import TextExampleGen, TextOptions
from components.vocab_transform import VocabTransform
from pipeline import evaluation, inputs
from pipeline.configs import PipelineConfig
from serving import contract
from text_contract import transform_options
from trainer import run_fn as run_fn_lib

PREPROCESSING_FN = "text_contract.transform.preprocessing_fn"
RUN_FN = "trainer.run_fn.run_fn"
# The served models' vocabularies (the export keeps its spm.model in assets.extra), newest version last.
SERVED_VOCABULARY_GLOB = os.path.join("*", contract.ASSETS_EXTRA_DIR, contract.VOCABULARY_FILE)


def transform_custom_config(config: PipelineConfig) -> dict:
    return config.transform_options().to_custom_config()


def trainer_custom_config(config: PipelineConfig) -> dict:
    values = {
        run_fn_lib.TRAINING_CONFIG_KEY: config.training.training_config(),
        transform_options.TEXT_FEATURES_KEY: list(config.data.text_columns),
        run_fn_lib.MODEL_NAME_KEY: config.serving.model_name,
        run_fn_lib.ENCODER_DROPOUT_KEY: config.training.encoder_dropout,
    }
    if config.training.warm_start_from_served:
        values[run_fn_lib.WARM_START_FROM_SERVED_KEY] = config.served_model_dir
    return values


def _example_gen(config: PipelineConfig, plan: inputs.InputPlan):
    input_config, output_config = inputs.example_gen_protos(plan, config.data.eval_fraction)
    if plan.format == "tfrecord":
        return tfx.components.ImportExampleGen(
            input_base=plan.input_base, input_config=input_config, output_config=output_config)
    options = TextOptions(delimiter=plan.delimiter, header=plan.header, column_names=plan.column_names,
                          quoting=plan.quoting)
    return TextExampleGen(input_base=plan.input_base, options=options, input_config=input_config,
                          output_config=output_config)


def create_pipeline(config: PipelineConfig, plan: Optional[inputs.InputPlan] = None,
                    beam_pipeline_args: Optional[List[str]] = None, metadata_connection_config=None):
    """The pipeline for `config` (paths as given: call `config.resolved()` first for a local run)."""
    plan = plan or inputs.plan_any_input(config.data)
    example_gen = _example_gen(config, plan)
    examples = example_gen.outputs["examples"]
    statistics_gen = tfx.components.StatisticsGen(examples=examples)
    if config.data.schema_file:
        schema_gen = tfx.components.ImportSchemaGen(schema_file=config.data.schema_file)
    else:
        schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"], infer_feature_shape=False)
    example_validator = StrictExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])

    vocabulary = SentencePieceVocab(
        examples=examples,
        **config.vocabulary_parameters(),
        reuse_model_glob=(os.path.join(config.served_model_dir, SERVED_VOCABULARY_GLOB)
                          if config.vocabulary.reuse_served else ""),
    )
    vocabulary.add_upstream_node(example_validator)  # no vocabulary (or anything after it) from bad data

    transform = VocabTransform(
        examples=examples,
        schema=schema_gen.outputs["schema"],
        sentencepiece_model=vocabulary.outputs["sentencepiece_model"],
        preprocessing_fn=PREPROCESSING_FN,
        custom_config=transform_custom_config(config),
        # StatisticsGen already describes the raw data; statistics of token ids cost a minute and say little.
        disable_statistics=True,
    )
    components = [example_gen, statistics_gen, schema_gen, example_validator, vocabulary, transform]

    base_model = None
    if config.training.init_from:
        imported = CheckpointImport(source=config.training.init_from)
        components.append(imported)
        base_model = imported.outputs["model"]
    if config.pretraining.enabled:
        if config.pretraining.text_files:  # domain text of the user's own
            corpus = {"text_file_pattern": config.pretraining.text_files}
        else:  # never the eval rows: the Evaluator judges on them
            corpus = {"examples": examples, "text_feature": config.data.text_columns[0], "splits": ["train"]}
        pretraining_data = PretrainingDataGen(
            sentencepiece_model=vocabulary.outputs["sentencepiece_model"],
            **corpus,
            **config.pretraining.data_generation_parameters(),
        )
        pretrainer = tfx.components.Trainer(
            run_fn=RUN_FN,
            examples=pretraining_data.outputs["pretraining_examples"],
            base_model=base_model,  # continued pretraining from the imported checkpoint, with its heads
            # PretrainingDataGen writes one split; no evaluation during pretraining.
            train_args=tfx.proto.TrainArgs(splits=["train"], num_steps=config.pretraining.train_steps),
            eval_args=tfx.proto.EvalArgs(splits=["train"], num_steps=0),
            custom_config={run_fn_lib.TRAINING_CONFIG_KEY: config.pretrainer_training_config()},
        ).with_id("Pretrainer")
        components += [pretraining_data, pretrainer]
        base_model = pretrainer.outputs["model"]

    trainer = tfx.components.Trainer(
        run_fn=RUN_FN,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        base_model=base_model,
        # No num_steps with training.epochs (train_steps None): TFX then hands run_fn train_steps=None and
        # the steps follow from the train split's size. EvalArgs' 0 (TFX: None) evaluates the whole eval split.
        train_args=tfx.proto.TrainArgs(num_steps=config.training.train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=config.training.eval_steps),
        custom_config=trainer_custom_config(config),
    )
    baseline = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    evaluator = ClassMetricsEvaluator(
        examples=examples,
        model=trainer.outputs["model"],
        baseline_model=baseline.outputs["model"],
        eval_config=evaluation.eval_config(config.evaluation),
    ).with_id("Evaluator")  # the id of earlier runs' Evaluator: the same ML Metadata node and cache
    pusher = ServingPusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        serving_base=config.serving.serving_dir,
        model_name=config.serving.model_name,
        keep_versions=config.serving.keep_versions,
    )
    components += [trainer, baseline, evaluator, pusher]

    return tfx.dsl.Pipeline(
        pipeline_name=config.orchestration.pipeline_name,
        pipeline_root=config.orchestration.pipeline_root,
        components=components,
        enable_cache=config.orchestration.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args if beam_pipeline_args is not None
        else config.orchestration.beam_pipeline_args(),
    )
