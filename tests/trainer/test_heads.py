import keras
import numpy as np
import pytest

from tests.support import encoder_batch
from trainer.classifier import AlbertClassifier
from trainer.config import AlbertConfig
from trainer.encoder import AlbertEncoder
from trainer.heads import ClassificationHead, SentenceOrderHead
from trainer.pretrainer import AlbertPretrainer

CONFIG = AlbertConfig(
    vocab_size=40, embedding_size=8, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
    intermediate_size=20, max_position_embeddings=16,
)


def _pretraining_batch():
    batch = encoder_batch(CONFIG.vocab_size, batch=2, length=10)
    batch["masked_lm_positions"] = np.array([[1, 3, 4], [2, 5, 0]], "int32")
    return batch


def test_mlm_decoder_is_tied_to_the_word_embeddings():
    model = AlbertPretrainer(AlbertEncoder.from_albert_config(CONFIG))
    head = model.masked_lm_head
    assert head.token_embedding is model.encoder.token_embedding
    assert tuple(head._intermediate_dense.kernel.shape) == (16, 8)  # H -> E, then E x V via the embeddings
    # Only the output bias is new for the decoder: no V x E matrix of its own.
    head_parameters = sum(int(np.prod(w.shape)) for w in head.weights if "token_embedding" not in w.path)
    assert head_parameters == 16 * 8 + 8 + 2 * 8 + 40


def test_mlm_logits_are_the_tied_projection_at_the_masked_positions():
    model = AlbertPretrainer(AlbertEncoder.from_albert_config(CONFIG))
    for variable in model.weights:
        variable.assign(np.random.default_rng(1).normal(0, 0.3, variable.shape).astype("float32"))
    batch = _pretraining_batch()
    outputs = model(batch)
    assert tuple(outputs["mlm_logits"].shape) == (2, 3, 40)
    assert tuple(outputs["sop_logits"].shape) == (2, 2)
    sequence = np.asarray(model.encoder({k: batch[k] for k in ("token_ids", "segment_ids", "padding_mask")})["sequence_output"])
    head = model.masked_lm_head
    gathered = np.take_along_axis(sequence, batch["masked_lm_positions"][..., None], axis=1)
    transformed = head._intermediate_layer_norm(head._intermediate_dense(gathered))
    expected = np.asarray(transformed) @ np.asarray(model.encoder.token_embedding.embeddings).T + np.asarray(head._bias)
    np.testing.assert_allclose(outputs["mlm_logits"], expected, atol=1e-5)


def test_pretrainer_and_classifier_save_and_reload(tmp_path):
    pretrainer = AlbertPretrainer(AlbertEncoder.from_albert_config(CONFIG), sop_dropout=0.1)
    batch = _pretraining_batch()
    pretrainer.save(str(tmp_path / "pretrainer.keras"))
    reloaded = keras.models.load_model(str(tmp_path / "pretrainer.keras"))
    assert reloaded.masked_lm_head.token_embedding is reloaded.encoder.token_embedding
    np.testing.assert_allclose(reloaded(batch)["mlm_logits"], pretrainer(batch)["mlm_logits"], atol=1e-6)

    classifier = AlbertClassifier(AlbertEncoder.from_albert_config(CONFIG), num_classes=3)
    inputs = {k: batch[k] for k in ("token_ids", "segment_ids", "padding_mask")}
    classifier.save(str(tmp_path / "classifier.keras"))
    reloaded = keras.models.load_model(str(tmp_path / "classifier.keras"))
    assert reloaded.num_classes == 3
    np.testing.assert_allclose(reloaded(inputs)["logits"], classifier(inputs)["logits"], atol=1e-6)


def test_classifier_fine_tunes_on_a_separable_toy_task():
    classifier = AlbertClassifier(AlbertEncoder.from_albert_config(CONFIG), num_classes=2, dropout=0.0)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 32)
    token_ids = rng.integers(5, 20, (32, 8)).astype("int32")
    token_ids[:, 1] = np.where(labels == 1, 30, 31)  # the label is visible in one token
    inputs = {"token_ids": token_ids, "segment_ids": np.zeros_like(token_ids), "padding_mask": np.ones_like(token_ids)}
    classifier.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
        metrics={"logits": ["accuracy"]},
    )
    classifier.fit(inputs, {"logits": labels}, epochs=30, batch_size=16, verbose=0)
    predictions = np.argmax(classifier.predict(inputs, verbose=0)["logits"], axis=-1)
    assert (predictions == labels).mean() >= 0.9


def test_head_configs_round_trip_and_validate():
    head = ClassificationHead(5, dropout=0.2)
    assert ClassificationHead.from_config(head.get_config()).get_config() == head.get_config()
    sop = SentenceOrderHead(dropout=0.1)
    clone = SentenceOrderHead.from_config(sop.get_config())
    assert clone.num_classes == 2 and clone.dropout == 0.1
    with pytest.raises(ValueError, match="num_classes"):
        ClassificationHead(1)


def test_mean_pooling_reads_the_mean_of_the_unpadded_positions_and_survives_a_reload(tmp_path):
    encoder = AlbertEncoder.from_albert_config(CONFIG)
    classifier = AlbertClassifier(encoder, num_classes=2, pooling="mean")
    inputs = encoder_batch(CONFIG.vocab_size, batch=3, length=10)
    sequence_output = keras.ops.convert_to_numpy(encoder.encode(inputs)["sequence_output"])
    lengths = inputs["padding_mask"].sum(axis=1)
    assert len(set(lengths)) == 3  # rows padded differently: a mean over padding would differ
    means = np.stack([sequence_output[row, :length].mean(axis=0) for row, length in enumerate(lengths)])
    expected = classifier.classification_head(encoder.pooler(means))
    np.testing.assert_allclose(classifier(inputs)["logits"], expected, atol=1e-5)
    at_cls = classifier.classification_head(encoder.pooler(sequence_output[:, 0]))  # what "cls" would read
    assert np.abs(keras.ops.convert_to_numpy(at_cls) - keras.ops.convert_to_numpy(expected)).max() > 1e-4

    classifier.save(str(tmp_path / "classifier.keras"))
    reloaded = keras.models.load_model(str(tmp_path / "classifier.keras"))
    assert reloaded.pooling == "mean"
    np.testing.assert_allclose(reloaded(inputs)["logits"], classifier(inputs)["logits"], atol=1e-6)
    with pytest.raises(ValueError, match="pooling must be one of"):
        AlbertClassifier(encoder, num_classes=2, pooling="max")
