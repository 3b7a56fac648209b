"""Runs every benchmark module of the `benchmarks` package in turn (what `make bench` runs).

Each benchmark runs as its own `python -m benchmarks.<name>` process (fresh TensorFlow state, and one
crash does not take the others down). Extra arguments (e.g. `--quick`) are passed to every benchmark.
Exits non-zero, after running all of them, if any failed.

    python -m benchmarks.run_all           # full run: writes benchmarks/results/*.json and BENCHMARKS.md
    python -m benchmarks.run_all --quick   # smoke run of every benchmark, writes nothing
"""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Sequence

import benchmarks

# Modules of the package that are helpers, not benchmarks (as are names starting with "_").
NOT_BENCHMARKS = frozenset({"harness", "report", "run_all"})
REPO_ROOT = Path(benchmarks.__file__).resolve().parent.parent
# Benchmarks that need arguments: each listed argument set is one run (extra arguments are not passed on).
# These are the commands whose figures BENCHMARKS.md records.
RUNS = {
    "quality_finetune": (
        ("--dataset", "sst2", "--budget-minutes", "20", "--holdout", "600", "--eval-every", "400"),
        ("--dataset", "chnsenticorp", "--budget-minutes", "6"),
    ),
    # Pretraining on WikiText-2, then the SST-2 fine-tune from it with quality_finetune's SST-2 recipe above.
    "quality_pretrain": (
        ("--budget-minutes", "12", "--fine-tune-budget-minutes", "20", "--holdout", "600", "--eval-every", "400"),
    ),
    # QA on DRCD + CMRC 2018 (issue 15): from scratch, and warm-started from pretraining on the contexts within the
    # same budget, each scored on held-out CMRC articles beside the non-learned baseline; the qa signature's speed.
    "quality_qa": (
        ("--budget-minutes", "30"),
    ),
}


def benchmark_modules() -> List[str]:
    """Names of the benchmark modules, sorted."""
    names = (info.name for info in pkgutil.iter_modules(benchmarks.__path__) if not info.ispkg)
    return sorted(name for name in names if not name.startswith("_") and name not in NOT_BENCHMARKS)


def main(argv: Sequence[str] = None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("PYTHONWARNINGS", "ignore")
    failed = []
    modules = benchmark_modules()
    for name in modules:
        for arguments in RUNS.get(name, (tuple(extra),)):
            command = [sys.executable, "-m", f"benchmarks.{name}", *arguments]
            print(f"=== benchmarks.{name} {' '.join(arguments)}".rstrip(), flush=True)
            started = time.perf_counter()
            code = subprocess.call(command, cwd=REPO_ROOT, env=env)
            status = "ok" if code == 0 else f"FAILED (exit {code})"
            print(f"=== benchmarks.{name}: {status} in {time.perf_counter() - started:.0f} s", flush=True)
            if code != 0:
                failed.append(name)
    if failed:
        print(f"{len(failed)} of {len(modules)} benchmark(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"all {len(modules)} benchmark(s) passed: {', '.join(modules)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
