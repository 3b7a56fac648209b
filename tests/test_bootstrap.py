"""`tools/find_python310.sh`: how `make` finds Python 3.10 on a fresh machine, or says how to get one."""

import os
import pathlib
import stat
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "find_python310.sh"


def _executable(path: pathlib.Path, body: str) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def _run(tmp_path, bin_dir, extra_env=None):
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    env.update(extra_env or {})
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)


def _fake_python(path, minor):
    # Answers the version probe like a real interpreter of 3.<minor> would.
    return _executable(path, f'[ "$1" = -c ] && case "$2" in *version_info*) exit {0 if minor == 10 else 1};; esac; echo fake')


def test_reaches_past_a_refusing_pyenv_shim_to_pyenv_s_3_10(tmp_path):
    bin_dir = tmp_path / "bin"
    _executable(bin_dir / "python3.10", 'echo "pyenv: python3.10: command not found" >&2; exit 127')
    root = tmp_path / "pyenv"
    _fake_python(root / "versions" / "3.10.13" / "bin" / "python3.10", 10)
    _executable(bin_dir / "pyenv", f'case "$1" in root) echo {root};; versions) printf "3.9.18\\n3.10.13\\n3.11.7\\n";; esac')
    result = _run(tmp_path, bin_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(root / "versions" / "3.10.13" / "bin" / "python3.10")


def test_an_explicit_python310_that_is_not_3_10_is_refused(tmp_path):
    wrong = _fake_python(tmp_path / "bin" / "python3.11", 11)
    result = _run(tmp_path, tmp_path / "bin", {"PYTHON310": str(wrong)})
    assert result.returncode == 1
    assert "is not a working Python 3.10" in result.stderr


def test_without_any_python_3_10_it_says_how_to_get_one(tmp_path):
    (tmp_path / "bin").mkdir()
    result = _run(tmp_path, tmp_path / "bin")
    if os.path.exists("/usr/bin/python3.10") or os.path.exists("/usr/local/bin/python3.10"):
        # A system 3.10 is a valid answer on such machines.
        assert result.returncode == 0
        return
    assert result.returncode == 1
    assert "no Python 3.10 found" in result.stderr and "pyenv install 3.10.13" in result.stderr
