"""Imported by each Beam worker process of a local run (`--beam_plugins`, `OrchestrationConfig.beam_args`), so
that the worker exits without printing TensorFlow's teardown tracebacks.

Beam's `apache_beam.utils.shared` keeps the object that a DoFn acquired last alive in a module global (its
"keepalive") for the life of the process: in Transform's workers, tf.Transform's graph state, which holds
TensorFlow functions. When the worker exits, Python clears the modules' globals in an order of its own; once
TensorFlow's are gone, every function freed after them fails in `AtomicFunction.__del__` with
"TypeError: 'NoneType' object is not subscriptable", which the worker prints to the run's console as
"Exception ignored in: <function AtomicFunction.__del__ ...>" (ten tracebacks per run). atexit handlers run
before that teardown: `release_shared_objects` drops the keepalive there and collects, so those functions
are freed while TensorFlow is whole. It hides nothing: a worker's own errors still print, and its exit
status is its own.
"""

from __future__ import annotations

import atexit
import gc


def release_shared_objects() -> None:
    """Frees what Beam's `shared.Shared` keeps alive, now rather than at module teardown."""
    try:
        from apache_beam.utils import shared
    except ImportError:  # a worker without Beam's utilities: nothing was kept
        return
    # A private attribute (Beam 2.61 has no public release): looked up defensively, so that a Beam without it
    # only brings back the old tracebacks.
    shared_map = getattr(shared, "_shared_map", None)
    lock = getattr(shared_map, "_lock", None)
    if lock is None or not hasattr(shared_map, "_keepalive"):
        return
    with lock:
        shared_map._keepalive = (None, None)
    gc.collect()  # the kept objects sit in reference cycles (TensorFlow's graphs and functions)


atexit.register(release_shared_objects)
