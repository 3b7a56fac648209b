"""The `albert-tfx` command line, called in-process and once as an installed console script."""

import json
import os
import subprocess
import sys


from albert_tfx.cli import main
from tests.support import PARITY
from tests.trainer.checkpoints.support import assert_matches, expected, pretrainer_outputs
from trainer.checkpoints import load_converted


def test_info_prints_all_presets_as_json(capsys):
    assert main(["info", "--preset", "all", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["preset"] for r in rows][:5] == ["tiny", "base", "large", "xlarge", "xxlarge"]


def test_info_with_an_unknown_preset_fails_with_a_message(capsys):
    assert main(["info", "--preset", "gigantic"]) == 2
    assert "unknown preset 'gigantic'" in capsys.readouterr().err


def test_convert_writes_a_loadable_model_and_protects_existing_output(tmp_path, capsys):
    out = tmp_path / "converted"
    assert main(["convert", "--from", "hf", str(PARITY / "hf"), "--out", str(out)]) == 0
    assert sorted(os.listdir(out)) == ["albert_config.json", "conversion.json", "model.weights.h5"]
    summary = json.loads((out / "conversion.json").read_text())
    assert summary["heads"] == ["masked_lm", "sentence_order"] and summary["source_format"] == "hf"
    model = load_converted(str(out))
    assert_matches(pretrainer_outputs(model, expected()), expected(), ("pooled_output", "mlm_logits", "sop_logits"))

    before = (out / "model.weights.h5").read_bytes()
    assert main(["convert", "--from", "original", str(PARITY / "original"), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "model.weights.h5").read_bytes() == before


def test_failed_convert_leaves_no_output_behind(tmp_path, capsys):
    out = tmp_path / "converted"
    assert main(["convert", "--from", "original", str(tmp_path), "--out", str(out)]) == 2
    assert "no TF checkpoint found" in capsys.readouterr().err
    assert not out.exists() and os.listdir(tmp_path) == []


def test_console_script_is_installed_and_runs():
    script = os.path.join(os.path.dirname(sys.executable), "albert-tfx")
    result = subprocess.run([script, "info", "--preset", "base"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "11,683,584" in result.stdout and "bert-base-shape" in result.stdout
