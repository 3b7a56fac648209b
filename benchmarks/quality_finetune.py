"""Fine-tuning quality: dev accuracy of the `tiny` preset trained from scratch on SST-2 or ChnSentiCorp
within a fixed CPU time budget.

The run goes through the project's own pieces, as the pipeline would:

1. vocabulary: an 8,000-piece SentencePiece model trained on the train split's text with the settings of
   the SentencePieceVocab component (its executor's `_train_sentencepiece`: <pad>=0, <unk>=1, [CLS],
   [SEP], [MASK] as control pieces, no BOS/EOS, identity normalization after
   components/sentencepiece_vocab/normalize.py, lines deduplicated and sorted); character_coverage is
   1.0 for English and 0.9995 (the component's default) for Chinese. The Beam part of the executor
   (reading tf.Examples, held-out set, sampling) is skipped: it changes nothing here but the start-up time;
2. tokenization: trainer/preprocessing.py's plain TensorFlow functions (`load_tokenizer`, `encode_texts`:
   the very graph Transform saves) to `max_seq_length` 64, written as gzipped classification TFRecords
   (`token_ids`, `segment_ids`, `padding_mask`, `label_ids`; int64). Labels: SST-2 `sentence<TAB>label`
   with a header, 0/1; ChnSentiCorp no header, `text<TAB>positive|negative` -> 1/0;
3. training: `trainer.train.train` (task `classify`, AdamW, linear warmup over 10% then linear decay,
   batch 64, dropout 0.1 in the encoder and the classifier head), from randomly initialized weights.
   A short probe run measures steady-state steps/s and the fixed cost (graph building, start-up); the
   main run then gets as many steps as fit in what is left of `--budget-minutes` (the budget covers the
   probe and the main run; vocabulary and tokenization come on top and are reported separately);
4. evaluation: predictions over the whole dev split, argmax against the labels.

    python -m benchmarks.quality_finetune --dataset sst2 --budget-minutes 12
    python -m benchmarks.quality_finetune --dataset chnsenticorp --budget-minutes 6
    python -m benchmarks.quality_finetune --dataset sst2 --budget-minutes 1 --quick   # smoke run, writes nothing

Results go to benchmarks/results/quality_finetune.json (flat; keys prefixed by the dataset, so the two
datasets' results live side by side) and one BENCHMARKS.md row per dataset run so far.

TODO (issue 4, items 6b/6c): the from-pretrained variant: warm-start the same fine-tuning from a
WikiText-2 (English) / zh_online_shopping (Chinese) pretraining run of `tiny` with the same vocabulary
(`TrainingConfig.warm_start_path` = that run's `final/`), and report `<dataset>_dev_accuracy_from_pretrained`
next to the from-scratch figure.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Dict, List, Optional, Sequence, Tuple  # noqa: E402

warnings.filterwarnings("ignore")

from benchmarks import report  # noqa: E402

BENCHMARK = "quality_finetune"
REPO_ROOT = Path(__file__).resolve().parent.parent
DATASETS = REPO_ROOT / ".." / "shared" / "datasets"

VOCAB_SIZE = 8000
MAX_SEQ_LENGTH = 64
PRESET = "tiny"
BATCH_SIZE = 64
DROPOUT = 0.1
LEARNING_RATE = 1e-3
WARMUP_FRACTION = 0.1
PROBE_STEPS = 60
# The main run's checkpoint interval: train_steps is rounded down to a multiple of it.
STEP_GRANULARITY = 50
TOKENIZE_BATCH = 1024
QUICK_TRAIN_ROWS = 2000

# Per dataset: files, header, label parsing, coverage, and the accuracy target of issue 4.
DATASET_SETTINGS = {
    "sst2": {"dir": "sst2", "header": True, "labels": {"0": 0, "1": 1}, "character_coverage": 1.0,
             "target": 0.80},
    "chnsenticorp": {"dir": "chnsenticorp", "header": False, "labels": {"negative": 0, "positive": 1},
                     "character_coverage": 0.9995, "target": 0.85},
}


# --- data ------------------------------------------------------------------------------------------------


def read_split(dataset: str, split: str) -> Tuple[List[str], List[int]]:
    """(texts, label ids) of `<dataset>/<split>.tsv`; the label is the field after the last tab."""
    settings = DATASET_SETTINGS[dataset]
    path = DATASETS / settings["dir"] / f"{split}.tsv"
    texts, labels = [], []
    skipped = 0
    with open(path, encoding="utf-8") as handle:
        if settings["header"]:
            next(handle)
        for row in handle:
            row = row.rstrip("\n").rstrip("\r")
            if "\t" not in row:
                skipped += 1
                continue
            text, label = row.rsplit("\t", 1)
            label = label.strip()
            if label not in settings["labels"]:
                skipped += 1
                continue
            texts.append(text)
            labels.append(settings["labels"][label])
    if skipped:
        print(f"{path}: skipped {skipped} rows without a known label", file=sys.stderr)
    return texts, labels


def train_vocabulary(texts: Sequence[str], character_coverage: float, out_path: Path) -> Dict:
    """The component's SentencePiece training on `texts`; writes spm.model to `out_path`."""
    import sentencepiece as spm

    from components.sentencepiece_vocab import executor as executor_lib
    from components.sentencepiece_vocab import spec as spec_lib
    from components.sentencepiece_vocab.normalize import normalize

    params = spec_lib.resolve_parameters({
        spec_lib.TEXT_FEATURES_KEY: json.dumps(["text"]),
        spec_lib.VOCAB_SIZE_KEY: VOCAB_SIZE,
        spec_lib.CHARACTER_COVERAGE_KEY: character_coverage,
    })
    max_chars = params[spec_lib.MAX_SENTENCE_CHARS_KEY]
    lines = set()
    for text in texts:
        for line in text.splitlines():
            line = normalize(line[:max_chars], params[spec_lib.LOWER_CASE_KEY])[:max_chars].rstrip(" ")
            if line:
                lines.add(line)
    lines = sorted(lines)
    started = time.perf_counter()
    model_proto = executor_lib.Executor()._train_sentencepiece(params, lines)  # pylint: disable=protected-access
    executor_lib._check_special_pieces(model_proto)  # pylint: disable=protected-access
    out_path.write_bytes(model_proto)
    return {
        "seconds": time.perf_counter() - started,
        "lines": len(lines),
        "pieces": spm.SentencePieceProcessor(model_proto=model_proto).get_piece_size(),
        "model_type": params[spec_lib.MODEL_TYPE_KEY],
    }


def write_records(model_path: Path, texts: Sequence[str], labels: Sequence[int], out_path: Path) -> Dict:
    """Tokenizes with trainer/preprocessing.py's graph; writes gzipped classification tf.Examples."""
    import numpy as np
    import tensorflow as tf

    from trainer import data_contract as dc
    from trainer import preprocessing

    tokenizer = preprocessing.load_tokenizer(str(model_path))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def encode(batch):
        return preprocessing.encode_texts(tokenizer, [batch], MAX_SEQ_LENGTH)

    def int64(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    real_pieces = truncated = unknown = 0
    with tf.io.TFRecordWriter(str(out_path), "GZIP") as writer:
        for start in range(0, len(texts), TOKENIZE_BATCH):
            encoded = {k: v.numpy() for k, v in encode(tf.constant(list(texts[start:start + TOKENIZE_BATCH]))).items()}
            lengths = encoded[dc.PADDING_MASK].sum(axis=1)
            real_pieces += int(lengths.sum())
            truncated += int((lengths == MAX_SEQ_LENGTH).sum())
            unknown += int((encoded[dc.TOKEN_IDS] == dc.UNK_ID).sum())
            for i in range(encoded[dc.TOKEN_IDS].shape[0]):
                features = {name: int64(encoded[name][i]) for name in (dc.TOKEN_IDS, dc.SEGMENT_IDS, dc.PADDING_MASK)}
                features[dc.LABEL_IDS] = int64([labels[start + i]])
                writer.write(tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString())
    return {"examples": len(texts), "mean_length": real_pieces / max(len(texts), 1),
            "full_length_share": truncated / max(len(texts), 1),
            "unknown_rate": unknown / max(real_pieces, 1), "majority_share": float(np.mean(labels)) if labels else 0.0}


# --- training --------------------------------------------------------------------------------------------


def training_config(model_dir: Path, albert_config_path: Path, train_steps: int, checkpoint_every: int):
    from trainer.training_config import TrainingConfig

    return TrainingConfig(
        task="classify",
        model_dir=str(model_dir),
        albert_config_path=str(albert_config_path),
        preset=PRESET,
        num_classes=2,
        max_seq_length=MAX_SEQ_LENGTH,
        global_batch_size=BATCH_SIZE,
        train_steps=train_steps,
        checkpoint_every_steps=checkpoint_every,
        keep_checkpoints=1,
        learning_rate=LEARNING_RATE,
        warmup_steps=int(WARMUP_FRACTION * train_steps),
        optimizer="auto",
        precision="float32",
        strategy="default",
        classifier_dropout=DROPOUT,
        log_every_steps=10,
        seed=42,
    )


def checkpoint_interval(train_steps: int) -> int:
    """The largest multiple of STEP_GRANULARITY that divides `train_steps` into at least 4 intervals."""
    candidates = [n for n in range(STEP_GRANULARITY, train_steps // 4 + 1, STEP_GRANULARITY) if train_steps % n == 0]
    return max(candidates) if candidates else train_steps


def dev_accuracy(model, dev_records: Path) -> Tuple[float, int]:
    """argmax of the model's logits over every dev example against its label."""
    import numpy as np

    from trainer import input_pipeline

    dataset = input_pipeline.classification_dataset(
        str(dev_records), 256, MAX_SEQ_LENGTH, shuffle=False, repeat=False)
    correct = total = 0
    for inputs, targets in dataset:
        logits = model(inputs, training=False)
        logits = logits["logits"] if isinstance(logits, dict) else logits
        predicted = np.argmax(np.asarray(logits), axis=-1)
        labels = targets["logits"].numpy()
        correct += int((predicted == labels).sum())
        total += len(labels)
    return correct / max(total, 1), total


def run(dataset: str, budget_minutes: float, quick: bool, work: Path) -> Dict:
    settings = DATASET_SETTINGS[dataset]
    started = time.perf_counter()
    train_texts, train_labels = read_split(dataset, "train")
    dev_texts, dev_labels = read_split(dataset, "dev")
    if quick:
        train_texts, train_labels = train_texts[:QUICK_TRAIN_ROWS], train_labels[:QUICK_TRAIN_ROWS]

    print(f"[{dataset}] training the {VOCAB_SIZE}-piece vocabulary on {len(train_texts)} texts", flush=True)
    vocab = train_vocabulary(train_texts, settings["character_coverage"], work / "spm.model")

    from trainer.presets import get_preset

    albert_config = get_preset(PRESET).replace(
        vocab_size=vocab["pieces"], hidden_dropout_prob=DROPOUT, attention_probs_dropout_prob=DROPOUT)
    albert_config.to_json_file(str(work / "albert_config.json"))

    tokenize_started = time.perf_counter()
    train_stats = write_records(work / "spm.model", train_texts, train_labels, work / "train.tfrecord.gz")
    dev_stats = write_records(work / "spm.model", dev_texts, dev_labels, work / "dev.tfrecord.gz")
    tokenize_seconds = time.perf_counter() - tokenize_started
    print(f"[{dataset}] vocabulary {vocab['seconds']:.0f}s ({vocab['pieces']} pieces), tokenization "
          f"{tokenize_seconds:.0f}s; mean length {train_stats['mean_length']:.1f} pieces", flush=True)

    from trainer.train import train

    budget_s = budget_minutes * 60
    training_started = time.perf_counter()
    # Probe: steady-state steps/s (the last logging window) and the fixed cost of a run.
    probe = training_config(work / "probe", work / "albert_config.json", PROBE_STEPS, PROBE_STEPS)
    train(probe, str(work / "train.tfrecord.gz"))
    probe_wall = time.perf_counter() - training_started
    with open(work / "probe" / "progress.json", encoding="utf-8") as handle:
        steps_per_second = json.load(handle)["examples_per_second"] / BATCH_SIZE
    fixed_seconds = max(probe_wall - PROBE_STEPS / steps_per_second, 0.0)
    # The main run's own checkpoints and final save add a little; keep 8% back for them.
    available = budget_s - probe_wall - fixed_seconds
    train_steps = int(0.92 * available * steps_per_second)
    # A multiple of 4 x STEP_GRANULARITY where possible, so that it splits into 4 checkpoint intervals.
    granularity = 4 * STEP_GRANULARITY if train_steps >= 4 * STEP_GRANULARITY else STEP_GRANULARITY
    train_steps = max(train_steps // granularity * granularity, STEP_GRANULARITY)
    checkpoint_every = checkpoint_interval(train_steps)
    print(f"[{dataset}] probe: {steps_per_second:.2f} steps/s, fixed cost {fixed_seconds:.0f}s -> "
          f"{train_steps} steps ({train_steps * BATCH_SIZE / len(train_texts):.2f} epochs)", flush=True)

    main_started = time.perf_counter()
    config = training_config(work / "model", work / "albert_config.json", train_steps, checkpoint_every)
    result = train(config, str(work / "train.tfrecord.gz"))
    main_wall = time.perf_counter() - main_started
    training_wall = time.perf_counter() - training_started

    accuracy, dev_examples = dev_accuracy(result.model, work / "dev.tfrecord.gz")
    with open(work / "model" / "metrics.json", encoding="utf-8") as handle:
        metrics = json.load(handle)
    total_wall = time.perf_counter() - started
    print(f"[{dataset}] dev accuracy {accuracy:.4f} on {dev_examples} examples after {train_steps} steps; "
          f"training {training_wall / 60:.1f} min, total {total_wall / 60:.1f} min", flush=True)

    final_loss = (result.history.get("loss") or [None])[-1]
    final_train_accuracy = (result.history.get("accuracy") or result.history.get("logits_accuracy") or [None])[-1]
    return {
        f"{dataset}_dev_accuracy_from_scratch": round(accuracy, 4),
        f"{dataset}_dev_examples": dev_examples,
        f"{dataset}_dev_majority_share": round(max(dev_stats["majority_share"], 1 - dev_stats["majority_share"]), 4),
        f"{dataset}_target_dev_accuracy": settings["target"],
        f"{dataset}_train_examples": len(train_texts),
        f"{dataset}_train_steps": train_steps,
        f"{dataset}_train_epochs": round(train_steps * BATCH_SIZE / len(train_texts), 3),
        f"{dataset}_steps_per_second_probe": round(steps_per_second, 3),
        f"{dataset}_steps_per_second_main": round(metrics.get("examples_per_second", 0) / BATCH_SIZE, 3),
        f"{dataset}_final_train_loss": round(final_loss, 4) if final_loss is not None else None,
        f"{dataset}_final_train_accuracy": round(final_train_accuracy, 4) if final_train_accuracy is not None else None,
        f"{dataset}_budget_minutes": budget_minutes,
        f"{dataset}_training_wall_minutes": round(training_wall / 60, 2),
        f"{dataset}_main_run_wall_minutes": round(main_wall / 60, 2),
        f"{dataset}_vocab_wall_seconds": round(vocab["seconds"], 1),
        f"{dataset}_tokenize_wall_seconds": round(tokenize_seconds, 1),
        f"{dataset}_wall_minutes": round(total_wall / 60, 2),
        f"{dataset}_vocab_pieces": vocab["pieces"],
        f"{dataset}_vocab_lines": vocab["lines"],
        f"{dataset}_character_coverage": settings["character_coverage"],
        f"{dataset}_train_mean_pieces": round(train_stats["mean_length"], 2),
        f"{dataset}_train_full_length_share": round(train_stats["full_length_share"], 4),
        f"{dataset}_dev_unknown_rate": round(dev_stats["unknown_rate"], 5),
        f"{dataset}_date": datetime.date.today().isoformat(),
    }


# --- output ----------------------------------------------------------------------------------------------


def _previous_results() -> Dict:
    path = report.RESULTS_DIR / f"{BENCHMARK}.json"
    if path.exists():
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    return {}


def table_rows(results: Dict) -> List[report.Row]:
    rows = []
    for dataset in DATASET_SETTINGS:
        key = f"{dataset}_dev_accuracy_from_scratch"
        if key not in results:
            continue
        budget = results[f"{dataset}_budget_minutes"]
        budget = int(budget) if float(budget).is_integer() else budget
        rows.append(report.Row(
            benchmark=BENCHMARK,
            metric=(f"{dataset} dev accuracy, {results.get('preset', PRESET)} from scratch, {budget}-minute CPU "
                    f"budget ({results[f'{dataset}_train_steps']} steps; peer = target)"),
            ours=f"{results[key]:.4f}",
            peer=f"{results[f'{dataset}_target_dev_accuracy']:.2f}",
            ratio="-",
            command=results.get(f"{dataset}_command", f"python -m benchmarks.quality_finetune --dataset {dataset}"),
            date=results[f"{dataset}_date"],
        ))
    return rows


def parse_args(argv: Optional[Sequence[str]]):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality_finetune", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(DATASET_SETTINGS), required=True)
    parser.add_argument("--budget-minutes", type=float, required=True,
                        help="CPU minutes for training (probe + main run); vocabulary and tokenization come on top")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run on the first {QUICK_TRAIN_ROWS} training rows; writes nothing")
    parser.add_argument("--keep-work-dir", action="store_true", help="keep the vocabulary, records and model")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix=f"quality_finetune-{args.dataset}-"))
    try:
        results = run(args.dataset, args.budget_minutes, args.quick, work)
    finally:
        if args.keep_work_dir:
            print(f"work dir kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.quick:
        print(json.dumps(results, indent=2, sort_keys=True))
        return 0

    import sentencepiece
    import tensorflow as tf

    command = f"python -m benchmarks.quality_finetune --dataset {args.dataset} --budget-minutes {args.budget_minutes:g}"
    merged = {key: value for key, value in _previous_results().items()}
    merged.update(results)
    merged.update({
        f"{args.dataset}_command": command,
        "preset": PRESET,
        "vocab_size": VOCAB_SIZE,
        "max_seq_length": MAX_SEQ_LENGTH,
        "global_batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "warmup_fraction": WARMUP_FRACTION,
        "dropout": DROPOUT,
        "optimizer": "adamw",
        "precision": "float32",
        "machine_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "sentencepiece": sentencepiece.__version__,
    })
    path = report.write_results(BENCHMARK, merged)
    report.update_benchmarks_md(BENCHMARK, table_rows(merged))
    print(f"wrote {path} and {report.BENCHMARKS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
