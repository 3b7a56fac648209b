"""CheckpointImport: each released format becomes the convert directory a Trainer starts from, weights intact."""

import numpy as np
import pytest
from tfx.types import standard_artifacts
from tfx.utils import path_utils

from components.checkpoint_import import component, executor, importing, spec
from tests.support import PARITY
from tests.trainer.checkpoints.support import encoder_inputs, expected
from trainer.checkpoints import import_weights, load_converted, save_converted
from trainer.encoder import AlbertEncoder


def _run(source, out_dir):
    """The Model artifact, its files in `out_dir/Format-Serving` (where a Trainer's base_model points)."""
    model = standard_artifacts.Model()
    model.uri = str(out_dir)
    executor.Executor().Do({}, {spec.MODEL_KEY: [model]}, {spec.SOURCE_KEY: str(source)})
    assert path_utils.serving_model_path(model.uri) == str(out_dir / "Format-Serving")
    return model


def _encoder_outputs(directory, fixture):
    model = load_converted(str(directory))
    encoder = model if isinstance(model, AlbertEncoder) else model.encoder
    return {k: np.asarray(v) for k, v in encoder(encoder_inputs(fixture)).items()}


@pytest.mark.parametrize("source, fixture, source_format", [
    (PARITY / "hf", PARITY, "hf"),
    (PARITY / "original", PARITY, "original"),
    (PARITY / "keras_hub" / "preset", PARITY / "keras_hub", "keras-hub"),
])
def test_each_format_is_imported_with_the_reference_outputs(tmp_path, source, fixture, source_format):
    reference = expected(folder=fixture)
    artifact = _run(source, tmp_path / "model")
    assert artifact.get_string_custom_property("source_format") == source_format
    ours = _encoder_outputs(tmp_path / "model" / "Format-Serving", reference)
    mask = reference["padding_mask"].astype(bool)
    assert np.abs(ours["sequence_output"][mask] - reference["sequence_output"][mask]).max() <= 1e-5
    assert np.abs(ours["pooled_output"] - reference["pooled_output"]).max() <= 1e-5


def test_a_convert_directory_is_copied_as_it_is(tmp_path):
    model, report = import_weights("hf", str(PARITY / "hf"))
    converted = save_converted(model, str(tmp_path / "converted"), report, "hf")
    artifact = _run(converted, tmp_path / "model")
    assert artifact.get_string_custom_property("source_format") == "converted"
    copied = tmp_path / "model" / "Format-Serving"
    assert sorted(p.name for p in copied.iterdir()) == sorted(p.name for p in (tmp_path / "converted").iterdir())
    assert (copied / "model.weights.h5").read_bytes() == (tmp_path / "converted" / "model.weights.h5").read_bytes()


def test_the_fingerprint_follows_the_files_so_a_replaced_checkpoint_is_reimported(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"1")
    first = importing.fingerprint(str(tmp_path))
    assert importing.fingerprint(str(tmp_path)) == first
    (tmp_path / "a.bin").write_bytes(b"22")
    assert importing.fingerprint(str(tmp_path)) != first
    built = component.CheckpointImport(source=str(tmp_path))
    assert built.exec_properties[spec.SOURCE_FINGERPRINT_KEY] == importing.fingerprint(str(tmp_path))
    with pytest.raises(ValueError, match="source must be a non-empty path"):
        component.CheckpointImport(source="")
