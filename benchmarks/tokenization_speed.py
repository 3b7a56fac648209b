"""Tokenization speed: the Beam path against a single-process SentencePiece loop, on the SST-2 training sentences.

The model is the component's: an 8,000-piece SentencePiece model trained by the SentencePieceVocab executor
(its default settings) on SST-2 train, cached under the system temp dir (keyed by the data, the settings
and the sentencepiece version), so only the first run pays for training. Then all 67,349 SST-2 training
sentences (`sentence` column of train.tsv) are tokenized four ways, each reading the TSV itself:

1. `loop` (the peer): one Python process, `normalize()` (text_contract/normalization.py)
   then `SentencePieceProcessor.encode` per sentence;
2. `beam_mp2`: a Beam pipeline on the DirectRunner, `--direct_running_mode=multi_processing
   --direct_num_workers=2`: ReadFromText -> Reshuffle (so both workers get sentences; a 4 MB file is one
   read split) -> a DoFn that loads the model in setup() and normalizes + encodes each sentence -> a
   CombineFn that sums sentences and pieces;
3. `beam_mem1`: the same pipeline with `--direct_running_mode=in_memory --direct_num_workers=1`;
4. `tf_text`: the Transform/serving path in graph: text_contract/transform.py's `normalize_text` and
   `tf_text.SentencepieceTokenizer` (`load_tokenizer`) in a tf.function over batches of 1,024 strings.

Every figure is wall time end to end, start-up included: reading the file, loading the model, and for
Beam building the pipeline, starting the workers (fresh Python processes in multi_processing mode, which
import what the DoFn needs) and tearing them down; for tf_text tracing the graph. The in-process paths
are warmed up once on 100 sentences before timing (imports, TensorFlow op loading), so each timed run costs
what one more job in an already running process costs; multi_processing starts fresh workers every run. To separate start-up
from steady state each path also runs on the data repeated 4 times (4x): steady-state throughput is
3N / (t_4x - t_1x) and start-up is t_1x - N / that rate (medians over the rounds). Runs alternate paths
(round r: loop, beam_mp2, beam_mem1, tf_text, each 1x then 4x; every other round in reverse order) so
that drift in machine load hurts all paths alike. All paths must give the same total piece count.

    python -m benchmarks.tokenization_speed           # writes results/tokenization_speed.json + BENCHMARKS.md
    python -m benchmarks.tokenization_speed --quick   # smoke run on 2,000 sentences, writes nothing

The ratio reported is `loop_time / path_time` (= path throughput / loop throughput): >= 1.0 means the
path is faster than the single-process loop.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("PYTHONWARNINGS", "ignore")  # inherited by Beam's worker processes

# Beam workers (multi_processing mode) unpickle the DoFns below by reference to this module, so its
# top-level imports stay light: TensorFlow, TFX and the components are imported where they are used.
import argparse  # noqa: E402
import datetime  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple  # noqa: E402

warnings.filterwarnings("ignore")

import apache_beam as beam  # noqa: E402

from benchmarks.harness import CpuShare  # noqa: E402

BENCHMARK = "tokenization_speed"
REPO_ROOT = Path(__file__).resolve().parent.parent
DATASETS = REPO_ROOT / ".." / "shared" / "datasets"
SST2_TRAIN = DATASETS / "sst2" / "train.tsv"
# Trained models are kept here between runs (never inside the repository).
CACHE_ROOT = Path(tempfile.gettempdir()) / "albert-tfx-benchmarks" / "sentencepiece-models"
VOCAB_SIZE = 8000
SCALE = 4  # the large input is the data repeated SCALE times
TF_TEXT_BATCH = 1024
QUICK_SENTENCES = 2000
WARMUP_SENTENCES = 100
MULTI_PROCESS_PATHS = ("beam_mp2",)

PATHS = ("loop", "beam_mp2", "beam_mem1", "tf_text")
BEAM_ARGS = {
    "beam_mp2": ["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"],
    "beam_mem1": ["--runner=DirectRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1"],
}
DESCRIPTIONS = {
    "loop": "single-process Python loop, normalize() + SentencePieceProcessor.encode per sentence",
    "beam_mp2": "Beam DirectRunner multi_processing, 2 workers",
    "beam_mem1": "Beam DirectRunner in_memory, 1 worker",
    "tf_text": f"in-graph normalize_text + tf_text.SentencepieceTokenizer, batches of {TF_TEXT_BATCH}",
}
ROUNDS = 3
QUICK_ROUNDS = 1


# --- machine load ----------------------------------------------------------------------------------------


def machine_cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# --- the component's SentencePiece model -----------------------------------------------------------------


def component_sentencepiece_model(name: str, texts: Sequence[str], cache_root: Path = CACHE_ROOT) -> Dict:
    """The SentencePieceVocab executor's model (default settings, `vocab_size` 8000) trained on `texts`.

    `texts` become the `text` feature of one tf.Example each in a `train` split, as ExampleGen would write
    them, and the executor runs as TFX runs it (in-process DirectRunner). The artifact is cached under
    `cache_root/<name>-<key>`, the key hashing the texts, the settings and the sentencepiece version.
    Returns model_path, summary (summary.json), reused (bool) and train_seconds (None when reused).
    """
    import sentencepiece as spm

    from components import artifacts as artifact_lib
    from components.sentencepiece_vocab import spec as spec_lib

    params = {spec_lib.TEXT_FEATURES_KEY: ["text"], spec_lib.VOCAB_SIZE_KEY: VOCAB_SIZE}
    resolved = spec_lib.resolve_parameters(dict(params))
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\n")
    digest.update(json.dumps(resolved, sort_keys=True).encode())
    digest.update(spm.__version__.encode())
    directory = Path(cache_root) / f"{name}-{digest.hexdigest()[:16]}"
    model_uri = directory / "model"
    if (model_uri / artifact_lib.MODEL_FILE).exists() and (model_uri / artifact_lib.SUMMARY_FILE).exists():
        return {"model_path": artifact_lib.model_path(str(model_uri)), "reused": True, "train_seconds": None,
                "summary": artifact_lib.read_summary(str(model_uri))}

    import tensorflow as tf
    from tfx.types import artifact_utils, standard_artifacts

    from components.sentencepiece_vocab import executor as executor_lib

    work = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=_mkdir(cache_root)))
    try:
        examples = standard_artifacts.Examples()
        examples.uri = str(work / "examples")
        (work / "examples" / "Split-train").mkdir(parents=True)
        records = work / "examples" / "Split-train" / "data_tfrecord-00000-of-00001.gz"
        with tf.io.TFRecordWriter(str(records), "GZIP") as writer:
            for text in texts:
                feature = tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode("utf-8")]))
                writer.write(tf.train.Example(features=tf.train.Features(
                    feature={"text": feature})).SerializeToString())
        examples.split_names = artifact_utils.encode_split_names(["train"])
        output = artifact_lib.SentencePieceModel()
        output.uri = str(work / "model")
        started = time.perf_counter()
        context = executor_lib.Executor.Context(beam_pipeline_args=None, tmp_dir=str(work / "tmp"),
                                                unique_id="benchmark")
        executor_lib.Executor(context).Do(
            {spec_lib.EXAMPLES_KEY: [examples]}, {spec_lib.SENTENCEPIECE_MODEL_KEY: [output]},
            {key: json.dumps(value) if isinstance(value, list) else value for key, value in params.items()})
        seconds = time.perf_counter() - started
        if directory.exists():  # another run finished first: keep its model
            shutil.rmtree(work)
        else:
            shutil.rmtree(work / "tmp", ignore_errors=True)
            shutil.rmtree(work / "examples", ignore_errors=True)
            os.replace(work, directory)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return {"model_path": artifact_lib.model_path(str(model_uri)), "reused": False, "train_seconds": seconds,
            "summary": artifact_lib.read_summary(str(model_uri))}


def _mkdir(path: Path) -> str:
    Path(path).mkdir(parents=True, exist_ok=True)
    return str(path)


# --- input -----------------------------------------------------------------------------------------------


def sentence_of_row(row: str) -> str:
    """The `sentence` field of an SST-2 TSV row (`sentence<TAB>label`, no quoting)."""
    return row.rsplit("\t", 1)[0]


def read_sentences(path: Path) -> List[str]:
    with open(path, encoding="utf-8") as handle:
        next(handle)  # header: sentence<TAB>label
        return [sentence_of_row(row.rstrip("\n")) for row in handle]


def write_tsv(path: Path, sentences: Sequence[str], repeat: int) -> Path:
    """An SST-2-style TSV (header, `sentence<TAB>0` rows) holding `sentences` `repeat` times."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("sentence\tlabel\n")
        body = "".join(f"{sentence}\t0\n" for sentence in sentences)
        for _ in range(repeat):
            handle.write(body)
    return path


# --- the four paths (each: TSV path, model path -> (sentences, pieces)) ----------------------------------


def tokenize_loop(tsv: Path, model_path: str, lower_case: bool = False) -> Tuple[Tuple[int, int], Dict]:
    """The peer: one process, normalize + encode one sentence at a time."""
    import sentencepiece as spm

    from text_contract.normalization import normalize
    processor = spm.SentencePieceProcessor(model_file=model_path)
    sentences = pieces = 0
    with open(tsv, encoding="utf-8") as handle:
        next(handle)
        for row in handle:
            pieces += len(processor.encode(normalize(sentence_of_row(row.rstrip("\n")), lower_case)))
            sentences += 1
    return (sentences, pieces), {}


METRICS_NAMESPACE = BENCHMARK
SETUP_MS = "encode_setup_ms"  # per DoFn instance: importing normalize() and loading the model


class EncodeSentences(beam.DoFn):
    """sentence -> its number of SentencePiece pieces, after the component's normalization.

    The model is loaded once per DoFn instance, in setup(). A component-side tokenization transform would
    emit the ids; counting keeps the benchmark's output small (the encoding work is the same). How long
    setup() took (the import of text_contract.normalization included) goes to a Beam distribution.
    """

    def __init__(self, model_path: str, lower_case: bool):
        super().__init__()
        self._model_path = model_path
        self._lower_case = lower_case

    def setup(self):
        started = time.perf_counter()
        import sentencepiece as spm

        # text_contract.normalization imports nothing of ours: a fresh worker process pays only for it here.
        from text_contract.normalization import normalize

        with open(self._model_path, "rb") as handle:
            self._processor = spm.SentencePieceProcessor(model_proto=handle.read())
        self._normalize = normalize
        self._setup_ms = int(1000 * (time.perf_counter() - started))

    def start_bundle(self):
        # Reported from a bundle, where the metrics container is certainly active (setup() may run outside).
        if self._setup_ms is not None:
            beam.metrics.Metrics.distribution(METRICS_NAMESPACE, SETUP_MS).update(self._setup_ms)
            self._setup_ms = None

    def process(self, sentence: str) -> Iterable[int]:
        yield len(self._processor.encode(self._normalize(sentence, self._lower_case)))


class CountPieces(beam.CombineFn):
    """Piece counts -> (sentences, pieces)."""

    def create_accumulator(self):
        return 0, 0

    def add_input(self, accumulator, pieces):
        return accumulator[0] + 1, accumulator[1] + pieces

    def merge_accumulators(self, accumulators):
        sentences = pieces = 0
        for accumulator in accumulators:
            sentences += accumulator[0]
            pieces += accumulator[1]
        return sentences, pieces

    def extract_output(self, accumulator):
        return accumulator


def _write_counts(counts: Tuple[int, int], path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(list(counts), handle)


def tokenize_beam(tsv: Path, model_path: str, beam_args: Sequence[str], out_path: Path,
                  lower_case: bool = False) -> Tuple[Tuple[int, int], Dict[str, float]]:
    """The Beam path: ReadFromText -> Reshuffle -> EncodeSentences -> CountPieces, run to completion.

    Returns ((sentences, pieces), {"setup_s_max": ..., "setup_count": ...}) - the slowest DoFn setup().
    """
    from apache_beam.metrics.metric import MetricsFilter
    from apache_beam.options.pipeline_options import PipelineOptions

    pipeline = beam.Pipeline(options=PipelineOptions(list(beam_args)))
    _ = (pipeline
         | "ReadTsv" >> beam.io.ReadFromText(str(tsv), skip_header_lines=1)
         | "Sentence" >> beam.Map(sentence_of_row)
         | "SpreadSentences" >> beam.Reshuffle()
         | "Encode" >> beam.ParDo(EncodeSentences(model_path, lower_case))
         | "CountPieces" >> beam.CombineGlobally(CountPieces())
         | "WriteCounts" >> beam.Map(_write_counts, str(out_path)))
    result = pipeline.run()
    result.wait_until_finish()
    setup = {}
    for metric in result.metrics().query(MetricsFilter().with_name(SETUP_MS))["distributions"]:
        value = metric.committed or metric.attempted
        if value is not None and value.count:
            setup = {"setup_s_max": value.max / 1000, "setup_count": value.count}
    with open(out_path, encoding="utf-8") as handle:
        sentences, pieces = json.load(handle)
    os.unlink(out_path)
    return (sentences, pieces), setup


def tokenize_tf_text(tsv: Path, model_path: str, lower_case: bool = False) -> Tuple[Tuple[int, int], Dict]:
    """The Transform/serving path: text_contract/transform.py's normalize_text + load_tokenizer, in graph."""
    import tensorflow as tf

    from text_contract import transform
    tokenizer = transform.load_tokenizer(model_path)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def count(texts):
        ids = tokenizer.tokenize(transform.normalize_text(texts, lower_case))
        return tf.reduce_sum(ids.row_lengths())

    with open(tsv, encoding="utf-8") as handle:
        next(handle)
        rows = [sentence_of_row(row.rstrip("\n")) for row in handle]
    pieces = 0
    for start in range(0, len(rows), TF_TEXT_BATCH):
        pieces += int(count(tf.constant(rows[start:start + TF_TEXT_BATCH])))
    return (len(rows), pieces), {}


def make_runners(model_path: str, work: Path) -> Dict[str, Callable[[Path], Tuple[Tuple[int, int], Dict]]]:
    return {
        "loop": lambda tsv: tokenize_loop(tsv, model_path),
        "beam_mp2": lambda tsv: tokenize_beam(tsv, model_path, BEAM_ARGS["beam_mp2"], work / "counts.json"),
        "beam_mem1": lambda tsv: tokenize_beam(tsv, model_path, BEAM_ARGS["beam_mem1"], work / "counts.json"),
        "tf_text": lambda tsv: tokenize_tf_text(tsv, model_path),
    }


# --- harness ---------------------------------------------------------------------------------------------


def run_rounds(runners: Dict[str, Callable], inputs: Dict[str, Path], rounds: int):
    """Times every path on every input, alternating paths (reversed every other round).

    Returns ({path: {size: [seconds...]}}, {path: {size: (sentences, pieces)}}, {path: [setup seconds...]}).
    """
    times = {path: {size: [] for size in inputs} for path in runners}
    counts: Dict[str, Dict[str, Tuple[int, int]]] = {path: {} for path in runners}
    setups: Dict[str, List[float]] = {path: [] for path in runners}
    order = list(runners)
    for round_index in range(rounds):
        for path in (order if round_index % 2 == 0 else order[::-1]):
            for size, tsv in inputs.items():
                started = time.perf_counter()
                result, extra = runners[path](tsv)
                seconds = time.perf_counter() - started
                times[path][size].append(seconds)
                if "setup_s_max" in extra:
                    setups[path].append(extra["setup_s_max"])
                if counts[path].setdefault(size, result) != result:
                    raise AssertionError(
                        f"{path} on {size}: {result} differs from its earlier run {counts[path][size]}")
                setup = f", slowest DoFn setup {extra['setup_s_max']:.2f} s" if "setup_s_max" in extra else ""
                print(f"  round {round_index + 1} {path:<10} {size}: {seconds:7.2f} s  "
                      f"({result[0]:,} sentences, {result[1]:,} pieces{setup})", flush=True)
    return times, counts, setups


def summarize(times, counts, sentences: int, scale: int) -> Dict[str, object]:
    results: Dict[str, object] = {}
    loop_1x = statistics.median(times["loop"]["1x"])
    loop_steady = None
    for path in times:
        t1, tn = statistics.median(times[path]["1x"]), statistics.median(times[path][f"{scale}x"])
        pieces = counts[path]["1x"][1]
        prefix = f"{path}"
        results[f"{prefix}_description"] = DESCRIPTIONS[path]
        results[f"{prefix}_wall_s_1x_median"] = t1
        results[f"{prefix}_wall_s_{scale}x_median"] = tn
        results[f"{prefix}_wall_s_1x_all"] = [round(t, 3) for t in times[path]["1x"]]
        results[f"{prefix}_wall_s_{scale}x_all"] = [round(t, 3) for t in times[path][f"{scale}x"]]
        results[f"{prefix}_sentences_1x"] = counts[path]["1x"][0]
        results[f"{prefix}_pieces_1x"] = pieces
        results[f"{prefix}_pieces_{scale}x"] = counts[path][f"{scale}x"][1]
        results[f"{prefix}_end_to_end_sentences_per_s"] = sentences / t1
        results[f"{prefix}_end_to_end_pieces_per_s"] = pieces / t1
        results[f"{prefix}_end_to_end_ratio_vs_loop"] = loop_1x / t1
        marginal = tn - t1
        if marginal > 0:
            steady_rate = (scale - 1) * sentences / marginal
            results[f"{prefix}_steady_sentences_per_s"] = steady_rate
            results[f"{prefix}_steady_pieces_per_s"] = (scale - 1) * pieces / marginal
            results[f"{prefix}_startup_s_estimate"] = t1 - sentences / steady_rate
            if path == "loop":
                loop_steady = steady_rate
        else:  # noise larger than the work: no steady-state estimate
            results[f"{prefix}_steady_sentences_per_s"] = None
            results[f"{prefix}_steady_pieces_per_s"] = None
            results[f"{prefix}_startup_s_estimate"] = None
    for path in times:
        rate = results[f"{path}_steady_sentences_per_s"]
        results[f"{path}_steady_ratio_vs_loop"] = rate / loop_steady if rate and loop_steady else None
    distinct = {json.dumps(counts[path], sort_keys=True) for path in times}
    results["piece_counts_identical_across_paths"] = len(distinct) == 1
    return results


# --- output ----------------------------------------------------------------------------------------------


def _fmt(value: Optional[float], digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def table_rows(results, command: str, date: str):
    from benchmarks import report

    rows = []
    n = results["sentences"]
    loop = "loop"
    for path in PATHS[1:]:
        for kind, label in (("end_to_end", "end to end, start-up included"), ("steady", "steady state")):
            ours = (f"{_fmt(results[f'{path}_{kind}_sentences_per_s'])} sent/s, "
                    f"{_fmt(results[f'{path}_{kind}_pieces_per_s'])} pieces/s")
            peer = (f"{_fmt(results[f'{loop}_{kind}_sentences_per_s'])} sent/s, "
                    f"{_fmt(results[f'{loop}_{kind}_pieces_per_s'])} pieces/s (1-process spm loop)")
            ratio = results[f"{path}_{kind}_ratio_vs_loop"]
            rows.append(report.Row(
                benchmark=BENCHMARK,
                metric=f"SST-2 train ({n:,} sentences), {DESCRIPTIONS[path]}: {label}",
                ours=ours, peer=peer, ratio=_fmt(ratio, 2), command=command, date=date))
    return rows


def print_table(results, scale: int) -> None:
    print()
    print(f"Tokenization of {results['sentences']:,} SST-2 sentences, {VOCAB_SIZE}-piece model, "
          f"{results['machine_cpu_count']} CPUs. Medians of {results['rounds']} round(s).")
    print("end to end = wall time of the 1x run, start-up included; steady = from the 1x/"
          f"{scale}x difference. ratio = loop time / path time (>= 1 means faster than the loop).")
    header = (f"{'path':<10} {'1x s':>7} {f'{scale}x s':>7} {'e2e sent/s':>11} {'e2e ratio':>9} "
              f"{'steady sent/s':>13} {'steady pieces/s':>15} {'ratio':>6} {'start-up s':>10}")
    print(header)
    print("-" * len(header))
    for path in PATHS:
        if f"{path}_wall_s_1x_median" not in results:
            continue
        r = {key[len(path) + 1:]: value for key, value in results.items() if key.startswith(f"{path}_")}
        print(f"{path:<10} {r['wall_s_1x_median']:7.2f} {r[f'wall_s_{scale}x_median']:7.2f} "
              f"{r['end_to_end_sentences_per_s']:11,.0f} {r['end_to_end_ratio_vs_loop']:9.2f} "
              f"{_fmt(r['steady_sentences_per_s']):>13} {_fmt(r['steady_pieces_per_s']):>15} "
              f"{_fmt(r['steady_ratio_vs_loop'], 2):>6} {_fmt(r['startup_s_estimate'], 2):>10}")
    print(f"total pieces {results['pieces_total']:,}; identical across paths: "
          f"{results['piece_counts_identical_across_paths']}")
    print()


def parse_args(argv: Sequence[str]):
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{BENCHMARK}", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: first {QUICK_SENTENCES:,} sentences, one round; writes no results")
    parser.add_argument("--rounds", type=int, default=None, help=f"timed rounds (default {ROUNDS}; quick: 1)")
    parser.add_argument("--paths", default=",".join(PATHS),
                        help=f"comma-separated paths to time, of {','.join(PATHS)} (default: all; "
                             "'loop' is always included)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write the JSON or BENCHMARKS.md")
    args = parser.parse_args(argv)
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = [p for p in paths if p not in PATHS]
    if unknown:
        parser.error(f"unknown path(s) {unknown}; choose from {PATHS}")
    args.path_list = ["loop"] + [p for p in PATHS[1:] if p in paths]
    args.rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")
    return args


def main(argv: Sequence[str] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    logging.getLogger("apache_beam").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    import sentencepiece as spm
    import tensorflow as tf
    import tensorflow_text

    tf.get_logger().setLevel("ERROR")
    try:
        tf.config.set_visible_devices([], "GPU")  # a CPU benchmark, even where a GPU exists
    except RuntimeError:
        pass
    started = time.perf_counter()
    now = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()[0]

    all_sentences = read_sentences(SST2_TRAIN)
    print(f"[model] SentencePieceVocab executor, {VOCAB_SIZE} pieces, on {len(all_sentences):,} SST-2 train "
          f"sentences (cached under {CACHE_ROOT})", flush=True)
    model = component_sentencepiece_model("sst2-train", all_sentences)
    how = "reused cached model" if model["reused"] else "trained in %.1f s" % model["train_seconds"]
    print(f"  {how}: {model['model_path']}", flush=True)

    sentences = all_sentences[:QUICK_SENTENCES] if args.quick else all_sentences
    cpu_share = CpuShare().start()
    with tempfile.TemporaryDirectory(prefix="tokenization-speed-") as work:
        work = Path(work)
        if args.quick:
            inputs = {"1x": write_tsv(work / "1x.tsv", sentences, 1)}
        else:
            inputs = {"1x": SST2_TRAIN}  # the dataset file itself
        inputs[f"{SCALE}x"] = write_tsv(work / f"{SCALE}x.tsv", sentences, SCALE)
        runners = {path: runner for path, runner in make_runners(model["model_path"], work).items()
                   if path in args.path_list}
        # Untimed warm-up of the in-process paths (imports, TensorFlow's kernel and op loading): each timed
        # run then costs what one more job in a running process would. multi_processing starts fresh
        # workers for every pipeline, so it has nothing to warm up.
        warmup = write_tsv(work / "warmup.tsv", sentences[:WARMUP_SENTENCES], 1)
        for path, runner in runners.items():
            if path not in MULTI_PROCESS_PATHS:
                runner(warmup)
        print(f"[timing] {len(sentences):,} sentences (1x) and {SCALE}x, paths {', '.join(runners)}, "
              f"{args.rounds} round(s)", flush=True)
        times, counts, setups = run_rounds(runners, inputs, args.rounds)

    results: Dict[str, object] = {
        "benchmark": BENCHMARK,
        "date": now.isoformat(timespec="seconds"),
        "quick": bool(args.quick),
        "dataset": "sst2/train.tsv (sentence column)",
        "sentences": len(sentences),
        "scale_factor_large_input": SCALE,
        "rounds": args.rounds,
        "paths": ",".join(runners),
        "timing": "wall time per run, start-up included (file read, model load; Beam: pipeline build, worker "
                  "start/stop; tf_text: tracing); steady state from the 1x/4x difference; medians over rounds; "
                  "in-process paths warmed up once (untimed) before the rounds",
        "beam_pipeline": "ReadFromText -> Reshuffle -> ParDo(normalize + SentencePieceProcessor.encode, model "
                         "loaded in setup) -> CombineGlobally(sum)",
        "beam_args_beam_mp2": " ".join(BEAM_ARGS["beam_mp2"]),
        "beam_args_beam_mem1": " ".join(BEAM_ARGS["beam_mem1"]),
        "tf_text_batch_size": TF_TEXT_BATCH,
        "model_vocab_size": VOCAB_SIZE,
        "model_pieces": model["summary"]["pieces"],
        "model_sha256": model["summary"]["model_sha256"],
        "model_trained_by": "components.sentencepiece_vocab.executor.Executor (default settings)",
        "model_reused_from_cache": model["reused"],
        "model_train_seconds": model["train_seconds"],
        "machine_cpu_count": machine_cpu_count(),
        "machine_load_avg_1min_at_start": load_start,
        "apache_beam_version": beam.__version__,
        "sentencepiece_version": spm.__version__,
        "tensorflow_version": tf.__version__,
        "tensorflow_text_version": tensorflow_text.__version__,
        "python_version": sys.version.split()[0],
    }
    results.update(summarize(times, counts, len(sentences), SCALE))
    results["pieces_total"] = counts["loop"]["1x"][1]
    for path, values in setups.items():
        if values:  # the slowest EncodeSentences.setup() of each run (import of normalize + model load)
            results[f"{path}_slowest_dofn_setup_s_median"] = statistics.median(values)
            results[f"{path}_slowest_dofn_setup_s_all"] = [round(v, 3) for v in values]
    results["machine_load_avg_1min_at_end"] = os.getloadavg()[0]
    results["machine_cpu_share_used_by_other_processes"] = cpu_share.stop()
    results["run_seconds"] = round(time.perf_counter() - started, 1)
    print_table(results, SCALE)
    print(f"run time {results['run_seconds']:.0f} s; load average {load_start:.2f} -> "
          f"{results['machine_load_avg_1min_at_end']:.2f}; share of the machine's CPU used by other processes "
          f"meanwhile: {results['machine_cpu_share_used_by_other_processes']} (0 = quiet machine)")
    if not results["piece_counts_identical_across_paths"]:
        print(f"ERROR: the paths disagree on the piece counts: {counts}", file=sys.stderr)
        return 1
    if args.quick or args.no_write:
        print("(quick/no-write run: results not written)")
        return 0
    if set(runners) != set(PATHS):
        print("(not every path was timed: results not written)")
        return 0
    from benchmarks import report

    command = " ".join([f"python -m benchmarks.{BENCHMARK}", *map(shlex.quote, argv)])
    results["command"] = command
    path = report.write_results(BENCHMARK, results)
    md = report.update_benchmarks_md(BENCHMARK, table_rows(results, command, now.date().isoformat()))
    print(f"wrote {os.path.relpath(path, report.REPO_ROOT)} and {os.path.relpath(md, report.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    # Run the importable module's main, so that Beam pickles the DoFns by reference to
    # `benchmarks.tokenization_speed` (workers import it) rather than by value from `__main__`.
    from benchmarks import tokenization_speed

    sys.exit(tokenization_speed.main())
