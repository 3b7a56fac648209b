"""Push an export to where TF Serving watches: `<serving_base>/<model_name>/<version>/`, atomically and checked.

TF Serving's file system source serves the numeric subdirectories of a model's base path (its version policy
picks among them) and ignores every other name. `push_export`:

1. refuses an export that is not one: no saved_model.pb or metadata, a SignatureDef that breaks the serving
   contract (`contract.missing_from_contract`), or ops the TF Serving release we deploy lacks
   (`serving.op_check`); nothing is written before these checks pass;
2. picks the version: one more than the largest existing (1 for the first push), or the one asked for;
3. copies the export (tf.io.gfile: the source may be remote, e.g. a Kubeflow Model artifact on gs://) into a
   hidden temporary directory inside `<serving_base>/<model_name>/`, fsyncs every file and directory, then
   renames it to the version number. The server sees the whole version or nothing; a failure removes the
   temporary directory and never touches existing versions;
4. only then removes the versions beyond the newest `keep_versions` (renamed aside first, so the server never
   sees half a deleted version).

Atomicity needs a local (or POSIX network) file system for the serving base: object stores (gs://, s3://)
cannot rename directories. For those the export is copied straight into the version directory with
saved_model.pb last, as TFX's own Pusher does, and a failure removes what was copied (best effort).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import tempfile
from typing import List, Optional, Tuple

import tensorflow as tf

from serving import contract
from text_contract.storage import current_umask, fsync_directory, fsync_tree
from serving import op_check

logger = logging.getLogger(__name__)

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")  # the pipeline's ServingConfig allows the same
_VERSION_DIR = re.compile(r"^[0-9]+$")  # what TF Serving takes for a version directory


class PushError(ValueError):
    """The export cannot be pushed: it is not an albert-tfx export, or it breaks the serving contract."""


class VersionExistsError(PushError, FileExistsError):
    """The version asked for is already there (or not newer than the latest one)."""


@dataclasses.dataclass(frozen=True)
class PushResult:
    """What a push did. `created` is False when `skip_if_unchanged` found the same model as the latest version
    (then `version`/`path` name that version)."""

    model_name: str
    version: int
    path: str
    removed_versions: Tuple[int, ...] = ()
    created: bool = True


def is_remote(path: str) -> bool:
    return "://" in path


def model_dir(serving_base: str, model_name: str) -> str:
    """`<serving_base>/<model_name>`: the base path TF Serving's model config names."""
    _check_model_name(model_name)
    return os.path.join(os.fspath(serving_base), model_name)


def list_versions(serving_base: str, model_name: str = contract.DEFAULT_MODEL_NAME) -> List[int]:
    """The versions pushed for `model_name`, oldest first (empty when there are none)."""
    directory = model_dir(serving_base, model_name)
    return sorted({version for version, _ in _version_dirs(directory)}) if tf.io.gfile.isdir(directory) else []


def _version_dirs(directory: str) -> List[Tuple[int, str]]:
    """(version, directory name) of the version directories, oldest first ("007" is version 7, as for TF
    Serving)."""
    names = (name.rstrip("/") for name in tf.io.gfile.listdir(directory))  # gs:// lists directories with a "/"
    return sorted((int(name), name) for name in names
                  if _VERSION_DIR.match(name) and tf.io.gfile.isdir(os.path.join(directory, name)))


def latest_version_dir(serving_base: str, model_name: str = contract.DEFAULT_MODEL_NAME) -> Optional[str]:
    """The directory of the newest version (the one TF Serving's default `latest` policy serves), or None."""
    directory = model_dir(serving_base, model_name)
    versions = _version_dirs(directory) if tf.io.gfile.isdir(directory) else []
    return os.path.join(directory, versions[-1][1]) if versions else None


def verify_export(export_dir: str) -> contract.ExportMetadata:
    """The export's metadata, once it is shown to be a complete albert-tfx export; `PushError` otherwise."""
    if not tf.io.gfile.isdir(export_dir):
        raise PushError(f"{export_dir}: no such export directory")
    if not tf.io.gfile.exists(os.path.join(export_dir, contract.SAVED_MODEL_FILE)):
        raise PushError(f"{export_dir}: no {contract.SAVED_MODEL_FILE}; not a SavedModel")
    try:
        metadata = contract.read_metadata(export_dir)
    except (FileNotFoundError, ValueError, TypeError) as error:  # missing, or JSON the contract cannot read
        raise PushError(f"{export_dir}: not an albert-tfx export ({error})") from None
    try:
        problems = contract.missing_from_contract(contract.list_signature_defs(export_dir),
                                                  len(metadata.text_features))
    except ValueError as error:  # no serve MetaGraph, or a metadata text feature count the contract refuses
        raise PushError(f"{export_dir}: {error}") from None
    if metadata.contract_version != contract.CONTRACT_VERSION:
        problems.append(f"contract version {metadata.contract_version}, clients expect {contract.CONTRACT_VERSION}")
    if problems:
        raise PushError(f"{export_dir} does not fulfil the serving contract: " + "; ".join(problems))
    if not tf.io.gfile.exists(contract.warmup_path(export_dir)):
        logger.warning("%s has no warmup requests: TF Serving will answer its first requests cold", export_dir)
    return metadata


def push_export(
    export_dir: str,
    serving_base: str,
    model_name: str = contract.DEFAULT_MODEL_NAME,
    keep_versions: Optional[int] = contract.DEFAULT_KEEP_VERSIONS,
    version: Optional[int] = None,
    check_ops: bool = True,
    skip_if_unchanged: bool = False,
) -> PushResult:
    """Pushes `export_dir` as a new version of `model_name` under `serving_base` (see the module docstring).

    `keep_versions`: how many versions to keep, the new one included (None keeps all). `version`: the
    version number to write, which must be newer than every existing one (default: latest + 1).
    `check_ops`: refuse ops TF Serving lacks (`serving.op_check.UnsupportedOpsError`). `skip_if_unchanged`:
    when the latest version holds the same model (same SavedModel fingerprint), push nothing and return
    that version (`created=False`), so a retried push does not add a duplicate version.
    Raises `PushError` for a bad export or arguments, `VersionExistsError` for a taken version.
    """
    export_dir, serving_base = os.fspath(export_dir), os.fspath(serving_base)
    _check_model_name(model_name)
    if keep_versions is not None and (isinstance(keep_versions, bool) or not isinstance(keep_versions, int)
                                      or keep_versions < 1):
        raise PushError(f"keep_versions must be a positive integer or None, got {keep_versions!r}")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise PushError(f"version must be a positive integer, got {version!r}")
    verify_export(export_dir)
    if check_ops:
        op_check.check_export_ops(export_dir)

    target_parent = model_dir(serving_base, model_name)
    existing = list_versions(serving_base, model_name)
    if skip_if_unchanged and existing:
        latest = latest_version_dir(serving_base, model_name)
        if _same_model(export_dir, latest):
            logger.info("%s holds the same model as %s; nothing pushed", latest, export_dir)
            return PushResult(model_name, existing[-1], latest, created=False)
    if version is None:
        version = existing[-1] + 1 if existing else 1
    elif version in existing:
        raise VersionExistsError(f"{os.path.join(target_parent, str(version))} already exists")
    elif existing and version < existing[-1]:
        raise VersionExistsError(f"version {version} is older than the latest version {existing[-1]} of "
                                 f"{target_parent}; TF Serving would not serve it as the latest")
    destination = os.path.join(target_parent, str(version))
    tf.io.gfile.makedirs(target_parent)
    if not is_remote(target_parent):
        _remove_stale_staging(target_parent)
    if is_remote(target_parent):
        _copy_in_place(export_dir, destination)
    else:
        _copy_atomically(export_dir, destination)
    logger.info("pushed %s to %s", export_dir, destination)
    removed = _remove_old_versions(target_parent, keep_versions, newest=version)
    return PushResult(model_name=model_name, version=version, path=destination, removed_versions=removed)


def _check_model_name(model_name: str) -> None:
    if not isinstance(model_name, str) or not _MODEL_NAME.match(model_name):
        raise PushError(f"model name must be letters, digits, '-' or '_' (not starting with '-' or '_'), "
                        f"got {model_name!r}")


def _same_model(export_dir: str, version_dir: str) -> bool:
    """Whether two SavedModels have the same fingerprint (graph, signatures, objects and checkpoint hashes)."""
    try:
        a = tf.saved_model.experimental.read_fingerprint(export_dir)
        b = tf.saved_model.experimental.read_fingerprint(version_dir)
    except Exception:  # no fingerprint.pb (an older writer): treat as different, pushing is the safe side
        return False
    fields = ("saved_model_checksum", "graph_def_program_hash", "signature_def_hash", "saved_object_graph_hash",
              "checkpoint_hash")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def _export_files(source: str) -> List[Tuple[str, str]]:
    """(source path, path relative to `source`) of every file, saved_model.pb last: readers that see it take
    the directory for complete (TF Serving, TFX)."""
    files = []
    for directory, _, names in tf.io.gfile.walk(source):
        relative_dir = os.path.relpath(directory, source) if directory.rstrip("/") != source.rstrip("/") else ""
        files.extend((os.path.join(directory, n), os.path.join(relative_dir, n)) for n in names)
    return sorted(files, key=lambda item: (item[1] == contract.SAVED_MODEL_FILE, item[1]))


def _copy_file(source: str, destination: str) -> None:
    tf.io.gfile.makedirs(os.path.dirname(destination))
    tf.io.gfile.copy(source, destination, overwrite=False)


def _copy_atomically(export_dir: str, destination: str) -> None:
    parent = os.path.dirname(destination)
    # A hidden, non-numeric name: TF Serving does not take it for a version while it fills.
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(destination)}.pushing-", dir=parent)
    try:
        os.chmod(staging, 0o777 & ~current_umask())  # not mkdtemp's 0700: the server may run as another user
        for source, relative in _export_files(export_dir):
            _copy_file(source, os.path.join(staging, relative))
        fsync_tree(staging)
        try:
            os.rename(staging, destination)  # fails if a non-empty directory of that name appeared meanwhile
        except OSError as error:
            if os.path.exists(destination):
                raise VersionExistsError(f"{destination} appeared during the push (a concurrent push?)") from error
            raise
        fsync_directory(parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


# A staging directory untouched for this long belongs to a push that was killed (kill -9, power loss).
STALE_STAGING_SECONDS = 3600


def _remove_stale_staging(parent: str) -> List[str]:
    """Removes staging directories (`.N.pushing-*`) of pushes killed before they could clean up."""
    import time

    removed = []
    for name in os.listdir(parent):
        path = os.path.join(parent, name)
        if ".pushing-" in name and name.startswith(".") and os.path.isdir(path):
            if time.time() - os.path.getmtime(path) > STALE_STAGING_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
                logger.info("removed %s, left by an interrupted push", path)
                removed.append(path)
    return removed


def _copy_in_place(export_dir: str, destination: str) -> None:
    try:
        for source, relative in _export_files(export_dir):
            _copy_file(source, os.path.join(destination, relative))
    except BaseException:
        if tf.io.gfile.exists(destination):
            tf.io.gfile.rmtree(destination)
        raise


def _remove_old_versions(parent: str, keep_versions: Optional[int], newest: int) -> Tuple[int, ...]:
    if keep_versions is None:
        return ()
    versions = _version_dirs(parent)
    if newest not in {v for v, _ in versions}:  # never delete anything unless the new version is in place
        raise RuntimeError(f"version {newest} is missing from {parent} after the push; nothing removed")
    kept = {v for v, _ in versions[-keep_versions:]} | {newest}
    old_dirs = [(v, name) for v, name in versions if v not in kept]
    for _, name in old_dirs:
        path = os.path.join(parent, name)
        if is_remote(parent):
            tf.io.gfile.rmtree(path)
            continue
        aside = tempfile.mkdtemp(prefix=f".{name}.removing-", dir=parent)
        os.rename(path, os.path.join(aside, name))  # the version disappears at once, whole
        shutil.rmtree(aside, ignore_errors=True)
    removed = tuple(sorted({v for v, _ in old_dirs}))
    if removed:
        logger.info("removed versions %s of %s (keeping %d)", list(removed), parent, keep_versions)
    return removed
