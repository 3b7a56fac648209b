"""Kill `albert-tfx run` anywhere (SIGKILL to its process group, as a lost machine or a preempted pod would),
run the same command again, lose nothing.

One chain, so that the whole costs about one run plus restarts: a run killed during TextExampleGen, its rerun
killed in the vocabulary step (the steps before it now come from TFX's cache), the next during the Transform,
then during training once a checkpoint is written, then during the Evaluator, then in the middle of the push
(while it copies the model into the serving directory), and a last rerun that completes. After every kill the
serving directory holds only whole versions; the rerun after the training kill resumes from the killed run's
newest checkpoint, losing at most one checkpoint interval; the last rerun pushes version 1, says where training
resumed, and leaves neither a staging directory nor training checkpoints behind.

The table (kill point, steps redone, outcome) is printed; with ALBERT_TFX_RECORD_KILL_TABLE=1 it also goes to
benchmarks/results/kill_anywhere.json and its row in BENCHMARKS.md.
"""

import contextlib
import ctypes
import ctypes.util
import datetime
import glob
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import threading
import time

import pytest

from pipeline import sample_data
from serving import contract
from serving.push import PUSH_OWNER_SUFFIX
from text_contract import storage
from trainer.run_fn import RESUME_ROOT_DIR
from trainer.train import CHECKPOINT_DIR, PROGRESS_FILE

pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEPS, INTERVAL = 80, 10
REACH_S = 600  # to reach a kill point (a whole step on a busy 2-core CI machine)
INTO_STEP_S = 1.5  # a Beam step killed this long after it started: past its start-up, well before its end
RECORD_ENV = "ALBERT_TFX_RECORD_KILL_TABLE"
BENCHMARK = "kill_anywhere"
COMMAND = f"{RECORD_ENV}=1 python -m pytest tests/pipeline/test_kill_anywhere.py"


def _started(component: str) -> re.Pattern:
    return re.compile(rf"^\[\d+/\d+\] {component} \.\.\.$")


class _Run:
    """`python -m albert_tfx run ...` in its own process group (as a shell starts a job), its output read as it
    comes."""

    def __init__(self, argv):
        self.process = subprocess.Popen([sys.executable, "-m", "albert_tfx", "run", *argv], cwd=REPO,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, errors="replace", start_new_session=True)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def tail(self) -> str:
        return "\n".join(self.lines[-60:])

    def wait_until(self, found, what: str):
        """Polls `found()` until it returns something true, which it returns; fails when the run ends first."""
        deadline = time.monotonic() + REACH_S
        while True:
            value = found()
            if value:
                return value
            if self.process.poll() is not None:
                raise AssertionError(f"the run ended ({self.process.returncode}) before {what}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {REACH_S} s:\n{self.tail()}")
            time.sleep(0.05)

    def line(self, pattern: re.Pattern):
        return next((line for line in list(self.lines) if pattern.search(line)), None)

    def kill(self):
        """SIGKILL to the whole group: the run, its Beam workers, the canary's server."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(60)
        self._reader.join(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        raise AssertionError("a process of the killed run's group survived SIGKILL")

    def finish(self) -> int:
        code = self.process.wait(REACH_S * 2)
        self._reader.join(10)
        return code


class _DirectoryWatch:
    """Names created in, or renamed into, a directory, as they appear: Linux inotify through libc. The standard
    library has no file-watching API (nor does the environment hold an inotify package), and polling could miss a
    push, which copies the tiny model in milliseconds."""

    IN_MOVED_TO, IN_CREATE = 0x80, 0x100
    _EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)

    def __init__(self, directory: str):
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._fd = self._libc.inotify_init()
        if self._fd < 0 or self._libc.inotify_add_watch(self._fd, directory.encode(),
                                                        self.IN_CREATE | self.IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), f"inotify on {directory}")

    def wait_for(self, wanted, run: _Run, what: str) -> str:
        """Blocks until a name for which `wanted(name)` is true appears; returns it."""
        deadline = time.monotonic() + REACH_S
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self._fd], [], [], 0.5)
            if not readable:
                assert run.process.poll() is None, f"the run ended before {what}:\n{run.tail()}"
                continue
            events = os.read(self._fd, 65536)
            offset = 0
            while offset < len(events):
                _, _, _, length = self._EVENT.unpack_from(events, offset)
                name = events[offset + self._EVENT.size:offset + self._EVENT.size + length].rstrip(b"\0").decode()
                offset += self._EVENT.size + length
                if wanted(name):
                    return name
        raise AssertionError(f"no {what} within {REACH_S} s:\n{run.tail()}")

    def close(self):
        os.close(self._fd)


def _config_file(tmp_path) -> str:
    """The smallest run that trains, blesses and pushes: the tiny preset on the sample, a checkpoint every few
    steps, a gate any learning model passes (the blessing is not what this test is about)."""
    path = tmp_path / "pipeline.yaml"
    path.write_text(json.dumps({  # JSON is YAML
        "data": {"path": str(tmp_path / "data")},
        "vocabulary": {"size": 400},
        "training": {"train_steps": STEPS, "checkpoint_every_steps": INTERVAL, "early_stopping_patience": 0,
                     "extra": {"log_every_steps": 1}},
        "evaluation": {"min_score": 0.0, "min_gain_over_majority": 0.001},
        "serving": {"serving_dir": str(tmp_path / "serving")},
        "orchestration": {"output_dir": str(tmp_path / "out"), "beam_num_workers": 1},
    }))
    return str(path)


def _whole_versions(model_dir: str):
    """The version directories in the serving directory, each of which must be whole (TF Serving loads any)."""
    versions = sorted(int(name) for name in os.listdir(model_dir) if name.isdigit())
    for version in versions:
        path = os.path.join(model_dir, str(version))
        missing = [name for name in (contract.SAVED_MODEL_FILE, os.path.join("variables", "variables.index"),
                                     os.path.join(contract.ASSETS_EXTRA_DIR, contract.METADATA_FILE))
                   if not os.path.exists(os.path.join(path, name))]
        assert not missing, f"version {version} is not whole: no {missing}"
    return versions


def _leftovers(model_dir: str):
    """What interrupted pushes leave: hidden staging or retired directories and owner records."""
    return sorted(name for name in os.listdir(model_dir) if name.startswith(".") and (
        storage.STAGING_MARKER in name or storage.RETIRED_MARKER in name or name.endswith(PUSH_OWNER_SUFFIX)))


def _checkpoint_steps(root: str):
    pattern = os.path.join(root, "pipeline_root", RESUME_ROOT_DIR, "classify-*", CHECKPOINT_DIR, "ckpt-*.index")
    return sorted(int(re.search(r"ckpt-(\d+)\.index$", path).group(1)) for path in glob.glob(pattern))


def _training_progress(root: str) -> int:
    """The step the newest Trainer execution reported last (its model_run's progress.json)."""
    runs = glob.glob(os.path.join(root, "pipeline_root", "Trainer", "model_run", "*", PROGRESS_FILE))
    if not runs:
        return 0
    newest = max(runs, key=lambda path: int(os.path.basename(os.path.dirname(path))))
    try:
        with open(newest) as handle:
            return json.load(handle)["step"]
    except (OSError, ValueError):
        return 0


KILL_POINT_KEYS = {"TextExampleGen": "example_gen", "SentencePieceVocab": "vocabulary", "VocabTransform": "transform",
                   "Trainer": "trainer", "Evaluator": "evaluator", "mid-push": "push", "none": "none"}


def flat_results(table) -> dict:
    """The table as flat keys (benchmarks/results/*.json): kill_<point>_{kill_point,outcome,steps_redone}."""
    results = {}
    for row in table:
        key = next(key for word, key in KILL_POINT_KEYS.items() if word in row["kill_point"])
        for field, value in row.items():
            results[f"kill_{key}_{field}"] = value
    return results


def _record(table):
    from benchmarks import report

    date = datetime.date.today().isoformat()
    report.write_results(BENCHMARK, {"date": date, "machine_cpus": os.cpu_count(), "command": COMMAND,
                                     "train_steps": STEPS, "checkpoint_every_steps": INTERVAL,
                                     **flat_results(table)})
    redone = [row["steps_redone"] for row in table if row["steps_redone"] is not None]
    report.update_benchmarks_md(BENCHMARK, [report.Row(
        BENCHMARK,
        f"SIGKILL to `albert-tfx run`'s process group at {len(table) - 1} points (ExampleGen, vocabulary, Transform, "
        f"training after a checkpoint, Evaluator, mid-push), each run again; sample data, tiny preset, {STEPS} "
        f"steps, a checkpoint every {INTERVAL}",
        f"{len(table) - 1}/{len(table) - 1} reruns went on, the last completed and pushed version 1; training "
        f"steps redone: {', '.join(map(str, redone))}; serving dir whole after every kill, no staging left",
        f"at most {INTERVAL} steps redone (one checkpoint interval)", "-", COMMAND, date)])


def test_killed_anywhere_the_rerun_goes_on_and_loses_at_most_one_checkpoint_interval(tmp_path, capsys):
    sample_data.write_span(str(tmp_path / "data"), 1, train_rows=600, dev_rows=120)
    argv = ["--config", _config_file(tmp_path)]
    root, model_dir = str(tmp_path / "out"), str(tmp_path / "serving" / "albert")
    os.makedirs(model_dir)  # for the watch on pushes (an empty model directory is what a first push finds anyway)
    table, runs = [], []

    def start() -> _Run:
        runs.append(_Run(argv))
        return runs[-1]

    def killed(run: _Run, point: str, steps_redone=None):
        run.kill()
        assert _whole_versions(model_dir) == [], f"a version before any push completed: {os.listdir(model_dir)}"
        table.append({"kill_point": point, "steps_redone": steps_redone, "outcome": None})

    def kill_during(run: _Run, component: str):
        run.wait_until(lambda: run.line(_started(component)), f"{component}'s start")
        time.sleep(INTO_STEP_S)
        killed(run, f"during {component}")
        assert not run.line(re.compile(rf"\] {component} done")), f"{component} ended before the kill:\n{run.tail()}"

    def went_on(run: _Run, component: str) -> str:
        assert run.line(re.compile(rf"\] {component} done")), f"the rerun did not finish {component}:\n{run.tail()}"
        return f"the rerun finished {component}"

    try:
        run = start()
        kill_during(run, "TextExampleGen")
        for before, component in (("TextExampleGen", "SentencePieceVocab"), ("SentencePieceVocab", "VocabTransform")):
            run = start()
            kill_during(run, component)
            table[-2]["outcome"] = went_on(run, before)

        # Training, once a checkpoint is written and the next interval is half done.
        run = start()
        run.wait_until(lambda: _checkpoint_steps(root), "a training checkpoint")
        run.wait_until(lambda: _training_progress(root) >= _checkpoint_steps(root)[-1] + INTERVAL // 2,
                       "training past its checkpoint")
        killed(run, "during Trainer, after a checkpoint")
        table[-2]["outcome"] = went_on(run, "VocabTransform")
        reached, newest_checkpoint = _training_progress(root), _checkpoint_steps(root)[-1]

        run = start()
        kill_during(run, "Evaluator")
        resumed = run.line(re.compile(r"resuming from the checkpoint at step (\d+) of (\d+)"))
        assert resumed, f"the Trainer did not resume:\n{run.tail()}"
        resumed_at = int(re.search(r"at step (\d+)", resumed).group(1))
        assert resumed_at == newest_checkpoint and f"of {STEPS}" in resumed, resumed
        assert 0 <= reached - resumed_at <= INTERVAL, (reached, resumed_at)  # at most one interval lost
        table[-2].update(steps_redone=reached - resumed_at,
                         outcome=f"the rerun resumed at step {resumed_at} of {STEPS} and finished training")
        assert not _checkpoint_steps(root), "the checkpoints of exported work were kept"

        # The push, while it copies the model into its staging directory (its owner record written first).
        run = start()
        watch = _DirectoryWatch(model_dir)
        try:
            watch.wait_for(lambda name: name.endswith(PUSH_OWNER_SUFFIX), run, "a push")
            killed(run, "mid-push (copying into the staging directory)")
        finally:
            watch.close()
        table[-2]["outcome"] = went_on(run, "Evaluator")
        assert any(storage.STAGING_MARKER in name for name in _leftovers(model_dir)), os.listdir(model_dir)

        run = start()
        assert run.finish() == 0, run.tail()
        summary = "\n".join(run.lines)
        assert f"pushed: version 1 -> {os.path.join(model_dir, '1')}" in summary, run.tail()
        assert _whole_versions(model_dir) == [1]
        assert _leftovers(model_dir) == [], "an interrupted push's staging outlived the next push"
        assert f", resumed at step {resumed_at} of {STEPS}" in summary, run.tail()  # the run summary says so
        assert not os.listdir(os.path.join(root, "pipeline_root", RESUME_ROOT_DIR))  # no orphan checkpoints
        table[-1]["outcome"] = "the rerun completed: pushed version 1, the staging directory removed"
        table.append({"kill_point": "none (the last rerun)", "steps_redone": None, "outcome": "completed"})
    finally:
        for started in runs:
            if started.process.poll() is None:
                started.kill()
        with capsys.disabled():
            print("\nkill anywhere:\n" + "\n".join(json.dumps(row) for row in table))
    if os.environ.get(RECORD_ENV) == "1":
        _record(table)
