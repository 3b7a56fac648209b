"""Encoder speed: our `AlbertEncoder` against keras-hub's `AlbertBackbone`, same config, same harness.

For each preset (`tiny`, `base`), at sequence length 128, float32, on CPU:

1. inference latency at batch 1 (median ms per call),
2. inference throughput at batch 32 (sequences/s, from the median time per call),
3. one masked-LM training step (median ms per step): batch 32 for `tiny`, 8 for `base`, 20 masked
   positions per sequence, Adam, sparse categorical cross-entropy from logits on the masked positions.
   MLM only on both sides (no sentence-order loss): ours is the encoder then `AlbertPretrainer`'s
   `masked_lm_head`; keras-hub's is the backbone then a `MaskedLMHead` tied to its token embedding, as
   keras-hub's `AlbertMaskedLM` builds it.

Both models are called the same way: a `tf.function` (XLA only with `--xla`, then for both) around
`model(inputs, training=False)` for inference, and around a `GradientTape` step for training. Each case is
warmed up (tracing included) on both sides before timing, then timed calls alternate ours, keras-hub's,
ours, ... so that drift in machine load hurts both alike. Inputs are random with a fixed seed and padded
(each sequence has 75-100% real tokens).

    python -m benchmarks.encoder_speed                        # tiny and base, writes results (~5 min, 2 cores)
    python -m benchmarks.encoder_speed --presets tiny --quick # smoke run (writes nothing)

The ratio reported is `keras_hub_time / our_time`: >= 1.0 means we are faster.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import datetime  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from typing import Callable, Dict, List, Sequence  # noqa: E402

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")  # each case traces its own tf.function; the retracing warning is noise

import keras  # noqa: E402
import keras_hub  # noqa: E402

from benchmarks import report  # noqa: E402
from benchmarks.harness import CpuShare, Plan, time_interleaved  # noqa: E402
from trainer.encoder import AlbertEncoder  # noqa: E402
from trainer.presets import get_preset  # noqa: E402
from trainer.pretrainer import AlbertPretrainer  # noqa: E402

BENCHMARK = "encoder_speed"
SEQ_LENGTH = 128
NUM_MASKED_POSITIONS = 20
SEED = 1234
LEARNING_RATE = 1e-4
INFERENCE_THROUGHPUT_BATCH = 32
TRAIN_BATCH = {"tiny": 32}  # every other preset: DEFAULT_TRAIN_BATCH
DEFAULT_TRAIN_BATCH = 8
SIDES = ("ours", "keras_hub")


# Chosen so that `--presets tiny,base` takes about 4-5 minutes on an idle 2-core machine (up to ~7 when
# another process competes): base's batch-32 inference and training step take 3-5 s per call.
PLANS: Dict[str, Dict[str, Plan]] = {
    "tiny": {"inference_batch1": Plan(5, 100), "inference_batch32": Plan(3, 30), "mlm_train_step": Plan(3, 40)},
    "base": {"inference_batch1": Plan(3, 40), "inference_batch32": Plan(1, 10), "mlm_train_step": Plan(2, 10)},
}
QUICK_PLAN = Plan(1, 2)
CASES = ("inference_batch1", "inference_batch32", "mlm_train_step")


def gelu_tanh(x):
    """keras-hub's ALBERT MLM head activation (GELU, tanh approximation), as `AlbertMaskedLM` sets it."""
    return keras.activations.gelu(x, approximate=True)


# --- models ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Side:
    """One implementation under test: its encoder, MLM forward pass and trainable variables."""

    name: str
    encoder: keras.Model
    mlm_logits: Callable  # (encoder inputs, masked positions, training) -> [batch, P, vocab] logits
    variables: List


def build_ours(config) -> Side:
    encoder = AlbertEncoder.from_albert_config(config)
    pretrainer = AlbertPretrainer(encoder)
    head = pretrainer.masked_lm_head

    def mlm_logits(inputs, positions, training):
        sequence_output = encoder(inputs, training=training)["sequence_output"]
        return head(sequence_output, mask_positions=positions)

    return Side("ours", encoder, mlm_logits, _unique(encoder.trainable_variables + head.trainable_variables))


def build_keras_hub(config) -> Side:
    backbone = keras_hub.models.AlbertBackbone(
        vocabulary_size=config.vocab_size,
        num_layers=config.num_hidden_layers,
        num_heads=config.num_attention_heads,
        embedding_dim=config.embedding_size,
        hidden_dim=config.hidden_size,
        intermediate_dim=config.intermediate_size,
        num_groups=config.num_hidden_groups,
        num_inner_repetitions=config.inner_group_num,
        dropout=config.hidden_dropout_prob,
        max_sequence_length=config.max_position_embeddings,
        num_segments=config.type_vocab_size,
    )
    head = keras_hub.layers.MaskedLMHead(
        token_embedding=backbone.token_embedding,
        intermediate_activation=gelu_tanh,
        layer_norm_epsilon=config.layer_norm_eps,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=config.initializer_range),
        name="mlm_head",
    )
    # Build the head's own weights eagerly, outside any tf.function.
    head.build((None, None, config.hidden_size))

    def mlm_logits(inputs, positions, training):
        sequence_output = backbone(inputs, training=training)["sequence_output"]
        return head(sequence_output, mask_positions=positions)

    return Side("keras_hub", backbone, mlm_logits, _unique(backbone.trainable_variables + head.trainable_variables))


def _unique(variables):
    """Variables without duplicates (the tied word embedding appears under the encoder and the head)."""
    seen, unique = set(), []
    for variable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            unique.append(variable)
    return unique


def _count(variables) -> int:
    return int(sum(np.prod(v.shape) for v in variables))


# --- inputs ----------------------------------------------------------------------------------------------


def make_batch(rng: np.random.Generator, batch: int, vocab_size: int):
    """Random padded encoder inputs (75-100% real tokens, two segments) and 20 masked positions/labels."""
    lengths = rng.integers(SEQ_LENGTH * 3 // 4, SEQ_LENGTH + 1, size=batch)
    lengths[0] = SEQ_LENGTH  # at least one full row, so the batch is really SEQ_LENGTH long
    index = np.arange(SEQ_LENGTH)[None, :]
    padding_mask = (index < lengths[:, None]).astype(np.int32)
    token_ids = rng.integers(1, vocab_size, size=(batch, SEQ_LENGTH)).astype(np.int32) * padding_mask
    segment_ids = ((index >= (lengths[:, None] // 2)) & (padding_mask == 1)).astype(np.int32)
    positions = np.stack(
        [np.sort(rng.choice(np.arange(1, length), NUM_MASKED_POSITIONS, replace=False)) for length in lengths]
    ).astype(np.int32)
    labels = rng.integers(1, vocab_size, size=(batch, NUM_MASKED_POSITIONS)).astype(np.int32)
    inputs = {
        "token_ids": tf.constant(token_ids),
        "segment_ids": tf.constant(segment_ids),
        "padding_mask": tf.constant(padding_mask),
    }
    return inputs, tf.constant(positions), tf.constant(labels)


# --- the functions timed -----------------------------------------------------------------------------------


def inference_fn(side: Side, jit_compile: bool):
    model = side.encoder

    @tf.function(jit_compile=jit_compile)
    def infer(inputs):
        return model(inputs, training=False)

    def run(inputs, positions, labels):
        outputs = infer(inputs)
        return outputs["pooled_output"].numpy()  # fetching the result waits for the whole graph

    return run


def train_step_fn(side: Side, jit_compile: bool):
    optimizer = keras.optimizers.Adam(learning_rate=LEARNING_RATE)
    optimizer.build(side.variables)  # slots created eagerly, not inside the traced step
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    variables = side.variables

    @tf.function(jit_compile=jit_compile)
    def step(inputs, positions, labels):
        with tf.GradientTape() as tape:
            logits = side.mlm_logits(inputs, positions, training=True)
            loss = loss_fn(labels, logits)
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables))
        return loss

    def run(inputs, positions, labels):
        return float(step(inputs, positions, labels))

    return run


# --- harness ---------------------------------------------------------------------------------------------


def check_same_shapes(sides: Dict[str, Side], config, rng) -> Dict[str, int]:
    """Raises unless both encoders (and MLM heads) give same-shaped outputs and have as many parameters."""
    inputs, positions, _ = make_batch(rng, 2, config.vocab_size)
    shapes = {}
    for name, side in sides.items():
        outputs = side.encoder(inputs, training=False)
        logits = side.mlm_logits(inputs, positions, training=False)
        shapes[name] = {
            "sequence_output": tuple(outputs["sequence_output"].shape),
            "pooled_output": tuple(outputs["pooled_output"].shape),
            "mlm_logits": tuple(logits.shape),
        }
    expected = {
        "sequence_output": (2, SEQ_LENGTH, config.hidden_size),
        "pooled_output": (2, config.hidden_size),
        "mlm_logits": (2, NUM_MASKED_POSITIONS, config.vocab_size),
    }
    for name, side_shapes in shapes.items():
        if side_shapes != expected:
            raise AssertionError(f"{name} output shapes {side_shapes} != expected {expected}")
    counts = {name: _count(side.variables) for name, side in sides.items()}
    if len(set(counts.values())) != 1:
        raise AssertionError(f"the two models differ in trainable parameter count: {counts}")
    return counts


def bench_preset(preset: str, args, rng) -> Dict[str, float]:
    config = get_preset(preset)
    keras.utils.set_random_seed(SEED)
    sides = {"ours": build_ours(config), "keras_hub": build_keras_hub(config)}
    counts = check_same_shapes(sides, config, rng)
    results: Dict[str, float] = {f"{preset}_trainable_parameters_{name}": counts[name] for name in SIDES}

    train_batch = TRAIN_BATCH.get(preset, DEFAULT_TRAIN_BATCH)
    cases = {
        "inference_batch1": (1, inference_fn),
        "inference_batch32": (INFERENCE_THROUGHPUT_BATCH, inference_fn),
        "mlm_train_step": (train_batch, train_step_fn),
    }
    for case, (batch, make_fn) in cases.items():
        plan = QUICK_PLAN if args.quick else PLANS.get(preset, PLANS["base"])[case]
        batch_args = make_batch(rng, batch, config.vocab_size)
        functions = {name: make_fn(sides[name], args.xla) for name in SIDES}
        started = time.perf_counter()
        times = time_interleaved(functions, batch_args, plan)
        median = {name: statistics.median(times[name]) for name in SIDES}
        ratio = median["keras_hub"] / median["ours"]
        prefix = f"{preset}_{case}"
        if case == "inference_batch1":
            for name in SIDES:
                results[f"{prefix}_latency_ms_{name}"] = 1000 * median[name]
                results[f"{prefix}_latency_ms_{name}_min"] = 1000 * min(times[name])
        elif case == "inference_batch32":
            for name in SIDES:
                results[f"{prefix}_throughput_seq_per_s_{name}"] = batch / median[name]
                results[f"{prefix}_ms_per_batch_{name}"] = 1000 * median[name]
        else:
            for name in SIDES:
                results[f"{prefix}_ms_{name}"] = 1000 * median[name]
                results[f"{prefix}_ms_{name}_min"] = 1000 * min(times[name])
            results[f"{prefix}_batch_size"] = batch
        results[f"{prefix}_ratio_vs_keras_hub"] = ratio
        results[f"warmup_{prefix}"] = plan.warmup
        results[f"repeats_{prefix}"] = plan.repeats
        print(
            f"  {prefix:<28} ours {1000 * median['ours']:9.1f} ms  keras-hub {1000 * median['keras_hub']:9.1f} ms"
            f"  ratio {ratio:5.2f}  ({plan.repeats} repeats, {time.perf_counter() - started:5.1f} s)",
            flush=True,
        )
    return results


# --- output ----------------------------------------------------------------------------------------------

METRICS = (
    # (case, label, our key suffix, keras-hub key suffix, unit, format)
    ("inference_batch1", "inference latency, batch 1", "latency_ms_ours", "latency_ms_keras_hub", "ms", "{:.1f}"),
    (
        "inference_batch32",
        "inference throughput, batch 32",
        "throughput_seq_per_s_ours",
        "throughput_seq_per_s_keras_hub",
        "seq/s",
        "{:.1f}",
    ),
    ("mlm_train_step", "MLM train step", "ms_ours", "ms_keras_hub", "ms", "{:.1f}"),
)


def table_rows(results, presets, command, date) -> List[report.Row]:
    rows = []
    for preset in presets:
        for case, label, ours_key, peer_key, unit, fmt in METRICS:
            prefix = f"{preset}_{case}"
            if case == "mlm_train_step":
                label = f"{label}, batch {results[f'{prefix}_batch_size']}"
            rows.append(
                report.Row(
                    benchmark=BENCHMARK,
                    metric=f"{preset}: {label} ({unit}, seq {SEQ_LENGTH}, {results['dtype']}, {results['device']})",
                    ours=fmt.format(results[f"{prefix}_{ours_key}"]),
                    peer=f"{fmt.format(results[f'{prefix}_{peer_key}'])} (keras-hub)",
                    ratio=f"{results[f'{prefix}_ratio_vs_keras_hub']:.2f}",
                    command=command,
                    date=date,
                )
            )
    return rows


def print_table(results, presets) -> None:
    print()
    print(f"Encoder speed, seq {SEQ_LENGTH}, float32, CPU ({results['machine_cpu_count']} cores), "
          f"XLA {'on' if results['xla'] else 'off'}.")
    print("ratio = keras_hub_time / our_time: >= 1.00 means we are faster.")
    header = f"{'preset':<6} {'metric':<40} {'ours':>12} {'keras-hub':>12} {'ratio':>7} {'repeats':>8}"
    print(header)
    print("-" * len(header))
    for preset in presets:
        for case, label, ours_key, peer_key, unit, fmt in METRICS:
            prefix = f"{preset}_{case}"
            if case == "mlm_train_step":
                label = f"{label}, batch {results[f'{prefix}_batch_size']}"
            label = f"{label} ({unit})"
            print(
                f"{preset:<6} {label:<40} {fmt.format(results[f'{prefix}_{ours_key}']):>12} "
                f"{fmt.format(results[f'{prefix}_{peer_key}']):>12} "
                f"{results[f'{prefix}_ratio_vs_keras_hub']:>7.2f} {results[f'repeats_{prefix}']:>8}"
            )
    print()


def parse_args(argv: Sequence[str]):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.encoder_speed", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--presets", default="tiny,base", help="comma-separated presets (default: tiny,base)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 warmup and 2 timed calls per case; writes no results"
    )
    parser.add_argument("--xla", action="store_true", help="jit_compile=True for both models' tf.functions")
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not write the JSON or BENCHMARKS.md"
    )
    args = parser.parse_args(argv)
    args.preset_list = [p.strip() for p in args.presets.split(",") if p.strip()]
    if not args.preset_list:
        parser.error("--presets names no preset")
    for preset in args.preset_list:
        try:
            get_preset(preset)  # fail early on an unknown name
        except ValueError as error:
            parser.error(str(error))
    return args


def main(argv: Sequence[str] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    try:
        tf.config.set_visible_devices([], "GPU")  # a CPU benchmark, even where a GPU exists
    except RuntimeError:  # devices already initialized; nothing to hide on a CPU-only machine anyway
        pass
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    cpu_share = CpuShare()
    cpu_share.start()
    now = datetime.datetime.now(datetime.timezone.utc)
    results: Dict[str, object] = {
        "benchmark": BENCHMARK,
        "date": now.isoformat(timespec="seconds"),
        "seq_length": SEQ_LENGTH,
        "num_masked_positions": NUM_MASKED_POSITIONS,
        "inference_throughput_batch_size": INFERENCE_THROUGHPUT_BATCH,
        "dtype": "float32",
        "device": "CPU",
        "xla": bool(args.xla),
        "quick": bool(args.quick),
        "presets": ",".join(args.preset_list),
        "machine_cpu_count": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "machine_load_avg_1min_at_start": load_start,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "keras_hub_version": keras_hub.__version__,
        "python_version": sys.version.split()[0],
        "mlm_loss": "MLM only (no SOP) on both sides",
    }
    rng = np.random.default_rng(SEED)
    for preset in args.preset_list:
        print(f"[{preset}]", flush=True)
        results.update(bench_preset(preset, args, rng))
    results["machine_load_avg_1min_at_end"] = os.getloadavg()[0]
    # 0.0 = nothing else ran; 0.5 = other processes kept one of two cores busy throughout.
    results["machine_cpu_share_used_by_other_processes"] = cpu_share.stop()
    results["run_seconds"] = round(time.perf_counter() - started, 1)
    print_table(results, args.preset_list)
    print(
        f"run time {results['run_seconds']:.0f} s; share of the machine's CPU used by other processes "
        f"meanwhile: {results['machine_cpu_share_used_by_other_processes']} (0 = quiet machine)"
    )

    if args.quick or args.no_write:
        print("(quick/no-write run: results not written)")
        return 0
    command = " ".join(["python -m benchmarks.encoder_speed", *map(shlex.quote, argv)])
    results["command"] = command
    path = report.write_results(BENCHMARK, results)
    md = report.update_benchmarks_md(BENCHMARK, table_rows(results, args.preset_list, command, now.date().isoformat()))
    print(f"wrote {os.path.relpath(path, report.REPO_ROOT)} and {os.path.relpath(md, report.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
