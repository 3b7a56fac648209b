"""The canary (serving/canary.py): how answers are compared, a candidate that does not load, a server that never
gets ready. A good candidate and one that only the server refuses: tests/components/serving_pusher/test_canary.py."""

import os
import shutil
import sys

import numpy as np
import pytest

from serving import canary, contract
from tests.serving.support.exports import tiny_export


def _reference():
    return {contract.PROBABILITIES_OUTPUT: np.array([[0.25, 0.75], [0.6, 0.4]], dtype=np.float32),
            contract.LABEL_ID_OUTPUT: np.array([1, 0]), contract.LABEL_OUTPUT: np.array([b"pos", b"neg"], dtype=object)}


def test_answers_within_the_tolerance_match_and_the_largest_difference_is_reported():
    served = _reference()
    served[contract.PROBABILITIES_OUTPUT] = served[contract.PROBABILITIES_OUTPUT] + np.float32(5e-5)
    difference = canary.compare_outputs("Predict serving_default", _reference(), served, atol=1e-4)
    assert 4e-5 < difference < 6e-5


@pytest.mark.parametrize("change, message", [
    (lambda o: o[contract.PROBABILITIES_OUTPUT].__setitem__((1, 0), 0.59), "'probabilities' differs from the "
                                                                           "in-process model by up to 0.01"),
    (lambda o: o[contract.LABEL_OUTPUT].__setitem__(1, b"pos"), "'label'[1] is b'pos' from the server, b'neg'"),
    (lambda o: o.pop(contract.LABEL_ID_OUTPUT), "the server answered outputs ['label', 'probabilities']"),
    (lambda o: o.__setitem__(contract.LABEL_ID_OUTPUT, np.array([1])), "'label_id' has shape [1] from the server"),
])
def test_any_other_answer_fails_naming_the_output(change, message):
    served = _reference()
    change(served)
    with pytest.raises(canary.CanaryFailure) as failure:
        canary.compare_outputs("Predict serving_default (warmup request 1 of 4)", _reference(), served, atol=1e-4)
    assert message in failure.value.reason
    assert failure.value.reason.startswith("Predict serving_default (warmup request 1 of 4): ")


def test_a_candidate_that_does_not_load_in_process_fails_before_any_answer(tmp_path):
    # A missing asset (the label vocabulary the lookup table reads) already fails tf.saved_model.load, so the
    # canary stops at its in-process reference; the server would fail the same way.
    broken = shutil.copytree(tiny_export(), tmp_path / "broken")
    [asset] = os.listdir(broken / "assets")
    os.remove(broken / "assets" / asset)
    with pytest.raises(canary.CanaryFailure, match=f"does not load in-process: .*{asset}"):
        canary.run_canary(str(broken), timeout_s=120)


def test_a_server_that_never_gets_ready_hits_the_timeout_and_is_stopped(tmp_path):
    pid_file = tmp_path / "server.pid"
    # Takes the serve flags and never answers (a server stuck loading, or a port nobody listens on).
    never_ready = [sys.executable, "-c", f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
                                         "time.sleep(3600)"]
    with pytest.raises(canary.CanaryFailure) as failure:
        canary.run_canary(tiny_export(), timeout_s=3, server_command=never_ready)
    assert failure.value.reason == ("the canary timeout of 3 s passed while waiting for the server to load the "
                                    "candidate")
    with pytest.raises(ProcessLookupError):  # stopped and reaped, not left behind
        os.kill(int(pid_file.read_text()), 0)


def test_a_server_that_exits_says_so_with_its_last_line(tmp_path):
    exits = [sys.executable, "-c", "import sys; print('cannot bind: address in use', file=sys.stderr); sys.exit(2)"]
    with pytest.raises(canary.CanaryFailure, match="the server exited with code 2 before it was ready: cannot bind: "
                                                   "address in use$"):
        canary.run_canary(tiny_export(), timeout_s=120, server_command=exits)


def test_the_timeout_must_be_positive():
    for bad in (0, -1, True, "60"):
        with pytest.raises(ValueError, match="canary timeout must be a positive number of seconds"):
            canary.run_canary(tiny_export(), timeout_s=bad)
