"""Training throughput through Keras' own training step, ours against keras-hub, with and without XLA.

    python -m benchmarks.training_throughput [--presets tiny,base] [--quick]

Ours: `AlbertPretrainer` compiled by the trainer (`trainer.tasks.compile_model`: MLM + SOP losses and
accuracies, the run's optimizer). Peer: keras-hub's `AlbertMaskedLM` (MLM only) on an `AlbertBackbone` of
the same config, compiled with the same optimizer and an MLM loss + accuracy. Both take
`train_on_batch` steps at batch 16, sequence 128, 20 masked positions, float32 on CPU, timed A/B in turn.
We do more work per step (the SOP head and loss), so the ratio is if anything conservative.
ratio = keras-hub step time / our step time: >= 1.0 means we train faster.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from typing import Dict, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks import report  # noqa: E402
from benchmarks.encoder_speed import NUM_MASKED_POSITIONS, SEQ_LENGTH, make_batch  # noqa: E402
from benchmarks.harness import CpuShare, Plan, time_interleaved  # noqa: E402
from trainer.encoder import AlbertEncoder  # noqa: E402
from trainer.optimization import create_optimizer  # noqa: E402
from trainer.presets import get_preset  # noqa: E402
from trainer.pretrainer import AlbertPretrainer  # noqa: E402
from trainer.tasks import compile_model  # noqa: E402
from trainer.training_config import TrainingConfig  # noqa: E402

BENCHMARK = "training_throughput"
BATCH_SIZE = 16


def _training_config(xla: bool) -> TrainingConfig:
    return TrainingConfig(task="pretrain", max_seq_length=SEQ_LENGTH, max_predictions_per_seq=NUM_MASKED_POSITIONS,
                          global_batch_size=BATCH_SIZE, train_steps=1000, checkpoint_every_steps=1000,
                          warmup_steps=10, learning_rate=1e-4, xla=xla)


def build_ours(config, xla: bool):
    model = AlbertPretrainer(AlbertEncoder.from_albert_config(config))
    compile_model(model, _training_config(xla), create_optimizer(_training_config(xla)))
    return model


def build_keras_hub(config, xla: bool):
    backbone = keras_hub.models.AlbertBackbone(
        vocabulary_size=config.vocab_size, num_layers=config.num_hidden_layers, num_heads=config.num_attention_heads,
        embedding_dim=config.embedding_size, hidden_dim=config.hidden_size, intermediate_dim=config.intermediate_size,
        num_groups=config.num_hidden_groups, num_inner_repetitions=config.inner_group_num,
        dropout=config.hidden_dropout_prob, max_sequence_length=config.max_position_embeddings,
    )
    model = keras_hub.models.AlbertMaskedLM(backbone=backbone, preprocessor=None)
    model.compile(
        optimizer=create_optimizer(_training_config(xla)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=xla,
    )
    return model


def step_functions(config, xla: bool, rng):
    inputs, positions, labels = make_batch(rng, BATCH_SIZE, config.vocab_size)
    weights = tf.ones_like(labels, tf.float32)
    sentence_order = tf.constant(rng.integers(0, 2, BATCH_SIZE).astype(np.int32))
    ours, peer = build_ours(config, xla), build_keras_hub(config, xla)
    our_x = {**inputs, "masked_lm_positions": positions}
    our_y = {"mlm_logits": labels, "sop_logits": sentence_order}
    our_w = {"mlm_logits": weights, "sop_logits": tf.ones_like(sentence_order, tf.float32)}
    peer_x = {**inputs, "mask_positions": positions}
    return {
        "ours": lambda: ours.train_on_batch(our_x, our_y, sample_weight=our_w),
        "keras_hub": lambda: peer.train_on_batch(peer_x, labels, sample_weight=weights),
    }


def bench(preset: str, xla: bool, plan: Plan, rng) -> Dict[str, float]:
    config = get_preset(preset)
    functions = step_functions(config, xla, rng)
    times = time_interleaved(functions, (), plan)
    tag = f"{preset}_{'xla' if xla else 'no_xla'}"
    ours, peer = float(np.median(times["ours"])), float(np.median(times["keras_hub"]))
    return {
        f"{tag}_train_steps_per_s_ours": 1.0 / ours,
        f"{tag}_train_steps_per_s_keras_hub": 1.0 / peer,
        f"{tag}_train_step_ratio_vs_keras_hub": peer / ours,
        f"repeats_{tag}": plan.repeats,
    }


def main(argv: Sequence[str] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.training_throughput", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="tiny,base")
    parser.add_argument("--quick", action="store_true", help="2 timed steps each, writes nothing")
    args = parser.parse_args(argv)
    presets = [p for p in args.presets.split(",") if p]
    rng = np.random.default_rng(0)
    results: Dict[str, float] = {}
    share = CpuShare()
    share.start()
    started = time.perf_counter()
    for preset in presets:
        for xla in (False, True):
            repeats = 2 if args.quick else (20 if preset == "tiny" else 6)
            plan = Plan(warmup=1 if args.quick else 2, repeats=repeats)
            figures = bench(preset, xla, plan, rng)
            results.update(figures)
            tag = f"{preset}_{'xla' if xla else 'no_xla'}"
            print(f"  {tag:<14} ours {figures[f'{tag}_train_steps_per_s_ours']:7.3f} steps/s  keras-hub "
                  f"{figures[f'{tag}_train_steps_per_s_keras_hub']:7.3f} steps/s  ratio "
                  f"{figures[f'{tag}_train_step_ratio_vs_keras_hub']:.2f}", flush=True)
    command = "python -m benchmarks.training_throughput --presets " + ",".join(presets)
    date = datetime.date.today().isoformat()
    results.update({
        "benchmark": BENCHMARK, "command": command, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "batch_size": BATCH_SIZE, "seq_length": SEQ_LENGTH, "num_masked_positions": NUM_MASKED_POSITIONS,
        "ours_objective": "MLM + SOP (AlbertPretrainer, trainer.tasks.compile_model)",
        "keras_hub_objective": "MLM (AlbertMaskedLM)", "optimizer": "LAMB from trainer.optimization, on both sides",
        "dtype": "float32", "device": "CPU", "machine_cpu_count": os.cpu_count(),
        "machine_cpu_share_used_by_others": share.stop(), "run_seconds": round(time.perf_counter() - started, 1),
        "tensorflow_version": tf.__version__, "keras_version": keras.__version__,
        "keras_hub_version": keras_hub.__version__, "python_version": platform.python_version(),
    })
    print(f"ratio = keras-hub step time / our step time (>= 1.00: we train faster); {results['run_seconds']} s")
    if args.quick:
        return 0
    report.write_results(BENCHMARK, results)
    rows = []
    for preset in presets:
        for xla in (False, True):
            tag = f"{preset}_{'xla' if xla else 'no_xla'}"
            rows.append(report.Row(
                BENCHMARK, f"{preset}: train steps/s, batch {BATCH_SIZE}, seq {SEQ_LENGTH}, {'XLA' if xla else 'no XLA'} (CPU)",
                f"{results[f'{tag}_train_steps_per_s_ours']:.3f}",
                f"{results[f'{tag}_train_steps_per_s_keras_hub']:.3f} (keras-hub AlbertMaskedLM)",
                f"{results[f'{tag}_train_step_ratio_vs_keras_hub']:.2f}", command, date))
    report.update_benchmarks_md(BENCHMARK, rows)
    print(f"wrote benchmarks/results/{BENCHMARK}.json and BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
