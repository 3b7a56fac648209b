import numpy as np
import pytest
import keras

from tests.support import encoder_batch
from tests.trainer.support.numpy_reference import albert_forward
from trainer.checkpoints.original import load_original_weights, original_weights_from_model
from trainer.config import AlbertConfig
from trainer.encoder import AlbertEncoder
from trainer.parameter_count import count_encoder_parameters

SMALL = AlbertConfig(
    vocab_size=50, embedding_size=8, hidden_size=16, num_hidden_layers=5, num_hidden_groups=2,
    inner_group_num=2, num_attention_heads=4, intermediate_size=24, max_position_embeddings=32,
)


def randomize(model, seed=0, scale=0.3):
    """Every weight away from its trivial init, so parity checks exercise all of them."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        value = rng.normal(0.0, scale, variable.shape)
        if variable.path.endswith("gamma"):
            value += 1.0
        variable.assign(value.astype("float32"))


def test_outputs_have_the_documented_shapes_and_names():
    encoder = AlbertEncoder.from_albert_config(SMALL)
    outputs = encoder(encoder_batch(SMALL.vocab_size, batch=2, length=7))
    assert set(outputs) == {"sequence_output", "pooled_output"}
    assert tuple(outputs["sequence_output"].shape) == (2, 7, 16)
    assert tuple(outputs["pooled_output"].shape) == (2, 16)
    assert [i.name for i in encoder.inputs] == ["token_ids", "segment_ids", "padding_mask"] or set(
        encoder.input
    ) == {"token_ids", "segment_ids", "padding_mask"}


def test_factorized_embedding_is_v_by_e_then_projected_to_h():
    encoder = AlbertEncoder.from_albert_config(SMALL)
    assert tuple(encoder.token_embedding.embeddings.shape) == (50, 8)
    assert tuple(encoder.embedding_projection.kernel.shape) == (8, 16)


def test_matches_an_independent_numpy_forward_with_uneven_groups_and_inner_sublayers():
    # 5 layers over 2 groups: layers 0-2 use group 0, layers 3-4 group 1; each group has 2 sublayers.
    encoder = AlbertEncoder.from_albert_config(SMALL)
    randomize(encoder)
    batch = encoder_batch(SMALL.vocab_size)
    outputs = encoder(batch)
    sequence, pooled = albert_forward(original_weights_from_model(encoder), SMALL, **batch)
    real = batch["padding_mask"].astype(bool)
    np.testing.assert_allclose(np.asarray(outputs["sequence_output"])[real], sequence[real], atol=1e-4)
    np.testing.assert_allclose(np.asarray(outputs["pooled_output"]), pooled, atol=1e-4)


@pytest.mark.parametrize("sharing", ["all", "attention", "ffn", "none"])
def test_parameter_count_of_each_sharing_strategy(sharing):
    config = SMALL.replace(sharing=sharing)
    encoder = AlbertEncoder.from_albert_config(config)
    assert encoder.count_params() == count_encoder_parameters(config)
    blocks_attention = {"all": 4, "attention": 4, "ffn": 10, "none": 10}[sharing]
    blocks_ffn = {"all": 4, "attention": 10, "ffn": 4, "none": 10}[sharing]
    assert len(encoder.attention_blocks) == blocks_attention
    assert len(encoder.ffn_blocks) == blocks_ffn


def test_untied_copies_of_shared_weights_compute_the_same_function():
    shared = AlbertEncoder.from_albert_config(SMALL)
    randomize(shared)
    weights = original_weights_from_model(shared)
    batch = encoder_batch(SMALL.vocab_size)
    expected = shared(batch)["pooled_output"]
    for sharing in ("attention", "ffn", "none"):
        untied = AlbertEncoder.from_albert_config(SMALL.replace(sharing=sharing))
        load_original_weights(untied, weights)
        np.testing.assert_allclose(untied(batch)["pooled_output"], expected, atol=1e-5)


def test_padding_tokens_do_not_change_real_positions():
    encoder = AlbertEncoder.from_albert_config(SMALL)
    randomize(encoder)
    batch = encoder_batch(SMALL.vocab_size)
    changed = {k: v.copy() for k, v in batch.items()}
    changed["token_ids"][batch["padding_mask"] == 0] = 7
    real = batch["padding_mask"].astype(bool)
    a = np.asarray(encoder(batch)["sequence_output"])[real]
    b = np.asarray(encoder(changed)["sequence_output"])[real]
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_get_config_round_trips_and_saved_model_reloads(tmp_path):
    config = SMALL.replace(sharing="ffn", hidden_act="relu", hidden_dropout_prob=0.1)
    encoder = AlbertEncoder.from_albert_config(config, name="my_encoder")
    clone = AlbertEncoder.from_config(encoder.get_config())
    assert clone.get_config() == encoder.get_config()
    assert clone.albert_config == config and clone.name == "my_encoder"
    path = str(tmp_path / "encoder.keras")
    encoder.save(path)
    reloaded = keras.models.load_model(path)
    batch = encoder_batch(config.vocab_size)
    np.testing.assert_allclose(reloaded(batch)["pooled_output"], encoder(batch)["pooled_output"], atol=1e-6)


def test_dropout_is_active_only_in_training():
    encoder = AlbertEncoder.from_albert_config(SMALL.replace(hidden_dropout_prob=0.5))
    batch = encoder_batch(SMALL.vocab_size)
    inference = [np.asarray(encoder(batch, training=False)["pooled_output"]) for _ in range(2)]
    training = [np.asarray(encoder(batch, training=True)["pooled_output"]) for _ in range(2)]
    np.testing.assert_array_equal(inference[0], inference[1])
    assert not np.allclose(training[0], training[1])


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_runs_under_mixed_precision_close_to_float32(policy):
    reference = AlbertEncoder.from_albert_config(SMALL)
    weights = reference.get_weights()
    keras.config.set_dtype_policy(policy)
    mixed = AlbertEncoder.from_albert_config(SMALL)
    keras.config.set_dtype_policy("float32")
    mixed.set_weights(weights)
    batch = encoder_batch(SMALL.vocab_size)
    outputs = mixed(batch)
    assert outputs["sequence_output"].dtype.name == policy.split("_")[1]
    assert mixed.token_embedding.embeddings.dtype == "float32"  # variables stay float32
    real = batch["padding_mask"].astype(bool)
    tolerance = 0.05 if policy == "mixed_bfloat16" else 0.01
    np.testing.assert_allclose(
        np.asarray(outputs["sequence_output"], dtype="float32")[real],
        np.asarray(reference(batch)["sequence_output"])[real],
        atol=tolerance,
    )


def test_compiles_with_xla_and_trains():
    encoder = AlbertEncoder.from_albert_config(SMALL)
    pooled = encoder.output["pooled_output"]
    model = keras.Model(encoder.input, keras.layers.Dense(2)(pooled))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
    batch = encoder_batch(SMALL.vocab_size, batch=8)
    labels = np.arange(8) % 2
    first = model.evaluate(batch, labels, verbose=0)
    model.fit(batch, labels, epochs=15, batch_size=8, verbose=0)
    assert model.evaluate(batch, labels, verbose=0) < first
    eager = model(batch)
    np.testing.assert_allclose(model.predict(batch, verbose=0), eager, atol=1e-4)


@pytest.mark.parametrize("sharing", ["all", "none"])
def test_encode_at_positions_equals_the_full_encoder_gathered(sharing):
    # The last layer evaluated only at [CLS] + the requested positions must give the full model's values there.
    config = SMALL.replace(sharing=sharing)
    encoder = AlbertEncoder.from_albert_config(config)
    randomize(encoder, seed=3)
    batch = encoder_batch(config.vocab_size, batch=3, length=9)
    positions = np.array([[1, 4, 8], [0, 2, 2], [5, 3, 7]], "int32")
    full = encoder(batch)
    selected = encoder.encode(batch, output_positions=positions)
    expected = np.take_along_axis(np.asarray(full["sequence_output"]), positions[..., None], axis=1)
    assert tuple(selected["sequence_output"].shape) == (3, 3, 16)
    np.testing.assert_allclose(selected["sequence_output"], expected, atol=1e-5)
    np.testing.assert_allclose(selected["pooled_output"], full["pooled_output"], atol=1e-5)

    pooled_only = encoder.encode(batch, pooled_only=True)
    assert tuple(pooled_only["sequence_output"].shape) == (3, 0, 16)
    np.testing.assert_allclose(pooled_only["pooled_output"], full["pooled_output"], atol=1e-5)


def test_encode_at_positions_has_the_full_encoders_gradients():
    import tensorflow as tf

    encoder = AlbertEncoder.from_albert_config(SMALL)
    randomize(encoder, seed=4)
    batch = encoder_batch(SMALL.vocab_size, batch=2, length=8)
    positions = np.array([[2, 5], [1, 7]], "int32")

    def gradients(selected):
        with tf.GradientTape() as tape:
            if selected:
                outputs = encoder.encode(batch, output_positions=positions)
                picked = outputs["sequence_output"]
            else:
                outputs = encoder(batch)
                picked = tf.gather(outputs["sequence_output"], positions, batch_dims=1)
            loss = tf.reduce_sum(picked**2) + tf.reduce_sum(outputs["pooled_output"] ** 3)
        return tape.gradient(loss, encoder.trainable_variables)

    for ours, full in zip(gradients(True), gradients(False)):
        np.testing.assert_allclose(tf.convert_to_tensor(ours), tf.convert_to_tensor(full), atol=1e-4, rtol=1e-4)
