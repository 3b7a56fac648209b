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
