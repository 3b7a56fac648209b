"""Fine-tuning a released checkpoint with its own vocabulary: `training.init_from` + `vocabulary.import_from`.

Fast: for each checkpoint format and each vocabulary kind, the classifier the Trainer builds, before any
training step, gives the released model's outputs on raw text tokenized by the Transform's preprocessing_fn
(with the custom_config VocabTransform hands it for the imported vocabulary); the config refuses, by name, a
vocabulary or a sequence length the checkpoint cannot take.
Slow: `albert-tfx run --set training.init_from=... --set vocabulary.import_from=...` in each format fine-tunes,
blesses, pushes, and the pushed model answers raw English and Chinese text over gRPC.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from components.checkpoint_import import executor as import_executor
from components.checkpoint_import import spec as import_spec
from components.sentencepiece_vocab import spec as vocabulary_spec
from components.sentencepiece_vocab import training as vocabulary_training
from components.vocab_transform import vocabulary as transform_vocabulary
from pipeline import sample_data
from pipeline.configs import ConfigError, PipelineConfig
from tests.pipeline.support import (TEXTS, VOCABULARY_FILES, checkpoint_path, reference_encoder_outputs,
                                    write_easy_data)
from text_contract import transform
from text_contract.features import MODEL_INPUTS
from text_contract.transform_options import LABEL_FEATURE_KEY
from trainer import tasks
from trainer.training_config import TrainingConfig

FORMATS = ("converted", "original", "hf", "keras-hub")
MAX_SEQ_LENGTH = 32


def _config(root, source: str, vocabulary_file, **overrides) -> PipelineConfig:
    return PipelineConfig().with_overrides({
        "data.path": str(root / "data"),
        "orchestration.output_dir": str(root / "out"),
        "orchestration.beam_num_workers": 1,
        "serving.serving_dir": str(root / "serving"),
        "training.init_from": source,
        "vocabulary.import_from": str(vocabulary_file),
        "training.max_seq_length": MAX_SEQ_LENGTH,
        **overrides,
    })


def _imported(source: str, out_dir) -> str:
    from tfx.types import standard_artifacts
    from tfx.utils import path_utils

    model = standard_artifacts.Model()
    model.uri = str(out_dir)
    import_executor.Executor().Do({}, {import_spec.MODEL_KEY: [model]}, {import_spec.SOURCE_KEY: source})
    return path_utils.serving_model_path(model.uri)  # what TFX hands the Trainer as fn_args.base_model


def _transformed(config: PipelineConfig, texts) -> dict:
    """The model inputs preprocessing_fn makes of `texts`, configured as VocabTransform configures it."""
    parameters = vocabulary_spec.resolve_parameters(config.vocabulary_parameters())
    _, summary = vocabulary_training.import_vocabulary(parameters[vocabulary_spec.IMPORT_FROM_KEY], parameters)
    custom_config = transform_vocabulary.with_vocabulary(
        config.transform_options().to_custom_config(), parameters[vocabulary_spec.IMPORT_FROM_KEY], summary)
    custom_config.pop(LABEL_FEATURE_KEY)  # labels need TFT's analyzers; the tokenization does not
    outputs = transform.preprocessing_fn({"text": tf.constant(texts)}, custom_config)
    return {name: tf.cast(outputs[name], tf.int32).numpy() for name in MODEL_INPUTS}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("init_from")
    sample_data.write_span(str(root / "data"), 1, train_rows=400, dev_rows=80)
    return root


@pytest.mark.parametrize("kind", sorted(VOCABULARY_FILES))
@pytest.mark.parametrize("source_format", FORMATS)
def test_before_any_step_the_classifier_encoder_gives_the_released_models_outputs(data_root, tmp_path, source_format,
                                                                                    kind):
    source = checkpoint_path(source_format, tmp_path)
    config = _config(data_root, source, VOCABULARY_FILES[kind])
    inputs = _transformed(config, TEXTS)
    assert inputs["token_ids"].max() < 100 and (inputs["token_ids"][:, 0] == inputs["token_ids"][0, 0]).all()

    imported = _imported(source, tmp_path / "imported")
    training_config = TrainingConfig(task="classify", model_dir=str(tmp_path / "run"), warm_start_path=imported,
                                     max_seq_length=MAX_SEQ_LENGTH, num_classes=2)
    classifier = tasks.build_model(training_config, tasks.resolve_albert_config(training_config))
    ours = {k: np.asarray(v) for k, v in classifier.encoder(inputs).items()}
    reference = reference_encoder_outputs(source_format, source, inputs)
    real = inputs["padding_mask"].astype(bool)
    assert np.abs(ours["sequence_output"][real] - reference["sequence_output"][real]).max() <= 1e-5
    assert np.abs(ours["pooled_output"] - reference["pooled_output"]).max() <= 1e-5


def test_a_vocabulary_the_checkpoint_does_not_fit_is_refused_naming_both_sizes(data_root, tmp_path):
    bigger = tmp_path / "vocab.txt"
    bigger.write_text(VOCABULARY_FILES["wordpiece"].read_text(encoding="utf-8") + "extra\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"has 101 entries but training.init_from .* has 100 embedding rows"):
        _config(data_root, checkpoint_path("hf", tmp_path), bigger)


def test_a_sequence_longer_than_the_position_embeddings_is_refused(data_root, tmp_path):
    with pytest.raises(ConfigError, match=r"training.max_seq_length=128 exceeds .*max_position_embeddings=64"):
        _config(data_root, checkpoint_path("original", tmp_path), VOCABULARY_FILES["sentencepiece"],
                **{"training.max_seq_length": 128})
    # a length derived from the data: its most must fit too
    with pytest.raises(ConfigError, match=r"training.max_derived_seq_length=256 exceeds .*max_position_embeddings=64"):
        _config(data_root, checkpoint_path("original", tmp_path), VOCABULARY_FILES["sentencepiece"],
                **{"training.max_seq_length": None})


def test_a_checkpoint_without_a_vocabulary_needs_import_from(data_root, tmp_path):
    with pytest.raises(ConfigError, match="ships no vocabulary beside it: set vocabulary.import_from"):
        PipelineConfig().with_overrides({"data.path": str(data_root / "data"),
                                         "training.init_from": checkpoint_path("original", tmp_path)})
    with pytest.raises(ConfigError, match="training.init_from: .*not a checkpoint"):
        _config(data_root, str(data_root / "data"), VOCABULARY_FILES["sentencepiece"])


def test_wordpiece_cannot_feed_the_pretraining_branch(data_root, tmp_path):
    with pytest.raises(ConfigError, match="pretraining.enabled needs a SentencePiece vocabulary"):
        _config(data_root, checkpoint_path("hf", tmp_path), VOCABULARY_FILES["wordpiece"],
                **{"pretraining.enabled": True})


@pytest.mark.slow
@pytest.mark.parametrize("source_format, kind", [
    ("hf", "sentencepiece"), ("original", "wordpiece"), ("keras-hub", "wordpiece"), ("converted", "sentencepiece"),
])
def test_albert_tfx_run_fine_tunes_the_checkpoint_and_the_push_answers_raw_text(data_root, tmp_path, capsys,
                                                                               source_format, kind):
    from albert_tfx import cli
    from serving import contract
    from serving.client import ClientConfig, ServingClient
    from tests.serving.support.exports import start_server

    source = checkpoint_path(source_format, tmp_path)
    write_easy_data(tmp_path / "data")
    argv = ["run", "--data", str(tmp_path / "data"), "--output", str(tmp_path / "out"),
            "--serving-dir", str(tmp_path / "serving"),
            "--set", f"training.init_from={source}", "--set", f"vocabulary.import_from={VOCABULARY_FILES[kind]}",
            "--set", f"training.max_seq_length={MAX_SEQ_LENGTH}", "--set", "orchestration.beam_num_workers=1",
            "--set", "training.train_steps=60", "--set", "training.checkpoint_every_steps=30",
            # The test serves the push itself below; the canary's own server (its tests: test_canary*.py) would
            # only add a server start to each of the four runs.
            "--set", "serving.canary=false"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "pushed: version 1" in out, out
    version = tmp_path / "serving" / "albert" / "1"
    metadata = json.loads((version / contract.ASSETS_EXTRA_DIR / contract.METADATA_FILE).read_text())
    assert metadata["albert_config"]["vocab_size"] == 100 and metadata["vocabulary_size"] == 100
    assert metadata["albert_config"]["hidden_size"] == 32  # the checkpoint's shape, not the preset's
    assert (version / contract.ASSETS_EXTRA_DIR / contract.VOCABULARY_FILE).read_bytes() == \
        VOCABULARY_FILES[kind].read_bytes()

    server = start_server(str(tmp_path / "serving" / "albert"))
    try:
        with ServingClient(ClientConfig(server.address, deadline_s=60)) as client:
            answer = client.predict(TEXTS)
    finally:
        server.stop()
    probabilities = np.asarray(answer.outputs[contract.PROBABILITIES_OUTPUT])
    assert answer.version == 1 and probabilities.shape == (len(TEXTS), 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
