"""Pretraining quality: MLM and SOP accuracy of the `tiny` preset pretrained on WikiText-2 within a fixed CPU
time budget, then SST-2 dev accuracy fine-tuned from those weights (the "from pretrained" figure next to
quality_finetune's "from scratch" one).

The run goes through the project's own pieces:

1. vocabulary: one 8,000-piece SentencePiece model (the SentencePieceVocab component's settings, as in
   quality_finetune.py, character_coverage 1.0) trained on the text of WikiText-2 `valid.txt` and of the
   SST-2 train split together. The fine-tune needs the pretraining run's vocabulary (the embeddings are
   per piece), and a vocabulary of WikiText alone would cut SST-2's movie-review words into more, rarer
   pieces; SST-2's train text is what the from-scratch run's vocabulary is trained on too. No dev or test
   text goes into it;
2. pretraining data: the PretrainingDataGen component's method in one process (its text-file reader -
   blank lines separate documents, i.e. WikiText paragraphs, split into sentences - and
   components/pretraining_data/generation.py: n-gram whole-word masking, sentence-order pairs), at
   `max_seq_length` 64 with 10 predictions at most, `dupe_factor` 10 (ten maskings and pairings of each
   paragraph). WikiText-2 here has no train split: `valid.txt` (217k words) is the pretraining text and
   `test.txt` the evaluation text (dupe_factor 1, a fixed seed);
3. pretraining: `trainer.train.train` with task `pretrain` (MLM + SOP), AdamW at 1e-3 with linear warmup over
   5% then linear decay, no gradient clipping (see CLIP_NORM), batch 64, dropout 0.1 (the fine-tune recipe's, so the warm start changes nothing but
   the weights); a probe measures steps/s and the main run gets the rest of `--budget-minutes`;
4. evaluation: MLM accuracy (over the real masked positions) and SOP accuracy on every test.txt instance,
   against chance: SOP 0.5 (the share of the majority order label is reported too), MLM the share of the
   most frequent target piece of the pretraining data among the test targets (what always predicting it
   would score);
5. fine-tune: quality_finetune.py's SST-2 run with the same recipe and budget as the recorded from-scratch
   run (its flags are this command's), the encoder warm-started from the pretraining run's `final/`
   (`TrainingConfig.warm_start_path`), tokenized with this run's vocabulary.

    python -m benchmarks.quality_pretrain --budget-minutes 12 --fine-tune-budget-minutes 20 \
        --holdout 600 --eval-every 400
    python -m benchmarks.quality_pretrain --budget-minutes 1 --fine-tune-budget-minutes 1 --quick   # smoke run

Results: benchmarks/results/quality_pretrain.json (everything) and BENCHMARKS.md rows for MLM and SOP
accuracy; the fine-tune's figures also go to quality_finetune.json (`sst2_dev_accuracy_from_pretrained`
and `sst2_from_pretrained_*`) and its BENCHMARKS.md row, next to the from-scratch one.
`--corpus zh_online_shopping` is the Chinese counterpart: pretraining on zh_online_shopping's review text
(one review a document; every 20th review held out as evaluation text), then ChnSentiCorp fine-tuned from
it. `--fine-tune-budget-minutes 0` pretrains and evaluates only (the fine-tune rows keep their last run).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import collections  # noqa: E402
import dataclasses  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Dict, List, Optional, Sequence, Tuple  # noqa: E402

warnings.filterwarnings("ignore")

from benchmarks import quality_finetune as finetune  # noqa: E402
from benchmarks import report  # noqa: E402

BENCHMARK = "quality_pretrain"
WIKITEXT = finetune.DATASETS / "wikitext2"
ZH_ONLINE_SHOPPING = finetune.DATASETS / "zh_online_shopping" / "online_shopping_10_cats.csv"
PRETRAIN_FILE = "pretrain.txt"
EVAL_FILE = "eval.txt"
# Every ZH_EVAL_EVERY-th review of zh_online_shopping is evaluation text, the rest pretraining text.
ZH_EVAL_EVERY = 20


@dataclasses.dataclass(frozen=True)
class Corpus:
    """A pretraining text, its evaluation text and the labelled task fine-tuned from the result."""

    name: str
    pretrain_text: str  # descriptions, for the results and BENCHMARKS.md
    eval_text: str
    fine_tune_dataset: str  # a quality_finetune dataset

    @property
    def key_prefix(self) -> str:
        # WikiText-2 was the only corpus first: its figures keep their unprefixed keys.
        return "" if self.name == "wikitext2" else f"{self.name}_"


CORPORA = {
    "wikitext2": Corpus("wikitext2", "wikitext2 valid.txt", "wikitext2 test.txt", "sst2"),
    "zh_online_shopping": Corpus(
        "zh_online_shopping", f"zh_online_shopping reviews (all but every {ZH_EVAL_EVERY}th)",
        f"zh_online_shopping reviews (every {ZH_EVAL_EVERY}th)", "chnsenticorp"),
}

PRESET = "tiny"
VOCAB_SIZE = 8000
MAX_SEQ_LENGTH = 64
MAX_PREDICTIONS = 10
DUPE_FACTOR = 10
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
WARMUP_FRACTION = 0.05
DROPOUT = 0.1
OPTIMIZER = "adamw"
# No global-norm clipping: with AdamW and clipping at 1.0 the SOP loss sat at ln 2 (0.5088 SOP accuracy after a
# 12-minute run). On synthetic pairs whose order one token gives away, clipping at 1.0 left SOP at 0.67 after
# 300 steps where the same run without clipping reached 0.98: the MLM gradient's norm sets the clip factor.
CLIP_NORM = 0.0
PROBE_STEPS = 40
STEP_GRANULARITY = 50
QUICK_LINES = 400


# --- data ------------------------------------------------------------------------------------------------


def wikitext_lines(name: str, limit: Optional[int] = None) -> List[str]:
    with open(WIKITEXT / name, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    return lines[:limit] if limit else lines


def zh_review_documents(limit: Optional[int] = None) -> Tuple[List[str], List[str]]:
    """(pretraining lines, evaluation lines) from zh_online_shopping's review column: one review a document
    (blank lines between), split by review number. Labels and categories are not used."""
    import csv

    pretrain, evaluation = [], []
    with open(ZH_ONLINE_SHOPPING, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            if limit and number >= limit:
                break
            review = (row.get("review") or "").replace("\ufeff", "").strip()
            if not review:
                continue
            (evaluation if number % ZH_EVAL_EVERY == 0 else pretrain).extend([review, ""])
    return pretrain, evaluation


def corpus_lines(corpus: Corpus, limit: Optional[int]) -> Tuple[List[str], List[str]]:
    if corpus.name == "wikitext2":
        return wikitext_lines("valid.txt", limit), wikitext_lines("test.txt", limit)
    return zh_review_documents(limit)


def generate_records(text_path: Path, model_path: Path, out_path: Path, dupe_factor: int, seed: int,
                     max_seq_length: int = MAX_SEQ_LENGTH, max_predictions: int = MAX_PREDICTIONS) -> Dict:
    """The PretrainingDataGen method in one process (its reader and generation.py) -> gzipped tf.Examples.

    Returns counts and the masked-target piece histogram (for the MLM chance level)."""
    import numpy as np
    import tensorflow as tf

    from components.pretraining_data import beam_pipeline, generation, spec
    from text_contract import features, pieces

    params = spec.resolve_parameters({"max_seq_length": max_seq_length, "max_predictions_per_seq": max_predictions,
                                      "dupe_factor": dupe_factor, "seed": seed})
    processor = beam_pipeline.load_sentencepiece(str(model_path))
    pieces.check_special_pieces(processor, str(model_path))
    word_starts = beam_pipeline.word_start_table(processor)
    config = generation.GenerationConfig(vocab_size=processor.get_piece_size(), **spec.generation_kwargs(params))
    reader = beam_pipeline.ReadTextFileDocuments(params[spec.MAX_DOCUMENT_CHARS_KEY])
    stats = collections.Counter()
    targets = collections.Counter()
    with tf.io.TFRecordWriter(str(out_path), "GZIP") as writer:
        for item in reader.process(str(text_path)):
            if not isinstance(item, tuple):  # a TaggedOutput with read statistics
                stats.update(item.value)
                continue
            doc_key, texts = item
            sentences = [(np.asarray(ids, dtype=np.int64), word_starts[ids])
                         for ids in processor.encode(list(texts)) if ids]
            if len(sentences) < 2:
                stats["skipped_short_documents"] += 1
                continue
            stats["documents_used"] += 1
            for instances in generation.generate(sentences, config, doc_key):
                for instance in instances:
                    writer.write(generation.serialize_instance(instance, config))
                    stats["instances"] += 1
                    stats["tokens"] += instance.num_tokens
                    stats["predictions"] += len(instance.masked_lm_positions)
                    stats["swapped"] += int(instance.sentence_order_label == features.SENTENCE_ORDER_SWAPPED)
                    targets.update(instance.masked_lm_ids.tolist())
    return {"counts": dict(stats), "targets": targets}


# --- training and evaluation -------------------------------------------------------------------------------


def pretraining_config(model_dir: Path, albert_config_path: Path, train_steps: int, checkpoint_every: int):
    from trainer.training_config import TrainingConfig

    return TrainingConfig(
        task="pretrain", model_dir=str(model_dir), albert_config_path=str(albert_config_path), preset=PRESET,
        max_seq_length=MAX_SEQ_LENGTH, max_predictions_per_seq=MAX_PREDICTIONS, global_batch_size=BATCH_SIZE,
        train_steps=train_steps, checkpoint_every_steps=checkpoint_every, keep_checkpoints=1,
        learning_rate=LEARNING_RATE, warmup_steps=int(WARMUP_FRACTION * train_steps), optimizer=OPTIMIZER,
        clip_norm=CLIP_NORM,
        precision="float32", strategy="default", log_every_steps=10, seed=42,
    )


def evaluate(model, records: Path, instances: int) -> Dict[str, float]:
    """MLM accuracy (real predictions only) and SOP accuracy over the first `instances // BATCH_SIZE` batches."""
    from trainer import input_pipeline

    dataset = input_pipeline.pretraining_dataset(str(records), BATCH_SIZE, MAX_SEQ_LENGTH, MAX_PREDICTIONS,
                                                 shuffle=False)
    steps = instances // BATCH_SIZE
    logs = model.evaluate(dataset, steps=steps, verbose=0, return_dict=True)
    return {"mlm_accuracy": logs["mlm_logits_accuracy"], "sop_accuracy": logs["sop_logits_accuracy"],
            "loss": logs["loss"], "instances": steps * BATCH_SIZE}


def pretrain(corpus: Corpus, budget_minutes: float, work: Path, quick: bool) -> Dict:
    from trainer.presets import get_preset
    from trainer.train import FINAL_DIR, train

    started = time.perf_counter()
    limit = QUICK_LINES if quick else None
    pretrain_lines, eval_lines = corpus_lines(corpus, limit)
    task_texts, _ = finetune.read_split(corpus.fine_tune_dataset, "train")
    if quick:
        task_texts = task_texts[:finetune.QUICK_TRAIN_ROWS]
    text_dir = work / "text"
    text_dir.mkdir()
    (text_dir / PRETRAIN_FILE).write_text("\n".join(pretrain_lines) + "\n", encoding="utf-8")
    (text_dir / EVAL_FILE).write_text("\n".join(eval_lines) + "\n", encoding="utf-8")

    vocab_texts = [line for line in pretrain_lines if line.strip()] + list(task_texts)
    vocab_text = f"{corpus.pretrain_text} + {corpus.fine_tune_dataset} train"
    print(f"[pretrain] training the {VOCAB_SIZE}-piece vocabulary on {len(vocab_texts)} lines ({vocab_text})",
          flush=True)
    coverage = finetune.DATASET_SETTINGS[corpus.fine_tune_dataset]["character_coverage"]
    vocab = finetune.train_vocabulary(vocab_texts, coverage, work / "spm.model", VOCAB_SIZE)

    data_started = time.perf_counter()
    train_data = generate_records(text_dir / PRETRAIN_FILE, work / "spm.model", work / "pretrain.tfrecord.gz",
                                  DUPE_FACTOR, seed=0)
    eval_data = generate_records(text_dir / EVAL_FILE, work / "spm.model", work / "eval.tfrecord.gz", 1, seed=1)
    data_seconds = time.perf_counter() - data_started
    train_counts, eval_counts = train_data["counts"], eval_data["counts"]
    print(f"[pretrain] vocabulary {vocab['seconds']:.0f}s; data {data_seconds:.0f}s: {train_counts['instances']} "
          f"training instances, {eval_counts['instances']} evaluation instances", flush=True)

    albert_config = get_preset(PRESET).replace(
        vocab_size=vocab["pieces"], hidden_dropout_prob=DROPOUT, attention_probs_dropout_prob=DROPOUT)
    albert_config.to_json_file(str(work / "albert_config.json"))

    budget_s = budget_minutes * 60
    training_started = time.perf_counter()
    probe = pretraining_config(work / "probe", work / "albert_config.json", PROBE_STEPS, PROBE_STEPS)
    train(probe, str(work / "pretrain.tfrecord.gz"))
    probe_wall = time.perf_counter() - training_started
    with open(work / "probe" / "progress.json", encoding="utf-8") as handle:
        steps_per_second = json.load(handle)["examples_per_second"] / BATCH_SIZE
    fixed_seconds = max(probe_wall - PROBE_STEPS / steps_per_second, 0.0)
    available = budget_s - probe_wall - fixed_seconds
    train_steps = int(0.92 * available * steps_per_second)
    granularity = 4 * STEP_GRANULARITY if train_steps >= 4 * STEP_GRANULARITY else STEP_GRANULARITY
    train_steps = max(train_steps // granularity * granularity, STEP_GRANULARITY)
    checkpoint_every = finetune.checkpoint_interval(train_steps)
    print(f"[pretrain] probe: {steps_per_second:.2f} steps/s, fixed cost {fixed_seconds:.0f}s -> {train_steps} steps "
          f"({train_steps * BATCH_SIZE / train_counts['instances']:.2f} passes)", flush=True)

    main_started = time.perf_counter()
    config = pretraining_config(work / "model", work / "albert_config.json", train_steps, checkpoint_every)
    result = train(config, str(work / "pretrain.tfrecord.gz"))
    main_wall = time.perf_counter() - main_started
    training_wall = time.perf_counter() - training_started

    evaluation = evaluate(result.model, work / "eval.tfrecord.gz", eval_counts["instances"])
    on_train = evaluate(result.model, work / "pretrain.tfrecord.gz", min(train_counts["instances"], 4096))
    most_common, _ = train_data["targets"].most_common(1)[0]
    eval_targets = sum(eval_data["targets"].values())
    mlm_chance = eval_data["targets"][most_common] / max(eval_targets, 1)
    swapped_share = eval_counts.get("swapped", 0) / max(eval_counts["instances"], 1)
    with open(work / "model" / "metrics.json", encoding="utf-8") as handle:
        metrics = json.load(handle)
    total_wall = time.perf_counter() - started
    print(f"[pretrain] {corpus.eval_text}: MLM accuracy {evaluation['mlm_accuracy']:.4f} (chance {mlm_chance:.4f}), "
          f"SOP accuracy {evaluation['sop_accuracy']:.4f} (chance 0.5) after {train_steps} steps; "
          f"training {training_wall / 60:.1f} min, total {total_wall / 60:.1f} min", flush=True)
    import sentencepiece as spm

    most_common_piece = spm.SentencePieceProcessor(model_file=str(work / "spm.model")).id_to_piece(most_common)
    return {
        "final_dir": work / "model" / FINAL_DIR,
        "vocabulary": work / "spm.model",
        "results": {
            "mlm_accuracy": round(evaluation["mlm_accuracy"], 4),
            "sop_accuracy": round(evaluation["sop_accuracy"], 4),
            "eval_loss": round(evaluation["loss"], 4),
            "mlm_chance": round(mlm_chance, 4),
            "mlm_chance_piece": most_common_piece,
            "sop_chance": 0.5,
            "sop_majority_share": round(max(swapped_share, 1 - swapped_share), 4),
            "eval_instances": evaluation["instances"],
            "eval_predictions": eval_targets,
            "train_mlm_accuracy": round(on_train["mlm_accuracy"], 4),
            "train_sop_accuracy": round(on_train["sop_accuracy"], 4),
            "train_instances": train_counts["instances"],
            "train_tokens": train_counts["tokens"],
            "train_documents": train_counts.get("documents_used", 0),
            "train_steps": train_steps,
            "train_passes": round(train_steps * BATCH_SIZE / train_counts["instances"], 3),
            "steps_per_second_probe": round(steps_per_second, 3),
            "steps_per_second_main": round(metrics.get("examples_per_second", 0) / BATCH_SIZE, 3),
            "final_train_metrics": {k: round(v, 4) for k, v in metrics.get("metrics", {}).items()},
            "budget_minutes": budget_minutes,
            "training_wall_minutes": round(training_wall / 60, 2),
            "main_run_wall_minutes": round(main_wall / 60, 2),
            "vocab_wall_seconds": round(vocab["seconds"], 1),
            "data_wall_seconds": round(data_seconds, 1),
            "wall_minutes": round(total_wall / 60, 2),
            "vocab_pieces": vocab["pieces"],
            "vocab_lines": vocab["lines"],
            "vocab_text": vocab_text,
            "pretrain_text": corpus.pretrain_text,
            "eval_text": corpus.eval_text,
            "clip_norm": CLIP_NORM,
            "preset": PRESET,
            "max_seq_length": MAX_SEQ_LENGTH,
            "max_predictions_per_seq": MAX_PREDICTIONS,
            "dupe_factor": DUPE_FACTOR,
            "masking": "static, n-gram whole-word (generation.py), as PretrainingDataGen writes it",
            "global_batch_size": BATCH_SIZE,
            "learning_rate": LEARNING_RATE,
            "warmup_fraction": WARMUP_FRACTION,
            "dropout": DROPOUT,
            "optimizer": OPTIMIZER,
            "precision": "float32",
            "date": datetime.date.today().isoformat(),
        },
    }


# --- output ----------------------------------------------------------------------------------------------


def table_rows(results: Dict) -> List[report.Row]:
    """Two rows (MLM, SOP) for every corpus with figures in `results` (keys prefixed by `Corpus.key_prefix`)."""
    rows = []
    for corpus in CORPORA.values():
        p = corpus.key_prefix
        if f"{p}mlm_accuracy" not in results:
            continue
        budget = results[f"{p}budget_minutes"]
        budget = int(budget) if float(budget).is_integer() else budget
        where = (f"{results[f'{p}preset']} pretrained on {results[f'{p}pretrain_text']} "
                 f"({results[f'{p}train_steps']} steps, {budget}-minute CPU training budget, "
                 f"{results[f'{p}wall_minutes']:g} min wall in all), on {results[f'{p}eval_text']}")
        command, date = results[f"{p}command"], results[f"{p}date"]
        rows += [
            report.Row(BENCHMARK, f"MLM accuracy, {where} (peer = chance: always the most frequent piece)",
                       f"{results[f'{p}mlm_accuracy']:.4f}", f"{results[f'{p}mlm_chance']:.4f}", "-", command, date),
            report.Row(BENCHMARK, f"SOP accuracy, {where} (peer = chance)",
                       f"{results[f'{p}sop_accuracy']:.4f}", f"{results[f'{p}sop_chance']:.2f}", "-", command, date),
        ]
    return rows


def merge_results(corpus: Corpus, results: Dict) -> Dict:
    """The results file with this corpus's keys replaced (other corpora's kept)."""
    path = report.RESULTS_DIR / f"{BENCHMARK}.json"
    previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    other_prefixes = [c.key_prefix for c in CORPORA.values() if c.key_prefix and c is not corpus]

    def is_ours(key: str) -> bool:
        if corpus.key_prefix:
            return key.startswith(corpus.key_prefix)
        return not any(key.startswith(prefix) for prefix in other_prefixes)

    merged = {key: value for key, value in previous.items() if not is_ours(key)}
    merged.update({f"{corpus.key_prefix}{key}": value for key, value in results.items()})
    merged.update(finetune.machine_keys())
    return merged


def parse_args(argv: Optional[Sequence[str]]):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality_pretrain", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="wikitext2",
                        help="wikitext2 (fine-tune: sst2) or zh_online_shopping (fine-tune: chnsenticorp)")
    parser.add_argument("--budget-minutes", type=float, required=True,
                        help="CPU minutes for pretraining (probe + main run); vocabulary and data come on top")
    parser.add_argument("--fine-tune-budget-minutes", type=float, required=True,
                        help="the fine-tune's budget (quality_finetune's --budget-minutes); 0: no fine-tune")
    finetune.add_recipe_arguments(parser)
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run on the first {QUICK_LINES} lines of each file; writes nothing")
    parser.add_argument("--keep-work-dir", action="store_true", help="keep the vocabulary, records and models")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    corpus = CORPORA[args.corpus]
    dataset = corpus.fine_tune_dataset
    recipe = finetune.recipe_from_args(args)
    work = Path(tempfile.mkdtemp(prefix="quality_pretrain-"))
    tuned = None
    try:
        pretrained = pretrain(corpus, args.budget_minutes, work, args.quick)
        results = dict(pretrained["results"])
        if args.fine_tune_budget_minutes > 0:
            fine_tune_work = work / "fine-tune"
            fine_tune_work.mkdir()
            started = time.perf_counter()
            prepared = finetune.prepare(dataset, recipe, args.quick, fine_tune_work,
                                        vocabulary=pretrained["vocabulary"])
            tuned = finetune.fine_tune(dataset, recipe, args.fine_tune_budget_minutes, fine_tune_work,
                                       prepared, warm_start=pretrained["final_dir"])
            fine_tune_wall = time.perf_counter() - started
    finally:
        if args.keep_work_dir:
            print(f"work dir kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    prefix = f"{dataset}_from_pretrained_"
    if tuned is not None:
        tuned.update({
            f"{prefix}total_wall_minutes": round(fine_tune_wall / 60, 2),
            f"{prefix}tokenize_wall_seconds": round(prepared["tokenize_seconds"], 1),
            f"{prefix}train_examples": prepared["train_rows"],
            f"{prefix}holdout_examples": prepared["holdout_rows"],
            f"{prefix}vocabulary": results["vocab_text"],
            f"{prefix}date": results["date"],
            f"{dataset}_from_pretrained_source": (
                f"warm-started from quality_pretrain ({results['train_steps']} steps on {results['pretrain_text']}, "
                f"{results['budget_minutes']:g}-minute budget; vocabulary {results['vocab_text']})"),
        })
        tuned.update({f"{prefix}{field.name}": getattr(recipe, field.name) for field in dataclasses.fields(recipe)})
        results.update({f"fine_tune_{key}": value for key, value in tuned.items()})
    if args.quick:
        print(json.dumps(results, indent=2, sort_keys=True, default=str))
        return 0
    flags = ["--budget-minutes", f"{args.budget_minutes:g}", "--fine-tune-budget-minutes",
             f"{args.fine_tune_budget_minutes:g}", *recipe.flags()]
    if corpus.name != "wikitext2":
        flags = ["--corpus", corpus.name, *flags]
    command = " ".join(["python -m benchmarks.quality_pretrain", *flags])
    results["command"] = command
    merged = merge_results(corpus, results)
    path = report.write_results(BENCHMARK, merged)
    report.update_benchmarks_md(BENCHMARK, table_rows(merged))
    print(f"wrote {path} and {report.BENCHMARKS_MD}")
    if tuned is not None:
        tuned[f"{prefix}command"] = command
        finetune.record(tuned)
    return 0


if __name__ == "__main__":
    sys.exit(main())
