"""Pretraining-data generation speed: the PretrainingDataGen executor against a single-process loop, on WikiText-2.

Input: ../shared/datasets/wikitext2 in the component's text-file mode (`text_file_pattern`): each blank-line
separated paragraph is a document, each line in it a sentence. Three inputs: `valid` (valid.txt),
`valid_test` (valid.txt and test.txt, pattern `*.txt`) and `valid_test_x8` (8 symbolic links to each of
the two files in a temp dir: the same documents processed 8 times, nothing copied). The whole of valid.txt
takes about a second in one process, so Beam's figures on it are mostly start-up; the x8 input is there to
measure the steady state. The SentencePiece model is the component's: the
SentencePieceVocab executor (default settings, 8,000 pieces) trained on the non-blank lines of both files,
cached under the system temp dir (see benchmarks/tokenization_speed.py).

Contenders, each producing the same files (all with the executor's default settings: max_seq_length 128,
dupe_factor 1, 4 shards, seed 0):

1. `loop` (the peer): one Python process, no Beam: the component's text-file reader
   (`beam_pipeline.ReadTextFileDocuments.process`), `SentencePieceProcessor.encode` per document,
   `generation.generate` + `serialize_instance`, instance keys and shards as `MakeInstances` assigns them,
   shards written by `WriteShard.process` (sorted, gzip mtime 0);
2. `beam_mp1` / `beam_mp2`: the PretrainingDataGen executor (`Executor.Do`, as TFX runs it) with
   `--direct_running_mode=multi_processing --direct_num_workers=1` / `=2`;
3. `beam_mem1`: the executor with `--direct_running_mode=in_memory --direct_num_workers=1` (one process).

Figures are wall time end to end (model load, reading, generation, writing; for Beam also pipeline
construction and worker start/stop), medians over rounds; runs alternate contenders (reversed every other
round). Throughputs: documents read/s (blank-line separated paragraphs, single-line ones included: they are
read, tokenized and skipped as `single_sentence`), instances written/s and tokens/s (pieces in the written
instances, [CLS]/[SEP] included, from summary.json). The `marginal` figures difference the largest and
the smallest input ((valid_test_x8 - valid) work over the extra time): a steady-state estimate, start-up
cancelled.

Every contender's shard files must be byte-identical to every other's (1 vs 2 workers recorded as
`output_byte_identical_1_vs_2_workers`; summary.json compared between the Beam runs too).

    python -m benchmarks.pretraining_data_speed           # writes results/pretraining_data_speed.json + BENCHMARKS.md
    python -m benchmarks.pretraining_data_speed --quick   # smoke run: 300 lines of valid.txt (and x4), one round

The ratio reported is `loop_time / beam_time` (= Beam throughput / loop throughput): >= 1.0 means Beam is
faster than the single-process loop.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("PYTHONWARNINGS", "ignore")  # inherited by Beam's worker processes

import argparse  # noqa: E402
import collections  # noqa: E402
import datetime  # noqa: E402
import filecmp  # noqa: E402
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
from typing import Dict, List, Optional, Sequence  # noqa: E402

warnings.filterwarnings("ignore")

from benchmarks.harness import CpuShare  # noqa: E402
from benchmarks.tokenization_speed import DATASETS, component_sentencepiece_model, machine_cpu_count  # noqa: E402

BENCHMARK = "pretraining_data_speed"
WIKITEXT = DATASETS / "wikitext2"
WIKITEXT_FILES = ("valid.txt", "test.txt")
REPEAT = 8  # the large input: valid.txt and test.txt, each linked REPEAT times
CONTENDERS = ("loop", "beam_mem1", "beam_mp1", "beam_mp2")
BEAM_ARGS = {
    "beam_mem1": ["--runner=DirectRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1"],
    "beam_mp1": ["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=1"],
    "beam_mp2": ["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"],
}
DESCRIPTIONS = {
    "loop": "single-process loop over generation.py (no Beam)",
    "beam_mem1": "PretrainingDataGen executor, DirectRunner in_memory, 1 worker",
    "beam_mp1": "PretrainingDataGen executor, DirectRunner multi_processing, 1 worker",
    "beam_mp2": "PretrainingDataGen executor, DirectRunner multi_processing, 2 workers",
}
ROUNDS = 2
QUICK_LINES = 300


# --- the contenders (each: list of input files or a pattern, model -> output dir with shards) -----------


def generate_loop(files: Sequence[str], model_path: str, out_dir: Path) -> Dict[str, int]:
    """The peer: the component's method in one process, without Beam; returns summary-like counts."""
    import numpy as np

    from components.pretraining_data import beam_pipeline, generation, spec
    from text_contract import features, pieces

    params = spec.resolve_parameters({})
    config_kwargs = spec.generation_kwargs(params)
    num_shards = params[spec.NUM_SHARDS_KEY]
    processor = beam_pipeline.load_sentencepiece(model_path)
    pieces.check_special_pieces(processor, model_path)
    word_starts = beam_pipeline.word_start_table(processor)
    config = generation.GenerationConfig(vocab_size=processor.get_piece_size(), **config_kwargs)
    reader = beam_pipeline.ReadTextFileDocuments(params[spec.MAX_DOCUMENT_CHARS_KEY])

    shards: Dict[int, List] = {shard: [] for shard in range(num_shards)}
    stats = collections.Counter()
    for path in sorted(files):
        for item in reader.process(path):
            if not isinstance(item, tuple):  # a TaggedOutput with read statistics
                stats.update(item.value)
                continue
            doc_key, texts = item
            encoded = processor.encode(list(texts))
            sentences = [(np.asarray(ids, dtype=np.int64), word_starts[ids])
                         for ids in encoded if ids]
            if len(sentences) < 2:
                stats["skipped_" + (beam_pipeline.SINGLE_SENTENCE if sentences else beam_pipeline.EMPTY)] += 1
                continue
            stats["documents_used"] += 1
            for dupe, instances in enumerate(generation.generate(sentences, config, doc_key)):
                for index, instance in enumerate(instances):
                    key = beam_pipeline.instance_key(doc_key, dupe, index)
                    shard = int.from_bytes(key[:8], "big") % num_shards
                    shards[shard].append((key, generation.serialize_instance(instance, config)))
                    stats["instances"] += 1
                    stats["tokens"] += instance.num_tokens
                    stats["swapped"] += int(instance.sentence_order_label == features.SENTENCE_ORDER_SWAPPED)
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = beam_pipeline.WriteShard(str(out_dir), num_shards)
    for shard in range(num_shards):
        list(writer.process((shard, shards[shard])))
    return {"documents_read": stats["documents_read"], "documents_used": stats["documents_used"],
            "instances_written": stats["instances"], "tokens": stats["tokens"]}


def generate_executor(pattern: str, model_dir: str, out_uri: Path, beam_args: Sequence[str]) -> Dict:
    """PretrainingDataGen's executor in text-file mode, default settings; returns its summary.json."""
    from tfx.types import standard_artifacts

    from components import artifacts
    from components.pretraining_data import executor, spec

    model = artifacts.SentencePieceModel()
    model.uri = model_dir
    output = standard_artifacts.Examples()
    output.uri = str(out_uri)
    out_uri.mkdir(parents=True, exist_ok=True)
    context = executor.Executor.Context(beam_pipeline_args=list(beam_args), tmp_dir=str(out_uri) + ".tmp",
                                        unique_id="benchmark")
    executor.Executor(context).Do({spec.SENTENCEPIECE_MODEL_KEY: [model]},
                                  {spec.PRETRAINING_EXAMPLES_KEY: [output]}, {spec.TEXT_FILE_PATTERN_KEY: pattern})
    with open(out_uri / "summary.json", encoding="utf-8") as handle:
        return json.load(handle)


def shard_dir(contender: str, out: Path) -> Path:
    """Where a contender's shard files are (the executor writes them under Split-train)."""
    return out if contender == "loop" else out / "Split-train"


def same_files(a: Path, b: Path, names: Sequence[str]) -> bool:
    return all(filecmp.cmp(a / name, b / name, shallow=False) for name in names)


# --- harness ---------------------------------------------------------------------------------------------


def run_rounds(contenders: Sequence[str], inputs: Dict[str, Dict], model: Dict, work: Path, rounds: int):
    """Times every contender on every input, alternating contenders; keeps each one's first output."""
    times = {c: {name: [] for name in inputs} for c in contenders}
    summaries: Dict[str, Dict[str, Dict]] = {c: {} for c in contenders}
    outputs: Dict[str, Dict[str, Path]] = {c: {} for c in contenders}
    model_dir = str(Path(model["model_path"]).parent)
    for round_index in range(rounds):
        for contender in (contenders if round_index % 2 == 0 else list(contenders)[::-1]):
            for name, data in inputs.items():
                out = work / f"{contender}-{name}-{round_index}"
                started = time.perf_counter()
                if contender == "loop":
                    summary = generate_loop(data["files"], model["model_path"], out)
                else:
                    summary = generate_executor(data["pattern"], model_dir, out, BEAM_ARGS[contender])
                seconds = time.perf_counter() - started
                times[contender][name].append(seconds)
                counts = {key: summary[key] for key in ("documents_read", "documents_used", "instances_written",
                                                        "tokens")}
                if summaries[contender].setdefault(name, counts) != counts:
                    raise AssertionError(f"{contender} on {name}: {counts} != earlier {summaries[contender][name]}")
                if name in outputs[contender]:
                    shutil.rmtree(out)
                else:
                    outputs[contender][name] = out
                print(f"  round {round_index + 1} {contender:<10} {name:<10} {seconds:7.2f} s  "
                      f"({counts['documents_read']:,} documents, {counts['documents_used']:,} used, "
                      f"{counts['instances_written']:,} instances, {counts['tokens']:,} tokens)", flush=True)
    return times, summaries, outputs


def compare_outputs(outputs: Dict[str, Dict[str, Path]], inputs: Dict[str, Dict]) -> Dict[str, object]:
    """Byte-identity checks between the contenders' outputs (shards; summary.json between Beam runs)."""
    results: Dict[str, object] = {}
    from components.pretraining_data import beam_pipeline, spec

    num_shards = spec.resolve_parameters({})[spec.NUM_SHARDS_KEY]
    shard_names = [os.path.basename(beam_pipeline.shard_path("", s, num_shards)) for s in range(num_shards)]
    contenders = list(outputs)
    for name in inputs:
        for contender in contenders:
            found = sorted(p.name for p in shard_dir(contender, outputs[contender][name]).iterdir()
                           if p.name.startswith(beam_pipeline.OUTPUT_FILE_PREFIX))
            if found != shard_names:
                raise AssertionError(f"{contender} on {name} wrote {found}, expected {shard_names}")
        reference = contenders[0]
        identical = {c: same_files(shard_dir(reference, outputs[reference][name]),
                                   shard_dir(c, outputs[c][name]), shard_names) for c in contenders[1:]}
        results[f"{name}_shards_byte_identical_all_contenders"] = all(identical.values())
        if "beam_mp1" in outputs and "beam_mp2" in outputs:
            results[f"{name}_byte_identical_1_vs_2_workers"] = (
                same_files(shard_dir("beam_mp1", outputs["beam_mp1"][name]),
                           shard_dir("beam_mp2", outputs["beam_mp2"][name]), shard_names)
                and same_files(outputs["beam_mp1"][name], outputs["beam_mp2"][name], ["summary.json"]))
        beams = [c for c in contenders if c != "loop"]
        results[f"{name}_summary_json_byte_identical_beam_runs"] = all(
            same_files(outputs[beams[0]][name], outputs[c][name], ["summary.json"]) for c in beams[1:])
    results["output_byte_identical_1_vs_2_workers"] = all(
        results.get(f"{name}_byte_identical_1_vs_2_workers", False) for name in inputs)
    results["output_byte_identical_all_contenders"] = all(
        results[f"{name}_shards_byte_identical_all_contenders"] for name in inputs)
    return results


def summarize(times, summaries, inputs: Dict[str, Dict]) -> Dict[str, object]:
    results: Dict[str, object] = {}
    names = list(inputs)
    small, large = names[0], names[-1]
    for contender in times:
        results[f"{contender}_description"] = DESCRIPTIONS[contender]
        for name in names:
            t = statistics.median(times[contender][name])
            counts = summaries[contender][name]
            prefix = f"{contender}_{name}"
            results[f"{prefix}_wall_s_median"] = t
            results[f"{prefix}_wall_s_all"] = [round(v, 3) for v in times[contender][name]]
            results[f"{prefix}_documents_per_s"] = counts["documents_read"] / t
            results[f"{prefix}_instances_per_s"] = counts["instances_written"] / t
            results[f"{prefix}_tokens_per_s"] = counts["tokens"] / t
            results[f"{prefix}_ratio_vs_loop"] = statistics.median(times["loop"][name]) / t
        if large != small:
            extra_t = statistics.median(times[contender][large]) - statistics.median(times[contender][small])
            prefix = f"{contender}_marginal"
            for key, label in (("documents_read", "documents"), ("instances_written", "instances"),
                               ("tokens", "tokens")):
                extra = summaries[contender][large][key] - summaries[contender][small][key]
                results[f"{prefix}_{label}_per_s"] = extra / extra_t if extra_t > 0 else None
    if large != small:
        loop_extra = statistics.median(times["loop"][large]) - statistics.median(times["loop"][small])
        for contender in times:
            extra_t = statistics.median(times[contender][large]) - statistics.median(times[contender][small])
            results[f"{contender}_marginal_ratio_vs_loop"] = (
                loop_extra / extra_t if extra_t > 0 and loop_extra > 0 else None)
    for name in names:
        for key in ("documents_read", "documents_used", "instances_written", "tokens"):
            results[f"{name}_{key}"] = summaries["loop"][name][key]
        results[f"{name}_counts_identical_all_contenders"] = len(
            {json.dumps(summaries[c][name], sort_keys=True) for c in times}) == 1
    return results


# --- output ----------------------------------------------------------------------------------------------


def _fmt(value: Optional[float], digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _rates(results, prefix: str) -> str:
    return (f"{_fmt(results[f'{prefix}_documents_per_s'])} docs/s, {_fmt(results[f'{prefix}_instances_per_s'])} "
            f"inst/s, {_fmt(results[f'{prefix}_tokens_per_s'])} tok/s")


def table_rows(results, inputs, command: str, date: str):
    from benchmarks import report

    rows = []
    contenders = [c for c in CONTENDERS[1:] if f"{c}_description" in results]
    for contender in contenders:
        for name in list(inputs)[:1]:  # the smallest input end to end; all of them are in the JSON
            label = inputs[name]["label"]
            docs, instances = results[f"{name}_documents_read"], results[f"{name}_instances_written"]
            rows.append(report.Row(
                benchmark=BENCHMARK,
                metric=(f"{label} ({docs:,} documents -> {instances:,} instances), {DESCRIPTIONS[contender]}: "
                        f"end to end, start-up included"),
                ours=_rates(results, f"{contender}_{name}"),
                peer=_rates(results, f"loop_{name}") + " (1-process loop)",
                ratio=_fmt(results[f"{contender}_{name}_ratio_vs_loop"], 2), command=command, date=date))
        if f"{contender}_marginal_documents_per_s" in results:
            rows.append(report.Row(
                benchmark=BENCHMARK,
                metric=(f"{inputs[list(inputs)[-1]]['label']} minus {inputs[list(inputs)[0]]['label']}, "
                        f"{DESCRIPTIONS[contender]}: marginal (steady state, start-up cancelled)"),
                ours=_rates(results, f"{contender}_marginal"),
                peer=_rates(results, "loop_marginal") + " (1-process loop)",
                ratio=_fmt(results[f"{contender}_marginal_ratio_vs_loop"], 2), command=command, date=date))
    rows.append(report.Row(
        benchmark=BENCHMARK,
        metric="output files byte-identical with 1 and 2 workers (and to the loop's)",
        ours=str(results["output_byte_identical_1_vs_2_workers"]).lower(),
        peer=str(results["output_byte_identical_all_contenders"]).lower() + " (loop = Beam)",
        ratio="-", command=command, date=date))
    return rows


def print_table(results, inputs) -> None:
    print()
    print(f"PretrainingDataGen on WikiText-2, {results['machine_cpu_count']} CPUs, medians of "
          f"{results['rounds']} round(s); wall time end to end (start-up included). "
          "ratio = loop time / contender time.")
    header = f"{'contender':<10} {'input':<11} {'wall s':>7} {'docs/s':>8} {'inst/s':>8} {'tokens/s':>10} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    contenders = [c for c in CONTENDERS if f"{c}_description" in results]
    for contender in contenders:
        for name in list(inputs) + (["marginal"] if len(inputs) > 1 else []):
            prefix = f"{contender}_{name}"
            wall = _fmt(results.get(f"{prefix}_wall_s_median"), 2) if name != "marginal" else ""
            print(f"{contender:<10} {name:<11} {wall:>7} {_fmt(results[f'{prefix}_documents_per_s']):>8} "
                  f"{_fmt(results[f'{prefix}_instances_per_s']):>8} {_fmt(results[f'{prefix}_tokens_per_s']):>10} "
                  f"{_fmt(results[f'{prefix}_ratio_vs_loop'], 2):>6}")
    print(f"byte-identical output, 1 vs 2 workers: {results['output_byte_identical_1_vs_2_workers']}; "
          f"all contenders (loop included): {results['output_byte_identical_all_contenders']}")
    print()


def parse_args(argv: Sequence[str]):
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{BENCHMARK}", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: the first {QUICK_LINES} lines of valid.txt, one round; writes no results")
    parser.add_argument("--rounds", type=int, default=None, help=f"timed rounds (default {ROUNDS}; quick: 1)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write the JSON or BENCHMARKS.md")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else ROUNDS)
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")
    return args


def make_inputs(work: Path, quick: bool) -> Dict[str, Dict]:
    """name -> {pattern, files, label}, smallest first; the first and last give the marginal (steady-state) rate.

    The repeated input is made of symbolic links to the dataset files (nothing is copied): a file listed
    several times is read, tokenized and generated again each time (its documents, hence its instances,
    repeat; Beam does not deduplicate).
    """
    from apache_beam.io.filesystems import FileSystems

    inputs: Dict[str, Dict] = {}
    if quick:
        (work / "quick").mkdir()
        small = work / "quick" / "valid.txt"
        small.write_text("\n".join(wikitext_lines("valid.txt")[:QUICK_LINES]) + "\n", encoding="utf-8")
        inputs["valid"] = {"pattern": str(small), "label": f"wikitext2 valid.txt, first {QUICK_LINES} lines"}
        sources, repeat = [small], 4
        name, label = "valid_x4", "the same x4 (links)"
    else:
        inputs["valid"] = {"pattern": str(WIKITEXT / "valid.txt"), "label": "wikitext2 valid.txt"}
        inputs["valid_test"] = {"pattern": str(WIKITEXT / "*.txt"), "label": "wikitext2 valid.txt + test.txt"}
        sources, repeat = [WIKITEXT / n for n in WIKITEXT_FILES], REPEAT
        name, label = f"valid_test_x{REPEAT}", f"wikitext2 (valid.txt + test.txt) x{REPEAT} (links)"
    linked = work / "repeated"
    linked.mkdir()
    for index in range(repeat):
        for source in sources:
            os.symlink(os.path.abspath(source), linked / f"r{index}-{source.name}")
    inputs[name] = {"pattern": str(linked / "*.txt"), "label": label}
    for data in inputs.values():
        data["files"] = sorted(m.path for m in FileSystems.match([data["pattern"]])[0].metadata_list)
    if not quick and sorted(map(os.path.basename, inputs["valid_test"]["files"])) != sorted(WIKITEXT_FILES):
        raise RuntimeError(f"{inputs['valid_test']['pattern']} should match {WIKITEXT_FILES}, "
                           f"got {inputs['valid_test']['files']}")
    return inputs


def wikitext_lines(name: str) -> List[str]:
    with open(WIKITEXT / name, encoding="utf-8") as handle:
        return handle.read().split("\n")


def main(argv: Sequence[str] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    logging.getLogger("apache_beam").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    import apache_beam as beam
    import numpy as np
    import sentencepiece as spm
    import tensorflow as tf
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)
    tf.get_logger().setLevel("ERROR")
    started = time.perf_counter()
    now = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()[0]

    corpus = [line for name in WIKITEXT_FILES for line in wikitext_lines(name) if line.strip()]
    print(f"[model] SentencePieceVocab executor, 8000 pieces, on the {len(corpus):,} non-blank lines of wikitext2 "
          f"valid+test (cached)", flush=True)
    model = component_sentencepiece_model("wikitext2-valid-test", corpus)
    how = "reused cached model" if model["reused"] else "trained in %.1f s" % model["train_seconds"]
    print(f"  {how}: {model['model_path']}", flush=True)

    cpu_share = CpuShare().start()
    with tempfile.TemporaryDirectory(prefix="pretraining-data-speed-") as work:
        work = Path(work)
        inputs = make_inputs(work, args.quick)
        # Untimed warm-up of the in-process contenders (imports, first Beam pipeline in this process).
        warmup = work / "warmup"
        warmup.mkdir()
        (warmup / "w.txt").write_text("\n".join(wikitext_lines("valid.txt")[:40]) + "\n", encoding="utf-8")
        generate_loop([str(warmup / "w.txt")], model["model_path"], warmup / "loop")
        generate_executor(str(warmup / "w.txt"), str(Path(model["model_path"]).parent), warmup / "beam",
                          BEAM_ARGS["beam_mem1"])
        print(f"[timing] inputs {', '.join(inputs)}; contenders {', '.join(CONTENDERS)}; {args.rounds} round(s)",
              flush=True)
        times, summaries, outputs = run_rounds(CONTENDERS, inputs, model, work, args.rounds)
        identity = compare_outputs(outputs, inputs)

    results: Dict[str, object] = {
        "benchmark": BENCHMARK,
        "date": now.isoformat(timespec="seconds"),
        "quick": bool(args.quick),
        "dataset": "wikitext2 (text-file mode: blank-line separated paragraphs are documents, lines sentences)",
        **{f"input_{name}": data["label"] for name, data in inputs.items()},
        **{f"input_{name}_files": len(data["files"]) for name, data in inputs.items()},
        "rounds": args.rounds,
        "contenders": ",".join(CONTENDERS),
        "timing": "wall time per run end to end (model load, read, generate, write; Beam: pipeline build, worker "
                  "start/stop); medians over rounds; marginal (steady state) = the work the largest input adds over "
                  "the smallest / the extra time",
        "generation_settings": "PretrainingDataGen executor defaults: max_seq_length 128, short_seq_prob 0.1, "
                               "masked_lm_prob 0.15, max_predictions_per_seq 20, max_ngram 3, dupe_factor 1, "
                               "seed 0, num_shards 4",
        "tokens_definition": "pieces in the written instances, [CLS] and [SEP] included (summary.json tokens)",
        **{f"beam_args_{c}": " ".join(args_) for c, args_ in BEAM_ARGS.items()},
        "model_vocab_size": model["summary"]["vocab_size"],
        "model_pieces": model["summary"]["pieces"],
        "model_sha256": model["summary"]["model_sha256"],
        "model_trained_by": "components.sentencepiece_vocab.executor.Executor (default settings) on wikitext2 "
                            "valid+test non-blank lines",
        "model_reused_from_cache": model["reused"],
        "model_train_seconds": model["train_seconds"],
        "machine_cpu_count": machine_cpu_count(),
        "machine_load_avg_1min_at_start": load_start,
        "apache_beam_version": beam.__version__,
        "numpy_version": np.__version__,
        "sentencepiece_version": spm.__version__,
        "python_version": sys.version.split()[0],
    }
    results.update(summarize(times, summaries, inputs))
    results.update(identity)
    results["machine_load_avg_1min_at_end"] = os.getloadavg()[0]
    results["machine_cpu_share_used_by_other_processes"] = cpu_share.stop()
    results["run_seconds"] = round(time.perf_counter() - started, 1)
    print_table(results, inputs)
    print(f"run time {results['run_seconds']:.0f} s; load average {load_start:.2f} -> "
          f"{results['machine_load_avg_1min_at_end']:.2f}; share of the machine's CPU used by other processes "
          f"meanwhile: {results['machine_cpu_share_used_by_other_processes']} (0 = quiet machine)")
    ok = results["output_byte_identical_1_vs_2_workers"] and results["output_byte_identical_all_contenders"] and all(
        results[f"{name}_counts_identical_all_contenders"] for name in inputs)
    if not ok:
        print("ERROR: the contenders' outputs differ (see the *_byte_identical_* and *_counts_identical_* keys)",
              file=sys.stderr)
    if args.quick or args.no_write:
        print("(quick/no-write run: results not written)")
        return 0 if ok else 1
    from benchmarks import report

    command = " ".join([f"python -m benchmarks.{BENCHMARK}", *map(shlex.quote, argv)])
    results["command"] = command
    path = report.write_results(BENCHMARK, results)
    md = report.update_benchmarks_md(BENCHMARK, table_rows(results, inputs, command, now.date().isoformat()))
    print(f"wrote {os.path.relpath(path, report.REPO_ROOT)} and {os.path.relpath(md, report.REPO_ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    from benchmarks import pretraining_data_speed

    sys.exit(pretraining_data_speed.main())
