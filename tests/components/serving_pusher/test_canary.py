"""ServingPusher with its canary on (the default): a candidate that loads in-process but that the server refuses is
not pushed and the serving directory stays byte for byte as it was; a good one answers like itself and is pushed.
Each test starts a real `albert-tfx serve` process (about 20 s on 2 cores, more on a busy machine)."""

import hashlib
import os

import pytest
import tensorflow as tf
from tfx.types import standard_component_specs

from components.serving_pusher import CANARY_FAILURE_PROPERTY, CANARY_KEY, CANARY_REQUESTS_PROPERTY
from components.serving_pusher import executor as executor_lib
from serving import contract, warmup
from tests.components.serving_pusher.support import (blessing, examples_artifact, model_artifact, run_executor,
                                                     versions)
from tests.serving.support import tiny_task
from tests.serving.support.exports import tiny_export

pytestmark = pytest.mark.slow


def _tree_digest(root):
    """Every path under `root` (directories included) with its mode and, for files, the SHA-256 of its bytes."""
    entries = []
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            path = os.path.join(directory, name)
            digest = "dir" if name in dirs else hashlib.sha256(open(path, "rb").read()).hexdigest()
            entries.append((os.path.relpath(path, root), os.lstat(path).st_mode, digest))
    return entries


def test_a_candidate_only_the_server_refuses_is_not_pushed_and_the_serving_directory_is_unchanged(tmp_path):
    base = str(tmp_path / "serving")
    good = model_artifact(tmp_path / "good", tiny_export())
    run_executor(tmp_path, {standard_component_specs.MODEL_KEY: [good]}, base, name="first")  # version 1
    before = _tree_digest(base)

    # A warmup file cut short (an interrupted copy): tf.saved_model.load never reads assets.extra, so the export
    # loads and answers in-process; a server replays the warmup requests before it serves a version, and refuses it.
    broken = model_artifact(tmp_path / "broken", tiny_export())
    broken_export = os.path.join(broken.uri, "Format-Serving")
    warmup_file = contract.warmup_path(broken_export)
    with open(warmup_file, "rb") as handle:
        data = handle.read()
    with open(warmup_file, "wb") as handle:
        handle.write(data[:-50])
    import tensorflow_text  # noqa: F401  (the SentencePiece ops)

    predict = tf.saved_model.load(broken_export).signatures[contract.PREDICT_SIGNATURE]
    answer = predict(text=tf.constant(["a good film"]))
    assert answer[contract.PROBABILITIES_OUTPUT].shape == (1, 2)

    inputs = {standard_component_specs.MODEL_KEY: [broken],
              standard_component_specs.MODEL_BLESSING_KEY: [blessing(tmp_path, 1)]}
    pushed = run_executor(tmp_path, inputs, base, {CANARY_KEY: True}, name="blocked")
    assert pushed.get_int_custom_property("pushed") == 0
    reason = pushed.get_string_custom_property(CANARY_FAILURE_PROPERTY)
    assert reason.startswith("the server could not load the candidate: DataLossError") and "truncated" in reason
    assert "\n" not in reason
    assert _tree_digest(base) == before
    assert versions(base) == [1]


def test_a_good_candidate_answers_like_itself_and_is_pushed(tmp_path):
    rows = tiny_task.sentences(count=6, seed=3)
    examples = examples_artifact(tmp_path / "examples", {"train": rows[:2], "eval": rows})
    model = model_artifact(tmp_path / "model", tiny_export())
    inputs = {standard_component_specs.MODEL_KEY: [model], standard_component_specs.EXAMPLES_KEY: [examples],
              standard_component_specs.MODEL_BLESSING_KEY: [blessing(tmp_path, 1)]}
    # The canary sends the eval split's first examples besides the warmup requests.
    samples = [tf.train.Example.FromString(record) for record in executor_lib.canary_samples(inputs, count=5)]
    assert [s.features.feature[tiny_task.TEXT_FEATURE].bytes_list.value[0].decode() for s in samples] == \
        [row[tiny_task.TEXT_FEATURE] for row in rows[:5]]

    base = str(tmp_path / "serving")
    pushed = run_executor(tmp_path, inputs, base, {CANARY_KEY: True})
    assert pushed.get_int_custom_property("pushed") == 1
    assert not pushed.has_custom_property(CANARY_FAILURE_PROPERTY)
    assert versions(base) == [1]
    # The export's warmup requests, then the samples' Predict and Classify.
    sent = len(warmup.read_warmup_requests(tiny_export())) + 2
    assert pushed.get_int_custom_property(CANARY_REQUESTS_PROPERTY) == sent
