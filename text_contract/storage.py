"""Publishing files and directories so that readers never see half of them, and the rule for remote paths.

A reader (a model server polling for versions, a resumed run, the next pipeline component) must see a
directory whole or not at all, and a failure must leave what was there before.

- Local (and POSIX network) file systems: the directory is built under a hidden staging name beside its
  destination, fsynced, then renamed into place; the rename is atomic.
- Remote paths (`gs://`, `s3://`, `hdfs://`: any path with a scheme) cannot rename directories. The
  directory is built locally (`publish_directory`) or taken as it is (`publish_copy`), then copied with
  `tf.io.gfile`, the `written_last` files (e.g. a SavedModel's `saved_model.pb`, which TF Serving and TFX
  take as the sign of a complete directory) after every other file; a failed copy removes what it copied,
  best effort.

TensorFlow is imported only on the remote paths (its file system layer is what reaches object stores and
what the rest of the stack writes with), so local publication, and the modules that only need
`is_remote`, do not pay for it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from typing import Callable, List, Sequence, Tuple

# Hidden names (TF Serving takes only numeric directory names for versions, readers skip dot-names).
STAGING_MARKER = ".staging-"
RETIRED_MARKER = ".retired-"


def is_remote(path: str) -> bool:
    """A path with a scheme (gs://, s3://, hdfs://): reached through tf.io.gfile, without atomic renames."""
    return "://" in os.fspath(path)


def _gfile():
    import tensorflow as tf  # only for remote paths; see the module docstring

    return tf.io.gfile


def write_json(path: str, value: dict) -> None:
    """Replaces the local file `path` with `value` as JSON, atomically (temporary file, then rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2)
    os.replace(temporary, path)


def publish_directory(destination: str, write: Callable[[str], None], *, replace: bool = True,
                      written_last: Sequence[str] = ()) -> str:
    """Builds a directory with `write(staging_dir)` and puts it at `destination` whole (module docstring).

    `replace`: an existing `destination` is replaced once the new one is complete (and put back if the swap
    fails); with False an existing one is a FileExistsError and is left alone. A failure in `write` leaves
    no staging directory behind. `written_last`: paths, relative to the directory, copied last to a remote
    destination.
    """
    destination = os.fspath(destination)
    if is_remote(destination):
        return _publish_remote(destination, write, replace, written_last)
    parent = os.path.dirname(os.path.abspath(destination))
    os.makedirs(parent, exist_ok=True)
    base = os.path.basename(os.path.abspath(destination))
    if not replace and os.path.exists(destination):
        raise FileExistsError(f"{destination} already exists")
    staging = tempfile.mkdtemp(prefix=f".{base}{STAGING_MARKER}", dir=parent)
    retired = None
    try:
        os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes 0700: a server running as another user could not read it
        write(staging)
        fsync_tree(staging)
        if os.path.exists(destination):
            if not replace:
                raise FileExistsError(f"{destination} appeared while it was being written (a concurrent writer?)")
            retired = tempfile.mkdtemp(prefix=f".{base}{RETIRED_MARKER}", dir=parent)
            os.rename(destination, os.path.join(retired, base))
        try:
            os.rename(staging, destination)  # replaces nothing: `destination` is gone or never was
        except OSError as error:
            if not replace and os.path.exists(destination):
                raise FileExistsError(f"{destination} appeared while it was being written") from error
            raise
        fsync_directory(parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired and not os.path.exists(destination):  # put the previous directory back
            os.rename(os.path.join(retired, base), destination)
        raise
    finally:
        if retired:
            shutil.rmtree(retired, ignore_errors=True)
    return destination


def _publish_remote(destination: str, write: Callable[[str], None], replace: bool,
                    written_last: Sequence[str]) -> str:
    if not replace and _gfile().exists(destination):  # before the work, not after it
        raise FileExistsError(f"{destination} already exists")
    with tempfile.TemporaryDirectory(prefix="albert-tfx-publish-") as local:
        staging = os.path.join(local, "staging")
        os.makedirs(staging)
        write(staging)
        return publish_copy(staging, destination, replace=replace, written_last=written_last)


def publish_copy(source: str, destination: str, *, replace: bool = True, written_last: Sequence[str] = ()) -> str:
    """Copies the directory `source` (local or remote) to `destination`, published as `publish_directory` does."""
    destination = os.fspath(destination)
    if not is_remote(destination):
        return publish_directory(destination, lambda staging: copy_tree(source, staging, written_last),
                                 replace=replace)
    gfile = _gfile()
    if gfile.exists(destination):
        if not replace:
            raise FileExistsError(f"{destination} already exists")
        gfile.rmtree(destination)
    try:
        copy_tree(source, destination, written_last)
    except BaseException:
        if gfile.exists(destination):
            gfile.rmtree(destination)
        raise
    return destination


def tree_files(source: str, written_last: Sequence[str] = ()) -> List[Tuple[str, str]]:
    """(path, path relative to `source`) of every file under `source`, the `written_last` ones at the end."""
    walk = _gfile().walk if is_remote(source) else os.walk
    last = {os.path.normpath(p) for p in written_last}
    files = []
    for directory, _, names in walk(source):
        relative_dir = os.path.relpath(directory, source) if directory.rstrip("/") != source.rstrip("/") else ""
        files.extend((os.path.join(directory, n), os.path.normpath(os.path.join(relative_dir, n))) for n in names)
    return sorted(files, key=lambda item: (item[1] in last, item[1]))


def copy_file(source: str, destination: str) -> None:
    """Copies one file, overwriting: with shutil between local paths, with tf.io.gfile when either is remote."""
    if is_remote(source) or is_remote(destination):
        _gfile().copy(source, destination, overwrite=True)
    else:
        shutil.copyfile(source, destination)


def _makedirs(path: str) -> None:
    if is_remote(path):
        _gfile().makedirs(path)
    else:
        os.makedirs(path, exist_ok=True)


def copy_tree(source: str, destination: str, written_last: Sequence[str] = ()) -> None:
    """Copies a directory tree file by file (`copy_file`), the `written_last` files after all others."""
    _makedirs(destination)
    for path, relative in tree_files(source, written_last):
        target = os.path.join(destination, relative)
        _makedirs(os.path.dirname(target))
        copy_file(path, target)


def remove_directory(path: str) -> None:
    """Removes a directory so that readers see it whole until it is gone (local: renamed aside first)."""
    if is_remote(path):
        _gfile().rmtree(path)
        return
    parent, base = os.path.split(os.path.abspath(path))
    aside = tempfile.mkdtemp(prefix=f".{base}{RETIRED_MARKER}", dir=parent)
    os.rename(path, os.path.join(aside, base))  # the directory disappears at once, whole
    shutil.rmtree(aside, ignore_errors=True)


def remove_stale_staging(parent: str, older_than_seconds: float,
                         markers: Sequence[str] = (STAGING_MARKER, RETIRED_MARKER)) -> List[str]:
    """Removes the hidden staging and retired directories (names holding one of `markers`) under the local
    `parent` untouched for `older_than_seconds`: left by a writer that was killed (kill -9, power loss) before
    it could clean up. Returns their paths."""
    removed = []
    for name in os.listdir(parent):
        path = os.path.join(parent, name)
        if (name.startswith(".") and any(marker in name for marker in markers) and os.path.isdir(path)
                and time.time() - os.path.getmtime(path) > older_than_seconds):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def fsync_directory(directory: str) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_tree(root: str) -> None:
    for directory, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(directory, name), "rb") as handle:
                os.fsync(handle.fileno())
        fsync_directory(directory)
