"""Project rules that reviews would otherwise have to catch: import direction, test layout, pins, packaging."""

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONTRACT = "text_contract"
PACKAGES = (CONTRACT, "trainer", "serving", "components", "pipeline", "albert_tfx")
# trainer reaches serving only from its TFX glue: the export at the end of run_fn, and the served warm start.
TRAINER_GLUE = ("trainer/run_fn.py", "trainer/served_warm_start.py")
TENSORFLOW = ("tensorflow", "tensorflow_text", "tensorflow_transform")
# The contract's graph code (the Transform, offsets, QA windows): the rest of the contract imports without TensorFlow.
CONTRACT_GRAPH_MODULES = ("transform.py", "alignment.py", "windows.py")


def _modules(package):
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path, module_level_only=False):
    """(imported module name, line) for every absolute import in `path` (inside functions too, unless asked)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from package import module` names that module (a name that is not a module only adds precision)
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _ours(path):
    """(our package, full module name) of every import of our packages in `path`."""
    return [(name.split(".")[0], name) for name, _ in _imports(path) if name.split(".")[0] in PACKAGES]


def _relative(path):
    return path.relative_to(ROOT).as_posix()


def _offenders(package, allowed, within=False):
    """Imports in `package` of our packages that `allowed(path, imported package, module)` refuses (`within`: its
    imports of itself too)."""
    return [f"{_relative(path)} imports {module}" for path in _modules(package)
            for imported, module in _ours(path)
            if (within or imported != package) and not allowed(path, imported, module)]


def test_the_contract_imports_nothing_of_ours_and_only_its_graph_modules_import_tensorflow():
    assert not _offenders(CONTRACT, lambda path, imported, module: False)
    at_import = [f"{_relative(path)}:{line} imports {name}" for path in _modules(CONTRACT)
                 for name, line in _imports(path, module_level_only=True)
                 if name.split(".")[0] in TENSORFLOW and path.name not in CONTRACT_GRAPH_MODULES]
    assert not at_import, at_import  # storage reaches tf.io.gfile inside the functions for remote paths only


def test_serving_imports_only_the_contract():
    assert not _offenders("serving", lambda path, imported, module: imported == CONTRACT)


def test_components_import_the_contract_and_reach_serving_only_from_the_pusher_and_trainer_only_to_import():
    # The shared plain modules at the package's top (components/*.py: artifact types, counts, QA scores, the
    # ExampleGens' common executor) are for every component; a component's own package is for itself only.
    shared = {f"components.{path.stem}" for path in (ROOT / "components").glob("*.py") if path.stem != "__init__"}

    def allowed(path, imported, module):
        if imported == CONTRACT:
            return True
        if imported == "serving":  # the pusher pushes exports; the QA evaluator asks them (serving.contract's names)
            return "serving_pusher" in path.parts or ("qa_evaluator" in path.parts and module == "serving.contract")
        if imported == "trainer":  # the weight import of a released checkpoint is the trainer's mapping
            return "checkpoint_import" in path.parts and module.startswith("trainer.checkpoints")
        if imported == "components":
            own = path.relative_to(ROOT / "components").parts
            return ".".join(module.split(".")[:2]) in shared or (len(own) > 1 and module.startswith(f"components.{own[0]}"))
        return False

    assert not _offenders("components", allowed, within=True)


def test_trainer_imports_the_contract_and_reaches_serving_only_from_its_tfx_glue():
    def allowed(path, imported, module):
        return imported == CONTRACT or (imported == "serving" and _relative(path) in TRAINER_GLUE)

    assert not _offenders("trainer", allowed)


def test_only_the_cli_imports_pipeline_and_nothing_imports_the_cli():
    for package in PACKAGES:
        for path in _modules(package):
            for imported, module in _ours(path):
                assert imported != "albert_tfx" or package == "albert_tfx", f"{_relative(path)} imports {module}"
                assert imported != "pipeline" or package in ("pipeline", "albert_tfx"), f"{_relative(path)} imports {module}"


def test_no_cycle_between_packages():
    graph = {package: set() for package in PACKAGES}
    for package in PACKAGES:
        for path in _modules(package):
            graph[package] |= {imported for imported, _ in _ours(path) if imported != package}

    def visit(package, trail):
        assert package not in trail, " -> ".join(trail + (package,))
        for successor in graph[package]:
            visit(successor, trail + (package,))

    for package in PACKAGES:
        visit(package, ())


def test_every_custom_component_has_one_shape():
    for directory in sorted(p for p in (ROOT / "components").iterdir() if (p / "__init__.py").exists()):
        files = {p.name for p in directory.glob("*.py")}
        assert {"spec.py", "executor.py", "component.py"} <= files, f"{directory.name}: {sorted(files)}"


def test_model_code_uses_keras_3_never_tf_keras():
    for package in PACKAGES:
        for path in _modules(package):
            source = path.read_text(encoding="utf-8")
            assert "tf.keras" not in source and "tf_keras" not in source, path


def test_every_package_says_its_job():
    for package in PACKAGES:
        tree = ast.parse((ROOT / package / "__init__.py").read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{package}/__init__.py has no docstring"


def _is_fixture_or_hook(node):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        decorators = [ast.unparse(d) for d in node.decorator_list]
        return node.name.startswith("pytest_") or any(d.startswith(("pytest.fixture", "fixture")) for d in decorators)
    return not isinstance(node, ast.ClassDef)


def test_test_helpers_live_in_support_modules():
    """Helpers: `support.py` or a `support/` package; conftest.py: fixtures and hooks; `__init__.py`: empty."""
    for path in sorted((ROOT / "tests").rglob("*.py")):
        relative = path.relative_to(ROOT / "tests")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if path.name == "__init__.py":
            assert not tree.body, f"tests/{relative}: helpers belong in a support module"
        elif path.name == "conftest.py":
            assert all(_is_fixture_or_hook(node) for node in tree.body), f"tests/{relative}: only fixtures and hooks"
        elif not path.name.startswith("test_"):
            assert path.stem == "support" or "support" in relative.parts[:-1], f"tests/{relative} is not a support module"
        for name, line in _imports(path):
            assert not re.fullmatch(r"tests(\.\w+)*\.(test_\w+|conftest)", name), f"tests/{relative}:{line} imports {name}"


def test_tests_name_no_machine_paths():
    machine_path = re.compile(r"""["'](/work/|/home/|/root/|/Users/|[A-Z]:\\\\)""")
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not machine_path.search(line), f"{path.relative_to(ROOT)}:{number}: {line.strip()}"


def test_constraints_pin_every_package_exactly_once():
    names = []
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+\-]+", line), line
            names.append(line.split("==")[0].lower().replace("_", "-"))
    assert len(names) == len(set(names))
    for required in ("tfx", "tensorflow", "keras", "keras-hub", "apache-beam", "apache-airflow", "pytest", "safetensors",
                     "ruff"):
        assert required in names, required


def test_setup_declares_python_310_the_packages_the_console_script_and_airflow_extra():
    setup = (ROOT / "setup.py").read_text()
    assert 'python_requires=">=3.10,<3.11"' in setup
    assert "albert-tfx=albert_tfx.cli:console_main" in setup
    assert '"airflow"' in setup
    for package in PACKAGES:
        assert f'"{package}*"' in setup, package


def test_readme_starts_with_the_two_setup_commands_and_ci_runs_the_suite():
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:25])
    assert "make run" in head and "make test" in head
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_make_test_runs_the_linter_before_the_suite():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: .*\blint\b", makefile, re.M) and re.search(r"^lint:", makefile, re.M)
    disable = "pylint" + ": disable"  # no linter reads those comments
    assert disable not in "".join(p.read_text(encoding="utf-8") for package in PACKAGES + ("tests", "benchmarks")
                                  for p in (ROOT / package).rglob("*.py"))
