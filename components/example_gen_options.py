"""How our ExampleGens' options (TextExampleGen's TextOptions, QaExampleGen's QaOptions) travel in TFX's
FileBasedExampleGen `custom_config`, and are read back in whatever form TFX hands an executor.

An options class is a frozen dataclass that checks every value when it is built (a ValueError names the
field) and subclasses `ExampleGenOptions`, giving `to_dict` (plain JSON types) and `COMPONENT_NAME`. On the
wire the options are the JSON of `to_dict()` in a `google.protobuf.StringValue`, packed into the `Any` of
`example_gen_pb2.CustomConfig` (the type of the `custom_config` parameter). A plain dict would also survive
TFX's type check (it parses dicts with `ignore_unknown_fields=True`), but only by accident of that parser;
the proto is the documented form. `from_exec_properties` reads both, so an executor started by hand with a
dict works too. No TFX component machinery or TensorFlow here: Beam workers import this module.
"""

import dataclasses
import json
from typing import Any, Dict, Mapping

from google.protobuf import json_format, struct_pb2, wrappers_pb2
from tfx.proto import example_gen_pb2

CUSTOM_CONFIG_KEY = "custom_config"  # FileBasedExampleGen's execution property


class ExampleGenOptions:
    """The custom_config round trip of an ExampleGen's options dataclass (see the module docstring)."""

    COMPONENT_NAME = ""  # the component these options are for, in error messages

    def to_dict(self) -> Dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]):
        """Options from a dict such as `to_dict()` gives; missing keys take their defaults.

        Raises ValueError naming unknown keys or a bad value.
        """
        if not isinstance(values, Mapping):
            raise ValueError(f"{cls.__name__} must be built from a mapping, got {values!r}")
        known = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s) {unknown}; the fields are {known}")
        return cls(**values)

    @classmethod
    def coerce(cls, options):
        """What a component's `options` argument may be: None (the defaults), the options, or a dict of them."""
        if options is None:
            return cls()
        return options if isinstance(options, cls) else cls.from_dict(options)

    def to_custom_config(self) -> example_gen_pb2.CustomConfig:
        """The options as FileBasedExampleGen's `custom_config`."""
        config = example_gen_pb2.CustomConfig()
        config.custom_config.Pack(wrappers_pb2.StringValue(value=json.dumps(self.to_dict(), sort_keys=True)))
        return config

    @classmethod
    def _from_struct(cls, values: Dict[str, Any]):
        """Options from a google.protobuf.Struct's values, whose numbers are all floats (a subclass with
        integer fields turns them back)."""
        return cls.from_dict(values)

    @classmethod
    def from_custom_config(cls, value: Any):
        """Options from a `custom_config` value in any form TFX hands an executor: None (the defaults), the
        options themselves, an `example_gen_pb2.CustomConfig`, its JSON (a string or a dict), or a plain dict
        / JSON object of the options."""
        if value is None or value == "":
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as e:
                raise ValueError(f"{CUSTOM_CONFIG_KEY} is not JSON: {value[:200]!r}") from e
        if isinstance(value, Mapping) and len(value) == 1 and set(value) <= {CUSTOM_CONFIG_KEY, "customConfig"}:
            # the JSON of a CustomConfig (proto field name or its camelCase JSON name)
            value = json_format.ParseDict(value, example_gen_pb2.CustomConfig())
        if isinstance(value, example_gen_pb2.CustomConfig):
            packed = value.custom_config
            if not packed.type_url:
                return cls()
            if packed.Is(wrappers_pb2.StringValue.DESCRIPTOR):
                text = wrappers_pb2.StringValue()
                packed.Unpack(text)
                return cls.from_dict(json.loads(text.value) if text.value else {})
            if packed.Is(struct_pb2.Struct.DESCRIPTOR):
                struct = struct_pb2.Struct()
                packed.Unpack(struct)
                return cls._from_struct(json_format.MessageToDict(struct))
            raise ValueError(f"{CUSTOM_CONFIG_KEY} holds a {packed.type_url}; {cls.COMPONENT_NAME} expects its "
                             f"options as a google.protobuf.StringValue of JSON ({cls.__name__}.to_custom_config())")
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        raise ValueError(f"{CUSTOM_CONFIG_KEY} must be {cls.COMPONENT_NAME} options, got {value!r}")

    @classmethod
    def from_exec_properties(cls, exec_properties: Mapping[str, Any]):
        """The options in an ExampleGen's execution properties (the defaults when there are none)."""
        return cls.from_custom_config(exec_properties.get(CUSTOM_CONFIG_KEY))
