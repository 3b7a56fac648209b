"""Where exports are served: `<serving base>/<model name>/<version>/`, the rules for both names, and listing versions.

TF Serving's file system source serves the numeric subdirectories of a model's base path (`--model_base_path`
or a ModelConfig's `base_path` = `<serving base>/<model name>`) and ignores every other name, so the push
step's hidden staging directories are never taken for versions. A directory name is kept as found ("007" is
version 7, and its path still ends in "007"), and a version counts as complete (what our readers see: the
local server's model manager, warm start from the served model, the served vocabulary, `keep_versions`)
only once its directory holds a `saved_model.pb` and is published (`text_contract.storage.is_published`):
locally that is any directory (the push renames it into place whole, as pushes before the marker did too);
on an object store (gs://, s3://), where the push copies file by file into the version directory, only once
the push's completion marker (`storage.COMPLETE_MARKER`, written after everything else) is there. TF Serving
itself only looks for `saved_model.pb`, which the push copies after every other file of the model.

Model names: ASCII letters, digits, '-' and '_', starting with a letter or digit. The name is a directory
under the serving base, a path segment of TF Serving's REST API (`/v1/models/<name>:predict`), a label of its
Prometheus metrics and part of Kubernetes object names in serving/deploy; non-ASCII names (`模型`) would need
escaping in each of them, so they are refused, at config time, with this message.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import List, Optional

from serving.contract import SAVED_MODEL_FILE
from text_contract import storage

# The name serving/deploy/models.config serves, and how many pushed versions stay on disk. Keep the latter
# >= the `num_versions` TF Serving's version policy serves, plus one to roll back to.
DEFAULT_MODEL_NAME = "albert"
DEFAULT_KEEP_VERSIONS = 3

MODEL_NAME_RULE = "ASCII letters, digits, '-' or '_', starting with a letter or digit"
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}", re.ASCII)
_VERSION_NAME = re.compile(r"[0-9]+", re.ASCII)  # what TF Serving takes for a version directory


class InvalidModelName(ValueError):
    """A model name that cannot be served; the message says the rule and what was received."""


def check_model_name(name: object, field: str = "model name") -> str:
    """Returns `name` when it follows MODEL_NAME_RULE; InvalidModelName naming `field` otherwise."""
    if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
        raise InvalidModelName(f"{field} must be {MODEL_NAME_RULE}, got {name!r}")
    return name


def model_dir(serving_base: str, model_name: str) -> str:
    """`<serving_base>/<model_name>`: the base path TF Serving's model config names."""
    return os.path.join(os.fspath(serving_base), check_model_name(model_name))


def version_number(directory_name: str) -> Optional[int]:
    """The version a directory name stands for ("007" -> 7), or None when TF Serving would not serve it."""
    name = directory_name.rstrip("/")  # gs:// lists directories with a trailing "/"
    return int(name) if _VERSION_NAME.fullmatch(name) else None


@dataclasses.dataclass(frozen=True)
class VersionDir:
    """One version directory: its number and its path, with the directory name as found."""

    version: int
    path: str


def version_dirs(served_model_dir: str, complete_only: bool = True) -> List[VersionDir]:
    """The version directories under `<serving base>/<model name>`, oldest first (empty when there is none).

    `complete_only`: only the complete versions (`is_complete`), as readers must see them. The push step
    passes False to pick a version number no directory has taken yet.
    """
    import tensorflow as tf  # tf.io.gfile: the serving base may be remote (gs://, s3://)

    storage.register_filesystem(served_model_dir or "")
    if not served_model_dir or not tf.io.gfile.isdir(served_model_dir):
        return []
    found = []
    for entry in tf.io.gfile.listdir(served_model_dir):
        version = version_number(entry)
        path = os.path.join(served_model_dir, entry.rstrip("/"))
        if version is None or not tf.io.gfile.isdir(path):
            continue
        if complete_only and not is_complete(path):
            continue
        found.append(VersionDir(version, path))
    return sorted(found, key=lambda v: (v.version, v.path))


def is_complete(version_path: str) -> bool:
    """Whether a version directory is whole (module docstring): published, and holding a saved_model.pb."""
    import tensorflow as tf

    return storage.is_published(version_path) and tf.io.gfile.exists(os.path.join(version_path, SAVED_MODEL_FILE))


def latest_version_dir(served_model_dir: str) -> Optional[str]:
    """The directory of the newest complete version (the one TF Serving's default policy serves), or None."""
    versions = version_dirs(served_model_dir)
    return versions[-1].path if versions else None
