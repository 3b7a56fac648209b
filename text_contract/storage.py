"""Publishing files and directories so that readers never see half of them, and the rule for remote paths.

A reader (a model server polling for versions, a resumed run, the next pipeline component) must see a
directory whole or not at all, and a failure must leave what was there before.

- Local (and POSIX network) file systems: the directory is built under a hidden staging name beside its
  destination, fsynced, then renamed into place; the rename is atomic, so a local directory that exists is
  whole (this is also why a local directory needs no completion marker, and why those published before the
  marker existed still count).
- Remote paths (`gs://`, `s3://`, `hdfs://`: any path with a scheme) live on object stores, where a "rename"
  is a copy of every object and a reader may list a directory while it is being written. The directory is
  built locally (`publish_directory`) or taken as it is (`publish_copy`), then copied with `tf.io.gfile`,
  the `written_last` files (e.g. a SavedModel's `saved_model.pb`, which TF Serving and TFX take as the sign
  of a complete directory) after every other file, and, with `mark_complete`, the completion marker
  `COMPLETE_MARKER` after everything: readers that must not see half a directory check it
  (`is_published`). A failed copy removes what it copied, best effort; removal takes the marker away first
  (`remove_directory`), so a directory being deleted stops counting before any of its files go.
  Copying under a staging name first would not help there: the copy to the final name is as slow and as
  visible as the first one.
- Single files (`write_json`, `write_bytes`): locally a temporary file renamed into place; on an object store
  one object, which appears whole when its upload completes.

TensorFlow is imported only on the remote paths (its file system layer is what reaches object stores and
what the rest of the stack writes with), so local publication, and the modules that only need
`is_remote`, do not pay for it. `s3://` is tensorflow-io's file system: `register_filesystem` imports it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

# Hidden names (TF Serving takes only numeric directory names for versions, readers skip dot-names).
STAGING_MARKER = ".staging-"
RETIRED_MARKER = ".retired-"
# The file written last into a directory published on an object store: the directory is complete once it is
# there (`is_published`). A hidden name: TF Serving and TFX ignore it.
COMPLETE_MARKER = ".albert-tfx-complete"
# Schemes whose tf.io.gfile file system lives outside TensorFlow, and the module that registers it (tensorflow-io:
# TensorFlow dropped its own S3 support in 2.6). Beam workers import the same module (`filesystem_beam_args`).
_FILESYSTEM_MODULES = {"s3": "tensorflow_io"}
_REGISTERED = set()  # the modules of _FILESYSTEM_MODULES that register_filesystem imported in this process


def is_remote(path: str) -> bool:
    """A path with a scheme (gs://, s3://, hdfs://): reached through tf.io.gfile, without atomic renames."""
    return "://" in os.fspath(path)


def scheme(path: str) -> str:
    """"s3" for "s3://bucket/x", "" for a local path."""
    path = os.fspath(path)
    return path.split("://", 1)[0] if is_remote(path) else ""


def register_filesystem(path: str) -> None:
    """Makes `path`'s file system known to tf.io.gfile in this process: imports tensorflow-io for `s3://` (an
    ImportError saying what to install when it is missing); nothing for local paths and TensorFlow's own
    schemes (gs://, hdfs://, ram://)."""
    module = _FILESYSTEM_MODULES.get(scheme(path)) if path else None
    if module is None:
        return
    try:
        __import__(module)
    except ImportError as error:
        raise ImportError(f"{path}: {scheme(path)}:// paths need the {module} package (pip install "
                          f"tensorflow-io, pinned in constraints.txt): {error}") from None
    _REGISTERED.add(module)


def finish_process(status: int) -> int:
    """Returns `status`; but in a process that registered tensorflow-io for an s3:// path (`register_filesystem`),
    flushes the output and ends the process at once with `status`: tensorflow-io 0.37.1's S3 file system, once
    used, aborts the interpreter's normal exit
    ("pure virtual method called", status 134; tensorflow/io#2039, fixed upstream after the last release for
    TensorFlow 2.16), which would turn a finished run into a failed one. For command-line entry points only."""
    if not _REGISTERED:
        return status
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def filesystem_beam_args(paths: Iterable[Optional[str]]) -> List[str]:
    """Beam options that make the file systems of `paths` known in every Beam worker process too (Beam imports
    each `--beam_plugins` module when a worker starts); [] when all are local or TensorFlow's own."""
    modules = sorted({_FILESYSTEM_MODULES[scheme(p)] for p in paths if p and scheme(p) in _FILESYSTEM_MODULES})
    return [f"--beam_plugins={module}" for module in modules]


def _gfile():
    import tensorflow as tf  # only for remote paths; see the module docstring

    return tf.io.gfile


def exists(path: str) -> bool:
    return _gfile().exists(path) if is_remote(path) else os.path.exists(path)


def isdir(path: str) -> bool:
    return _gfile().isdir(path) if is_remote(path) else os.path.isdir(path)


def listdir(path: str) -> List[str]:
    """The names in directory `path` (without the trailing "/" some object stores list directories with)."""
    names = _gfile().listdir(path) if is_remote(path) else os.listdir(path)
    return [name.rstrip("/") for name in names]


def makedirs(path: str) -> None:
    if is_remote(path):
        _gfile().makedirs(path)
    else:
        os.makedirs(path, exist_ok=True)


def read_bytes(path: str) -> bytes:
    if is_remote(path):
        with _gfile().GFile(path, "rb") as handle:
            return handle.read()
    with open(path, "rb") as handle:
        return handle.read()


def write_bytes(path: str, data: bytes) -> None:
    """Replaces the file `path` with `data`, atomically: locally a temporary file renamed into place; on an
    object store one object, which readers see only once its upload has completed."""
    path = os.fspath(path)
    if is_remote(path):
        gfile = _gfile()
        gfile.makedirs(os.path.dirname(path))
        if scheme(path) == "ram" and gfile.exists(path):
            gfile.remove(path)  # TensorFlow's in-memory file system (tests) appends where object stores replace
        with gfile.GFile(path, "wb") as handle:
            handle.write(data)
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = f"{path}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def read_json(path: str) -> Any:
    return json.loads(read_bytes(path).decode("utf-8"))


def write_json(path: str, value: Any) -> None:
    """Replaces the file `path` (local or remote) with `value` as JSON, atomically (`write_bytes`)."""
    write_bytes(path, json.dumps(value, indent=2).encode("utf-8"))


def save_arrays(path: str, arrays: Sequence[Any]) -> None:
    """`numpy.savez` of `arrays` (read back as arr_0, arr_1, ...) to `path`, local or remote, atomically."""
    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, *arrays)
    write_bytes(path, buffer.getvalue())


def load_arrays(path: str) -> List[Any]:
    """The arrays `save_arrays` wrote, in order."""
    import numpy as np

    with np.load(io.BytesIO(read_bytes(path))) as stored:
        return [stored[f"arr_{i}"] for i in range(len(stored.files))]


@contextlib.contextmanager
def local_copy(path: str) -> Iterator[str]:
    """A local path holding what the file or directory `path` holds, for libraries that only read local files
    (h5py, safetensors): `path` itself when it is local, else a temporary copy removed afterwards."""
    path = os.fspath(path)
    if not is_remote(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="albert-tfx-local-copy-") as local:
        target = os.path.join(local, os.path.basename(path.rstrip("/")) or "copy")
        if _gfile().isdir(path):
            copy_tree(path, target)
        else:
            copy_file(path, target)
        yield target


def is_published(directory: str) -> bool:
    """Whether `directory` is complete: on an object store, once its COMPLETE_MARKER is there; a local
    directory always (it appeared by an atomic rename, see the module docstring)."""
    directory = os.fspath(directory)
    if not is_remote(directory):
        return os.path.isdir(directory)
    return _gfile().exists(os.path.join(directory, COMPLETE_MARKER))


def mark_published(directory: str, description: Optional[dict] = None) -> None:
    """Writes `directory`'s COMPLETE_MARKER (remote only: locally the rename publishes), last."""
    if is_remote(directory):
        write_json(os.path.join(directory, COMPLETE_MARKER),
                   {"published_at": time.time(), **(description or {})})


def newest_mtime(directory: str) -> float:
    """The newest modification time (seconds) of the files under `directory` (0 when it holds none): how long
    ago a writer last touched it, on object stores too, where directories have no time of their own."""
    if not is_remote(directory):
        times = [os.path.getmtime(os.path.join(d, n)) for d, _, names in os.walk(directory) for n in names]
        return max(times + [os.path.getmtime(directory)])
    import tensorflow as tf

    times = []
    for path, _ in tree_files(directory):
        try:
            times.append(tf.io.gfile.stat(path).mtime_nsec / 1e9)
        except tf.errors.NotFoundError:  # removed since it was listed
            continue
    return max(times, default=0.0)


def publish_directory(destination: str, write: Callable[[str], None], *, replace: bool = True,
                      written_last: Sequence[str] = (), mark_complete: bool = False) -> str:
    """Builds a directory with `write(staging_dir)` and puts it at `destination` whole (module docstring).

    `replace`: an existing `destination` is replaced once the new one is complete (and put back if the swap
    fails); with False an existing one is a FileExistsError and is left alone. A failure in `write` leaves
    no staging directory behind. `written_last`: paths, relative to the directory, copied last to a remote
    destination. `mark_complete`: a remote destination gets its COMPLETE_MARKER after everything else.
    """
    destination = os.fspath(destination)
    if is_remote(destination):
        return _publish_remote(destination, write, replace, written_last, mark_complete)
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
                    written_last: Sequence[str], mark_complete: bool) -> str:
    if not replace and _gfile().exists(destination):  # before the work, not after it
        raise FileExistsError(f"{destination} already exists")
    with tempfile.TemporaryDirectory(prefix="albert-tfx-publish-") as local:
        staging = os.path.join(local, "staging")
        os.makedirs(staging)
        write(staging)
        return publish_copy(staging, destination, replace=replace, written_last=written_last,
                            mark_complete=mark_complete)


def publish_copy(source: str, destination: str, *, replace: bool = True, written_last: Sequence[str] = (),
                 mark_complete: bool = False) -> str:
    """Copies the directory `source` (local or remote) to `destination`, published as `publish_directory` does
    (a COMPLETE_MARKER in `source` is not copied: the copy gets its own, with `mark_complete`)."""
    destination = os.fspath(destination)
    if not is_remote(destination):
        return publish_directory(destination, lambda staging: copy_tree(source, staging, written_last),
                                 replace=replace)
    gfile = _gfile()
    if gfile.exists(destination):
        if not replace:
            raise FileExistsError(f"{destination} already exists")
        remove_directory(destination)
    try:
        copy_tree(source, destination, written_last)
        if mark_complete:
            mark_published(destination, {"source": source})
    except BaseException:
        if gfile.exists(destination):
            remove_directory(destination)
        raise
    return destination


def tree_files(source: str, written_last: Sequence[str] = ()) -> List[Tuple[str, str]]:
    """(path, path relative to `source`) of every file under `source`, the `written_last` ones at the end."""
    walk = _gfile().walk if is_remote(source) else os.walk
    last = {os.path.normpath(p) for p in written_last}
    files = []
    for directory, _, names in walk(source):
        relative_dir = os.path.relpath(directory, source) if directory.rstrip("/") != source.rstrip("/") else ""
        files.extend((os.path.join(directory, n), os.path.normpath(os.path.join(relative_dir, n))) for n in names
                     if not (n == COMPLETE_MARKER and not relative_dir))  # a copy is marked on its own
    return sorted(files, key=lambda item: (item[1] in last, item[1]))


def copy_file(source: str, destination: str) -> None:
    """Copies one file, overwriting: with shutil between local paths, with tf.io.gfile when either is remote."""
    if is_remote(source) or is_remote(destination):
        _gfile().copy(source, destination, overwrite=True)
    else:
        shutil.copyfile(source, destination)


def copy_tree(source: str, destination: str, written_last: Sequence[str] = ()) -> None:
    """Copies a directory tree file by file (`copy_file`), the `written_last` files after all others."""
    makedirs(destination)
    for path, relative in tree_files(source, written_last):
        target = os.path.join(destination, relative)
        makedirs(os.path.dirname(target))
        copy_file(path, target)


def remove_directory(path: str) -> None:
    """Removes a directory so that readers see it whole until it is gone: locally renamed aside first; on an
    object store its COMPLETE_MARKER goes first, so that `is_published` readers stop counting it before any
    other file goes."""
    if is_remote(path):
        gfile = _gfile()
        marker = os.path.join(path, COMPLETE_MARKER)
        if gfile.exists(marker):
            gfile.remove(marker)
        gfile.rmtree(path)
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
