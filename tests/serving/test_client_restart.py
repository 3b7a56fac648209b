"""A client loop with the default settings (serving/deploy CLIENT_*) rides out `albert-tfx serve` killed with
SIGKILL and started again on the same port a few seconds later (with its start-up, an outage of about ten
seconds): no request fails."""

import threading
import time
from typing import List, Optional, Tuple

import pytest

from serving.client import ClientConfig, ServingClient, ServingError
from tests.serving.support.exports import MODEL, push, tiny_export, wait_for
from tests.serving.support.serve_process import ready_addresses, running_serve

RESTART_AFTER_S = 3.0  # the server is down this long before it starts again (then it loads its model)


@pytest.mark.slow
def test_a_client_loop_loses_no_request_when_the_server_is_killed_and_restarted(tmp_path):
    base = str(tmp_path / MODEL)
    push(tiny_export(), base, 1)
    args = ["--model-base-path", base, "--poll-seconds", "0"]
    results: List[Tuple[float, float, Optional[ServingError]]] = []  # (sent, answered, error) per request
    stop = threading.Event()

    def client_loop(address: str) -> None:
        with ServingClient(ClientConfig(address)) as client:  # the defaults: what `albert-tfx predict` uses
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    client.predict(["a good and lovely film"])
                    results.append((sent, time.monotonic(), None))
                except ServingError as error:
                    results.append((sent, time.monotonic(), error))

    with running_serve([*args, "--port", "0"], tmp_path / "first.log") as (first, line, _):
        address = ready_addresses(line)[0]
        loop = threading.Thread(target=client_loop, args=(address,), daemon=True)
        loop.start()
        wait_for(lambda: len(results) >= 3, 60, "answers before the kill")
        first.kill()
        first.wait()
        killed_at = time.monotonic()
    time.sleep(RESTART_AFTER_S)
    try:
        with running_serve([*args, "--port", address.rsplit(":", 1)[1]], tmp_path / "second.log"):
            back_at = time.monotonic()
            answered = len(results)
            wait_for(lambda: len(results) >= answered + 3, 60, "answers after the restart")
            stop.set()
            loop.join(60)  # before this server stops: a request after that would fail, rightly
    finally:
        stop.set()
    failures = [str(error) for _, _, error in results if error is not None]
    assert not failures, f"{len(failures)} of {len(results)} requests failed, first: {failures[0]}"
    # The restart was real, and a request waited through it (the server was down at least RESTART_AFTER_S).
    assert back_at - killed_at >= RESTART_AFTER_S
    assert max(answered - sent for sent, answered, _ in results) >= RESTART_AFTER_S
