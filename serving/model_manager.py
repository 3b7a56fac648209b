"""Model versions for the local server: find, load, hot-swap and unload SavedModels (TF Serving's ServerCore, small).

A model is a name and a base path holding integer version directories (`<base>/<name>/<version>/`, TF Serving's
layout; anything else there, such as a push's hidden staging directory, is ignored). `ModelManager.poll()`
lists the versions on disk, picks the ones the version policy wants (`latest` 1 by default, as TF Serving), loads
the new ones *fully* (SavedModel, signature functions, warmup) while the old ones keep serving, then swaps the
set of available versions in one assignment and unloads what left it. A request holds its `Servable` for its
whole life (`acquire`), and a version is unloaded only once its last request has finished: a swap never fails
an in-flight request. A version that fails to load is reported (state END with the error, as TF Serving's
status API does) and the versions already loaded keep serving.

Lookups follow ServerCore: no version -> the highest available; `version` -> that one; `version_label` -> the
label's version from the model config. An unknown model or version is `ServableNotFound` (NOT_FOUND), an unknown
label or an empty name `InvalidModelSpec` (INVALID_ARGUMENT), with TF Serving's messages.

Models load with `tf.saved_model.load` (the TF2 loader; `tensorflow_text` is imported first for the
SentencePiece ops). The TF2 loader ignores SignatureDef method names, so the SignatureDefs are read from
saved_model.pb as well (for the metadata API and for the Classify method check).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from serving import contract, layout
from serving.batching import BatchingConfig, BatchScheduler, batch_size_of
from text_contract import storage

logger = logging.getLogger(__name__)

# Version states of TF Serving's GetModelStatus (ModelVersionStatus.State names).
START, LOADING, AVAILABLE, UNLOADING, END = "START", "LOADING", "AVAILABLE", "UNLOADING", "END"
POLICY_KINDS = ("latest", "all", "specific")


class ServableNotFound(LookupError):
    """No loaded version answers the request (gRPC NOT_FOUND)."""


class InvalidModelSpec(ValueError):
    """The request's ModelSpec cannot name a servable (gRPC INVALID_ARGUMENT)."""


@dataclasses.dataclass(frozen=True)
class VersionPolicy:
    """Which versions on disk to serve: TF Serving's `ServableVersionPolicy` (latest N, all, specific)."""

    kind: str = "latest"
    num_versions: int = 1
    versions: Tuple[int, ...] = ()

    def __post_init__(self):
        if self.kind not in POLICY_KINDS:
            raise ValueError(f"version policy must be one of {POLICY_KINDS}, got {self.kind!r}")
        if self.kind == "latest" and self.num_versions < 1:
            raise ValueError(f"a 'latest' version policy serves at least 1 version, got {self.num_versions}")
        if self.kind == "specific" and not self.versions:
            raise ValueError("a 'specific' version policy must name at least one version")

    def select(self, on_disk: Sequence[int]) -> List[int]:
        """The versions to serve out of `on_disk`, highest first."""
        ordered = sorted(set(on_disk), reverse=True)
        if self.kind == "latest":
            return ordered[:self.num_versions]
        if self.kind == "specific":
            return [v for v in ordered if v in self.versions]
        return ordered


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """One served model: TF Serving's `ModelConfig` (name, base_path, version policy, version labels)."""

    name: str
    base_path: str
    version_policy: VersionPolicy = VersionPolicy()
    version_labels: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not self.name or "/" in self.name:
            raise ValueError(f"a model name must be non-empty and without '/', got {self.name!r}")
        if not self.base_path:
            raise ValueError(f"model {self.name!r}: base_path is empty")
        for label, version in self.version_labels.items():
            if not label or int(version) < 0:
                raise ValueError(f"model {self.name!r}: bad version label {label!r} -> {version!r}")


def read_model_config_file(path: str) -> List[ModelConfig]:
    """The models of a TF Serving `--model_config_file` (a ModelServerConfig text proto)."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    storage.register_filesystem(path)
    text = storage.read_bytes(path).decode("utf-8")
    try:
        proto = text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    except text_format.ParseError as error:
        raise ValueError(f"{path}: not a ModelServerConfig text proto: {error}") from None
    if not proto.HasField("model_config_list") or not proto.model_config_list.config:
        raise ValueError(f"{path}: no model_config_list with at least one config")
    models = []
    base_dir = os.path.dirname(os.path.abspath(path))
    for config in proto.model_config_list.config:
        if config.model_platform not in ("", "tensorflow"):
            raise ValueError(f"{path}: model {config.name!r}: platform {config.model_platform!r}; only 'tensorflow'")
        policy_proto = config.model_version_policy
        kind = policy_proto.WhichOneof("policy_choice") or "latest"
        if kind == "latest":
            policy = VersionPolicy("latest", num_versions=policy_proto.latest.num_versions or 1)
        elif kind == "specific":
            policy = VersionPolicy("specific", versions=tuple(policy_proto.specific.versions))
        else:
            policy = VersionPolicy("all")
        base_path = config.base_path if storage.is_remote(config.base_path) else os.path.join(base_dir, config.base_path)
        models.append(ModelConfig(config.name, base_path, policy, dict(config.version_labels)))
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: model names must be distinct: {names}")
    return models


def versions_on_disk(base_path: str) -> Dict[int, str]:
    """`{version: directory}` of the versions under `base_path` that a server would load (`serving.layout`):
    numeric directory names only (a push's hidden staging directories are ignored), and only once the
    version is complete (`layout.is_complete`: a saved_model.pb, and on an object store the push's
    completion marker)."""
    return {v.version: v.path for v in layout.version_dirs(base_path)}


class Servable:
    """One loaded model version: its signature functions and SignatureDefs, and who is using it."""

    def __init__(self, name: str, version: int, path: str, batching: Optional[BatchingConfig] = None):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (registers the SentencePiece ops before loading)

        self.name, self.version, self.path = name, version, path
        self.signature_defs = contract.list_signature_defs(path)
        self.task = export_task(path, self.signature_defs)
        # What a Predict request that names no signature gets (a QA export has no serving_default).
        self.default_signature = contract.default_signature(self.task)
        self._loaded = tf.saved_model.load(path, tags=[contract.SERVE_TAG])
        self._functions = dict(self._loaded.signatures)
        # The TF2 saver adds `__saved_model_init_op` (the init op, not a servable function); TF Serving lists it
        # in the metadata too, so it stays in `signature_defs`.
        missing = sorted(k for k in set(self.signature_defs) - set(self._functions) if not k.startswith("__"))
        if missing:
            raise ValueError(f"{path}: SignatureDefs {missing} have no loadable function")
        self._users = 0
        self._idle = threading.Condition()
        self._batchers: Dict[str, BatchScheduler] = {}
        if batching is not None:
            for key in self._functions:
                if _batchable(self.signature_defs[key]):
                    self._batchers[key] = BatchScheduler(
                        lambda inputs, key=key: self._call(key, inputs), batching, name=f"{name}-v{version}-{key}")

    @property
    def batchers(self) -> Dict[str, BatchScheduler]:
        return dict(self._batchers)

    def run(self, signature: str, inputs: Mapping[str, np.ndarray], deadline: Optional[float] = None
            ) -> Dict[str, np.ndarray]:
        """Runs `signature` on numpy `inputs` (through its batcher when batching is on); numpy outputs."""
        batcher = self._batchers.get(signature)
        if batcher is not None:
            if batch_size_of(inputs) <= batcher.config.max_batch_size:
                future = batcher.submit(dict(inputs), deadline)
                return future.result()
            # Larger requests than a batch skip the batcher (the server bounds request size separately).
        return self._call(signature, inputs)

    def runnable(self, signature: str) -> bool:
        return signature in self._functions

    def _call(self, signature: str, inputs: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        import tensorflow as tf

        outputs = self._functions[signature](**{k: tf.constant(v) for k, v in inputs.items()})
        return {k: v.numpy() for k, v in outputs.items()}

    # --- reference counting: a version is unloaded only once nobody uses it ---------------------------

    def _enter(self) -> None:
        with self._idle:
            self._users += 1

    def _exit(self) -> None:
        with self._idle:
            self._users -= 1
            if self._users == 0:
                self._idle.notify_all()

    @property
    def users(self) -> int:
        return self._users

    def unload(self) -> None:
        """Waits until the last request using this version has finished, then releases it."""
        with self._idle:
            while self._users:
                self._idle.wait()
        for batcher in self._batchers.values():
            batcher.close()
        self._batchers.clear()
        self._functions.clear()
        self._loaded = None  # the last reference: TensorFlow frees the variables


def export_task(path: str, signature_defs: Mapping[str, Any]) -> str:
    """`contract.TASK_QA` or `contract.TASK_CLASSIFY`: the export's metadata says which. A QA export is checked
    against its SignatureDefs (`contract.missing_for_export`), so one whose metadata and graph disagree fails its
    load instead of answering with the wrong default signature; classifiers are not (TF Serving serves a
    SavedModel with fewer signatures too, and requests to a missing one are refused one by one). A SavedModel
    without albert-tfx metadata (TF Serving serves any) is a QA export when it has `qa` and no `serving_default`,
    else a classifier."""
    try:
        metadata = contract.read_metadata(path)
    except FileNotFoundError:
        only_qa = contract.QA_SIGNATURE in signature_defs and contract.PREDICT_SIGNATURE not in signature_defs
        return contract.TASK_QA if only_qa else contract.TASK_CLASSIFY
    if metadata.task == contract.TASK_QA:
        problems = contract.missing_for_export(signature_defs, metadata)
        if problems:
            raise ValueError(f"{path}: metadata task {metadata.task!r}, but the SavedModel does not fulfil the "
                             f"contract: {'; '.join(problems)}")
    elif metadata.task != contract.TASK_CLASSIFY:
        raise ValueError(f"{path}: metadata task {metadata.task!r}; the contract has {contract.TASK_CLASSIFY!r} "
                         f"and {contract.TASK_QA!r}")
    return metadata.task


def _identity(path: str) -> Tuple[int, ...]:
    """Changes when a version directory is replaced (a new push renames a new directory into place; on an object
    store, writes a new completion marker)."""
    if storage.is_remote(path):
        import tensorflow as tf

        try:
            stats = [tf.io.gfile.stat(os.path.join(path, name))
                     for name in (storage.COMPLETE_MARKER, contract.SAVED_MODEL_FILE)]
        except tf.errors.OpError:
            return ()
        return tuple(value for stat in stats for value in (stat.mtime_nsec, stat.length))
    try:
        directory = os.stat(path)
        model = os.stat(os.path.join(path, contract.SAVED_MODEL_FILE))
    except OSError:
        return ()
    # ctime, not mtime: a copy made with copystat keeps the mtimes of what it copied, and inodes are reused.
    return (directory.st_ino, directory.st_ctime_ns, model.st_ino, model.st_ctime_ns)


def _batchable(signature_def) -> bool:
    """Every input and output has an unknown (batch) first dimension."""
    tensors = list(signature_def.inputs.values()) + list(signature_def.outputs.values())
    return bool(tensors) and all(
        not t.tensor_shape.unknown_rank and len(t.tensor_shape.dim) >= 1 and t.tensor_shape.dim[0].size == -1
        for t in tensors)


@dataclasses.dataclass
class VersionState:
    """What GetModelStatus reports for one version."""

    version: int
    state: str
    error: Optional[str] = None
    path: Optional[str] = None
    changed_at: float = dataclasses.field(default_factory=time.time)


LoadHook = Callable[[Servable], None]


class ModelManager:
    """The versions of one model: polls its base path, loads, swaps and unloads versions; lends them out."""

    def __init__(self, config: ModelConfig, batching: Optional[BatchingConfig] = None,
                 on_load: Optional[LoadHook] = None):
        self.config = config
        self._batching = batching
        self._on_load = on_load
        self._available: Dict[int, Servable] = {}  # replaced, never mutated: readers take one snapshot
        self._states: Dict[int, VersionState] = {}
        self._failed: Dict[int, Tuple[int, ...]] = {}  # version -> `_identity` of the directory that failed
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()  # one poll at a time (the poll thread, tests, shutdown)
        self._unloaders: List[threading.Thread] = []

    @property
    def name(self) -> str:
        return self.config.name

    def available_versions(self) -> List[int]:
        return sorted(self._available, reverse=True)

    def poll(self) -> List[int]:
        """One pass over the base path; returns the versions available afterwards (highest first)."""
        with self._poll_lock:
            on_disk = versions_on_disk(self.config.base_path)
            loaded: Dict[int, Servable] = {}
            while True:
                # A version that failed to load is passed over (until its directory changes): the policy picks
                # among the others, so a broken push leaves the serving version in place.
                candidates = [v for v, path in on_disk.items() if v in self._available or self._should_try(v, path)]
                wanted = self.config.version_policy.select(candidates)
                to_load = [v for v in wanted if v not in self._available and v not in loaded]
                if not to_load:
                    break
                for version in to_load:  # highest first: the newest is ready soonest
                    servable = self._load(version, on_disk[version])
                    if servable is not None:
                        loaded[version] = servable
            for version in [v for v in loaded if v not in wanted]:  # loaded, then passed over by the policy
                loaded.pop(version).unload()
                with self._lock:
                    self._set_state(version, END)
            keep = {v: s for v, s in self._available.items() if v in wanted}
            if not wanted and self._available:
                logger.warning("%s: no versions under %s any more; keeping versions %s", self.name,
                               self.config.base_path, sorted(self._available))
                keep = dict(self._available)  # like TF Serving's availability-preserving policy
            retiring = [s for v, s in self._available.items() if v not in keep]
            if loaded or retiring:
                with self._lock:  # the swap: one assignment that every later request sees
                    self._available = {**keep, **loaded}
                    for servable in loaded.values():
                        self._set_state(servable.version, AVAILABLE, path=servable.path)
                    for servable in retiring:
                        self._set_state(servable.version, UNLOADING)
                for servable in loaded.values():
                    logger.info("%s: version %d is available (%s)", self.name, servable.version, servable.path)
                for servable in retiring:
                    self._unload_later(servable)
            return self.available_versions()

    def _should_try(self, version: int, path: str) -> bool:
        return version not in self._failed or _identity(path) != self._failed[version]

    def _load(self, version: int, path: str) -> Optional[Servable]:
        with self._lock:
            self._set_state(version, LOADING, path=path)
        started = time.perf_counter()
        logger.info("%s: loading version %d from %s", self.name, version, path)
        servable = None
        try:
            servable = Servable(self.name, version, path, self._batching)
            if self._on_load is not None:
                self._on_load(servable)  # warmup: a failure here fails the load, as in TF Serving
        except Exception as error:  # a bad version must not take the server (or the other versions) down
            if servable is not None:
                servable.unload()
            self._failed[version] = _identity(path)  # not retried until the directory changes
            message = f"{type(error).__name__}: {error}"
            with self._lock:
                self._set_state(version, END, error=message, path=path)
            logger.error("%s: loading version %d failed: %s", self.name, version, message)
            return None
        self._failed.pop(version, None)
        logger.info("%s: loaded version %d in %.1f s", self.name, version, time.perf_counter() - started)
        return servable

    def _unload_later(self, servable: Servable) -> None:
        def unload():
            servable.unload()
            with self._lock:
                self._set_state(servable.version, END)
            logger.info("%s: unloaded version %d", self.name, servable.version)

        thread = threading.Thread(target=unload, name=f"unload-{self.name}-{servable.version}", daemon=True)
        self._unloaders = [t for t in self._unloaders if t.is_alive()] + [thread]
        thread.start()

    def _set_state(self, version: int, state: str, error: Optional[str] = None, path: Optional[str] = None) -> None:
        previous = self._states.get(version)
        self._states[version] = VersionState(version, state, error, path or (previous.path if previous else None))

    @contextlib.contextmanager
    def acquire(self, version: Optional[int] = None, label: Optional[str] = None) -> Iterator[Servable]:
        """Lends a loaded version for the body of the `with`; it is not unloaded before the body ends."""
        if label is not None:
            if label not in self.config.version_labels:
                raise InvalidModelSpec(f"Unrecognized servable version label: {label}")
            version = int(self.config.version_labels[label])
        with self._lock:
            available = self._available
            if version is None:
                if not available:
                    raise ServableNotFound(f"Servable not found for request: Latest({self.name})")
                servable = available[max(available)]
            else:
                servable = available.get(version)
                if servable is None:
                    raise ServableNotFound(f"Servable not found for request: Specific({self.name}, {version})")
            servable._enter()  # under the lock: a swap cannot retire it between lookup and use
        try:
            yield servable
        finally:
            servable._exit()

    def states(self, version: Optional[int] = None) -> List[VersionState]:
        """Every version's state, highest version first (TF Serving's GetModelStatus order)."""
        with self._lock:
            states = dict(self._states)
        if version is not None:
            if version not in states:
                raise ServableNotFound(f"Could not find version {version} of model {self.name}")
            return [states[version]]
        if not states:
            raise ServableNotFound(f"Could not find any versions of model {self.name}")
        return [states[v] for v in sorted(states, reverse=True)]

    def close(self) -> None:
        """Unloads every version (after their in-flight requests) and waits for it."""
        with self._poll_lock:
            with self._lock:
                retiring, self._available = list(self._available.values()), {}
                for servable in retiring:
                    self._set_state(servable.version, UNLOADING)
            for servable in retiring:
                self._unload_later(servable)
            for thread in list(self._unloaders):
                thread.join()


class ModelRegistry:
    """Every served model by name, and the thread that polls their base paths."""

    def __init__(self, models: Sequence[ModelConfig], batching: Optional[BatchingConfig] = None,
                 on_load: Optional[LoadHook] = None):
        names = [m.name for m in models]
        if not models or len(set(names)) != len(names):
            raise ValueError(f"serve at least one model, with distinct names: {names}")
        self.managers: Dict[str, ModelManager] = {m.name: ModelManager(m, batching, on_load) for m in models}
        self._stop = threading.Event()
        self._poller: Optional[threading.Thread] = None

    def manager(self, name: str, *, for_status: bool = False) -> ModelManager:
        if not name and not for_status:  # TF Serving's status API answers an empty name with NOT_FOUND
            raise InvalidModelSpec("ModelSpec has no name specified.")
        manager = self.managers.get(name)
        if manager is None:
            if for_status:
                raise ServableNotFound(f"Could not find any versions of model {name}")
            raise ServableNotFound(f"Servable not found for request: Latest({name})")
        return manager

    @contextlib.contextmanager
    def acquire(self, model_spec: Any) -> Iterator[Servable]:
        """Lends the servable a TF Serving `ModelSpec` asks for (version, version_label or the latest)."""
        manager = self.manager(model_spec.name)
        choice = model_spec.WhichOneof("version_choice")
        version = model_spec.version.value if choice == "version" else None
        label = model_spec.version_label if choice == "version_label" else None
        with manager.acquire(version, label) as servable:
            yield servable

    def poll(self) -> Dict[str, List[int]]:
        return {name: manager.poll() for name, manager in self.managers.items()}

    def start_polling(self, interval_s: float) -> None:
        """Polls every `interval_s` seconds on a background thread (0: never again)."""
        if interval_s <= 0 or self._poller is not None:
            return

        def loop():
            while not self._stop.wait(interval_s):
                for manager in self.managers.values():
                    try:
                        manager.poll()
                    except Exception:  # a file system hiccup must not stop future polls
                        logger.exception("%s: polling %s failed", manager.name, manager.config.base_path)

        self._poller = threading.Thread(target=loop, name="model-poller", daemon=True)
        self._poller.start()

    def close(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join()
        for manager in self.managers.values():
            manager.close()
