"""Pushing to an object store, where a rename is a copy: readers only see versions whose completion marker is
there, and the next push cleans up what a push that died half-way left.

The serving base is a `file://` URI: a path with a scheme, so our code treats it as it treats gs:// and s3://
(tf.io.gfile, copies instead of renames, the completion marker), on a local disk whose modification times
the tests can age. (TensorFlow's in-memory `ram://` file system lists `assets/` as holding `.extra` when an
`assets.extra/` is beside it, so it cannot hold a SavedModel; tests/pipeline/test_remote_storage.py runs the
pipeline against a real S3 server.) A half-written version is made by hand: the files a push copies before
saved_model.pb and the marker.
"""

import os
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from components.sentencepiece_vocab import training as vocabulary_training
from serving import contract, layout
from serving import push as push_lib
from serving.model_manager import ModelConfig, ModelManager, versions_on_disk
from tests.serving.support.exports import tiny_export, tiny_exports
from text_contract import storage

MODEL = layout.DEFAULT_MODEL_NAME


@pytest.fixture
def base(tmp_path):
    return "file://" + str(tmp_path / "serving")


def _age(uri):
    """Makes everything under the `file://` directory `uri` look untouched for longer than a push waits."""
    old = time.time() - push_lib.STALE_STAGING_SECONDS - 60
    root = uri[len("file://"):]
    for directory, _, names in os.walk(root):
        for name in names:
            os.utime(os.path.join(directory, name), (old, old))


def _model_dir(base):
    return layout.model_dir(base, MODEL)


def _listing(base):
    return sorted(storage.listdir(_model_dir(base)))


def _half_written(base, version, with_saved_model=False, export_dir=None):
    """What a push of `export_dir` to an object store leaves when it dies: files copied, no marker (and no
    saved_model.pb, which is copied second to last, unless `with_saved_model`)."""
    target = os.path.join(_model_dir(base), str(version))
    for path, relative in storage.tree_files(export_dir or tiny_export(), written_last=[contract.SAVED_MODEL_FILE]):
        if relative == contract.SAVED_MODEL_FILE and not with_saved_model:
            continue
        tf.io.gfile.makedirs(os.path.dirname(os.path.join(target, relative)))
        tf.io.gfile.copy(path, os.path.join(target, relative), overwrite=True)
    return target


def test_a_push_marks_the_version_complete_after_its_saved_model(base):
    result = push_lib.push_export(tiny_export(), base)
    assert (result.version, result.path) == (1, os.path.join(_model_dir(base), "1"))
    assert tf.io.gfile.exists(os.path.join(result.path, storage.COMPLETE_MARKER))
    assert tf.io.gfile.exists(os.path.join(result.path, contract.SAVED_MODEL_FILE))
    assert [v.version for v in layout.version_dirs(_model_dir(base))] == [1]
    assert contract.read_metadata(result.path).model_name == contract.read_metadata(tiny_export()).model_name
    again = push_lib.push_export(tiny_export(), base, skip_if_unchanged=True)
    assert (again.created, again.version) == (False, 1)  # the complete version 1 is the same model


def test_a_half_written_version_is_invisible_to_readers_and_removed_by_the_next_push(base):
    exports = tiny_exports()  # with their vocabulary (assets.extra/spm.model)
    first = push_lib.push_export(exports.dirs[1], base)
    half = _half_written(base, 2, export_dir=exports.dirs[2])
    served = _model_dir(base)

    # Every reader passes over it: the version listing (warm start's choice: `latest_version_dir`), the local
    # server's, the served vocabulary. (tests/pipeline/test_remote_storage.py warm-starts from an object store.)
    assert [v.version for v in layout.version_dirs(served)] == [1]
    assert [v.version for v in layout.version_dirs(served, complete_only=False)] == [1, 2]
    assert layout.latest_version_dir(served) == first.path
    assert versions_on_disk(served) == {1: first.path}
    vocabulary_glob = os.path.join(served, "*", contract.ASSETS_EXTRA_DIR, contract.VOCABULARY_FILE)
    assert tf.io.gfile.exists(os.path.join(half, contract.ASSETS_EXTRA_DIR, contract.VOCABULARY_FILE))
    assert vocabulary_training.newest_match(vocabulary_glob) == os.path.join(
        first.path, contract.ASSETS_EXTRA_DIR, contract.VOCABULARY_FILE)

    # The next push takes the next number (2 stays taken while it exists) and removes the half-written one,
    # once its last write is older than STALE_STAGING_SECONDS.
    _age(half)
    second = push_lib.push_export(exports.dirs[2], base)
    assert second.version == 3
    assert _listing(base) == ["1", "3"]
    assert [v.version for v in layout.version_dirs(served)] == [1, 3]


def test_a_fresh_incomplete_version_may_be_a_push_in_progress_and_is_left_alone(base):
    push_lib.push_export(tiny_export(), base)
    _half_written(base, 2)  # written just now: maybe by a push still running
    assert push_lib.push_export(tiny_export(), base, keep_versions=1).version == 3
    assert _listing(base) == ["2", "3"]  # 1 pruned; 2 may still be written by another push


def test_a_half_written_version_of_a_dead_push_is_removed_at_once_a_live_ones_kept(base):
    """The owner record (host, process id) beside a version being written tells the next push whether its
    writer is gone: then it need not wait STALE_STAGING_SECONDS."""
    push_lib.push_export(tiny_export(), base)
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    for version, pid in ((2, int(exited.stdout)), (3, os.getppid())):  # a dead writer; a live one
        record = push_lib._write_owner_record(_half_written(base, version))
        storage.write_json(record, {**storage.read_json(record), "pid": pid})
    assert push_lib.push_export(tiny_export(), base).version == 4
    assert _listing(base) == [f".3{push_lib.PUSH_OWNER_SUFFIX}", "1", "3", "4"]


def test_a_version_with_saved_model_but_no_marker_waits_for_keep_versions(base):
    """TF Serving may serve a version whose saved_model.pb is there (a push that died just before the marker,
    or one pushed before the marker existed): our readers skip it, only `keep_versions` removes it."""
    push_lib.push_export(tiny_export(), base)
    _age(_half_written(base, 2, with_saved_model=True))
    assert [v.version for v in layout.version_dirs(_model_dir(base))] == [1]
    assert push_lib.push_export(tiny_export(), base).version == 3
    assert _listing(base) == ["1", "2", "3"]
    result = push_lib.push_export(tiny_export(), base, keep_versions=1)
    assert (result.version, result.removed_versions) == (4, (1, 2, 3))
    assert _listing(base) == ["4"]


def test_pruning_keeps_the_newest_complete_versions_not_half_written_ones(base):
    for _ in range(2):
        push_lib.push_export(tiny_export(), base)
    _half_written(base, 3)  # fresh: not removed as abandoned, and not counted as a kept version either
    result = push_lib.push_export(tiny_export(), base, keep_versions=2)
    # Versions 2 and 4 are the two newest complete ones; the half-written 3 did not take a place among them.
    assert (result.version, result.removed_versions) == (4, (1,))
    assert _listing(base) == ["2", "3", "4"]


def test_the_local_server_loads_only_marked_versions(base):
    exports = tiny_exports()
    first = push_lib.push_export(exports.dirs[1], base)
    _half_written(base, 2, with_saved_model=True, export_dir=exports.dirs[2])
    manager = ModelManager(ModelConfig(MODEL, _model_dir(base)))
    try:
        assert manager.poll() == [1]
        with manager.acquire() as servable:
            assert (servable.version, servable.path) == (1, first.path)
        storage.mark_published(os.path.join(_model_dir(base), "2"))  # the push's last step, late
        assert manager.poll() == [2]
    finally:
        manager.close()
