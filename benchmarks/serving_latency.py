"""Serving latency: `albert-tfx serve` over gRPC (and REST) against calling the same SavedModel in-process.

For each preset (`tiny`, `base`), at sequence length 128, float32, on CPU, with random weights:

1. latency at batch 1: p50 and p99 milliseconds per call, over SST-2 dev sentences taken in turn;
2. throughput at batch 32: sentences/s from the median time per call, on one batch of 32 dev sentences;

each measured for a gRPC Predict (serving/client.py -> `albert-tfx serve`, a separate process on 127.0.0.1,
default settings: no server-side batching) and for the SavedModel's `serving_default` called in this process
(`tf.saved_model.load`, the peer). Both return numpy outputs. The **serving overhead** is gRPC time /
in-process time; the goal is <= 1.3x at batch 32. Calls alternate (in-process, gRPC, in-process, ...) after a
warmup, so drift in machine load hurts both alike.

For the presets in `REST_PRESETS` (`tiny`: its calls are short, so the API's own cost shows), the same server's
REST API (`--rest-port`, TF Serving's JSON API) is timed as a third side in the same rounds: a POST of
`{"inputs": {"text": [...]}}` to `/v1/models/<preset>:predict` on one kept-alive HTTP/1.1 connection
(`http.client`), the JSON answer read back into numpy. Its rows compare REST (ours) with gRPC (the peer).

The exports are what the pipeline serves: an 8,000-piece SentencePiece model trained on SST-2 train (the data
contract's special pieces), the Transform's `preprocessing_fn` analysed on SST-2 rows (labels 0/1), the
preset's `AlbertClassifier` with random weights, exported by `serving/export.py` (tokenization in the graph)
and pushed by `serving/push.py`. One server serves both presets (a ModelServerConfig file).

    python -m benchmarks.serving_latency                  # tiny and base, writes results (~6 min, 2 cores)
    python -m benchmarks.serving_latency --presets tiny --quick   # smoke run (writes nothing)

Results: benchmarks/results/serving_latency.json and the `serving_latency` rows of BENCHMARKS.md; the ratio
column is in-process time / gRPC time (>= 1.0 would mean gRPC is faster; 1/1.3 = 0.77 is the goal's bound), and
in the REST rows gRPC time / REST time (>= 1.0 would mean REST is faster).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import datetime  # noqa: E402
import functools  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable, Dict, List, Sequence, Tuple  # noqa: E402

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

from benchmarks import report  # noqa: E402
from benchmarks.harness import CpuShare, Plan  # noqa: E402

BENCHMARK = "serving_latency"
REPO_ROOT = Path(__file__).resolve().parent.parent
DATASETS = REPO_ROOT / ".." / "shared" / "datasets"
SEQ_LENGTH = 128
VOCAB_SIZE = 8000
THROUGHPUT_BATCH = 32
OVERHEAD_GOAL = 1.3  # gRPC time / in-process time at batch 32
SEED = 1234
TEXT_FEATURE, LABEL_FEATURE = "sentence", "label"
ANALYZE_ROWS = 2000  # rows the Transform analyses (only the label vocabulary depends on them)
REST_PRESETS = ("tiny",)  # the REST API is timed for these presets only

# Chosen so that tiny,base takes ~6 minutes on an idle 2-core machine: base's batch-32 call takes ~4-5 s.
PLANS: Dict[str, Dict[str, Plan]] = {
    "tiny": {"batch1": Plan(10, 300), "batch32": Plan(3, 40)},
    "base": {"batch1": Plan(3, 60), "batch32": Plan(1, 8)},
}
QUICK_PLAN = Plan(1, 3)


# --- data and exports --------------------------------------------------------------------------------------


def read_sst2(split: str) -> Tuple[List[str], List[int]]:
    texts, labels = [], []
    with open(DATASETS / "sst2" / f"{split}.tsv", encoding="utf-8") as handle:
        next(handle)  # header
        for row in handle:
            text, sep, label = row.rstrip("\n").rpartition("\t")
            if sep and label.strip() in ("0", "1"):
                texts.append(text.strip())
                labels.append(int(label))
    return texts, labels


def train_vocabulary(texts: Sequence[str], directory: Path) -> str:
    """An 8,000-piece unigram SentencePiece model, trained as the vocabulary component trains one."""
    from text_contract import sentencepiece_training

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "spm.model"
    path.write_bytes(sentencepiece_training.train_sentencepiece(sorted(set(texts)), VOCAB_SIZE, character_coverage=1.0))
    return str(path)


def build_transform(spm_model: str, texts: Sequence[str], labels: Sequence[int], directory: Path) -> str:
    """The Transform graph of text_contract/transform.py, analysed on SST-2 rows, as TFX's Transform writes it."""
    import tensorflow as tf
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

    from text_contract import transform, transform_options

    spec = {TEXT_FEATURE: tf.io.FixedLenFeature([], tf.string), LABEL_FEATURE: tf.io.FixedLenFeature([], tf.int64)}
    config = transform_options.TransformOptions(
        text_features=(TEXT_FEATURE,), sentencepiece_model_path=spm_model, label_feature=LABEL_FEATURE,
        label_values=("0", "1"), max_seq_length=SEQ_LENGTH).to_custom_config()
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
    rows = [{TEXT_FEATURE: t, LABEL_FEATURE: l} for t, l in zip(texts[:ANALYZE_ROWS], labels[:ANALYZE_ROWS])]
    transform_dir = str(directory / "transform")
    with tft_beam.Context(temp_dir=str(directory / "tft_tmp")):
        transform_fn = (rows, metadata) | tft_beam.AnalyzeDataset(
            functools.partial(transform.preprocessing_fn, custom_config=config))
        _ = transform_fn | tft_beam.WriteTransformFn(transform_dir)
    metadata_io.write_metadata(metadata, os.path.join(transform_dir, "metadata"))
    return transform_dir


def export_preset(preset: str, transform_dir: str, spm_model: str, work: Path, serving_base: Path) -> str:
    """The preset's classifier with random weights, exported and pushed as version 1 of model `preset`."""
    import keras

    from serving import export as export_lib
    from serving.push import push_export
    from trainer.presets import get_preset
    from trainer.tasks import build_model
    from trainer.training_config import TrainingConfig

    keras.utils.set_random_seed(SEED)
    model = build_model(TrainingConfig(num_classes=2, max_seq_length=SEQ_LENGTH), get_preset(preset))
    export_dir = export_lib.export_classifier(model, transform_dir, str(work / "exports" / preset),
                                              text_features=[TEXT_FEATURE], vocabulary_path=spm_model, preset=preset,
                                              model_name=preset)
    return push_export(export_dir, str(serving_base), preset).path


# --- the server ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ServerProcess:
    process: subprocess.Popen
    address: str
    rest_address: str
    log_path: Path

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


def start_server(presets: Sequence[str], serving_base: Path, work: Path) -> ServerProcess:
    """`albert-tfx serve` (gRPC and REST) with a model config file naming every preset; waits until it listens."""
    config = work / "models.config"
    config.write_text("model_config_list {\n" + "".join(
        f'  config {{ name: "{p}" base_path: "{serving_base / p}" model_platform: "tensorflow" }}\n'
        for p in presets) + "}\n", encoding="utf-8")
    log_path = work / "serve.log"
    log = open(log_path, "w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "albert_tfx", "serve", "--model-config-file", str(config), "--port", "0",
         "--rest-port", "0", "--poll-seconds", "0"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"})
    line = process.stdout.readline()  # blocks until the server has loaded every model and listens
    if "listening on" not in line:
        process.wait(timeout=60)
        raise RuntimeError(f"albert-tfx serve did not start (exit {process.returncode}): {line!r}\n"
                           f"{log_path.read_text(encoding='utf-8')[-3000:]}")
    return ServerProcess(process, line.split("listening on ")[1].split()[0],
                         line.split("REST API on ")[1].split(";")[0].strip(), log_path)


# --- timing -------------------------------------------------------------------------------------------------


def sides_for(preset: str, export_dir: str, server: ServerProcess
              ) -> Dict[str, Callable[[List[str]], Dict[str, np.ndarray]]]:
    """The ways of asking the model (in-process, gRPC, and REST for `REST_PRESETS`), each returning numpy outputs."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (SentencePiece ops, before loading)

    from serving import contract
    from serving.client import ClientConfig, ServingClient

    signature = tf.saved_model.load(export_dir).signatures[contract.PREDICT_SIGNATURE]
    client = ServingClient(ClientConfig(server.address, model_name=preset, deadline_s=600,
                                        batch_size=THROUGHPUT_BATCH))

    def in_process(texts):
        return {k: v.numpy() for k, v in signature(**{contract.TEXT_INPUT: tf.constant(texts)}).items()}

    def grpc(texts):
        return client.predict(texts).outputs

    sides = {"in_process": in_process, "grpc": grpc}
    if preset in REST_PRESETS:
        host, port = server.rest_address.rsplit(":", 1)
        connection = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=600)  # kept alive
        path = f"/v1/models/{preset}:predict"

        def rest(texts):
            connection.request("POST", path, json.dumps({"inputs": {contract.TEXT_INPUT: texts}}),
                               {"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = json.loads(response.read())
            if response.status != 200:
                raise RuntimeError(f"REST predict answered {response.status}: {answer}")
            return {key: np.asarray(value) for key, value in answer["outputs"].items()}

        sides["rest"] = rest
    return sides


def check_same_answers(sides, texts: List[str]) -> float:
    """Raises unless every side gives the in-process probabilities; returns the largest difference."""
    from serving import contract

    answers = {name: side(texts)[contract.PROBABILITIES_OUTPUT] for name, side in sides.items()}
    differences = {name: float(np.max(np.abs(answers["in_process"] - answer))) for name, answer in answers.items()}
    for name, difference in differences.items():
        if difference > 1e-5:
            raise AssertionError(f"{name} and in-process probabilities differ by {difference}")
    return max(differences.values())


def time_alternating(sides, batches: List[List[str]], plan: Plan) -> Dict[str, List[float]]:
    """Warmup, then `plan.repeats` rounds of one timed call per side (batch i of `batches` in round i)."""
    for i in range(plan.warmup):
        for side in sides.values():
            side(batches[i % len(batches)])
    times: Dict[str, List[float]] = {name: [] for name in sides}
    for i in range(plan.repeats):
        batch = batches[i % len(batches)]
        for name, side in sides.items():
            started = time.perf_counter()
            side(batch)
            times[name].append(time.perf_counter() - started)
    return times


def bench_preset(preset: str, export_dir: str, server: ServerProcess, dev_texts: List[str], quick: bool
                 ) -> Dict[str, object]:
    sides = sides_for(preset, export_dir, server)
    results: Dict[str, object] = {f"{preset}_max_abs_probability_difference": check_same_answers(sides, dev_texts[:8])}
    plans = {case: QUICK_PLAN if quick else PLANS.get(preset, PLANS["base"])[case] for case in ("batch1", "batch32")}

    started = time.perf_counter()
    times = time_alternating(sides, [[t] for t in dev_texts], plans["batch1"])
    for name in sides:
        ms = 1000 * np.array(times[name])
        results[f"{preset}_batch1_latency_ms_p50_{name}"] = float(np.percentile(ms, 50))
        results[f"{preset}_batch1_latency_ms_p99_{name}"] = float(np.percentile(ms, 99))
        results[f"{preset}_batch1_latency_ms_mean_{name}"] = float(ms.mean())
    results[f"{preset}_batch1_overhead_ratio"] = (results[f"{preset}_batch1_latency_ms_p50_grpc"]
                                                  / results[f"{preset}_batch1_latency_ms_p50_in_process"])
    print(f"  {preset} batch 1:  p50/p99 in-process {results[f'{preset}_batch1_latency_ms_p50_in_process']:.1f}/"
          f"{results[f'{preset}_batch1_latency_ms_p99_in_process']:.1f} ms, gRPC "
          f"{results[f'{preset}_batch1_latency_ms_p50_grpc']:.1f}/{results[f'{preset}_batch1_latency_ms_p99_grpc']:.1f}"
          f" ms, overhead {results[f'{preset}_batch1_overhead_ratio']:.2f}x ({time.perf_counter() - started:.0f} s)",
          flush=True)
    if "rest" in sides:
        results[f"{preset}_batch1_rest_over_grpc_ratio"] = (results[f"{preset}_batch1_latency_ms_p50_rest"]
                                                            / results[f"{preset}_batch1_latency_ms_p50_grpc"])
        print(f"  {preset} batch 1:  p50/p99 REST {results[f'{preset}_batch1_latency_ms_p50_rest']:.1f}/"
              f"{results[f'{preset}_batch1_latency_ms_p99_rest']:.1f} ms, "
              f"{results[f'{preset}_batch1_rest_over_grpc_ratio']:.2f}x gRPC's p50", flush=True)

    started = time.perf_counter()
    batch = [dev_texts[i % len(dev_texts)] for i in range(THROUGHPUT_BATCH)]
    times = time_alternating(sides, [batch], plans["batch32"])
    for name in sides:
        median = statistics.median(times[name])
        results[f"{preset}_batch32_ms_per_batch_{name}"] = 1000 * median
        results[f"{preset}_batch32_throughput_seq_per_s_{name}"] = THROUGHPUT_BATCH / median
    overhead = results[f"{preset}_batch32_ms_per_batch_grpc"] / results[f"{preset}_batch32_ms_per_batch_in_process"]
    results[f"{preset}_batch32_overhead_ratio"] = overhead
    results[f"{preset}_batch32_overhead_goal_met"] = bool(overhead <= OVERHEAD_GOAL)
    print(f"  {preset} batch 32: in-process {results[f'{preset}_batch32_throughput_seq_per_s_in_process']:.1f} seq/s, "
          f"gRPC {results[f'{preset}_batch32_throughput_seq_per_s_grpc']:.1f} seq/s, overhead {overhead:.2f}x "
          f"(goal <= {OVERHEAD_GOAL}) ({time.perf_counter() - started:.0f} s)", flush=True)
    if "rest" in sides:
        results[f"{preset}_batch32_rest_over_grpc_ratio"] = (results[f"{preset}_batch32_ms_per_batch_rest"]
                                                             / results[f"{preset}_batch32_ms_per_batch_grpc"])
        print(f"  {preset} batch 32: REST {results[f'{preset}_batch32_throughput_seq_per_s_rest']:.1f} seq/s, "
              f"{results[f'{preset}_batch32_rest_over_grpc_ratio']:.2f}x gRPC's time per batch", flush=True)
    for case, plan in plans.items():
        results[f"warmup_{preset}_{case}"], results[f"repeats_{preset}_{case}"] = plan.warmup, plan.repeats
    return results


# --- output -------------------------------------------------------------------------------------------------


def table_rows(results, presets, command, date) -> List[report.Row]:
    rows = []
    for preset in presets:
        p = lambda key: results[f"{preset}_{key}"]  # noqa: E731
        rows.append(report.Row(
            benchmark=BENCHMARK,
            metric=(f"{preset}: latency, batch 1, p50 / p99 (ms, seq {SEQ_LENGTH}, float32, CPU); gRPC overhead "
                    f"{p('batch1_overhead_ratio'):.2f}x at p50"),
            ours=f"{p('batch1_latency_ms_p50_grpc'):.1f} / {p('batch1_latency_ms_p99_grpc'):.1f} (gRPC, albert-tfx serve)",
            peer=f"{p('batch1_latency_ms_p50_in_process'):.1f} / {p('batch1_latency_ms_p99_in_process'):.1f} "
                 f"(SavedModel in-process)",
            ratio=f"{1 / p('batch1_overhead_ratio'):.2f}", command=command, date=date))
        met = "met" if p("batch32_overhead_goal_met") else "NOT met"
        rows.append(report.Row(
            benchmark=BENCHMARK,
            metric=(f"{preset}: throughput, batch {THROUGHPUT_BATCH} (seq/s, seq {SEQ_LENGTH}, float32, CPU); gRPC "
                    f"overhead {p('batch32_overhead_ratio'):.2f}x (goal <= {OVERHEAD_GOAL}x: {met})"),
            ours=f"{p('batch32_throughput_seq_per_s_grpc'):.1f} (gRPC, albert-tfx serve)",
            peer=f"{p('batch32_throughput_seq_per_s_in_process'):.1f} (SavedModel in-process)",
            ratio=f"{1 / p('batch32_overhead_ratio'):.2f}", command=command, date=date))
        if f"{preset}_batch1_rest_over_grpc_ratio" not in results:
            continue
        rows.append(report.Row(
            benchmark=BENCHMARK,
            metric=f"{preset}: REST vs gRPC latency, batch 1, p50 / p99 (ms, seq {SEQ_LENGTH}, float32, CPU)",
            ours=f"{p('batch1_latency_ms_p50_rest'):.1f} / {p('batch1_latency_ms_p99_rest'):.1f} "
                 f"(REST JSON, albert-tfx serve)",
            peer=f"{p('batch1_latency_ms_p50_grpc'):.1f} / {p('batch1_latency_ms_p99_grpc'):.1f} "
                 f"(gRPC, albert-tfx serve)",
            ratio=f"{1 / p('batch1_rest_over_grpc_ratio'):.2f}", command=command, date=date))
        rows.append(report.Row(
            benchmark=BENCHMARK,
            metric=(f"{preset}: REST vs gRPC throughput, batch {THROUGHPUT_BATCH} (seq/s, seq {SEQ_LENGTH}, "
                    f"float32, CPU)"),
            ours=f"{p('batch32_throughput_seq_per_s_rest'):.1f} (REST JSON, albert-tfx serve)",
            peer=f"{p('batch32_throughput_seq_per_s_grpc'):.1f} (gRPC, albert-tfx serve)",
            ratio=f"{1 / p('batch32_rest_over_grpc_ratio'):.2f}", command=command, date=date))
    return rows


def parse_args(argv: Sequence[str]):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serving_latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="tiny,base", help="comma-separated presets (default: tiny,base)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 warmup and 3 timed calls; writes nothing")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write the JSON or BENCHMARKS.md")
    parser.add_argument("--work-dir", help="keep the vocabulary, exports and server log here (default: a temp dir)")
    args = parser.parse_args(argv)
    args.preset_list = [p.strip() for p in args.presets.split(",") if p.strip()]
    if not args.preset_list:
        parser.error("--presets names no preset")
    from trainer.presets import get_preset

    for preset in args.preset_list:
        try:
            get_preset(preset)
        except ValueError as error:
            parser.error(str(error))
    return args


def main(argv: Sequence[str] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    import tensorflow as tf

    try:
        tf.config.set_visible_devices([], "GPU")  # a CPU benchmark, even where a GPU exists
    except RuntimeError:
        pass
    started = time.perf_counter()
    now = datetime.datetime.now(datetime.timezone.utc)
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="albert-tfx-serving-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    serving_base = work / "serving"
    if serving_base.exists():
        shutil.rmtree(serving_base)
    results: Dict[str, object] = {
        "benchmark": BENCHMARK, "date": now.isoformat(timespec="seconds"), "seq_length": SEQ_LENGTH,
        "throughput_batch_size": THROUGHPUT_BATCH, "vocabulary_size": VOCAB_SIZE, "dtype": "float32", "device": "CPU",
        "overhead_goal": OVERHEAD_GOAL, "quick": bool(args.quick), "presets": ",".join(args.preset_list),
        "server": "albert-tfx serve (separate process, 127.0.0.1, no server-side batching)",
        "client": "serving.client.ServingClient (gRPC, tf.make_tensor_proto / tf.make_ndarray)",
        "rest_client": "http.client, one kept-alive connection, columnar JSON in, numpy from the JSON answer",
        "rest_presets": ",".join(p for p in args.preset_list if p in REST_PRESETS),
        "peer": "tf.saved_model.load(export).signatures['serving_default'] in the benchmark process",
        "machine_cpu_count": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "tensorflow_version": tf.__version__, "python_version": sys.version.split()[0],
    }
    try:
        import grpc

        results["grpcio_version"] = grpc.__version__
        print("building the vocabulary, the Transform and the exports ...", flush=True)
        build_started = time.perf_counter()
        train_texts, train_labels = read_sst2("train")
        dev_texts, _ = read_sst2("dev")
        spm_model = train_vocabulary(train_texts, work / "vocab")
        transform_dir = build_transform(spm_model, train_texts, train_labels, work)
        exports = {preset: export_preset(preset, transform_dir, spm_model, work, serving_base)
                   for preset in args.preset_list}
        results["build_seconds"] = round(time.perf_counter() - build_started, 1)
        print(f"  built in {results['build_seconds']:.0f} s; starting albert-tfx serve ...", flush=True)
        server_started = time.perf_counter()
        server = start_server(args.preset_list, serving_base, work)
        results["server_start_seconds"] = round(time.perf_counter() - server_started, 1)
        print(f"  serving on {server.address} after {results['server_start_seconds']:.0f} s", flush=True)
        load_start = os.getloadavg()[0]
        cpu_share = CpuShare().start()
        try:
            for preset in args.preset_list:
                print(f"[{preset}]", flush=True)
                results.update(bench_preset(preset, exports[preset], server, dev_texts, args.quick))
        finally:
            # The server first: a child's CPU time counts as ours only once it has been waited for.
            results["server_exit_code"] = server.stop()
            results["machine_cpu_share_used_by_other_processes"] = cpu_share.stop()
            results["machine_load_avg_1min_at_start"] = load_start
            results["machine_load_avg_1min_at_end"] = os.getloadavg()[0]
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    results["run_seconds"] = round(time.perf_counter() - started, 1)
    print(f"run time {results['run_seconds']:.0f} s; share of the machine's CPU used by other processes while "
          f"timing: {results['machine_cpu_share_used_by_other_processes']} (0 = quiet machine)")
    if args.quick or args.no_write:
        print("(quick/no-write run: results not written)")
        return 0
    command = " ".join(["python -m benchmarks.serving_latency", *map(shlex.quote, argv)])
    results["command"] = command
    path = report.write_results(BENCHMARK, results)
    md = report.update_benchmarks_md(BENCHMARK, table_rows(results, args.preset_list, command, now.date().isoformat()))
    print(f"wrote {os.path.relpath(path, report.REPO_ROOT)} and {os.path.relpath(md, report.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
