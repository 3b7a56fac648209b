"""SIGINT / SIGTERM stop a run within seconds: children ended, one line, exit 130 / 143, no tracebacks.

The guard (pipeline/interrupts.py) on small stand-ins here: child processes, a main thread that swallows the
interrupt, Beam's DirectRunner in multi_processing mode (SIGINT to the main process and to the whole group, as a
terminal's Ctrl-C), the canary's server. `albert-tfx run` itself: tests/test_cli_signals.py.
"""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import List

import psutil
import pytest

from pipeline import interrupts

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WAIT_S = 60  # for a subprocess to reach the point of the test (imports on a busy CI machine)
STOP_S = 20  # the budget from the signal to the exit, under CI load


def _alive(processes):
    alive = []
    for process in processes:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_a_signal_ends_the_children_and_raises_with_its_exit_code_and_one_line(capfd):
    handlers_before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(interrupts.RunInterrupted) as caught:
        with interrupts.StopOnSignals("probe", exit_process=False):
            with interrupts.stage(lambda: "during StepTwo"):
                # a child and a grandchild (sh waits on its own child)
                children = [subprocess.Popen(["sleep", "60"]),
                            subprocess.Popen(["sh", "-c", "sleep 60 & wait"])]
                time.sleep(0.3)
                ours = [p for p in psutil.Process().children(recursive=True)
                        if p.pid in {c.pid for c in children} or p.ppid() in {c.pid for c in children}]
                assert len(ours) == 3
                started = time.monotonic()
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(30)  # interrupted
                print("never printed")
    assert time.monotonic() - started < interrupts.CHILD_GRACE_S + 2
    assert caught.value.exit_code == 143 and caught.value.signum == signal.SIGTERM
    assert not _alive(ours)
    assert all(child.poll() is not None for child in children)
    out, err = capfd.readouterr()
    assert out == ""
    assert err == f"probe: interrupted by SIGTERM during StepTwo; {interrupts.RESUME_HINT}\n"
    # the guard gave the signals back (what they were: a shell's background job starts with SIGINT ignored)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers_before


def test_without_a_signal_the_guard_changes_nothing(capfd):
    handlers_before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(ValueError, match="bad row"):
        with interrupts.StopOnSignals("probe", exit_process=False):
            print("progress")
            raise ValueError("bad row")
    assert capfd.readouterr().out == "progress\n"
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers_before


@pytest.fixture
def start(tmp_path):
    """Starts a script in its own process group; whatever a failed test leaves running is killed."""
    started = []

    def start(script: str) -> subprocess.Popen:
        path = tmp_path / f"script{len(started)}.py"
        path.write_text(textwrap.dedent(script))
        env = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore")
        started.append(subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env, cwd=REPO, start_new_session=True))
        return started[-1]

    yield start
    for process in started:
        if not _group_gone(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_for_line(process: subprocess.Popen, marker: str) -> List[str]:
    """Waits until stdout shows `marker`; returns the list of its lines, which keeps filling until it closes."""
    lines, seen = [], threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line)
            if marker in line:
                seen.set()

    process.reader = threading.Thread(target=read, daemon=True)
    process.reader.start()
    assert seen.wait(WAIT_S), f"no {marker!r} within {WAIT_S} s (exit code {process.poll()})"
    return lines


def _stopped(process: subprocess.Popen, signalled_at: float):
    """(exit code, seconds from the signal, all of stdout, stderr)."""
    code = process.wait(STOP_S)
    took = time.monotonic() - signalled_at
    process.reader.join(5)
    return code, took, process.stderr.read()


def test_a_main_thread_that_swallows_the_interrupt_is_ended_by_the_watchdog(start):
    process = start("""
        import time
        from pipeline import interrupts

        with interrupts.StopOnSignals("probe", exit_after_s=2.0):
            print("ready", flush=True)
            try:
                time.sleep(60)
            except KeyboardInterrupt:  # a library that catches it and carries on
                print("noise after the signal", flush=True)
                time.sleep(60)
    """)
    out = _wait_for_line(process, "ready")
    signalled_at = time.monotonic()
    process.send_signal(signal.SIGINT)
    code, took, err = _stopped(process, signalled_at)
    assert code == 130 and took < STOP_S
    assert out == ["ready\n"]
    assert err.splitlines() == [f"probe: interrupted by SIGINT while the run was starting or finishing; "
                                f"{interrupts.RESUME_HINT}"]


_BEAM_SCRIPT = """
    import logging

    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline import interrupts


    class Slow(beam.DoFn):
        def start_bundle(self):
            print("workers busy", flush=True)  # a worker's stdout is the test's pipe too

        def process(self, element):
            import time

            time.sleep(0.05)
            yield element


    logging.getLogger("apache_beam").setLevel(logging.ERROR)  # the workers' start-up warnings
    options = PipelineOptions(["--direct_num_workers=2", "--direct_running_mode=multi_processing"])
    with interrupts.StopOnSignals("probe"):
        with interrupts.stage(lambda: "during SlowStep"):
            with beam.Pipeline(options=options) as p:
                _ = p | beam.Create(range(20000)) | beam.Reshuffle() | beam.ParDo(Slow()) | beam.combiners.Count.Globally()
"""


def _ignores_sigint(pid: int) -> bool:
    with open(f"/proc/{pid}/status") as status:  # Linux: the mask of ignored signals, in hex
        ignored = int(next(line for line in status if line.startswith("SigIgn:")).split()[1], 16)
    return bool(ignored & (1 << (signal.SIGINT - 1)))


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("to_group", [False, True], ids=["main-process", "process-group"])
def test_sigint_during_a_beam_step_stops_its_workers_quietly(start, to_group):
    """The DirectRunner in multi_processing mode, as the pipeline runs it: SIGINT to the main process (it used
    to hang), and to the whole group as a terminal's Ctrl-C sends it (the workers used to print tracebacks)."""
    process = start(_BEAM_SCRIPT)
    out = _wait_for_line(process, "workers busy")
    workers = [c for c in psutil.Process(process.pid).children(recursive=True) if "sdk_worker_main" in " ".join(c.cmdline())]
    assert len(workers) == 2, "the workers are direct children of the main process (no sh left between)"
    assert all(w.ppid() == process.pid for w in workers)
    assert all(_ignores_sigint(w.pid) for w in workers), "a terminal's Ctrl-C would reach the workers' Python"
    signalled_at = time.monotonic()
    if to_group:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGINT)
    code, took, err = _stopped(process, signalled_at)
    assert code == 130 and took < STOP_S
    assert "Traceback" not in "".join(out) + err
    assert err.splitlines() == [f"probe: interrupted by SIGINT during SlowStep; {interrupts.RESUME_HINT}"]
    deadline = time.monotonic() + 5
    while not _group_gone(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _group_gone(process.pid), "a worker outlived the run"


@pytest.mark.slow  # builds a tiny export (shared with the serving tests in one pytest process)
def test_sigterm_during_the_canary_stops_its_server_even_one_deaf_to_sigterm(start, tmp_path):
    """The canary's server is a child too (serving/canary.py): this stand-in ignores SIGTERM, so only the guard's
    SIGKILL after its grace ends it; the canary's temporary directory still goes."""
    from tests.serving.support.exports import tiny_export

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    pid_file = tmp_path / "server.pid"
    deaf_server = [sys.executable, "-c", "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                         f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(3600)"]
    process = start(f"""
        import os
        import tempfile

        from pipeline import interrupts
        from serving import canary

        tempfile.tempdir = {str(scratch)!r}  # where the canary copies the candidate for its server
        print("ready", flush=True)
        with interrupts.StopOnSignals("probe"):
            with interrupts.stage(lambda: "during ServingPusher"):
                canary.run_canary({tiny_export()!r}, timeout_s=300, server_command={deaf_server!r})
    """)
    _wait_for_line(process, "ready")
    deadline = time.monotonic() + WAIT_S
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    server = psutil.Process(int(pid_file.read_text()))
    signalled_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code, took, err = _stopped(process, signalled_at)
    assert code == 143 and interrupts.CHILD_GRACE_S <= took < STOP_S
    assert err.splitlines() == [f"probe: interrupted by SIGTERM during ServingPusher; {interrupts.RESUME_HINT}"]
    assert not _alive([server])
    assert os.listdir(scratch) == []
