"""The distribution-strategy factory: `tpu`, `multi_worker`, `mirrored`, `default` and `auto`."""

from __future__ import annotations

import json
import logging
import os
from typing import Optional

import tensorflow as tf

from trainer.config import ConfigError

logger = logging.getLogger(__name__)


def _use_logical_cpu_devices(count: int) -> None:
    """Splits the host CPU into `count` logical devices (must run before TensorFlow initializes devices)."""
    cpus = tf.config.list_physical_devices("CPU")
    current = tf.config.get_logical_device_configuration(cpus[0])
    if current and len(current) == count:
        return
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError as error:
        raise ConfigError(
            f"num_cpu_devices={count}: TensorFlow's devices are already initialized in this process; create the "
            "strategy before any other TensorFlow work"
        ) from error


def create_strategy(name: str = "auto", num_cpu_devices: int = 1, tpu_address: Optional[str] = None) -> tf.distribute.Strategy:
    """A `tf.distribute.Strategy` by name.

    - `tpu`: TPUClusterResolver(`tpu_address`, or the environment's) + TPUStrategy.
    - `multi_worker`: MultiWorkerMirroredStrategy, cluster from `TF_CONFIG`.
    - `mirrored`: MirroredStrategy over the local GPUs, or over `num_cpu_devices` logical CPUs without GPUs.
    - `default`: the no-op default strategy (one device).
    - `auto`: `multi_worker` when `TF_CONFIG` names more than one task, else `mirrored` with 2+ GPUs, else `default`.
    """
    if name == "auto":
        name = _auto_strategy_name(num_cpu_devices)
        logger.info("strategy auto -> %s", name)
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu_address or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError("strategy multi_worker needs TF_CONFIG (cluster and task) in the environment")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy()
        _use_logical_cpu_devices(num_cpu_devices)
        devices = [device.name for device in tf.config.list_logical_devices("CPU")][:num_cpu_devices]
        # CPU replicas cannot use NCCL; a plain reduction is the one that works everywhere.
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    if name == "default":
        return tf.distribute.get_strategy()
    raise ConfigError(f"unknown strategy {name!r}; use tpu, multi_worker, mirrored, default or auto")


def _auto_strategy_name(num_cpu_devices: int) -> str:
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    if sum(len(tasks) for tasks in cluster.values()) > 1:
        return "multi_worker"
    if len(tf.config.list_physical_devices("GPU")) > 1 or num_cpu_devices > 1:
        return "mirrored"
    return "default"


def device_kind(strategy: tf.distribute.Strategy) -> str:
    """`tpu`, `gpu` or `cpu`: what the strategy's replicas run on (for precision `auto`)."""
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "tpu"
    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's shared outputs (checkpoints, logs, exports)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()
    )
