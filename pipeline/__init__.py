"""The TFX pipeline: configs, DAG wiring, and its local, Kubeflow and Airflow runners."""
