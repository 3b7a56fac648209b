"""Quality with the defaults: `albert-tfx run` given only the data and its columns, on real data sets.

Each run is the user's command as a subprocess in a fresh output directory (nothing cached), timed end to end
(ExampleGen through Pusher), then the Evaluator's figures are read from the run's ML Metadata: dev accuracy,
macro-F1 and Matthews correlation beside the majority-class predictor's, the blessing, the steps and epochs
trained and the checkpoint kept. Targets (issue 12): SST-2 dev >= 0.81 and ChnSentiCorp dev >= 0.90, each
within 30 minutes on 2 CPU cores; MRPC (sentence pairs) recorded against its majority baseline; and
ChnSentiCorp after domain pretraining on zh_online_shopping reviews (`pretraining.text_files`, the one flag
beyond data and columns) against the from-scratch run.

    python -m benchmarks.quality_defaults                       # every run below (about 1.5 h)
    python -m benchmarks.quality_defaults --runs chnsenticorp   # one of them
    python -m benchmarks.quality_defaults --quick               # smoke runs (few steps), writes nothing
    python -m benchmarks.quality_defaults --rows-only           # BENCHMARKS.md rows from the recorded results
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import csv  # noqa: E402
import dataclasses  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Dict, List, Optional, Tuple  # noqa: E402

from benchmarks import report  # noqa: E402

BENCHMARK = "quality_defaults"
SHARED = os.path.join("..", "shared", "datasets")  # as the user types it, from the repository root
BUDGET_MINUTES = 30.0


@dataclasses.dataclass(frozen=True)
class Run:
    name: str
    what: str
    flags: Tuple[str, ...]  # data and columns only (plus the domain corpus for the pretraining run)
    target: Optional[float] = None  # dev accuracy to reach
    report_positive_f1: bool = False  # the F1 of label "1", as GLUE reports MRPC


RUNS = {
    "sst2": Run("sst2", "SST-2 dev (872 sentences)",
                ("--data", f"{SHARED}/sst2", "--text-column", "sentence", "--label-column", "label"), 0.81),
    "chnsenticorp": Run("chnsenticorp", "ChnSentiCorp dev (1,200 reviews)",
                        ("--data", f"{SHARED}/chnsenticorp", "--no-header", "--column-names", "text,label",
                         "--text-column", "text", "--label-column", "label"), 0.90),
    "mrpc": Run("mrpc", "MRPC dev (408 sentence pairs)",
                ("--data", f"{SHARED}/mrpc", "--text-column", "#1 String", "--text-column", "#2 String",
                 "--label-column", "Quality"), report_positive_f1=True),
    "chnsenticorp_domain": Run("chnsenticorp_domain",
                               "ChnSentiCorp dev after domain pretraining on zh_online_shopping reviews",
                               ("--data", f"{SHARED}/chnsenticorp", "--no-header", "--column-names", "text,label",
                                "--text-column", "text", "--label-column", "label",
                                "--set", "pretraining.enabled=true",
                                "--set", "pretraining.text_files={domain_text}")),
}


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return " ".join(sorted(f for f in flags if f.startswith(("avx", "amx", "fma"))))
    except OSError:
        pass
    return "unknown"


def write_domain_text(path: str) -> int:
    """zh_online_shopping's reviews as plain text, one review per document (a blank line between): the
    user's domain corpus. Returns the number of reviews."""
    source = os.path.join(report.REPO_ROOT, SHARED, "zh_online_shopping", "online_shopping_10_cats.csv")
    count = 0
    with open(source, encoding="utf-8", newline="") as rows, open(path, "w", encoding="utf-8") as out:
        for row in csv.DictReader(rows):
            review = (row.get("review") or "").replace("\ufeff", "").strip()
            if review:
                out.write(review.replace("\n", " ") + "\n\n")
                count += 1
    return count


def run_one(run: Run, root: str, quick: bool) -> Dict[str, object]:
    domain_text = os.path.join(root, "domain.txt")
    flags = [flag.format(domain_text=domain_text) for flag in run.flags]
    if any("{domain_text}" in flag for flag in run.flags):
        write_domain_text(domain_text)
    argv = ["albert-tfx", "run", *flags, "--output", f"{root}/out", "--serving-dir", f"{root}/serving"]
    if quick:
        argv += ["--set", "training.train_steps=20", "--set", "pretraining.train_steps=10"]
    print("$ " + shlex.join(argv), flush=True)
    started = time.perf_counter()
    completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), "albert-tfx"), *argv[1:]],
                               cwd=report.REPO_ROOT, capture_output=True, text=True)
    wall_seconds = time.perf_counter() - started
    sys.stderr.write(completed.stderr[-4000:])
    print(completed.stdout, flush=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{run.name}: the pipeline failed (exit {completed.returncode})")

    from pipeline import local_runner
    from pipeline.configs import PipelineConfig

    config = PipelineConfig().with_overrides({"orchestration.output_dir": f"{root}/out"})
    summary = local_runner.summarize(config, started=time.time(), components=[], span=None)
    figures = {f"{run.name}_{key}": round(float(value), 4) for key, value in sorted(summary.metrics.items())}
    for key, value in sorted(dataclasses.asdict(summary).items()):
        if key in ("metrics", "components", "output_dir", "seconds", "pushed_destination"):
            continue
        if isinstance(value, dict):
            figures.update({f"{run.name}_{key}_{k}": (round(v, 4) if isinstance(v, float) else v)
                            for k, v in sorted(value.items()) if isinstance(v, (int, float, str, bool))})
        elif isinstance(value, (int, float, str, bool)) or value is None:
            figures[f"{run.name}_{key}"] = round(value, 4) if isinstance(value, float) else value
    for label, values in sorted((summary.gate.per_class if summary.gate else {}).items()):
        figures.update({f"{run.name}_class_{label}_{metric}": round(float(value), 4) for metric, value in values.items()})
    figures[f"{run.name}_wall_minutes"] = round(wall_seconds / 60, 2)
    figures[f"{run.name}_within_budget"] = wall_seconds / 60 <= BUDGET_MINUTES
    figures[f"{run.name}_command"] = shlex.join(argv).replace(root, "$OUT")
    figures[f"{run.name}_summary"] = completed.stdout.strip().splitlines()
    figures[f"{run.name}_date"] = datetime.date.today().isoformat()
    if run.target is not None:
        figures[f"{run.name}_target_dev_accuracy"] = run.target
    return figures


def _figure(figures: Dict[str, object], name: str, *keys: str) -> Optional[float]:
    for key in keys:
        value = figures.get(f"{name}_{key}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _row_figures(results: Dict[str, object], name: str) -> Dict[str, Optional[float]]:
    return {
        "accuracy": _figure(results, name, "sparse_categorical_accuracy", "accuracy"),
        "macro_f1": _figure(results, name, "macro_f1"),
        "mcc": _figure(results, name, "matthews_correlation"),
        "majority_accuracy": _figure(results, name, "majority_class_accuracy"),
        "majority_macro_f1": _figure(results, name, "majority_class_macro_f1"),
        "steps": _figure(results, name, "training_final_step"),
        "epochs": _figure(results, name, "training_epochs"),
        "wall": _figure(results, name, "wall_minutes"),
        "length": _figure(results, name, "training_max_seq_length"),
        # GLUE's F1 of a binary task: the F1 of the label "1" (MRPC: paraphrase)
        "positive_f1": _figure(results, name, "class_1_f1_score"),
    }


def _text(value: Optional[float], digits: int = 4) -> str:
    return "?" if value is None else f"{value:.{digits}f}"


def rows(results: Dict[str, object], names: List[str]) -> List[report.Row]:
    made = []
    for name in names:
        run = RUNS[name]
        got = _row_figures(results, name)
        ours = f"accuracy {_text(got['accuracy'])}, macro-F1 {_text(got['macro_f1'])}, MCC {_text(got['mcc'])}"
        if run.report_positive_f1:
            ours += f", F1 of label 1 (GLUE's F1) {_text(got['positive_f1'])}"
        peer = (f"target accuracy {run.target}; " if run.target else "") + (
            f"majority class: accuracy {_text(got['majority_accuracy'])}, macro-F1 {_text(got['majority_macro_f1'])}")
        ratio = "" if got["macro_f1"] is None or not got["majority_macro_f1"] else \
            f"macro-F1 x{got['macro_f1'] / got['majority_macro_f1']:.2f} the majority class's"
        made.append(report.Row(
            benchmark=BENCHMARK,
            metric=f"{run.what}, defaults only: {_text(got['wall'], 1)} min wall on 2 CPU cores, "
                   f"{_text(got['steps'], 0)} fine-tuning steps ({_text(got['epochs'], 2)} epochs)"
                   # runs recorded before the length was derived from the data did not record it (64 then)
                   + (f" at sequence length {got['length']:.0f}" if got["length"] is not None else "") + ", "
                   f"blessed: {results.get(f'{name}_blessed')}",
            ours=ours, peer=peer, ratio=ratio, command=str(results[f"{name}_command"]),
            date=str(results[f"{name}_date"])))
    if "chnsenticorp_domain" in names and "chnsenticorp" in names:
        domain, scratch = _row_figures(results, "chnsenticorp_domain"), _row_figures(results, "chnsenticorp")
        if domain["accuracy"] is not None and scratch["accuracy"] is not None:
            made.append(report.Row(
                benchmark=BENCHMARK,
                metric="ChnSentiCorp dev: gain of domain pretraining on zh_online_shopping over from scratch "
                       f"({_text(domain['wall'], 1)} vs {_text(scratch['wall'], 1)} min wall end to end)",
                ours=f"accuracy {_text(domain['accuracy'])} (after domain pretraining)",
                peer=f"accuracy {_text(scratch['accuracy'])} (from scratch)",
                ratio=f"{domain['accuracy'] - scratch['accuracy']:+.4f} accuracy",
                command=str(results["chnsenticorp_domain_command"]), date=str(results["chnsenticorp_domain_date"])))
    return made


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=",".join(RUNS), help=f"comma-separated, of {sorted(RUNS)}")
    parser.add_argument("--quick", action="store_true", help="smoke runs (few steps); writes nothing")
    parser.add_argument("--rows-only", action="store_true",
                        help="rewrite the BENCHMARKS.md rows from the recorded results; run nothing")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.runs.split(",") if name.strip()]
    unknown = sorted(set(names) - set(RUNS))
    if unknown:
        parser.error(f"unknown run(s) {unknown}; choose from {sorted(RUNS)}")

    path = report.RESULTS_DIR / f"{BENCHMARK}.json"
    results: Dict[str, object] = json.loads(path.read_text()) if path.exists() and not args.quick else {}
    for name in names if not args.rows_only else []:
        with tempfile.TemporaryDirectory(prefix=f"albert-tfx-{BENCHMARK}-{name}-") as root:
            results.update(run_one(RUNS[name], root, args.quick))
        if not args.quick:  # each run is recorded as it ends: a long sequence stopped midway keeps them
            _record(results)
    if args.rows_only:
        report.update_benchmarks_md(BENCHMARK, rows(results, [name for name in RUNS if f"{name}_command" in results]))
    return 0


def _record(results: Dict[str, object]) -> None:
    results.update({"machine": platform.machine(), "machine_cpus": os.cpu_count(),
                    "machine_cpu_flags": _cpu_flags(), "python": platform.python_version()})
    report.write_results(BENCHMARK, results)
    report.update_benchmarks_md(BENCHMARK, rows(results, [name for name in RUNS if f"{name}_command" in results]))


if __name__ == "__main__":
    sys.exit(main())
