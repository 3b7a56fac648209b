"""Timing helpers shared by the benchmarks: interleaved timing plans and a measure of machine load."""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Callable, Dict, List, Optional


@dataclasses.dataclass(frozen=True)
class Plan:
    """How many untimed (warmup) and timed calls each case gets, per side."""

    warmup: int
    repeats: int


class CpuShare:
    """How much of the machine's CPU other processes used between `start()` and `stop()` (Linux only).

    The machine's busy CPU time (`/proc/stat`) minus this process's and its children's, over wall time x
    CPU count. Beam's worker processes are children, but only once
    they have been waited for, so a run with Beam workers still running at `stop()` overstates it.
    """

    def start(self):
        self._wall, self._busy, self._own = time.perf_counter(), self._machine_busy_s(), self._own_s()
        return self

    def stop(self) -> Optional[float]:
        if self._busy is None:
            return None
        wall = time.perf_counter() - self._wall
        other = (self._machine_busy_s() - self._busy) - (self._own_s() - self._own)
        return round(max(0.0, other / (wall * (os.cpu_count() or 1))), 3)

    @staticmethod
    def _machine_busy_s():
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                ticks = [int(value) for value in stat.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        idle = ticks[3] + ticks[4]  # idle + iowait
        return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own_s():
        times = os.times()
        return times.user + times.system + times.children_user + times.children_system


def time_interleaved(functions: Dict[str, Callable], args, plan: Plan) -> Dict[str, List[float]]:
    """Warms every function up, then times them in turn (A, B, A, B, ...); seconds per call, per name."""
    for function in functions.values():
        for _ in range(plan.warmup):
            function(*args)
    times: Dict[str, List[float]] = {name: [] for name in functions}
    for _ in range(plan.repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function(*args)
            times[name].append(time.perf_counter() - start)
    return times


def changed_flags(recipe) -> List[str]:
    """The command-line flags (`--field-name value`) of a recipe dataclass's fields that differ from its
    defaults: the part of a benchmark's command that says how this run was not the default one."""
    default = type(recipe)()
    out: List[str] = []
    for field in dataclasses.fields(recipe):
        value = getattr(recipe, field.name)
        if value != getattr(default, field.name):
            out += [f"--{field.name.replace('_', '-')}", f"{value:g}" if isinstance(value, float) else str(value)]
    return out
