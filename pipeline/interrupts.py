"""Ending a local run cleanly on SIGINT or SIGTERM (`albert-tfx run`, `python -m pipeline.local_runner`).

A run works in this process and in child processes: Beam's DirectRunner workers (`sdk_worker_main`, in
multi_processing mode), the canary's server (serving/canary.py), a job server that a portable runner starts.
Left to Python's defaults, SIGINT raises KeyboardInterrupt in the main thread only, and the run hangs on
workers nobody stops; a terminal's Ctrl-C, sent to the whole process group, also makes every worker and every
gRPC thread print a traceback. Inside `StopOnSignals`, on the first SIGINT or SIGTERM:

1. this process's stdout and stderr go to /dev/null (what the teardown prints is its noise, not news), and
   the main thread gets `RunInterrupted` (a KeyboardInterrupt, which TFX's and Beam's `except Exception`
   let through), so the `finally` blocks on the way out run;
2. a watchdog thread, woken through `signal.set_wakeup_fd` (so also while the main thread is blocked in C
   code), ends every child process: SIGTERM, SIGKILL after `CHILD_GRACE_S`;
3. one line says what was interrupted (the component `stage` names) and that a rerun resumes;
4. the process ends with 128 + the signal number (130 for SIGINT, 143 for SIGTERM) once its children are
   gone, at once (`os._exit`): the interpreter's normal exit would wait for threads that the interrupted
   libraries never stop. If the main thread has not come out within `EXIT_AFTER_S` of the signal (a teardown
   stuck in a library), the watchdog ends the process itself.

While a `StopOnSignals` is active, Beam's DirectRunner workers start with SIGINT ignored, so a terminal's
Ctrl-C reaches only this process, which stops them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
from typing import Callable, Iterator, Optional

SIGNALS = (signal.SIGINT, signal.SIGTERM)
CHILD_GRACE_S = 3.0  # after SIGTERM, before SIGKILL: the canary's server drains its calls in 1 s
EXIT_AFTER_S = 10.0  # after the signal: the longest the main thread gets to come out before the watchdog exits
RESUME_HINT = ("run the same command again to resume: finished components come from the cache, "
               "training from its newest checkpoint")
# sh runs Beam's worker command (Popen(shell=True)); `exec` replaces the shell (no sh left to outlive a kill),
# and a signal ignored at exec stays ignored in Python (it installs its SIGINT handler only over SIG_DFL).
_BEAM_WORKER_PREFIX = "trap '' INT; exec "

_active: Optional["StopOnSignals"] = None


class RunInterrupted(KeyboardInterrupt):
    """The run stopped on a signal; `str()` is the line that says where and how to resume."""

    def __init__(self, signum: int, during: str):
        self.signum, self.during = signum, during
        super().__init__(f"interrupted by {signal.Signals(signum).name} {during}; {RESUME_HINT}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@contextlib.contextmanager
def stage(describe: Callable[[], str]) -> Iterator[None]:
    """While inside, the active guard (if any) names what an interrupt stopped with `describe()`, e.g.
    "during Transform"."""
    guard = _active
    if guard is None:
        yield
        return
    previous, guard.describe = guard.describe, describe
    try:
        yield
    finally:
        guard.describe = previous


class StopOnSignals:
    """See the module docstring. `program` starts the interrupt line ("albert-tfx run"); with
    `exit_process=False` (in-process callers, tests) the guard raises `RunInterrupted` after the line instead of
    ending the process, and gives stdout/stderr back. Only in the main thread: elsewhere it does nothing."""

    def __init__(self, program: str, *, exit_process: bool = True, child_grace_s: float = CHILD_GRACE_S,
                 exit_after_s: float = EXIT_AFTER_S):
        self.program, self.exit_process = program, exit_process
        self.child_grace_s, self.exit_after_s = child_grace_s, exit_after_s
        self.describe: Callable[[], str] = lambda: "while the run was starting or finishing"
        self._lock = threading.RLock()  # the main thread's handler can run while it holds it
        self._interrupt: Optional[RunInterrupted] = None
        self._signalled_at = 0.0
        self._raised = self._closing = self._announced = self._watched = False
        self._main_done = threading.Event()
        self._saved_fds: Optional[tuple] = None
        self._enabled = False

    # --- entering and leaving -------------------------------------------------------------------------
    def __enter__(self) -> "StopOnSignals":
        global _active
        if threading.current_thread() is not threading.main_thread() or _active is not None:
            return self  # signal handlers belong to the main thread; an outer guard already stops the run
        self._enabled = True
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)  # set_wakeup_fd requires it: the C handler must never block
        self._reader.settimeout(0.2)
        self._previous_wakeup_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._previous_handlers = {s: signal.signal(s, self._handle) for s in SIGNALS}
        self._beam_patch = _beam_workers_ignore_sigint()
        self._beam_patch.__enter__()
        self._watchdog = threading.Thread(target=self._watch, name="stop-on-signals", daemon=True)
        self._watchdog.start()
        _active = self
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if not self._enabled:
            return False
        self._closing = True
        self._main_done.set()
        self._watchdog.join(self.child_grace_s + 5.0)  # after a signal, it is stopping the children
        if self._interrupt is None:
            self._uninstall()
        interrupt = self._interrupt  # read again: a signal may have come while uninstalling
        if interrupt is None:
            return False
        if not self._watched:  # the signal came as the run was ending, after the watchdog had gone
            self._watched = True
            stop_children(self.child_grace_s)
        self._announce(interrupt)
        if self.exit_process:  # our handlers still installed: a second Ctrl-C cannot add a line
            os._exit(interrupt.exit_code)
        self._uninstall()
        self._restore_output()
        # Whatever came out of the run after the signal (Beam's "worker exited", a gRPC error) is its echo.
        raise interrupt from None

    def _uninstall(self) -> None:
        global _active
        if not self._enabled:
            return
        self._enabled = False
        _active = None
        self._beam_patch.__exit__(None, None, None)
        signal.set_wakeup_fd(self._previous_wakeup_fd)
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._reader.close()
        self._writer.close()

    # --- the signal -----------------------------------------------------------------------------------
    def _note(self, signum: int) -> None:
        with self._lock:
            if self._interrupt is None:
                self._signalled_at = time.monotonic()
                try:
                    during = self.describe()
                except Exception:  # describing must never hide the interrupt itself
                    during = "during the run"
                self._interrupt = RunInterrupted(signum, during)
                self._silence_output()  # here, first: nothing printed after the signal gets out

    def _handle(self, signum, frame) -> None:  # the main thread, between two bytecodes
        self._note(signum)
        if not self._raised and not self._closing:
            self._raised = True
            raise self._interrupt

    def _watch(self) -> None:
        while self._interrupt is None:
            if self._main_done.is_set():
                return
            try:
                data = self._reader.recv(64)
            except socket.timeout:
                continue
            except OSError:
                return
            for signum in data:
                if signum in SIGNALS:
                    self._note(signum)
                    break
        self._watched = True
        stop_children(self.child_grace_s)
        left = self.exit_after_s - (time.monotonic() - self._signalled_at)
        if not self._main_done.wait(max(left, 0.0)):
            self._announce(self._interrupt)
            os._exit(self._interrupt.exit_code)

    # --- output ---------------------------------------------------------------------------------------
    def _silence_output(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, RuntimeError):  # RuntimeError: the signal came in the middle of a write
                pass
        saved = (os.dup(1), os.dup(2))
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)
        self._saved_fds = saved

    def _restore_output(self) -> None:
        if self._saved_fds is None:
            return
        for stream in (sys.stdout, sys.stderr):
            try:  # what the teardown left in Python's buffers belongs to /dev/null too
                stream.flush()
            except (OSError, ValueError, RuntimeError):
                pass
        for target, saved in zip((1, 2), self._saved_fds):
            os.dup2(saved, target)
            os.close(saved)
        self._saved_fds = None

    def _announce(self, interrupt: RunInterrupted) -> None:
        with self._lock:
            if self._announced:
                return
            self._announced = True
            line = f"{self.program}: {interrupt}\n".encode("utf-8", "replace")
            os.write(self._saved_fds[1] if self._saved_fds else 2, line)


def stop_children(grace_s: float = CHILD_GRACE_S) -> None:
    """Ends every descendant of this process: SIGTERM, then SIGKILL for those still there after `grace_s`.
    psutil (a TFX dependency, through portpicker) finds grandchildren too, e.g. a server a job service started."""
    import psutil

    me = psutil.Process()
    for _ in range(3):  # again for any started while the others were stopping
        children = me.children(recursive=True)
        if not children:
            return
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.terminate()
        _, alive = psutil.wait_procs(children, timeout=grace_s)
        for child in alive:
            with contextlib.suppress(psutil.Error):
                child.kill()
        psutil.wait_procs(alive, timeout=1.0)


@contextlib.contextmanager
def _beam_workers_ignore_sigint() -> Iterator[None]:
    """Beam's DirectRunner (multi_processing) starts each worker with `Popen(command, shell=True)` in
    `local_job_service.SubprocessSdkWorker`; Beam has no option for how, so the command gets a prefix here."""
    from apache_beam.runners.portability import local_job_service

    worker_class = local_job_service.SubprocessSdkWorker
    original = worker_class.__init__

    def __init__(self, worker_command_line, *args, **kwargs):
        prefix = _BEAM_WORKER_PREFIX.encode() if isinstance(worker_command_line, bytes) else _BEAM_WORKER_PREFIX
        original(self, prefix + worker_command_line, *args, **kwargs)

    worker_class.__init__ = __init__
    try:
        yield
    finally:
        worker_class.__init__ = original
