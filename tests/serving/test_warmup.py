"""Warmup requests: every export carries them, they parse, name the contract's signatures and inputs, and run.

`tiny_export()` (tests/serving/support/exports.py) is an untrained tiny classifier exported over the shared tiny task.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from serving import contract
from serving import warmup
from tests.serving.support import tiny_task
from tests.serving.support.exports import build_untrained_export, tiny_export


@pytest.fixture(scope="module")
def export_dir():
    return tiny_export()


def test_the_export_carries_predict_and_classify_requests_for_every_batch_size(export_dir):
    logs = warmup.read_warmup_requests(export_dir)
    assert os.path.isfile(contract.warmup_path(export_dir))
    kinds = [log.WhichOneof("log_type") for log in logs]
    assert kinds == ["predict_log", "classify_log"] * len(warmup.DEFAULT_BATCH_SIZES)

    signature_defs = contract.list_signature_defs(export_dir)
    metadata = contract.read_metadata(export_dir)
    sizes = {"predict_log": [], "classify_log": []}
    for log, kind in zip(logs, kinds):
        signature, inputs = warmup.request_inputs(log)
        assert signature in signature_defs
        assert sorted(inputs) == sorted(signature_defs[signature].inputs)  # the keys the server will feed
        if kind == "predict_log":
            assert signature == contract.PREDICT_SIGNATURE
            assert sorted(inputs) == [contract.TEXT_INPUT]
            sizes[kind].append(len(inputs[contract.TEXT_INPUT]))
        else:
            assert signature == contract.CLASSIFY_SIGNATURE
            assert signature_defs[signature].method_name == contract.CLASSIFY_METHOD_NAME
            examples = log.classify_log.request.input.example_list.examples
            assert all(sorted(e.features.feature) == list(metadata.text_features) for e in examples)
            sizes[kind].append(len(examples))
    assert sizes == {"predict_log": list(warmup.DEFAULT_BATCH_SIZES), "classify_log": list(warmup.DEFAULT_BATCH_SIZES)}
    texts = [t.decode() for t in warmup.request_inputs(logs[-2])[1][contract.TEXT_INPUT]]
    assert "" in texts and max(len(t.split()) for t in texts) > metadata.max_seq_length


def test_every_request_runs_through_the_saved_model_as_tf_serving_runs_it(export_dir):
    logs = warmup.read_warmup_requests(export_dir)
    # TF2 loader: the signature functions.
    loaded = tf.saved_model.load(export_dir)
    for log in logs:
        signature, inputs = warmup.request_inputs(log)
        outputs = loaded.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
        batch = len(next(iter(inputs.values())))
        key = contract.PROBABILITIES_OUTPUT if signature == contract.PREDICT_SIGNATURE else contract.SCORES_OUTPUT
        assert outputs[key].shape == (batch, len(tiny_task.LABELS))
        np.testing.assert_allclose(outputs[key].numpy().sum(axis=1), 1.0, atol=1e-5)
    # Session loader: SignatureDef tensor names, as TF Serving's warmup feeds them.
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, [contract.SERVE_TAG], export_dir)
        for log in logs:
            signature, inputs = warmup.request_inputs(log)
            signature_def = meta_graph.signature_def[signature]
            fetches = {k: t.name for k, t in signature_def.outputs.items()}
            got = session.run(fetches, {signature_def.inputs[k].name: v for k, v in inputs.items()})
            assert all(len(value) == len(next(iter(inputs.values()))) for value in got.values())


def test_a_pair_model_gets_text_and_text_pair_and_both_example_features():
    metadata = contract.ExportMetadata(model_name="nli", label_names=("a", "b", "c"),
                                       text_features=("premise", "hypothesis"), max_seq_length=16, albert_config={})
    logs = warmup.build_warmup_requests(metadata, batch_sizes=(3, 5), model_name="served")
    assert [log.WhichOneof("log_type") for log in logs] == ["predict_log", "classify_log"] * 2
    for log, batch in zip(logs[::2], (3, 5)):
        request = log.predict_log.request
        assert request.model_spec.name == "served"
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        assert sorted(inputs) == [contract.TEXT_INPUT, contract.TEXT_PAIR_INPUT]
        assert all(v.shape == (batch,) for v in inputs.values())
        assert list(inputs[contract.TEXT_INPUT]) != list(inputs[contract.TEXT_PAIR_INPUT])
    for log, batch in zip(logs[1::2], (3, 5)):
        examples = log.classify_log.request.input.example_list.examples
        assert len(examples) == batch
        assert all(sorted(e.features.feature) == ["hypothesis", "premise"] for e in examples)


@pytest.mark.parametrize("sizes", [(), (0,), (1, -8), (2.5,), (True,)])
def test_bad_batch_sizes_are_refused(sizes):
    metadata = contract.ExportMetadata(model_name="m", label_names=("a", "b"), text_features=("t",),
                                       max_seq_length=8, albert_config={})
    with pytest.raises(ValueError, match="batch sizes"):
        warmup.build_warmup_requests(metadata, batch_sizes=sizes)


def test_more_records_than_tf_serving_reads_are_refused():
    metadata = contract.ExportMetadata(model_name="m", label_names=("a", "b"), text_features=("t",),
                                       max_seq_length=8, albert_config={})
    assert len(warmup.build_warmup_requests(metadata, batch_sizes=[1] * 500)) == warmup.MAX_WARMUP_RECORDS
    with pytest.raises(ValueError, match="at most 1000"):
        warmup.build_warmup_requests(metadata, batch_sizes=[1] * 501)


def test_reading_an_export_without_warmup_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="tf_serving_warmup_requests"):
        warmup.read_warmup_requests(str(tmp_path))


def test_a_failed_warmup_write_leaves_no_export(tmp_path, monkeypatch):
    """The warmup file is written in the export's staging directory: no warmup, no export."""
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(warmup, "write_warmup_requests", fail)
    with pytest.raises(OSError, match="disk full"):
        build_untrained_export(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["config"]  # neither the export nor a staging directory
