"""Moved: the Transform module is `text_contract.transform` (its `preprocessing_fn` is the same function).

This re-export keeps pipelines compiled before the move running: their Transform step names
`trainer.preprocessing.preprocessing_fn` (Kubeflow JSON, Airflow DAG files). It goes in albert-tfx 0.3.0;
recompile pipelines before then (README, "How the code is laid out").
"""

from text_contract.transform import preprocessing_fn  # noqa: F401

__all__ = ["preprocessing_fn"]
