"""Server-side batching for the local server: concurrent small requests merged into one signature call.

The shape of TF Serving's batching (`--enable_batching`, `BatchingParameters`): a request ("task") of n rows
joins an open batch; the batch runs when it holds `max_batch_size` rows or `batch_timeout_s` after its first
task arrived, whichever comes first, on one of `num_batch_threads` threads. Every input is concatenated along
axis 0 and every output is split back by row ranges, so a signature can be batched only when all its inputs
and outputs have the batch as their first dimension (the serving contract's signatures all do).

Errors follow TF Serving's batch scheduler: a task larger than `max_batch_size` is INVALID_ARGUMENT ("Task size
%d is larger than maximum input batch size %d"), a full queue (`max_enqueued_batches` batches waiting) is
UNAVAILABLE. This module knows nothing of gRPC: it raises `BatchTooLarge` and `QueueFull` and the server maps them.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import logging
import threading
import time
from typing import Callable, Deque, Dict, List, Mapping, Optional

import numpy as np

logger = logging.getLogger(__name__)

Arrays = Dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class BatchingConfig:
    """TF Serving's `BatchingParameters`, in seconds instead of microseconds."""

    max_batch_size: int = 32
    batch_timeout_s: float = 0.002
    max_enqueued_batches: int = 64
    num_batch_threads: int = 1

    def __post_init__(self):
        if self.max_batch_size < 1:
            raise ValueError(f"batching max_batch_size must be >= 1, got {self.max_batch_size}")
        if not 0 <= self.batch_timeout_s <= 10:
            raise ValueError(f"batching batch_timeout_s must be in [0, 10] seconds, got {self.batch_timeout_s}")
        if self.max_enqueued_batches < 1:
            raise ValueError(f"batching max_enqueued_batches must be >= 1, got {self.max_enqueued_batches}")
        if self.num_batch_threads < 1:
            raise ValueError(f"batching num_batch_threads must be >= 1, got {self.num_batch_threads}")


class BatchTooLarge(ValueError):
    """A task has more rows than a batch may hold (INVALID_ARGUMENT)."""


class QueueFull(RuntimeError):
    """The scheduler already holds `max_enqueued_batches` batches of work (UNAVAILABLE: retry later)."""


class TaskExpired(TimeoutError):
    """The task's deadline passed before its batch ran (DEADLINE_EXCEEDED); it was not run."""


class SchedulerClosed(RuntimeError):
    """The scheduler was closed (its model version unloaded) before the task was submitted."""


@dataclasses.dataclass
class _Task:
    inputs: Arrays
    size: int
    deadline: Optional[float]  # time.monotonic() seconds
    future: concurrent.futures.Future
    enqueued: float


def batch_size_of(inputs: Mapping[str, np.ndarray]) -> int:
    """The common first dimension of `inputs`; ValueError when they disagree or one is a scalar."""
    sizes = {name: (value.shape[0] if value.ndim else None) for name, value in inputs.items()}
    if None in sizes.values() or len(set(sizes.values())) != 1:
        raise ValueError(f"inputs must share their first (batch) dimension: {sizes}")
    return next(iter(sizes.values()))


class BatchScheduler:
    """Merges concurrent `submit`s into calls of `run` (inputs -> outputs, all batch-major) of at most
    `config.max_batch_size` rows."""

    def __init__(self, run: Callable[[Arrays], Arrays], config: BatchingConfig, name: str = "batcher"):
        self._run = run
        self.config = config
        self.name = name
        self._queue: Deque[_Task] = collections.deque()
        self._queued_rows = 0
        self._condition = threading.Condition()
        self._closed = False
        self.batches_run = 0  # for tests and logs: how many merged calls ran
        self.tasks_run = 0
        self._threads = [threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True)
                         for i in range(config.num_batch_threads)]
        for thread in self._threads:
            thread.start()

    def submit(self, inputs: Arrays, deadline: Optional[float] = None) -> concurrent.futures.Future:
        """Queues one task; its future gets the task's rows of the outputs (or the error of its batch)."""
        size = batch_size_of(inputs)
        limit = self.config.max_batch_size
        if size > limit:
            raise BatchTooLarge(f"Task size {size} is larger than maximum input batch size {limit}")
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._condition:
            if self._closed:
                raise SchedulerClosed(f"{self.name} is closed")
            if self._queued_rows + size > limit * self.config.max_enqueued_batches:
                raise QueueFull(f"The batch scheduling queue to which this task was submitted is full "
                                f"({self.config.max_enqueued_batches} batches of {limit} rows)")
            self._queue.append(_Task(dict(inputs), size, deadline, future, time.monotonic()))
            self._queued_rows += size
            self._condition.notify()
        return future

    def close(self) -> None:
        """Runs what is queued, then stops the threads."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        for thread in self._threads:
            thread.join()

    # --- the batching threads -------------------------------------------------------------------------

    def _next_batch(self) -> Optional[List[_Task]]:
        limit = self.config.max_batch_size
        with self._condition:
            while not self._queue and not self._closed:
                self._condition.wait()
            if not self._queue:
                return None  # closed and drained
            # Wait for more rows until the batch is full or the first task has waited batch_timeout_s.
            close_at = self._queue[0].enqueued + self.config.batch_timeout_s
            while self._queued_rows < limit and not self._closed:
                remaining = close_at - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            batch, rows = [], 0
            while self._queue and rows + self._queue[0].size <= limit:
                task = self._queue.popleft()
                self._queued_rows -= task.size
                rows += task.size
                batch.append(task)
            return batch

    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            now = time.monotonic()
            live = []
            for task in batch:
                if task.deadline is not None and task.deadline <= now:
                    task.future.set_exception(TaskExpired("the request's deadline passed while it waited for a batch"))
                elif task.future.set_running_or_notify_cancel():
                    live.append(task)
            if live:
                self._run_batch(live)

    def _run_batch(self, tasks: List[_Task]) -> None:
        try:
            names = tasks[0].inputs.keys()
            merged = {name: np.concatenate([task.inputs[name] for task in tasks]) for name in names}
            outputs = self._run(merged)
            total = sum(task.size for task in tasks)
            for name, value in outputs.items():
                if value.ndim == 0 or value.shape[0] != total:
                    raise ValueError(f"output {name!r} of shape {value.shape} is not batch-major over {total} rows; "
                                     f"this signature cannot be batched")
        except BaseException as error:  # every waiting request gets the batch's error
            for task in tasks:
                task.future.set_exception(error)
            return
        start = 0
        for task in tasks:
            task.future.set_result({name: value[start:start + task.size] for name, value in outputs.items()})
            start += task.size
        self.batches_run += 1
        self.tasks_run += len(tasks)
        logger.debug("%s: ran %d tasks (%d rows) as one batch", self.name, len(tasks), total)
