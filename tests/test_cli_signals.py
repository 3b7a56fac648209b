"""`albert-tfx run` on SIGINT / SIGTERM: stopped within seconds, its Beam workers and other children ended, one
line naming the component and the way to resume, exit 130 / 143, no traceback.

One scenario on the sample data, the tiny preset and Beam's DirectRunner in multi_processing mode (the
default), each run going on from the one before:

1. SIGINT to the main process during a Beam step (it used to hang there for minutes);
2. the same command, SIGTERM to the main process once training has finished a checkpoint interval;
3. the same command, a terminal's Ctrl-C (SIGINT to the whole process group) during training (it used to print
   the workers' tracebacks and linger after its last line).

The guard itself, and Ctrl-C during a Beam step, on a small Beam pipeline: tests/pipeline/test_signals.py.
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest

from pipeline import interrupts, sample_data

pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REACH_S = 600  # to reach the point of the signal (the run's first steps, on a busy 2-core CI machine)
STOP_S = 20  # from the signal to the exit, under CI load
BEAM_STEP = re.compile(r"\] VocabTransform \.\.\.$")  # tf.Transform: Beam
TRAINING_STEP = re.compile(r"^Epoch 2/")  # Keras, once the first checkpoint interval is done


class _Run:
    """`python -m albert_tfx run ...` in its own process group (as a shell starts a job), its output read as
    it comes."""

    def __init__(self, argv):
        self.process = subprocess.Popen([sys.executable, "-m", "albert_tfx", "run", *argv], cwd=REPO,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, errors="replace", start_new_session=True)
        self.lines = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: re.Pattern) -> str:
        deadline = time.monotonic() + REACH_S
        with self._changed:
            while True:
                found = next((line for line in self.lines if pattern.search(line)), None)
                if found:
                    return found
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"the run ended ({self.process.returncode}) before {pattern.pattern!r}:\n"
                                         + "\n".join(self.lines[-40:]))
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {pattern.pattern!r} within {REACH_S} s:\n" + "\n".join(self.lines[-40:]))
                self._changed.wait(1.0)

    def stop_with(self, signum: int, to_group: bool):
        """Sends the signal; (exit code, seconds to exit, the output after the signal)."""
        before = len(self.lines)
        signalled_at = time.monotonic()
        if to_group:
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)
        try:
            code = self.process.wait(STOP_S)
        except subprocess.TimeoutExpired:
            code = None
        took = time.monotonic() - signalled_at
        self._reader.join(5)
        return code, took, self.lines[before:]

    def beam_workers(self):
        """Waits until Beam's worker processes run; returns them."""
        deadline = time.monotonic() + REACH_S
        while time.monotonic() < deadline:
            with contextlib.suppress(psutil.Error):
                workers = [c for c in psutil.Process(self.process.pid).children(recursive=True)
                           if "sdk_worker_main" in " ".join(c.cmdline())]
                if workers:
                    return workers
            assert self.process.poll() is None, "\n".join(self.lines[-40:])
            time.sleep(0.2)
        raise AssertionError(f"no Beam worker within {REACH_S} s")

    def group_gone(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)  # the run's group: the run, its Beam workers, the canary's server
        except ProcessLookupError:
            return True
        return False

    def kill(self):
        if not self.group_gone():
            os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def runs():
    started = []
    yield lambda argv: started.append(_Run(argv)) or started[-1]
    for run in started:  # a failed test leaves no pipeline running
        run.kill()


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _assert_stopped(run: _Run, outcome, signum: int, component: str):
    code, took, after = outcome
    assert code == 128 + signum, f"exit {code} after {took:.0f} s:\n" + "\n".join(run.lines[-40:])
    assert took < STOP_S
    interrupted = [line for line in after if ": interrupted by " in line]
    assert interrupted == [f"albert-tfx run: interrupted by {signal.Signals(signum).name} during {component}; "
                           f"{interrupts.RESUME_HINT}"], "\n".join(after)
    assert after[-1] == interrupted[0], "nothing after the interrupt line"
    assert not any("Traceback" in line for line in run.lines), "\n".join(run.lines)
    deadline = time.monotonic() + 5
    while not run.group_gone() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run.group_gone(), "a child process (a Beam worker?) outlived the run"


def test_signals_stop_the_run_at_once_and_quietly(tmp_path, runs):
    sample_data.write_span(str(tmp_path / "data"), 1, train_rows=400, dev_rows=80)
    argv = ["--data", str(tmp_path / "data"), "--output", str(tmp_path / "out"),
            "--serving-dir", str(tmp_path / "serving"), "--train-steps", "400",
            "--set", "training.checkpoint_every_steps=20", "--set", "vocabulary.size=400"]

    first = runs(argv)
    first.wait_for(BEAM_STEP)
    workers = first.beam_workers()
    _assert_stopped(first, first.stop_with(signal.SIGINT, to_group=False), signal.SIGINT, "VocabTransform")
    assert not any(_alive(worker) for worker in workers)

    second = runs(argv)
    second.wait_for(TRAINING_STEP)
    _assert_stopped(second, second.stop_with(signal.SIGTERM, to_group=False), signal.SIGTERM, "Trainer")

    third = runs(argv)
    third.wait_for(TRAINING_STEP)
    _assert_stopped(third, third.stop_with(signal.SIGINT, to_group=True), signal.SIGINT, "Trainer")
