"""Publication that readers see whole or not at all, locally and on a file system with a scheme."""

import os
import subprocess
import sys

import pytest

from text_contract import storage


def _write(files):
    def write(directory):
        for name, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(directory, name)), exist_ok=True)
            with open(os.path.join(directory, name), "w", encoding="utf-8") as handle:
                handle.write(text)
    return write


def _tree(root):
    return {os.path.relpath(os.path.join(d, n), root): open(os.path.join(d, n), encoding="utf-8").read()
            for d, _, names in os.walk(root) for n in names}


def test_publish_replaces_a_directory_whole_and_leaves_no_staging_behind(tmp_path):
    target = tmp_path / "out" / "model"
    storage.publish_directory(str(target), _write({"a.txt": "1", "sub/b.txt": "2"}))
    assert _tree(target) == {"a.txt": "1", os.path.join("sub", "b.txt"): "2"}
    storage.publish_directory(str(target), _write({"c.txt": "3"}))
    assert _tree(target) == {"c.txt": "3"}
    assert os.listdir(tmp_path / "out") == ["model"]
    assert oct(os.stat(target).st_mode & 0o777) != "0o700"  # readable by a server running as another user


def test_a_failed_write_keeps_what_was_there(tmp_path):
    target = tmp_path / "model"
    storage.publish_directory(str(target), _write({"a.txt": "old"}))

    def failing(directory):
        _write({"a.txt": "half"})(directory)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        storage.publish_directory(str(target), failing)
    assert _tree(target) == {"a.txt": "old"} and os.listdir(tmp_path) == ["model"]


def test_without_replace_an_existing_destination_is_an_error_and_untouched(tmp_path):
    target = tmp_path / "7"
    storage.publish_directory(str(target), _write({"a.txt": "first"}), replace=False)
    with pytest.raises(FileExistsError, match="already exists"):
        storage.publish_copy(str(target), str(target), replace=False)
    assert _tree(target) == {"a.txt": "first"}


def test_publish_copy_copies_a_tree_and_written_last_files_come_last(tmp_path):
    source = tmp_path / "source"
    _write({"saved_model.pb": "graph", "variables/v.index": "i", "z.txt": "z"})(str(source))
    assert [rel for _, rel in storage.tree_files(str(source), written_last=["saved_model.pb"])][-1] == "saved_model.pb"
    storage.publish_copy(str(source), str(tmp_path / "copy"))
    assert _tree(tmp_path / "copy") == _tree(source)


def test_remove_directory_and_stale_staging(tmp_path):
    storage.publish_directory(str(tmp_path / "1"), _write({"a": "x"}))
    stale = tmp_path / f".2{storage.STAGING_MARKER}abc"
    stale.mkdir()
    os.utime(stale, (0, 0))
    fresh = tmp_path / f".3{storage.STAGING_MARKER}def"
    fresh.mkdir()
    assert storage.remove_stale_staging(str(tmp_path), older_than_seconds=3600) == [str(stale)]
    storage.remove_directory(str(tmp_path / "1"))
    assert sorted(os.listdir(tmp_path)) == [fresh.name]


def test_a_remote_destination_is_written_through_tf_io_gfile():
    import tensorflow as tf

    target = "ram://albert-tfx-storage-test/model"
    assert storage.is_remote(target) and not storage.is_remote("/tmp/model")
    storage.publish_directory(target, _write({"saved_model.pb": "g", "variables/v": "w"}),
                              written_last=["saved_model.pb"])
    assert sorted(tf.io.gfile.listdir(target)) == ["saved_model.pb", "variables"]
    with pytest.raises(FileExistsError):
        storage.publish_directory(target, _write({"x": "y"}), replace=False)
    storage.publish_directory(target, _write({"x": "y"}))
    assert tf.io.gfile.listdir(target) == ["x"]


def test_local_publication_does_not_import_tensorflow():
    code = ("import sys, tempfile, os; from text_contract import storage, features, pieces, normalization, "
            "sentencepiece_training, transform_options; d = tempfile.mkdtemp(); "
            "storage.publish_directory(os.path.join(d, 'x'), lambda s: None); "
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def _ram(name):
    """A fresh directory on TensorFlow's in-memory file system: a path with a scheme, like gs:// or s3://."""
    import uuid

    return f"ram://albert-tfx-storage-test-{uuid.uuid4().hex}/{name}"


def test_on_an_object_store_the_completion_marker_comes_after_every_file(tmp_path, monkeypatch):
    import tensorflow as tf

    source = tmp_path / "source"
    _write({"saved_model.pb": "graph", "variables/v": "w", "assets.extra/x": "x"})(str(source))
    (source / storage.COMPLETE_MARKER).write_text("a marker of the source is not copied")
    written = []
    real_copy, real_write = storage.copy_file, storage.write_bytes
    monkeypatch.setattr(storage, "copy_file", lambda a, b: (written.append(b), real_copy(a, b)))
    monkeypatch.setattr(storage, "write_bytes", lambda path, data: (written.append(path), real_write(path, data)))
    target = _ram("7")
    storage.publish_copy(str(source), target, written_last=["saved_model.pb"], mark_complete=True)
    names = [os.path.relpath(path, target) for path in written]
    assert names[-2:] == ["saved_model.pb", storage.COMPLETE_MARKER]
    assert sorted(names[:-2]) == [os.path.join("assets.extra", "x"), os.path.join("variables", "v")]
    assert storage.is_published(target)
    assert storage.read_json(os.path.join(target, storage.COMPLETE_MARKER))["source"] == str(source)
    # Without mark_complete (and before the marker is written) a remote directory is not published.
    unmarked = _ram("8")
    storage.publish_copy(str(source), unmarked)
    assert tf.io.gfile.exists(os.path.join(unmarked, "saved_model.pb")) and not storage.is_published(unmarked)


def test_a_local_directory_is_published_by_its_rename_and_needs_no_marker(tmp_path):
    storage.publish_directory(str(tmp_path / "1"), _write({"saved_model.pb": "g"}), mark_complete=True)
    assert storage.is_published(str(tmp_path / "1")) and not storage.is_published(str(tmp_path / "2"))
    assert os.listdir(tmp_path / "1") == ["saved_model.pb"]  # the rename published it: no marker written


def test_removal_on_an_object_store_takes_the_marker_first(tmp_path, monkeypatch):
    import tensorflow as tf

    target = _ram("3")
    storage.publish_directory(target, _write({"saved_model.pb": "g", "variables/v": "w"}), mark_complete=True)

    def interrupted(path):
        raise OSError("connection lost")

    monkeypatch.setattr(tf.io.gfile, "rmtree", interrupted)
    with pytest.raises(OSError, match="connection lost"):
        storage.remove_directory(target)
    # Half removed: the files are still there, but no reader counts the directory any more.
    assert tf.io.gfile.exists(os.path.join(target, "saved_model.pb")) and not storage.is_published(target)


def test_files_json_and_arrays_round_trip_on_an_object_store(tmp_path):
    import numpy as np
    import tensorflow as tf

    directory = _ram("run")
    storage.write_json(os.path.join(directory, "sub", "metrics.json"), {"step": 3})
    storage.write_json(os.path.join(directory, "sub", "metrics.json"), {"step": 4})  # replaced whole
    assert storage.read_json(os.path.join(directory, "sub", "metrics.json")) == {"step": 4}
    assert storage.listdir(os.path.join(directory, "sub")) == ["metrics.json"]  # no temporary file left
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([7], dtype=np.int64)]
    storage.save_arrays(os.path.join(directory, "best.npz"), arrays)
    loaded = storage.load_arrays(os.path.join(directory, "best.npz"))
    assert [a.dtype for a in loaded] == [a.dtype for a in arrays]
    for ours, theirs in zip(loaded, arrays):
        np.testing.assert_array_equal(ours, theirs)
    with storage.local_copy(directory) as local:
        assert not storage.is_remote(local)
        assert sorted(os.listdir(local)) == ["best.npz", "sub"]
        copied = local
    assert not os.path.exists(copied)  # the temporary copy is gone afterwards
    with storage.local_copy(str(tmp_path)) as local:
        assert local == str(tmp_path)  # a local path is used as it is
    assert tf.io.gfile.exists(os.path.join(directory, "best.npz"))


def test_file_systems_outside_tensorflow_are_registered_here_and_in_beam_workers(monkeypatch):
    assert storage.scheme("s3://bucket/x") == "s3" and storage.scheme("/tmp/x") == ""
    assert storage.filesystem_beam_args(["/tmp/out", "gs://b/x", None, ""]) == []
    assert storage.filesystem_beam_args(["s3://b/out", "s3://b/serving"]) == ["--beam_plugins=tensorflow_io"]
    storage.register_filesystem("gs://bucket/x")  # TensorFlow's own: nothing to import
    monkeypatch.setitem(storage._FILESYSTEM_MODULES, "madeup", "albert_tfx_no_such_module")
    with pytest.raises(ImportError, match="madeup://bucket/x: madeup:// paths need the albert_tfx_no_such_module"):
        storage.register_filesystem("madeup://bucket/x")


def test_finish_process_keeps_the_exit_status_where_tensorflow_io_would_abort_the_exit():
    code = ("import sys, types; from text_contract import storage; "
            "sys.modules['tensorflow_io'] = types.ModuleType('tensorflow_io'); "  # stands in for it
            "print(storage.finish_process(5)); "  # loaded (TFMA imports it) but not used for s3://: returned
            "storage.register_filesystem('s3://bucket/x'); "
            "print('flushed', end=''); storage.finish_process(3); print('not reached')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout) == (3, "5\nflushed")
