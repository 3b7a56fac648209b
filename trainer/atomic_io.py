"""Atomic writes on a local file system: a reader (a model server, a resumed run) never sees half a file or
half a directory, and a failure leaves what was there before."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Callable


def write_json(path: str, value: dict) -> None:
    """Replaces `path` with `value` as JSON, atomically (temporary file, then rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2)
    os.replace(temporary, path)


def publish_directory(destination: str, write: Callable[[str], None]) -> str:
    """Builds a directory with `write(staging_dir)` beside `destination`, fsyncs it and renames it into place.

    An existing `destination` is replaced only once the new one is complete, and put back if the swap fails;
    a failure in `write` leaves no staging directory behind.
    """
    parent = os.path.dirname(os.path.abspath(destination))
    os.makedirs(parent, exist_ok=True)
    base = os.path.basename(os.path.abspath(destination))
    staging = tempfile.mkdtemp(prefix=f".{base}.staging-", dir=parent)
    retired = None
    try:
        os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes 0700: a server running as another user could not read it
        write(staging)
        fsync_tree(staging)
        if os.path.exists(destination):
            retired = tempfile.mkdtemp(prefix=f".{base}.retired-", dir=parent)
            os.rename(destination, os.path.join(retired, base))
        os.rename(staging, destination)
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
