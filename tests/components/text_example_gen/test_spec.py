"""TextOptions: defaults, validation errors that name the field, and the custom_config round trip."""

import json

import pytest
from google.protobuf import json_format

from components.text_example_gen import spec as options_lib
from components.text_example_gen.spec import TextOptions


def test_defaults_and_dict_round_trip():
    options = TextOptions()
    assert (options.delimiter, options.header, options.quoting, options.strip_bom) == (",", True, "csv", True)
    assert options.column_names is None and options.column_types is None
    tsv = TextOptions(delimiter="\t", header=False, column_names=["text", "label"], quoting="none",
                      strip_bom=False, max_field_chars=10, column_types={"label": "int"})
    assert tsv.column_names == ("text", "label")
    assert TextOptions.from_dict(tsv.to_dict()) == tsv
    assert json.loads(json.dumps(tsv.to_dict())) == tsv.to_dict()
    assert tsv.column_type("label") == "int" and tsv.column_type("text") == "string"


@pytest.mark.parametrize("form", ["proto", "json", "dict", "plain_dict", "plain_json", "none"])
def test_custom_config_forms(form):
    options = TextOptions(delimiter="\t", quoting="none", max_field_chars=123, column_types={"a": "float"})
    proto = options.to_custom_config()
    value = {
        "proto": proto,
        "json": json_format.MessageToJson(proto),
        "dict": json_format.MessageToDict(proto, preserving_proto_field_name=True),
        "plain_dict": options.to_dict(),
        "plain_json": json.dumps(options.to_dict()),
        "none": None,
    }[form]
    expected = TextOptions() if form == "none" else options
    assert options_lib.from_exec_properties({"custom_config": value}) == expected
    assert options_lib.from_exec_properties({}) == TextOptions()


@pytest.mark.parametrize("values, field", [
    ({"delimiter": ",,"}, "delimiter"),
    ({"delimiter": ""}, "delimiter"),
    ({"delimiter": "\n"}, "delimiter"),
    ({"delimiter": 9}, "delimiter"),
    ({"delimiter": '"'}, "delimiter"),
    ({"header": "yes"}, "header"),
    ({"header": False}, "column_names"),
    ({"column_names": "text"}, "column_names"),
    ({"column_names": []}, "column_names"),
    ({"column_names": ["a", ""]}, "column_names"),
    ({"column_names": ["a", "a"]}, "column_names"),
    ({"quoting": "minimal"}, "quoting"),
    ({"strip_bom": 1}, "strip_bom"),
    ({"max_field_chars": 0}, "max_field_chars"),
    ({"max_field_chars": 1.5}, "max_field_chars"),
    ({"max_field_chars": True}, "max_field_chars"),
    ({"column_types": {"a": "bool"}}, "column_types"),
    ({"column_types": ["a"]}, "column_types"),
    ({"column_names": ["a"], "column_types": {"b": "int"}}, "column_types"),
    ({"delimter": ","}, "delimter"),
])
def test_bad_values_name_the_field(values, field):
    with pytest.raises(ValueError, match=field):
        TextOptions.from_dict(values)


def test_component_rejects_bad_options_when_built(tmp_path):
    from components.text_example_gen import TextExampleGen

    with pytest.raises(ValueError, match="quoting"):
        TextExampleGen(input_base=str(tmp_path), options={"quoting": "sometimes"})
    component = TextExampleGen(input_base=str(tmp_path), options={"delimiter": "\t", "quoting": "none"})
    assert component.id == "TextExampleGen"
    stored = options_lib.from_exec_properties(component.exec_properties)
    assert stored == TextOptions(delimiter="\t", quoting="none")
