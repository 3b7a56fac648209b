"""What CheckpointImport does: any supported checkpoint -> an `albert-tfx convert` directory.

A directory that already is one (a `convert` output) is copied as it is; anything else goes through
`trainer.checkpoints` (format detected by `trainer.checkpoints.sources.detect_format`), with the pretraining
heads when the checkpoint has them (continued pretraining starts from them too). The output is published
atomically: a failed import leaves no half model behind.
"""

import hashlib
import os

from text_contract import storage


def fingerprint(source: str) -> str:
    """Size and modification time of every file under `source` (a file, a checkpoint prefix or a directory),
    hashed: it changes when the checkpoint is replaced in place. "" for remote paths (not listed at
    compile time)."""
    if storage.is_remote(source):
        return ""
    paths = []
    if os.path.isdir(source):
        for root, _, names in os.walk(source):
            paths += [os.path.join(root, name) for name in names]
    else:
        directory, prefix = os.path.split(os.path.abspath(source))
        if os.path.isdir(directory):
            paths = [os.path.join(directory, name) for name in os.listdir(directory) if name.startswith(prefix)]
    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = os.stat(path)
        digest.update(f"{os.path.relpath(path, source)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def import_checkpoint(source: str, destination: str) -> str:
    """Writes the checkpoint at `source` into `destination` as an `albert-tfx convert` directory; the format.

    Either may be remote (gs://, s3://). A remote source is copied to a local temporary directory first (its
    directory, for a checkpoint prefix): the importers read with libraries that take local files only
    (safetensors, h5py, keras-hub presets). The result is written through tf.io.gfile."""
    for path in (source, destination):
        storage.register_filesystem(path)
    if storage.is_remote(source):
        directory = source.rstrip("/") if storage.isdir(source) else os.path.dirname(source)
        with storage.local_copy(directory) as local:
            local_source = local if directory == source.rstrip("/") else os.path.join(local, os.path.basename(source))
            return _import_local(local_source, destination)
    return _import_local(source, destination)


def _import_local(source: str, destination: str) -> str:
    from trainer.checkpoints import import_weights, save_converted
    from trainer.checkpoints.sources import CONVERTED, detect_format

    source_format = detect_format(source)
    if source_format == CONVERTED:
        storage.publish_copy(source, destination)
        return source_format
    model, report = import_weights(source_format, source)
    save_converted(model, destination, report, source_format, overwrite=True)
    return source_format
