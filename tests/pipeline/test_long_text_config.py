"""The data section's long-document settings (issue 15 item 6): truncation stays the default and changes nothing,
windows reach the Transform's options, and every bad value or combination is named with what was received."""

import pytest

from pipeline.configs import ConfigError, PipelineConfig
from text_contract import transform_options as options

WINDOWS = {"data.long_text": "windows", "training.max_seq_length": "128"}


def test_truncation_is_the_default_and_the_transform_config_is_what_it_was():
    config = PipelineConfig()
    assert (config.data.long_text, config.data.long_text_stride, config.data.max_windows_per_document,
            config.data.window_pooling) == ("truncate", None, options.DEFAULT_MAX_WINDOWS_PER_DOCUMENT, "mean")
    custom_config = config.transform_options().to_custom_config()
    assert not set(custom_config) & {options.LONG_TEXT_KEY, options.LONG_TEXT_STRIDE_KEY,
                                     options.MAX_WINDOWS_PER_DOCUMENT_KEY, options.WINDOW_POOLING_KEY}


def test_windows_reach_the_transform_options_from_yaml_and_flags(tmp_path):
    config = PipelineConfig().with_overrides({**WINDOWS, "data.long_text_stride": "32",
                                              "data.max_windows_per_document": "4", "data.window_pooling": "max"})
    transform = config.transform_options()
    assert (transform.long_text, transform.long_text_stride, transform.max_windows_per_document,
            transform.window_pooling, transform.window_stride) == ("windows", 32, 4, "max", 32)
    custom_config = transform.to_custom_config()
    assert custom_config[options.LONG_TEXT_KEY] == "windows" and custom_config[options.WINDOW_POOLING_KEY] == "max"
    path = tmp_path / "pipeline.yaml"
    path.write_text(config.to_yaml())
    assert PipelineConfig.from_yaml(str(path)) == config
    default_stride = PipelineConfig().with_overrides({**WINDOWS, "data.long_text_stride": "null"})
    assert default_stride.data.long_text_stride is None and default_stride.transform_options().window_stride == 63


@pytest.mark.parametrize("overrides, message", [
    ({"data.long_text": "chunks"}, r"data.long_text must be one of \['truncate', 'windows'\], got 'chunks'"),
    ({**WINDOWS, "data.window_pooling": "sum"}, r"data.window_pooling must be one of \['mean', 'max'\], got 'sum'"),
    ({**WINDOWS, "data.long_text_stride": "0"},
     r"data.long_text_stride must be >= 1 \(or null: half a window\), got 0"),
    ({**WINDOWS, "data.max_windows_per_document": "0"}, "data.max_windows_per_document must be >= 1, got 0"),
    ({**WINDOWS, "data.long_text_stride": "200"},
     r"'long_text_stride'\] must be at most a window's 126 pieces .*got 200"),
    ({**WINDOWS, "data.text_columns": "a,b", "data.label_column": "c"},
     r"'long_text'\]='windows' windows one text feature .*got \['a', 'b'\]"),
    ({"data.long_text": "windows"}, r"'max_seq_length'\] is null, but long_text 'windows' does not derive it"),
    ({"data.long_text_stride": "64"}, r"'long_text_stride'\]=64 applies only with long_text='windows' "
                                      r"\(got long_text='truncate'\)"),
    ({"data.window_pooling": "max"}, r"'window_pooling'\]='max' applies only with long_text='windows'"),
])
def test_bad_long_text_settings_name_the_field_and_the_value(overrides, message):
    with pytest.raises(ConfigError, match=message):
        PipelineConfig().with_overrides(overrides)


def test_windows_are_for_task_classify():
    with pytest.raises(ConfigError, match=r"'long_text'\]='windows' is for task 'classify'.*got task 'qa'"):
        PipelineConfig().with_overrides({**WINDOWS, "training.task": "qa", "data.format": "json"})
