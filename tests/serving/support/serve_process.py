"""`albert-tfx serve` as a separate process (the installed console script), for the CLI and REST tests.

`running_serve(args, log_path)` starts it, waits for its ready line and yields (process, ready line, log file);
the process is killed on the way out if the test has not stopped it. `ready_addresses(line)` reads the gRPC
and REST addresses from the ready line.
"""

import contextlib
import os
import select
import subprocess
import sys
import time
from typing import IO, Iterator, Optional, Sequence, Tuple

SERVE_SCRIPT = os.path.join(os.path.dirname(sys.executable), "albert-tfx")
READY_MARKER = "listening on "
REST_MARKER = "REST API on "


def read_line_with(process: subprocess.Popen, marker: str, timeout_s: float, log: Optional[IO] = None) -> str:
    """The first stdout line of `process` containing `marker` (fails after `timeout_s` or when it exits)."""
    give_up = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < give_up:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            seen.append(line)
            if marker in line:
                return line
        elif process.poll() is not None:
            break
    stderr = "(running)"
    if process.poll() is not None and log is not None:
        log.seek(0)
        stderr = log.read()[-3000:]
    raise AssertionError(f"no {marker!r} line from the server in {timeout_s:.0f} s; stdout: {seen}; stderr: {stderr}")


@contextlib.contextmanager
def running_serve(args: Sequence[str], log_path, timeout_s: float = 240) -> Iterator[Tuple[subprocess.Popen, str, IO]]:
    log = open(log_path, "w+", encoding="utf-8")
    process = subprocess.Popen([SERVE_SCRIPT, "serve", *args], stdout=subprocess.PIPE, stderr=log, text=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"})
    try:
        yield process, read_line_with(process, READY_MARKER, timeout_s, log), log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def ready_addresses(line: str) -> Tuple[str, Optional[str]]:
    """(gRPC `host:port`, REST `host:port` or None) of a ready line."""
    grpc_address = line.split(READY_MARKER, 1)[1].split()[0]
    rest_address = line.split(REST_MARKER, 1)[1].split(";")[0].strip() if REST_MARKER in line else None
    return grpc_address, rest_address
