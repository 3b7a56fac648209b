"""`albert-tfx run` / `compile`: flags over the config, and one readable line per bad input."""

import json

import pytest
import yaml

from albert_tfx import cli
from tests import support


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_print_config_shows_flags_and_set_overrides_applied(capsys, tmp_path):
    config_file = tmp_path / "p.yaml"
    config_file.write_text("training:\n  train_steps: 42\nevaluation:\n  min_accuracy: 0.7\n")
    code, out, _ = _run(capsys, "run", "--config", str(config_file), "--data", str(support.dataset("sst2")),
                        "--text-column", "sentence", "--label-column", "label", "--set", "evaluation.min_accuracy=0.8",
                        "--print-config")
    assert code == 0
    printed = yaml.safe_load(out)
    assert printed["training"]["train_steps"] == 42
    assert printed["evaluation"]["min_accuracy"] == 0.8
    assert printed["data"]["text_columns"] == ["sentence"]


@pytest.mark.parametrize("argv, message", [
    (["--data", "/no/such/data"], "data.path /no/such/data does not exist"),
    (["--data", "{sst2}", "--text-column", "review"], "no column 'review'"),
    (["--set", "training.learning_rate=-3"], "training.learning_rate must be > 0"),
    (["--set", "training.learning_rate"], "expected section.field=value"),
    (["--config", "/no/such.yaml"], "config file /no/such.yaml does not exist"),
])
def test_bad_input_is_one_line_naming_the_problem(capsys, argv, message):
    argv = [str(support.dataset("sst2")) if arg == "{sst2}" else arg for arg in argv]
    code, out, err = _run(capsys, "run", *argv)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_config_file_that_is_not_utf8_is_a_one_line_config_error(capsys, tmp_path):
    config_file = tmp_path / "latin1.yaml"
    config_file.write_bytes("training:\n  train_steps: 5\n  # café\n".encode("latin-1"))
    code, out, err = _run(capsys, "run", "--config", str(config_file), "--print-config")
    assert code == 2 and out == ""
    assert f"{config_file}: not UTF-8 text: byte 0xe9 at offset 34 (line 3)" in err
    assert err.count("\n") == 1 and "traceback" not in err.lower()


def test_a_data_error_from_the_run_is_one_line_with_the_input_status(capsys, monkeypatch, tmp_path):
    # The pipeline's own data checks (label classes, skipped rows) run inside components; their error reaches
    # the user as the message alone, like a bad flag, not as a crash with a traceback file.
    from components.strict_example_validator.labels import LabelDataError
    from pipeline import local_runner

    def fail(config, report):
        raise LabelDataError("label column 'label': the train split has 1 class(es) (positive 122 in 122 examples)")

    monkeypatch.setattr(local_runner, "run", fail)
    code, out, err = _run(capsys, "run", "--data", str(support.dataset("sst2")), "--output", str(tmp_path / "out"))
    assert code == 2 and out == ""
    assert err == ("albert-tfx run: error: label column 'label': the train split has 1 class(es) "
                   "(positive 122 in 122 examples)\n")


def test_no_rows_is_named(capsys, tmp_path):
    (tmp_path / "train.csv").write_text("text,label\n")
    (tmp_path / "dev.csv").write_text("text,label\n")
    code, _, err = _run(capsys, "run", "--data", str(tmp_path))
    assert code == 2 and "no data rows" in err


def test_compile_kubeflow_writes_the_pipeline_json(capsys, tmp_path):
    target = tmp_path / "pipeline.json"
    code, out, _ = _run(capsys, "compile", "--target", "kubeflow", "--output-file", str(target),
                        "--set", "orchestration.kubeflow_image=example.com/albert:1")
    assert code == 0 and str(target) in out
    spec = json.loads(target.read_text())
    assert "Trainer" in spec["pipelineSpec"]["root"]["dag"]["tasks"]
