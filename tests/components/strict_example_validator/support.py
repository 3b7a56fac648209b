"""Helpers for the StrictExampleValidator tests: statistics made by TFDV from small tables, a schema, and the
artifacts laid out as StatisticsGen, SchemaGen and ExampleValidator lay them out."""

import pathlib
from typing import Mapping

import pandas as pd
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.types import artifact_utils, standard_artifacts

# Every row has a text and a label, and the label is one of two values.
SCHEMA = """
feature { name: "text" type: BYTES presence { min_fraction: 1.0 min_count: 1 } shape { dim { size: 1 } } }
feature { name: "label" type: BYTES domain: "label" presence { min_fraction: 1.0 min_count: 1 }
          shape { dim { size: 1 } } }
string_domain { name: "label" value: "neg" value: "pos" }
"""
CLEAN = pd.DataFrame({"text": ["a good film", "dull", "fine acting"], "label": ["pos", "neg", "pos"]})
# "maybe" is not a label of the schema.
NEW_LABEL = pd.DataFrame({"text": ["odd", "so so", "great"], "label": ["pos", "maybe", "pos"]})


def statistics(root: pathlib.Path, splits: Mapping[str, pd.DataFrame]) -> standard_artifacts.ExampleStatistics:
    """An ExampleStatistics artifact with TFDV's statistics of each table (`Split-<name>/FeatureStats.pb`)."""
    import tensorflow_data_validation as tfdv

    artifact = standard_artifacts.ExampleStatistics()
    artifact.uri = str(root)
    for split, table in splits.items():
        split_dir = root / f"Split-{split}"
        split_dir.mkdir(parents=True)
        stats = tfdv.generate_statistics_from_dataframe(table)
        (split_dir / stats_artifact_utils.BINARY_PB_BASENAME).write_bytes(stats.SerializeToString())
    artifact.split_names = artifact_utils.encode_split_names(list(splits))
    return artifact


def schema(root: pathlib.Path, text: str = SCHEMA) -> standard_artifacts.Schema:
    """A Schema artifact holding `text` as schema.pbtxt, as SchemaGen writes it."""
    artifact = standard_artifacts.Schema()
    artifact.uri = str(root)
    root.mkdir(parents=True)
    (root / "schema.pbtxt").write_text(text, encoding="utf-8")
    return artifact


def anomalies(root: pathlib.Path) -> standard_artifacts.ExampleAnomalies:
    """An empty ExampleAnomalies output artifact (the validator sets its splits)."""
    artifact = standard_artifacts.ExampleAnomalies()
    artifact.uri = str(root)
    return artifact
