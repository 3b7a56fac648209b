"""Where exports are served: the one model-name rule and the one listing of version directories."""

import pytest

from serving import contract, layout


@pytest.mark.parametrize("name", ["albert", "sst2-tiny", "Model_2", "7"])
def test_ascii_names_are_served(name):
    assert layout.check_model_name(name) == name


@pytest.mark.parametrize("name", ["模型", "modèle", "", "-albert", "_albert", "a/b", "../albert", "my model", ".hidden",
                                  "a" * 256, None, 3])
def test_other_names_are_refused_naming_the_field_and_the_rule(name):
    with pytest.raises(layout.InvalidModelName, match=r"serving\.model_name must be ASCII letters, digits"):
        layout.check_model_name(name, "serving.model_name")


def test_versions_are_numeric_directories_named_as_found_and_served_once_complete(tmp_path):
    for name in ("007", "3", "12", "\u0669", "notes", f".13{'.staging-x'}"):
        (tmp_path / name).mkdir()
        (tmp_path / name / contract.SAVED_MODEL_FILE).write_bytes(b"")
    (tmp_path / "20").mkdir()  # still being copied: no saved_model.pb yet
    (tmp_path / "21").write_text("a file, not a version")
    assert [(v.version, v.path) for v in layout.version_dirs(str(tmp_path))] == [
        (3, str(tmp_path / "3")), (7, str(tmp_path / "007")), (12, str(tmp_path / "12"))]
    assert [v.version for v in layout.version_dirs(str(tmp_path), complete_only=False)] == [3, 7, 12, 20]
    assert layout.latest_version_dir(str(tmp_path)) == str(tmp_path / "12")
    assert layout.version_dirs(str(tmp_path / "missing")) == [] and layout.latest_version_dir("") is None
    assert layout.version_number("12/") == 12 and layout.version_number("\u0669") is None  # gs:// lists "12/"
