"""Push an export to where TF Serving watches: `<serving_base>/<model_name>/<version>/`, atomically and checked.

TF Serving's file system source serves the numeric subdirectories of a model's base path (its version policy
picks among them) and ignores every other name. `push_export`:

1. refuses an export that is not one: no saved_model.pb or metadata, a SignatureDef that breaks the serving
   contract of its task (`contract.missing_for_export`: a classifier's or a question-answering export's), or
   ops the TF Serving release we deploy lacks (`serving.op_check`); nothing is written before these checks
   pass;
2. picks the version: one more than the largest existing directory, complete or not (1 for the first push),
   or the one asked for;
3. publishes a copy of the export (the source may be remote, e.g. a Kubeflow Model artifact on gs://) as that
   version with `text_contract.storage.publish_copy`: on a local (or POSIX network) serving base, a hidden
   staging directory inside `<serving_base>/<model_name>/`, fsynced, then renamed to the version number, so
   readers see the whole version or nothing; on an object store (gs://, s3://), where a rename is a copy,
   a copy straight into the version directory with saved_model.pb after every other file (what TF Serving
   checks, as with TFX's own Pusher), then the completion marker (`storage.COMPLETE_MARKER`) after
   everything: our readers (`serving.layout`: the local server, warm start, the served vocabulary) take a
   version only once it is there. A failure removes what it wrote and never touches existing versions;
4. only then removes the complete versions beyond the newest `keep_versions`, and the incomplete ones older
   than the oldest kept (renamed aside first locally, marker first on object stores, so no reader sees half
   a deleted version). On an object store a version directory without the marker and without a
   saved_model.pb, untouched for STALE_STAGING_SECONDS, is a push that died half-way: it is removed too
   (a younger one may be a push still running, and one holding a saved_model.pb may be served by TF
   Serving, so those wait for the `keep_versions` rule). Versions pushed to an object store before the
   marker existed are not complete for our readers: the first push after the upgrade removes them (once
   its own version is in place), unless a marker is added to them by hand;
5. and removes what pushes that died (kill -9, a preempted pod) left: every push writes an owner record
   (`.<name>.push-owner`: host, process id) beside the staging directory or, on an object store, the version
   directory it writes, and removes it when done. A record whose process is gone on this host marks what it
   names as abandoned at once (a staging directory; an object-store version without marker and without
   saved_model.pb, as in 4.); one from another host cannot be checked and waits for the age rules above, as
   do directories without a record (a push in its first instant, or one by an earlier albert-tfx).

Version numbers and listings follow `serving.layout`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import time
from typing import List, Optional, Tuple

import tensorflow as tf

from serving import contract, layout
from serving import op_check
from text_contract import storage

logger = logging.getLogger(__name__)

# A staging directory untouched for this long belongs to a push that was killed (kill -9, power loss).
STALE_STAGING_SECONDS = 3600
# Staging and removal names of pushes by albert-tfx before 0.2 (`.N.pushing-*`, `.N.removing-*`): cleaned
# up like today's.
_LEGACY_STAGING_MARKERS = (".pushing-", ".removing-")
# The owner record of what a push is writing (module docstring, 5.): `.<written name>` + this suffix, hidden.
PUSH_OWNER_SUFFIX = ".push-owner"


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
        problems = contract.missing_for_export(contract.list_signature_defs(export_dir), metadata)
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
    model_name: str = layout.DEFAULT_MODEL_NAME,
    keep_versions: Optional[int] = layout.DEFAULT_KEEP_VERSIONS,
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
    try:
        target_parent = layout.model_dir(serving_base, model_name)
    except layout.InvalidModelName as error:
        raise PushError(str(error)) from None
    if keep_versions is not None and (isinstance(keep_versions, bool) or not isinstance(keep_versions, int)
                                      or keep_versions < 1):
        raise PushError(f"keep_versions must be a positive integer or None, got {keep_versions!r}")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise PushError(f"version must be a positive integer, got {version!r}")
    for path in (export_dir, serving_base):
        storage.register_filesystem(path)
    verify_export(export_dir)
    if check_ops:
        op_check.check_export_ops(export_dir)

    # Every numeric directory takes its number, complete or not: a new version never reuses one.
    taken = [v.version for v in layout.version_dirs(target_parent, complete_only=False)]
    if skip_if_unchanged:
        latest = layout.version_dirs(target_parent)
        if latest and _same_model(export_dir, latest[-1].path):
            logger.info("%s holds the same model as %s; nothing pushed", latest[-1].path, export_dir)
            return PushResult(model_name, latest[-1].version, latest[-1].path, created=False)
    if version is None:
        version = max(taken) + 1 if taken else 1
    elif version in taken:
        raise VersionExistsError(f"{os.path.join(target_parent, str(version))} already exists")
    elif taken and version < max(taken):
        raise VersionExistsError(f"version {version} is older than the latest version {max(taken)} of "
                                 f"{target_parent}; TF Serving would not serve it as the latest")
    destination = os.path.join(target_parent, str(version))
    tf.io.gfile.makedirs(target_parent)
    owner_records = []  # removed when the push ends, however it ends (a kill leaves them: module docstring, 5.)
    try:
        # The server sees the whole version or nothing (saved_model.pb last where a rename cannot ensure it).
        written_last = (contract.SAVED_MODEL_FILE,)
        if storage.is_remote(target_parent):
            owner_records.append(_write_owner_record(destination))
            storage.publish_copy(export_dir, destination, replace=False, written_last=written_last,
                                 mark_complete=True)
        else:
            def write(staging: str) -> None:  # publish_copy's local path, with the staging directory's owner record
                owner_records.append(_write_owner_record(staging))
                storage.copy_tree(export_dir, staging, written_last)

            storage.publish_directory(destination, write, replace=False)
    except FileExistsError as error:
        raise VersionExistsError(f"{destination} appeared during the push (a concurrent push?)") from error
    finally:
        for record in owner_records:
            _remove_file(record)
    logger.info("pushed %s to %s", export_dir, destination)
    removed = _remove_old_versions(target_parent, keep_versions, newest=version)
    for path in _remove_interrupted_pushes(target_parent):
        logger.info("removed %s, left by an interrupted push", path)
    return PushResult(model_name=model_name, version=version, path=destination, removed_versions=removed)


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


def _remove_old_versions(parent: str, keep_versions: Optional[int], newest: int) -> Tuple[int, ...]:
    """Removes the complete versions beyond the newest `keep_versions` (the new one always kept), and every
    incomplete version directory older than the oldest kept one (on an object store only once stale: see
    the module docstring)."""
    if keep_versions is None:
        return ()
    complete = layout.version_dirs(parent)
    if newest not in {v.version for v in complete}:  # never delete anything unless the new version is in place
        raise RuntimeError(f"version {newest} is missing from {parent} after the push; nothing removed")
    kept = {v.version for v in complete[-keep_versions:]} | {newest}
    oldest_kept = min(kept)
    complete_paths = {v.path for v in complete}
    old = [v for v in layout.version_dirs(parent, complete_only=False)
           if v.version not in kept and (v.path in complete_paths or (v.version < oldest_kept and _stale(v.path)))]
    for version_dir in old:
        storage.remove_directory(version_dir.path)  # local: renamed aside first, so it disappears whole
    removed = tuple(sorted({v.version for v in old}))
    if removed:
        logger.info("removed versions %s of %s (keeping %d)", list(removed), parent, keep_versions)
    return removed


def _stale(version_path: str) -> bool:
    """Whether no push can still be writing into an incomplete version directory: always locally (a local push
    writes under a hidden staging name), on an object store once untouched for STALE_STAGING_SECONDS."""
    if not storage.is_remote(version_path):
        return True
    return time.time() - storage.newest_mtime(version_path) > STALE_STAGING_SECONDS


def _remove_interrupted_pushes(parent: str) -> List[str]:
    """Removes what pushes that died left under the model directory `parent` (module docstring, 4. and 5.):
    first what an owner record says a dead process was writing, then, by age, the local staging directories
    and the object-store version directories no record accounts for. Returns the directories removed."""
    removed = []
    for name in storage.listdir(parent):
        if name.startswith(".") and name.endswith(PUSH_OWNER_SUFFIX):
            removed += _remove_if_owner_gone(os.path.join(parent, name))
    if not storage.is_remote(parent):
        return removed + storage.remove_stale_staging(
            parent, STALE_STAGING_SECONDS, (storage.STAGING_MARKER, storage.RETIRED_MARKER) + _LEGACY_STAGING_MARKERS)
    for version_dir in layout.version_dirs(parent, complete_only=False):
        if _half_written(version_dir.path) and _stale(version_dir.path):
            storage.remove_directory(version_dir.path)
            removed.append(version_dir.path)
    return removed


def _half_written(version_path: str) -> bool:
    """An object-store version directory that no reader, TF Serving included, takes for a version: no completion
    marker and no saved_model.pb (copied second to last)."""
    return (not storage.is_published(version_path)
            and not tf.io.gfile.exists(os.path.join(version_path, contract.SAVED_MODEL_FILE)))


def _write_owner_record(written_path: str) -> str:
    """Writes the owner record of the directory this process is about to write (module docstring, 5.)."""
    parent, name = os.path.split(written_path.rstrip("/"))
    record = os.path.join(parent, f".{name.lstrip('.')}{PUSH_OWNER_SUFFIX}")
    storage.write_json(record, {"writes": name, "host": socket.gethostname(), "pid": os.getpid(),
                                "started_at": time.time()})
    return record


def _owner_gone(owner: dict) -> Optional[bool]:
    """Whether the process of an owner record has ended; None when that cannot be known (another host)."""
    if owner.get("host") != socket.gethostname() or not isinstance(owner.get("pid"), int):
        return None
    if owner["pid"] == os.getpid():
        return False  # this process: a push on another thread, still running
    try:
        os.kill(owner["pid"], 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process
        return False
    return False  # alive (or its id reused since, which only keeps the directory until the age rule)


def _remove_if_owner_gone(record_path: str) -> List[str]:
    """Removes what the owner record `record_path` names when its process is gone, then the record; a record
    that cannot be read, or whose directory is gone, once older than STALE_STAGING_SECONDS."""
    parent = os.path.dirname(record_path)
    try:
        owner = storage.read_json(record_path)
        name = owner["writes"]
        if name in ("", ".", "..") or os.path.basename(name) != name:
            raise ValueError(f"not a name in {parent}: {name!r}")
        written = os.path.join(parent, name)
        gone = _owner_gone(owner)
    except (tf.errors.NotFoundError, FileNotFoundError):  # removed since it was listed: its push has ended
        return []
    except (ValueError, TypeError, KeyError, AttributeError):  # not a record this code wrote whole
        written, gone = None, None
    if gone is None:
        exists = written is not None and storage.isdir(written)
        if not exists and time.time() - _mtime(record_path) > STALE_STAGING_SECONDS:
            _remove_file(record_path)
        return []
    if not gone:
        return []
    # The record goes first: a push killed in between leaves the directory to the age rules, never a record
    # naming a directory that is gone, whose version number (object stores) a later push could take again.
    _remove_file(record_path)
    removed = []
    if storage.isdir(written):
        if layout.version_number(name) is not None:  # an object-store version: only if no reader can take it
            abandoned = storage.is_remote(written) and _half_written(written)
        else:
            abandoned = name.startswith(".") and storage.STAGING_MARKER in name
        if abandoned:
            try:
                storage.remove_directory(written)
                removed.append(written)
            except (FileNotFoundError, tf.errors.NotFoundError):  # a concurrent push removed it first
                pass
    return removed


def _mtime(path: str) -> float:
    try:
        return tf.io.gfile.stat(path).mtime_nsec / 1e9
    except tf.errors.NotFoundError:
        return time.time()


def _remove_file(path: str) -> None:
    try:
        tf.io.gfile.remove(path)
    except tf.errors.NotFoundError:  # another push removed it first
        pass
