"""push_export: integer versions, retention, atomicity under failure, refusals before anything is written."""

import filecmp
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  (before loading a pushed model: registers the SentencePiece ops)
from tensorflow.core.protobuf import saved_model_pb2

from serving import contract, layout
from serving import op_check
from serving import push as push_lib
from serving import warmup
from tests.serving.support.exports import MADE_UP_OP, replace_op_type, tiny_export
from text_contract import storage

MODEL = layout.DEFAULT_MODEL_NAME


def _versions(base, model=MODEL, complete_only=True):
    return [v.version for v in layout.version_dirs(layout.model_dir(base, model), complete_only)]


@pytest.fixture
def export_copy(tmp_path):
    """A private copy of the tiny export, to break."""
    target = str(tmp_path / "export")
    shutil.copytree(tiny_export(), target)
    return target


def _tree(directory):
    """Every path under `directory`, hidden ones included."""
    return sorted(os.path.relpath(os.path.join(d, n), directory) for d, dirs, files in os.walk(directory)
                  for n in dirs + files)


def _same_tree(a, b):
    comparison = filecmp.dircmp(a, b)
    assert _tree(a) == _tree(b)
    return all(filecmp.cmp(os.path.join(a, p), os.path.join(b, p), shallow=False)
               for p in _tree(a) if os.path.isfile(os.path.join(a, p))) and not comparison.diff_files


def test_versions_count_up_and_only_the_newest_are_kept(tmp_path):
    base = str(tmp_path / "serving")
    assert _versions(base) == [] and layout.latest_version_dir(layout.model_dir(base, MODEL)) is None
    results = [push_lib.push_export(tiny_export(), base, keep_versions=2) for _ in range(3)]
    assert [r.version for r in results] == [1, 2, 3]
    assert [r.removed_versions for r in results] == [(), (), (1,)]
    assert all(r.created and r.model_name == MODEL for r in results)
    assert results[2].path == os.path.join(base, MODEL, "3")
    assert _versions(base) == [2, 3]
    assert layout.latest_version_dir(layout.model_dir(base, MODEL)) == results[2].path
    assert sorted(os.listdir(os.path.join(base, MODEL))) == ["2", "3"]  # no temporary or removed dirs left
    assert _same_tree(tiny_export(), results[2].path)
    # Readable by a server that runs as another user.
    assert os.stat(results[2].path).st_mode & 0o055 == 0o055


def test_the_pushed_version_loads_and_answers_like_the_export(tmp_path):
    result = push_lib.push_export(tiny_export(), str(tmp_path / "serving"))
    pushed = tf.saved_model.load(result.path).signatures[contract.PREDICT_SIGNATURE]
    original = tf.saved_model.load(tiny_export()).signatures[contract.PREDICT_SIGNATURE]
    texts = tf.constant(["a good film", "", "grim and dull"])
    np.testing.assert_allclose(pushed(text=texts)[contract.PROBABILITIES_OUTPUT].numpy(),
                               original(text=texts)[contract.PROBABILITIES_OUTPUT].numpy(), atol=1e-6)
    assert len(warmup.read_warmup_requests(result.path)) == 2 * len(warmup.DEFAULT_BATCH_SIZES)


def test_a_failure_mid_copy_leaves_no_partial_version_and_keeps_the_others(tmp_path, monkeypatch):
    base = str(tmp_path / "serving")
    push_lib.push_export(tiny_export(), base, keep_versions=1)
    push_lib.push_export(tiny_export(), base, keep_versions=1)  # 1 is removed: version 2 alone
    model_dir = os.path.join(base, MODEL)
    before = _tree(model_dir)
    copied = []
    real_copy = storage.copy_file

    def copy_then_fail(source, destination):
        if len(copied) == 3:
            raise OSError("disk full")
        copied.append(destination)
        real_copy(source, destination)

    monkeypatch.setattr(storage, "copy_file", copy_then_fail)
    with pytest.raises(OSError, match="disk full"):
        push_lib.push_export(tiny_export(), base, keep_versions=1)
    assert len(copied) == 3 and all(os.path.basename(os.path.dirname(p)) != "3" for p in copied)
    assert _tree(model_dir) == before  # no version 3, no temporary directory, version 2 untouched
    assert _versions(base) == [2]
    assert _same_tree(tiny_export(), os.path.join(model_dir, "2"))
    monkeypatch.undo()
    assert push_lib.push_export(tiny_export(), base, keep_versions=1).version == 3  # and the next push works


def test_saved_model_pb_is_copied_last(tmp_path, monkeypatch):
    copied = []
    real_copy = storage.copy_file
    monkeypatch.setattr(storage, "copy_file", lambda s, d: (copied.append(os.path.basename(d)), real_copy(s, d)))
    push_lib.push_export(tiny_export(), str(tmp_path / "serving"), check_ops=False)
    assert copied[-1] == contract.SAVED_MODEL_FILE and copied.count(contract.SAVED_MODEL_FILE) == 1
    assert len(copied) == len([p for p in _tree(tiny_export()) if os.path.isfile(os.path.join(tiny_export(), p))])


def test_missing_signatures_are_refused_before_anything_is_written(tmp_path, export_copy):
    path = os.path.join(export_copy, contract.SAVED_MODEL_FILE)
    proto = saved_model_pb2.SavedModel.FromString(open(path, "rb").read())
    del proto.meta_graphs[0].signature_def[contract.CLASSIFY_SIGNATURE]
    proto.meta_graphs[0].signature_def[contract.PREDICT_SIGNATURE].method_name = "tensorflow/serving/regress"
    with open(path, "wb") as handle:
        handle.write(proto.SerializeToString())
    base = tmp_path / "serving"
    with pytest.raises(push_lib.PushError) as caught:
        push_lib.push_export(export_copy, str(base))
    message = str(caught.value)
    assert "signature 'classify' is missing" in message and "tensorflow/serving/regress" in message
    assert not base.exists()


def test_unsupported_ops_are_refused_before_anything_is_written(tmp_path, export_copy):
    replace_op_type(export_copy, "Softmax", MADE_UP_OP)
    base = tmp_path / "serving"
    with pytest.raises(op_check.UnsupportedOpsError, match=MADE_UP_OP):
        push_lib.push_export(export_copy, str(base))
    assert not base.exists()
    # check_ops=False is the way past the check (for a server built with more ops).
    assert push_lib.push_export(export_copy, str(base), check_ops=False).version == 1


def test_what_is_not_an_albert_tfx_export_is_refused(tmp_path, export_copy):
    base = str(tmp_path / "serving")
    with pytest.raises(push_lib.PushError, match="no such export directory"):
        push_lib.push_export(str(tmp_path / "nowhere"), base)
    os.remove(contract.metadata_path(export_copy))
    with pytest.raises(push_lib.PushError, match="not an albert-tfx export"):
        push_lib.push_export(export_copy, base)
    os.remove(os.path.join(export_copy, contract.SAVED_MODEL_FILE))
    with pytest.raises(push_lib.PushError, match="no saved_model.pb"):
        push_lib.push_export(export_copy, base)
    assert not os.path.exists(base)


def test_a_newer_contract_version_is_refused(tmp_path, export_copy):
    metadata = contract.read_metadata(export_copy)
    with open(contract.metadata_path(export_copy), "w", encoding="utf-8") as handle:
        handle.write(contract.ExportMetadata.from_dict({**metadata.to_dict(), "contract_version": 99}).to_json())
    with pytest.raises(push_lib.PushError, match="contract version 99"):
        push_lib.push_export(export_copy, str(tmp_path / "serving"))


def test_explicit_versions_must_be_new_and_newest(tmp_path):
    base = str(tmp_path / "serving")
    assert push_lib.push_export(tiny_export(), base, version=5).version == 5
    with pytest.raises(push_lib.VersionExistsError, match="already exists"):
        push_lib.push_export(tiny_export(), base, version=5)
    with pytest.raises(push_lib.VersionExistsError, match="older than the latest version 5"):
        push_lib.push_export(tiny_export(), base, version=3)
    assert push_lib.push_export(tiny_export(), base).version == 6
    assert _versions(base) == [5, 6]


def test_an_unchanged_model_is_not_pushed_twice_when_asked(tmp_path):
    base = str(tmp_path / "serving")
    first = push_lib.push_export(tiny_export(), base, model_name="sentiment")
    again = push_lib.push_export(tiny_export(), base, model_name="sentiment", skip_if_unchanged=True)
    assert (again.version, again.path, again.created) == (1, first.path, False)
    assert push_lib.push_export(tiny_export(), base, model_name="sentiment").version == 2  # without: a new version
    assert _versions(base, "sentiment") == [1, 2] and _versions(base) == []


@pytest.mark.parametrize("arguments, message", [
    (dict(model_name="../albert"), "model name"),
    (dict(model_name=""), "model name"),
    (dict(model_name=".hidden"), "model name"),
    (dict(model_name="模型"), "model name must be ASCII letters"),
    (dict(keep_versions=0), "keep_versions"),
    (dict(version=0), "version"),
    (dict(version="2"), "version"),
])
def test_bad_arguments_are_refused(tmp_path, arguments, message):
    with pytest.raises(push_lib.PushError, match=message):
        push_lib.push_export(tiny_export(), str(tmp_path / "serving"), **arguments)
    assert not (tmp_path / "serving").exists()


def test_non_version_directories_are_ignored(tmp_path):
    model_dir = tmp_path / "serving" / MODEL
    for name in ("7", f".8{storage.STAGING_MARKER}x", "notes", "09", "\u0669"):  # U+0669: an Arabic-Indic 9
        (model_dir / name).mkdir(parents=True)
    (model_dir / "12").write_text("a file, not a version")
    assert _versions(str(tmp_path / "serving"), complete_only=False) == [7, 9]
    assert _versions(str(tmp_path / "serving")) == []  # none holds a saved_model.pb: none is served
    result = push_lib.push_export(tiny_export(), str(tmp_path / "serving"), keep_versions=1)
    assert (result.version, result.removed_versions) == (10, (7, 9))
    # Only versions are removed.
    assert sorted(os.listdir(model_dir)) == sorted([f".8{storage.STAGING_MARKER}x", "10", "12", "notes", "\u0669"])


def test_a_killed_pushs_staging_directory_is_removed_by_a_later_push_once_stale(tmp_path):
    base = str(tmp_path / "serving")
    parent = os.path.join(base, MODEL)
    abandoned = [f".1{storage.STAGING_MARKER}abandoned", ".1.pushing-abandoned"]  # the second: before 0.2
    for name in abandoned:
        os.makedirs(os.path.join(parent, name, "variables"))
    inflight = f".1{storage.STAGING_MARKER}inflight"
    os.makedirs(os.path.join(parent, inflight))
    stale = os.path.getmtime(parent) - push_lib.STALE_STAGING_SECONDS - 60
    for name in abandoned:
        os.utime(os.path.join(parent, name), (stale, stale))
    result = push_lib.push_export(tiny_export(), base)
    assert result.version == 1
    # The stale ones are gone; one that may belong to a push still running is left alone.
    assert sorted(os.listdir(parent)) == [inflight, "1"]


# A push that stops after its second file, for a test to SIGKILL it mid-copy (as a preempted pod is killed).
_PUSH_UNTIL_KILLED = """
import sys, time
from serving import push as push_lib
from text_contract import storage
real_copy, copied = storage.copy_file, []
def copy_then_wait(source, destination):
    real_copy(source, destination)
    copied.append(destination)
    if len(copied) == 2:
        print("copying", flush=True)
        time.sleep(600)
storage.copy_file = copy_then_wait
push_lib.push_export(sys.argv[1], sys.argv[2], check_ops=False)
"""


def _kill_mid_push(export_dir, base):
    repo_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    process = subprocess.Popen([sys.executable, "-c", _PUSH_UNTIL_KILLED, export_dir, base], cwd=repo_root,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "copying\n"
    finally:
        process.kill()
        process.wait(timeout=60)


def test_a_push_killed_mid_copy_leaves_staging_that_the_next_push_removes_at_once(tmp_path):
    base = str(tmp_path / "serving")
    parent = os.path.join(base, MODEL)
    _kill_mid_push(tiny_export(), base)
    left = os.listdir(parent)
    assert len(left) == 2 and any(storage.STAGING_MARKER in name and name.endswith(push_lib.PUSH_OWNER_SUFFIX)
                                  for name in left), left  # the staging directory and its owner record
    assert push_lib.push_export(tiny_export(), base).version == 1
    assert os.listdir(parent) == ["1"]  # fresh, yet known dead: gone without waiting STALE_STAGING_SECONDS


def test_a_live_pushs_staging_is_kept_and_a_dead_ones_removed(tmp_path):
    base = str(tmp_path / "serving")
    parent = os.path.join(base, MODEL)
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owners = {"dead": int(exited.stdout), "live": os.getppid()}  # the pytest process's parent outlives the test
    for owner, pid in owners.items():
        staging = os.path.join(parent, f".1{storage.STAGING_MARKER}{owner}")
        os.makedirs(os.path.join(staging, "variables"))
        record = push_lib._write_owner_record(staging)
        storage.write_json(record, {**storage.read_json(record), "pid": pid})
    other_host = os.path.join(parent, f".1{storage.STAGING_MARKER}elsewhere")  # cannot be checked: age rule
    os.makedirs(other_host)
    record = push_lib._write_owner_record(other_host)
    storage.write_json(record, {**storage.read_json(record), "host": "another-host", "pid": owners["dead"]})
    push_lib.push_export(tiny_export(), base)
    assert sorted(os.listdir(parent)) == sorted([
        "1", f".1{storage.STAGING_MARKER}live", f".1{storage.STAGING_MARKER}live{push_lib.PUSH_OWNER_SUFFIX}",
        f".1{storage.STAGING_MARKER}elsewhere", f".1{storage.STAGING_MARKER}elsewhere{push_lib.PUSH_OWNER_SUFFIX}"])
