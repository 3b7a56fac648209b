"""The parameter table `albert-tfx info` prints: each preset beside the released checkpoints' counts."""

from typing import List

from trainer.parameter_count import count_encoder_parameters
from trainer.presets import PRESETS, RELEASED_PARAMETER_COUNTS, get_preset

# The paper's BERT-base comparison point: no sharing, E = H = 768 (Lan et al., Table 1: 108M).
BERT_BASE_SHAPE = ("bert-base-shape", get_preset("base").replace(sharing="none", embedding_size=768), 108_000_000)


def parameter_rows(names: List[str]) -> List[dict]:
    rows = []
    for name in names:
        config = get_preset(name)
        rows.append(_row(name, config, RELEASED_PARAMETER_COUNTS.get(name)))
    if "base" in names:
        rows.append(_row(*BERT_BASE_SHAPE))
    return rows


def _row(name, config, reference):
    count = count_encoder_parameters(config)
    return {
        "preset": name,
        "layers": config.num_hidden_layers,
        "hidden": config.hidden_size,
        "embedding": config.embedding_size,
        "sharing": config.sharing,
        "parameters": count,
        "reference": reference,
        "difference_percent": None if reference is None else 100.0 * (count - reference) / reference,
    }


def format_table(rows: List[dict]) -> str:
    header = f"{'preset':<16}{'layers':>7}{'hidden':>8}{'E':>6}  {'sharing':<10}{'parameters':>14}{'released':>12}{'diff':>9}"
    lines = [header, "-" * len(header)]
    for row in rows:
        reference = "-" if row["reference"] is None else f"{row['reference'] / 1e6:.1f}M"
        difference = "-" if row["difference_percent"] is None else f"{row['difference_percent']:+.2f}%"
        lines.append(
            f"{row['preset']:<16}{row['layers']:>7}{row['hidden']:>8}{row['embedding']:>6}  {row['sharing']:<10}"
            f"{row['parameters']:>14,}{reference:>12}{difference:>9}"
        )
    lines.append("parameters: encoder with pooler, vocabulary 30,000. released: google-research/albert v2 "
                 "checkpoints; bert-base-shape: the paper's 108M BERT-base.")
    return "\n".join(lines)


def all_preset_names() -> List[str]:
    return list(PRESETS)
