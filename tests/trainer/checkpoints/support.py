"""Helpers shared by the parity tests: the committed fixture's inputs and outputs, and our model's outputs."""

import numpy as np

from tests.support import PARITY

TOLERANCE = 1e-4  # max abs difference, float32


def expected(name="expected.npz", folder=PARITY):
    return dict(np.load(folder / name))


def encoder_inputs(fixture):
    return {k: fixture[k] for k in ("token_ids", "segment_ids", "padding_mask")}


def pretrainer_outputs(model, fixture):
    """Our `AlbertPretrainer` on the fixture's inputs, MLM logits at every position (as HF returns them)."""
    batch, length = fixture["token_ids"].shape
    inputs = encoder_inputs(fixture)
    inputs["masked_lm_positions"] = np.tile(np.arange(length, dtype="int32"), (batch, 1))
    outputs = model(inputs)
    encoded = model.encoder(encoder_inputs(fixture))
    return {
        "sequence_output": np.asarray(encoded["sequence_output"]),
        "pooled_output": np.asarray(encoded["pooled_output"]),
        "mlm_logits": np.asarray(outputs["mlm_logits"]),
        "sop_logits": np.asarray(outputs["sop_logits"]),
    }


def assert_matches(ours, reference, keys):
    for key in keys:
        difference = np.abs(ours[key] - reference[key]).max()
        assert difference <= TOLERANCE, f"{key}: max abs difference {difference:.2e} > {TOLERANCE}"
