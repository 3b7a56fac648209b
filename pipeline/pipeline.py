"""`create_pipeline(config)`: the albert-tfx TFX pipeline, wiring only (every knob is in pipeline/configs.py).

    TextExampleGen | ImportExampleGen (the newest {SPAN})
      -> StatisticsGen -> SchemaGen | ImportSchemaGen -> StrictExampleValidator (anomalies stop the run)
      -> SentencePieceVocab (reuses the served model's vocabulary when there is one)
      -> VocabTransform (text_contract/transform.py) -> Trainer (trainer/run_fn.py, warm start from the served model)
      -> Resolver (latest blessed model) -> ClassMetricsEvaluator (TFMA gate vs that baseline; per-class
         metrics for every class of the model)
      -> [InfraValidator: TF Serving in a Kubernetes pod, when compiled for Kubeflow]
      -> ServingPusher (serving/push.py: op-checked, atomic, versioned; only when blessed and after the canary,
         serving/canary.py, unless the InfraValidator stands in for it)
    optional: CheckpointImport (training.init_from) -> the Pretrainer's or the classifier's base_model; with
      vocabulary.import_from (or the checkpoint's own), SentencePieceVocab passes that vocabulary on
    optional: SentencePieceVocab -> PretrainingDataGen -> Trainer (pretrain) -> the classifier's base_model

Task qa (`training.task: qa`): QaExampleGen (SQuAD-format JSON; one file split by article) in place of the
ExampleGen, the vocabulary over questions and contexts, the Transform's per-question windows, a qa Trainer,
and QaEvaluator (exact match and F1 of the export's `qa` answers on the eval split, gated by `qa.min_f1` and
`qa.max_f1_drop`) in place of the TFMA Evaluator; the pretraining branch pretrains on the train split's
contexts.
"""

from __future__ import annotations

import os
from typing import Optional

from tfx import v1 as tfx

from components.checkpoint_import import CheckpointImport
from components.class_metrics_evaluator import ClassMetricsEvaluator
from components.pretraining_data import PretrainingDataGen
from components.qa_evaluator import QaEvaluator
from components.qa_example_gen import QaExampleGen, QaOptions
from components.sentencepiece_vocab import SentencePieceVocab
from components.serving_infra_validator import ServingInfraValidator
from components.serving_pusher import CANARY_SPLIT, ServingPusher
from components.strict_example_validator import StrictExampleValidator
from components.text_example_gen import TextExampleGen, TextOptions
from components.vocab_transform import VocabTransform
from pipeline import evaluation, inputs
from pipeline.configs import PipelineConfig
from serving import canary as canary_lib
from serving import contract, deploy
from text_contract import features, storage, transform_options
from trainer import run_fn as run_fn_lib

PREPROCESSING_FN = "text_contract.transform.preprocessing_fn"
RUN_FN = "trainer.run_fn.run_fn"
# Where the canary before the push runs (create_pipeline's `canary`): in the ServingPusher's process, with
# `albert-tfx serve` (local runner, Airflow), or as TFX's InfraValidator with TF Serving in Kubernetes (Kubeflow).
CANARY_IN_PUSHER = "pusher"
CANARY_INFRA_VALIDATOR = "infra_validator"
CANARIES = (CANARY_IN_PUSHER, CANARY_INFRA_VALIDATOR)
# The served models' vocabularies (the export keeps its spm.model in assets.extra), newest version last.
SERVED_VOCABULARY_GLOB = os.path.join("*", contract.ASSETS_EXTRA_DIR, contract.VOCABULARY_FILE)


def transform_custom_config(config: PipelineConfig) -> dict:
    return config.transform_options().to_custom_config()


def trainer_custom_config(config: PipelineConfig) -> dict:
    values = {
        run_fn_lib.TRAINING_CONFIG_KEY: config.trainer_training_config(),
        transform_options.TEXT_FEATURES_KEY: list(config.text_features()),
        run_fn_lib.MODEL_NAME_KEY: config.serving.model_name,
        run_fn_lib.ENCODER_DROPOUT_KEY: config.training.encoder_dropout,
        # The Trainer's checkpoints live under it, where a re-execution of the same work finds them (run_fn.py).
        run_fn_lib.PIPELINE_ROOT_KEY: config.orchestration.pipeline_root,
    }
    # The served model's weights are a classifier's (trainer/served_warm_start.py reads classify exports).
    if config.training.warm_start_from_served and not config.is_qa:
        values[run_fn_lib.WARM_START_FROM_SERVED_KEY] = config.served_model_dir
    return values


def _infra_validator(config: PipelineConfig, model, examples):
    """TFX's InfraValidator (as ServingInfraValidator, which KFP v2 compiles): the candidate served by the TF
    Serving image we deploy, in a pod beside the step's, answering `classify` and `serving_examples` for a few
    eval examples. A qa export has neither (its `qa` signature takes strings, which TFX's requests, built from
    tf.Examples, cannot fill): TF Serving must load it, and the canary-free check stops there."""
    image, _, tag = deploy.TF_SERVING_IMAGE.rpartition(":")
    requests = {}
    if not config.is_qa:
        # TFX builds its requests from serialized tf.Examples: the signatures that read them (not serving_default).
        requests = {"examples": examples, "request_spec": tfx.proto.RequestSpec(
            tensorflow_serving=tfx.proto.TensorFlowServingRequestSpec(
                signature_names=[contract.CLASSIFY_SIGNATURE, contract.EXAMPLES_SIGNATURE]),
            split_name=CANARY_SPLIT, num_examples=canary_lib.DEFAULT_SAMPLE_SIZE)}
    return ServingInfraValidator(
        model=model,
        serving_spec=tfx.proto.ServingSpec(
            tensorflow_serving=tfx.proto.TensorFlowServing(image_name=image, tags=[tag]),
            kubernetes=tfx.proto.KubernetesConfig(),
            model_name=config.serving.model_name),
        validation_spec=tfx.proto.ValidationSpec(
            max_loading_time_seconds=max(1, round(config.serving.canary_timeout_s))),
        **requests,
    ).with_id("InfraValidator")


def _example_gen(config: PipelineConfig, plan: inputs.InputPlan):
    input_config, output_config = inputs.example_gen_protos(plan, config.data.eval_fraction)
    if plan.format == inputs.JSON_FORMAT:
        # One input split: QaExampleGen's own split by article title (output_config None), never by question.
        return QaExampleGen(input_base=plan.input_base, input_config=input_config,
                            options=QaOptions(eval_fraction=config.data.eval_fraction,
                                              max_skipped_fraction=config.data.max_skipped_fraction))
    if plan.format == "tfrecord":
        return tfx.components.ImportExampleGen(
            input_base=plan.input_base, input_config=input_config, output_config=output_config)
    options = TextOptions(delimiter=plan.delimiter, header=plan.header, column_names=plan.column_names,
                          quoting=plan.quoting, max_skipped_fraction=config.data.max_skipped_fraction)
    return TextExampleGen(input_base=plan.input_base, options=options, input_config=input_config,
                          output_config=output_config)


def create_pipeline(config: PipelineConfig, plan: Optional[inputs.InputPlan] = None, metadata_connection_config=None,
                    canary: str = CANARY_IN_PUSHER):
    """The pipeline for `config` (paths as given: call `config.resolved()` first for a local run). Every Beam
    step runs with `config.orchestration.beam_args()` (the pipeline-level args TFX gives each Beam component).
    `canary` (with `serving.canary` on): CANARY_IN_PUSHER, the ServingPusher serves the candidate with
    `albert-tfx serve` first (local, Airflow); CANARY_INFRA_VALIDATOR, TFX's InfraValidator serves it with the
    TF Serving image in a Kubernetes pod and the Pusher needs its blessing (Kubeflow)."""
    if canary not in CANARIES:
        raise ValueError(f"canary must be one of {CANARIES}, got {canary!r}")
    plan = plan or inputs.plan_any_input(config.data, qa=config.is_qa)
    example_gen = _example_gen(config, plan)
    examples = example_gen.outputs["examples"]
    statistics_gen = tfx.components.StatisticsGen(examples=examples)
    if config.data.schema_file:
        schema_gen = tfx.components.ImportSchemaGen(schema_file=config.data.schema_file)
    else:
        schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"], infer_feature_shape=False)
    example_validator = StrictExampleValidator(  # with the label checks: data errors before anything trains
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"],
        label_feature="" if config.is_qa else config.data.label_column)

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
            text_feature = features.QA_CONTEXT if config.is_qa else config.data.text_columns[0]
            corpus = {"examples": examples, "text_feature": text_feature, "splits": ["train"]}
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
            custom_config={run_fn_lib.TRAINING_CONFIG_KEY: config.pretrainer_training_config(),
                           run_fn_lib.PIPELINE_ROOT_KEY: config.orchestration.pipeline_root},
        ).with_id("Pretrainer")
        components += [pretraining_data, pretrainer]
        base_model = pretrainer.outputs["model"]

    trainer = tfx.components.Trainer(
        run_fn=RUN_FN,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        base_model=base_model,
        # No num_steps with training.epochs (classify, train_steps None): TFX then hands run_fn train_steps=None
        # and the steps follow from the train split's size. EvalArgs' 0 (TFX: None) evaluates the whole eval split.
        train_args=tfx.proto.TrainArgs(num_steps=config.trainer_training_config()["train_steps"]),
        eval_args=tfx.proto.EvalArgs(num_steps=config.training.eval_steps),
        custom_config=trainer_custom_config(config),
    )
    baseline = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    if config.is_qa:
        evaluator = QaEvaluator(
            examples=examples,
            model=trainer.outputs["model"],
            baseline_model=baseline.outputs["model"],
            **evaluation.qa_gate_parameters(config.qa),
        ).with_id("Evaluator")
    else:
        evaluator = ClassMetricsEvaluator(
            examples=examples,
            model=trainer.outputs["model"],
            baseline_model=baseline.outputs["model"],
            eval_config=evaluation.eval_config(config.evaluation),
        ).with_id("Evaluator")  # the id of earlier runs' Evaluator: the same ML Metadata node and cache
    components += [trainer, baseline, evaluator]
    infra_validator = None
    in_pusher_canary = config.serving.canary and canary == CANARY_IN_PUSHER
    if config.serving.canary and canary == CANARY_INFRA_VALIDATOR:
        infra_validator = _infra_validator(config, trainer.outputs["model"], examples)
        components.append(infra_validator)
    pusher = ServingPusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        infra_blessing=infra_validator.outputs["blessing"] if infra_validator else None,
        serving_base=config.serving.serving_dir,
        model_name=config.serving.model_name,
        keep_versions=config.serving.keep_versions,
        canary=in_pusher_canary,
        canary_timeout_s=config.serving.canary_timeout_s,
        examples=examples if in_pusher_canary else None,  # the canary sends a few eval examples
    )
    components.append(pusher)

    return tfx.dsl.Pipeline(
        pipeline_name=config.orchestration.pipeline_name,
        pipeline_root=config.orchestration.pipeline_root,
        components=components,
        enable_cache=config.orchestration.enable_cache,
        metadata_connection_config=metadata_connection_config,
        # + the Beam workers' file systems (s3:// is tensorflow-io's, imported in each worker).
        beam_pipeline_args=config.orchestration.beam_args() + storage.filesystem_beam_args(config.storage_paths()),
    )
