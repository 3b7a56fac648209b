"""Parity with keras-hub's `AlbertBackbone` (groups = 2, one inner repetition, as keras-hub supports)."""

import keras_hub
import numpy as np

from tests.support import PARITY, encoder_batch
from tests.trainer.checkpoints.support import assert_matches, encoder_inputs, expected
from trainer.checkpoints import import_weights
from trainer.encoder import AlbertEncoder

FIXTURE = PARITY / "keras_hub"


def _outputs(model, inputs):
    return {k: np.asarray(v) for k, v in model(inputs).items()}


def test_preset_weights_reproduce_the_committed_keras_hub_outputs():
    reference = expected(folder=FIXTURE)
    model, report = import_weights("keras-hub", str(FIXTURE / "preset"))
    assert isinstance(model, AlbertEncoder) and report.heads == []
    assert model.albert_config.num_hidden_groups == 2
    assert_matches(_outputs(model, encoder_inputs(reference)), reference, ("sequence_output", "pooled_output"))


def test_live_backbone_with_dropout_config_matches_in_inference():
    backbone = keras_hub.models.AlbertBackbone(
        vocabulary_size=60, num_layers=6, num_heads=2, embedding_dim=8, hidden_dim=16, intermediate_dim=20,
        num_groups=3, num_inner_repetitions=1, dropout=0.1, max_sequence_length=20,
    )
    rng = np.random.default_rng(5)
    for variable in backbone.weights:
        variable.assign(rng.normal(0, 0.3, variable.shape).astype("float32"))
    model, _ = import_weights("keras-hub", backbone)
    assert model.albert_config.hidden_dropout_prob == 0.1
    batch = encoder_batch(60, batch=4, length=10)
    assert_matches(_outputs(model, batch), _outputs(backbone, batch), ("sequence_output", "pooled_output"))
