"""Project rules that reviews would otherwise have to catch: import direction, pins, packaging."""

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("trainer", "serving", "pipeline", "components")


def _imports(package):
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {(path, alias.name.split(".")[0]) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((path, node.module.split(".")[0]))
    return found


def test_nothing_imports_pipeline_and_trainer_never_imports_components():
    for package in ("trainer", "serving", "components"):
        offenders = [str(p) for p, module in _imports(package) if module == "pipeline"]
        assert not offenders, offenders
    assert not [str(p) for p, m in _imports("trainer") if m == "components"]
    assert not [str(p) for p, m in _imports("serving") if m in ("components", "albert_tfx")]


def test_model_code_uses_keras_3_never_tf_keras():
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            assert "tf.keras" not in source and "tf_keras" not in source, path


def test_every_package_says_its_job():
    for package in PACKAGES + ("albert_tfx",):
        tree = ast.parse((ROOT / package / "__init__.py").read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{package}/__init__.py has no docstring"


def test_constraints_pin_every_package_exactly_once():
    names = []
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+\-]+", line), line
            names.append(line.split("==")[0].lower().replace("_", "-"))
    assert len(names) == len(set(names))
    for required in ("tfx", "tensorflow", "keras", "keras-hub", "apache-beam", "apache-airflow", "pytest", "safetensors"):
        assert required in names, required


def test_setup_declares_python_310_the_console_script_and_airflow_extra():
    setup = (ROOT / "setup.py").read_text()
    assert 'python_requires=">=3.10,<3.11"' in setup
    assert "albert-tfx=albert_tfx.cli:main" in setup
    assert '"airflow"' in setup


def test_readme_starts_with_the_two_setup_commands_and_ci_runs_the_suite():
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:25])
    assert "make run" in head and "make test" in head
    assert "make test" in (ROOT / ".ci" / "run").read_text()
