"""What the components share: the SentencePieceModel's files and the Examples payload our Beam steps read."""

import pytest
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts

from components import artifacts


def test_an_examples_artifact_of_another_payload_is_refused_naming_the_reader_and_the_artifact(tmp_path):
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    examples_utils.set_payload_format(examples, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
    artifacts.check_tf_example_payload(examples, "SentencePieceVocab")
    examples_utils.set_payload_format(examples, example_gen_pb2.PayloadFormat.FORMAT_PARQUET)
    with pytest.raises(ValueError, match=rf"SentencePieceVocab reads tf.Example payloads; .*{tmp_path}.* FORMAT_PARQUET"):
        artifacts.check_tf_example_payload(examples, "SentencePieceVocab")


def test_a_model_artifact_without_its_model_file_is_named(tmp_path):
    with pytest.raises(artifacts.MissingModelFile, match=rf"{tmp_path} has no spm.model"):
        artifacts.require_model_path(str(tmp_path))
    (tmp_path / artifacts.MODEL_FILE).write_bytes(b"")
    assert artifacts.require_model_path(str(tmp_path)) == str(tmp_path / artifacts.MODEL_FILE)
