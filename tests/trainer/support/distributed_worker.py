"""Runs one short pretraining in its own process (strategies need a fresh TensorFlow runtime) and writes
the final loss and a fingerprint of the final weights to a JSON file. Used by test_distribution.py:

    python -m tests.trainer.support.distributed_worker CONFIG_JSON TRAIN_FILE OUT_JSON
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(config_path, train_file, out_path):
    from trainer.training_config import TrainingConfig
    from trainer.train import train

    with open(config_path, encoding="utf-8") as handle:
        config = TrainingConfig.from_json(handle.read())
    result = train(config, train_file)
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "loss": [float(v) for v in result.history["loss"]],
                "replicas": result.model.distribute_strategy.num_replicas_in_sync,
                # A fingerprint of the final (exported) weights: the averages with weight_average_decay.
                "weights_abs_sum": float(sum(abs(w).sum() for w in result.model.get_weights())),
            },
            handle,
        )


if __name__ == "__main__":
    main(*sys.argv[1:4])
