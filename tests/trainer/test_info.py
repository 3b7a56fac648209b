
from trainer.info import BERT_BASE_SHAPE, all_preset_names, format_table, parameter_rows
from trainer.presets import RELEASED_PARAMETER_COUNTS


def test_presets_are_within_half_a_percent_of_the_released_checkpoints():
    rows = {row["preset"]: row for row in parameter_rows(all_preset_names())}
    for name, released in RELEASED_PARAMETER_COUNTS.items():
        assert abs(rows[name]["parameters"] - released) / released <= 0.005, name
    assert rows["base"]["parameters"] == 11_683_584  # exact: 3.9M embeddings + one shared layer + pooler


def test_unshared_full_width_base_is_the_paper_bert_base():
    rows = {row["preset"]: row for row in parameter_rows(["base"])}
    bert = rows[BERT_BASE_SHAPE[0]]
    assert bert["sharing"] == "none" and bert["embedding"] == 768
    assert abs(bert["parameters"] - 108_000_000) / 108_000_000 <= 0.02


def test_table_lists_every_preset_with_its_reference():
    table = format_table(parameter_rows(all_preset_names()))
    for name in ("tiny", "base", "large", "xlarge", "xxlarge", "bert-base-shape"):
        assert name in table
    assert "222.6M" in table and "11,683,584" in table
