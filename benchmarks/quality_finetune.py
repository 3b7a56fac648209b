"""Fine-tuning quality: dev accuracy of the `tiny` preset trained from scratch on SST-2 or ChnSentiCorp
within a fixed CPU time budget.

The run goes through the project's own pieces, as the pipeline would:

1. vocabulary: an 8,000-piece SentencePiece model trained on the train split's text as the SentencePieceVocab
   component trains one (`text_contract.sentencepiece_training.train_sentencepiece`: <pad>=0, <unk>=1,
   [CLS], [SEP], [MASK] as control pieces, no BOS/EOS, identity normalization after
   text_contract/normalization.py, lines deduplicated and sorted); character_coverage is
   1.0 for English and 0.9995 (the component's default) for Chinese. The component's Beam part
   (reading tf.Examples, held-out set, sampling) is skipped: it changes nothing here but the start-up time;
2. model selection (`--holdout N --eval-every K`, off by default): N rows of the TRAIN split (never dev) are
   held out - for SST-2 whole sentences (at least 12 words), and every other train row that is a word span
   of a held-out sentence (SST-2's train split holds the phrases of its sentences) or contains one is
   dropped from training, so the held-out rows are really unseen. `trainer.train.train` evaluates them
   every K steps and restores the weights of the best held-out accuracy at the end
   (`TrainingConfig.select_best_metric="val_accuracy"`); dev is scored once, on those weights;
3. tokenization: text_contract/transform.py's plain TensorFlow functions (`load_tokenizer`, `encode_texts`:
   the very graph Transform saves) to `--max-seq-length`, written as gzipped classification TFRecords
   (`token_ids`, `segment_ids`, `padding_mask`, `label_ids`; int64). Labels: SST-2 `sentence<TAB>label`
   with a header, 0/1; ChnSentiCorp no header, `text<TAB>positive|negative` -> 1/0;
4. training: `trainer.train.train` (task `classify`, AdamW with `--weight-decay`, linear warmup over
   `--warmup-fraction` then linear decay to 0, `--batch-size`, `--learning-rate`, `--dropout` in the encoder
   and the classifier head), from randomly initialized weights. A short probe run measures steady-state
   steps/s, the fixed cost (graph building, start-up) and, with model selection, what one evaluation costs;
   the main run then gets as many steps as fit in what is left of `--budget-minutes` (the budget covers the
   probe and the main run with its evaluations; vocabulary and tokenization come on top, and the total wall
   time is recorded too). Steps/s are measured on a shared machine: when other work slows the main run
   down, it overruns its budget (the recorded wall times say by how much);
5. evaluation: predictions over the whole dev split, argmax against the labels.

    python -m benchmarks.quality_finetune --dataset sst2 --budget-minutes 20 --holdout 600 --eval-every 400
    python -m benchmarks.quality_finetune --dataset chnsenticorp --budget-minutes 6
    python -m benchmarks.quality_finetune --dataset sst2 --budget-minutes 1 --quick   # smoke run, writes nothing

SST-2's train rows are mostly short phrases (12.8 pieces on average, 6% over 32 with [CLS] and [SEP]), but
its dev rows are whole sentences (28 pieces on average; 33% over 32, 2 of 872 over 64, by 3 pieces at
most): max_seq_length 32 cuts the end off a third of dev (the 20-minute run at 32 scored 0.7729), so
SST-2 keeps 64.

The defaults (max_seq_length 64, batch 64, lr 1e-3, warmup 10%, dropout 0.1, weight decay 0.01, final
weights) are the recipe of the first recorded runs. Results go to benchmarks/results/quality_finetune.json
(flat; keys prefixed by the dataset, recipe included, so the datasets' results live side by side) and one
BENCHMARKS.md row per dataset and variant run so far.

The from-pretrained variant (`<dataset>_dev_accuracy_from_pretrained`, `<dataset>_from_pretrained_*`) is
written by benchmarks/quality_pretrain.py, which pretrains on WikiText-2 and then runs this module's
fine-tune, warm-started (`TrainingConfig.warm_start_path`), with the same recipe and budget. ChnSentiCorp
from pretrained (zh_online_shopping) is not done yet.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Dict, List, Optional, Sequence, Tuple  # noqa: E402

warnings.filterwarnings("ignore")

from benchmarks import harness, report  # noqa: E402

BENCHMARK = "quality_finetune"
REPO_ROOT = Path(__file__).resolve().parent.parent
DATASETS = REPO_ROOT / ".." / "shared" / "datasets"

VOCAB_SIZE = 8000
PRESET = "tiny"
PROBE_STEPS = 60
# The main run's checkpoint interval: train_steps is rounded down to a multiple of it.
STEP_GRANULARITY = 50
TOKENIZE_BATCH = 1024
QUICK_TRAIN_ROWS = 2000
# Held-out rows (model selection) are drawn with this seed.
HOLDOUT_SEED = 1234


@dataclasses.dataclass(frozen=True)
class Recipe:
    """The fine-tuning hyperparameters (the defaults are those of the first recorded runs)."""

    max_seq_length: int = 64
    batch_size: int = 64
    learning_rate: float = 1e-3
    warmup_fraction: float = 0.1
    dropout: float = 0.1  # encoder (hidden and attention) and classifier head
    weight_decay: float = 0.01
    # Model selection: `holdout` rows of the train split (not dev) are held out, together with every train row
    # that is a word span of one of them or contains one (SST-2's train split holds the phrases of its
    # sentences); the run is evaluated on them every `eval_every` steps and the best weights are kept.
    holdout: int = 0
    eval_every: int = 0

    def flags(self) -> List[str]:
        return harness.changed_flags(self)


# Per dataset: files, header, label parsing, coverage, the accuracy target of issue 4, and the shortest
# row (in words) that may be held out for model selection (SST-2: whole sentences rather than phrases).
DATASET_SETTINGS = {
    "sst2": {"dir": "sst2", "header": True, "labels": {"0": 0, "1": 1}, "character_coverage": 1.0,
             "target": 0.80, "holdout_min_words": 12},
    "chnsenticorp": {"dir": "chnsenticorp", "header": False, "labels": {"negative": 0, "positive": 1},
                     "character_coverage": 0.9995, "target": 0.85, "holdout_min_words": 1},
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


def train_vocabulary(texts: Sequence[str], character_coverage: float, out_path: Path,
                     vocab_size: int = VOCAB_SIZE) -> Dict:
    """The component's SentencePiece training on `texts` (its lines, normalized); writes spm.model to `out_path`."""
    from text_contract import normalization, pieces, sentencepiece_training

    max_chars = sentencepiece_training.DEFAULT_MAX_SENTENCE_CHARS
    lines = set()
    for text in texts:
        for line in text.splitlines():
            line = normalization.normalize(line[:max_chars])[:max_chars].rstrip(" ")
            if line:
                lines.add(line)
    lines = sorted(lines)
    started = time.perf_counter()
    model_proto = sentencepiece_training.train_sentencepiece(lines, vocab_size, character_coverage=character_coverage)
    out_path.write_bytes(model_proto)
    return {
        "seconds": time.perf_counter() - started,
        "lines": len(lines),
        "pieces": pieces.piece_count(model_proto),
        "model_type": sentencepiece_training.DEFAULT_MODEL_TYPE,
    }


def write_records(model_path: Path, texts: Sequence[str], labels: Sequence[int], out_path: Path,
                  max_seq_length: int) -> Dict:
    """Tokenizes with text_contract.transform's graph; writes gzipped classification tf.Examples."""
    import numpy as np
    import tensorflow as tf

    from text_contract import features, pieces, transform

    tokenizer = transform.load_tokenizer(str(model_path))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)], autograph=False)
    def encode(batch):
        return transform.encode_texts(tokenizer, [batch], max_seq_length)

    def int64(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    real_pieces = truncated = unknown = 0
    with tf.io.TFRecordWriter(str(out_path), "GZIP") as writer:
        for start in range(0, len(texts), TOKENIZE_BATCH):
            encoded = {k: v.numpy() for k, v in encode(tf.constant(list(texts[start:start + TOKENIZE_BATCH]))).items()}
            lengths = encoded[features.PADDING_MASK].sum(axis=1)
            real_pieces += int(lengths.sum())
            truncated += int((lengths == max_seq_length).sum())
            unknown += int((encoded[features.TOKEN_IDS] == pieces.UNK_ID).sum())
            for i in range(encoded[features.TOKEN_IDS].shape[0]):
                row = {name: int64(encoded[name][i]) for name in features.MODEL_INPUTS}
                row[features.LABEL_IDS] = int64([labels[start + i]])
                writer.write(tf.train.Example(features=tf.train.Features(feature=row)).SerializeToString())
    return {"examples": len(texts), "mean_length": real_pieces / max(len(texts), 1),
            "full_length_share": truncated / max(len(texts), 1),
            "unknown_rate": unknown / max(real_pieces, 1), "majority_share": float(np.mean(labels)) if labels else 0.0}


def split_holdout(dataset: str, texts: Sequence[str], labels: Sequence[int], count: int):
    """(train texts, train labels, held-out texts, held-out labels, rows dropped as overlapping).

    `count` rows of at least the dataset's `holdout_min_words` words are drawn (seeded); every other row
    that is a contiguous word span of a held-out row (its phrases) or contains one as a word span (the
    sentence it is a phrase of) is dropped from training, so the held-out rows are really unseen.
    """
    if count <= 0:
        return list(texts), list(labels), [], [], 0
    min_words = DATASET_SETTINGS[dataset]["holdout_min_words"]
    words = [tuple(text.split()) for text in texts]
    candidates = sorted({w: i for i, w in enumerate(words) if len(w) >= min_words}.values())
    held = set(random.Random(HOLDOUT_SEED).sample(candidates, min(count, len(candidates))))
    held_words = {words[i] for i in held}
    spans = {w[a:b] for w in held_words for a in range(len(w)) for b in range(a + 1, len(w) + 1)}
    shortest = min(len(w) for w in held_words)

    def overlaps(w) -> bool:
        if w in spans:  # a phrase of a held-out row (or a duplicate of one)
            return True
        if len(w) <= shortest:
            return False
        return any(w[a:b] in held_words for a in range(len(w) - shortest + 1)
                   for b in range(a + shortest, len(w) + 1))

    train_texts, train_labels, dropped = [], [], 0
    for i, (text, label) in enumerate(zip(texts, labels)):
        if i in held:
            continue
        if overlaps(words[i]):
            dropped += 1
            continue
        train_texts.append(text)
        train_labels.append(label)
    order = sorted(held)
    return train_texts, train_labels, [texts[i] for i in order], [labels[i] for i in order], dropped


def training_config(model_dir: Path, albert_config_path: Path, train_steps: int, checkpoint_every: int,
                    recipe: Recipe, warm_start: Optional[Path] = None, select_best: bool = False):
    from trainer.training_config import TrainingConfig

    return TrainingConfig(
        task="classify",
        model_dir=str(model_dir),
        albert_config_path=None if warm_start else str(albert_config_path),
        warm_start_path=str(warm_start) if warm_start else None,
        preset=PRESET,
        num_classes=2,
        max_seq_length=recipe.max_seq_length,
        global_batch_size=recipe.batch_size,
        train_steps=train_steps,
        checkpoint_every_steps=checkpoint_every,
        keep_checkpoints=1,
        learning_rate=recipe.learning_rate,
        warmup_steps=int(recipe.warmup_fraction * train_steps),
        weight_decay=recipe.weight_decay,
        optimizer="auto",
        precision="float32",
        strategy="default",
        classifier_dropout=recipe.dropout,
        select_best_metric="val_accuracy" if select_best else None,
        log_every_steps=10,
        seed=42,
    )


def checkpoint_interval(train_steps: int) -> int:
    """The largest multiple of STEP_GRANULARITY that divides `train_steps` into at least 4 intervals."""
    candidates = [n for n in range(STEP_GRANULARITY, train_steps // 4 + 1, STEP_GRANULARITY) if train_steps % n == 0]
    return max(candidates) if candidates else train_steps


def dev_accuracy(model, dev_records: Path, max_seq_length: int) -> Tuple[float, int]:
    """argmax of the model's logits over every dev example against its label."""
    import numpy as np

    from trainer import input_pipeline

    dataset = input_pipeline.classification_dataset(
        str(dev_records), 256, max_seq_length, shuffle=False, repeat=False)
    correct = total = 0
    for inputs, targets in dataset:
        logits = model(inputs, training=False)
        logits = logits["logits"] if isinstance(logits, dict) else logits
        predicted = np.argmax(np.asarray(logits), axis=-1)
        labels = targets["logits"].numpy()
        correct += int((predicted == labels).sum())
        total += len(labels)
    return correct / max(total, 1), total


def prepare(dataset: str, recipe: Recipe, quick: bool, work: Path, vocabulary: Optional[Path] = None) -> Dict:
    """Vocabulary (trained on the train split, or the given spm.model), tokenized train/holdout/dev records."""
    settings = DATASET_SETTINGS[dataset]
    train_texts, train_labels = read_split(dataset, "train")
    dev_texts, dev_labels = read_split(dataset, "dev")
    if quick:
        train_texts, train_labels = train_texts[:QUICK_TRAIN_ROWS], train_labels[:QUICK_TRAIN_ROWS]
    all_train_rows = len(train_texts)

    if vocabulary is None:
        print(f"[{dataset}] training the {VOCAB_SIZE}-piece vocabulary on {len(train_texts)} texts", flush=True)
        vocab = train_vocabulary(train_texts, settings["character_coverage"], work / "spm.model")
        vocabulary = work / "spm.model"
    else:
        import sentencepiece as spm

        vocab = {"seconds": 0.0, "lines": None, "model_type": None, "given": str(vocabulary),
                 "pieces": spm.SentencePieceProcessor(model_file=str(vocabulary)).get_piece_size()}

    train_texts, train_labels, holdout_texts, holdout_labels, dropped = split_holdout(
        dataset, train_texts, train_labels, recipe.holdout)
    if recipe.holdout:
        print(f"[{dataset}] held out {len(holdout_texts)} train rows for model selection; dropped {dropped} "
              f"overlapping rows; {len(train_texts)} rows left to train on", flush=True)

    tokenize_started = time.perf_counter()
    paths = {"train": work / "train.tfrecord.gz", "dev": work / "dev.tfrecord.gz",
             "holdout": work / "holdout.tfrecord.gz" if holdout_texts else None}
    stats = {"train": write_records(vocabulary, train_texts, train_labels, paths["train"], recipe.max_seq_length),
             "dev": write_records(vocabulary, dev_texts, dev_labels, paths["dev"], recipe.max_seq_length)}
    if holdout_texts:
        stats["holdout"] = write_records(vocabulary, holdout_texts, holdout_labels, paths["holdout"],
                                         recipe.max_seq_length)
    tokenize_seconds = time.perf_counter() - tokenize_started
    print(f"[{dataset}] vocabulary {vocab['seconds']:.0f}s ({vocab['pieces']} pieces), tokenization "
          f"{tokenize_seconds:.0f}s; mean length {stats['train']['mean_length']:.1f} pieces", flush=True)
    return {"vocab": vocab, "vocabulary": vocabulary, "paths": paths, "stats": stats,
            "tokenize_seconds": tokenize_seconds, "all_train_rows": all_train_rows, "dropped": dropped,
            "train_rows": len(train_texts), "holdout_rows": len(holdout_texts)}


def fine_tune(dataset: str, recipe: Recipe, budget_minutes: float, work: Path, prepared: Dict,
              warm_start: Optional[Path] = None) -> Dict:
    """Probe + main run within `budget_minutes`; dev accuracy of the final (or selected) weights."""
    from trainer.presets import get_preset
    from trainer.train import train

    variant = "from_pretrained" if warm_start else "from_scratch"
    albert_config_path = work / "albert_config.json"
    if warm_start:
        from trainer.config import AlbertConfig

        albert_config = AlbertConfig.from_json_file(str(warm_start / "albert_config.json"))
        if (albert_config.hidden_dropout_prob, albert_config.attention_probs_dropout_prob) != (recipe.dropout,) * 2:
            raise ValueError(f"{warm_start}: the encoder's dropout differs from the recipe's {recipe.dropout}")
    else:
        albert_config = get_preset(PRESET).replace(
            vocab_size=prepared["vocab"]["pieces"], hidden_dropout_prob=recipe.dropout,
            attention_probs_dropout_prob=recipe.dropout)
        albert_config.to_json_file(str(albert_config_path))
    paths = prepared["paths"]
    select_best = paths["holdout"] is not None and recipe.eval_every > 0

    budget_s = budget_minutes * 60
    training_started = time.perf_counter()
    # Probe: steady-state steps/s (the last logging window) and the fixed cost of a run (with model selection,
    # two intervals with an evaluation after each, and the cost of one evaluation measured after it).
    probe_dir = work / f"probe-{variant}"
    probe_interval = PROBE_STEPS // 2 if select_best else PROBE_STEPS
    probe = training_config(probe_dir, albert_config_path, PROBE_STEPS, probe_interval, recipe, warm_start, select_best)
    probe_result = train(probe, str(paths["train"]), str(paths["holdout"]) if select_best else None)
    probe_wall = time.perf_counter() - training_started
    with open(probe_dir / "progress.json", encoding="utf-8") as handle:
        steps_per_second = json.load(handle)["examples_per_second"] / recipe.batch_size
    fixed_seconds = max(probe_wall - PROBE_STEPS / steps_per_second, 0.0)
    eval_seconds = 0.0
    if select_best:
        # What one evaluation of the holdout costs (the compiled test function of the probe's evaluations).
        from trainer import input_pipeline

        holdout = input_pipeline.classification_dataset(
            str(paths["holdout"]), recipe.batch_size, recipe.max_seq_length, shuffle=False, repeat=False)
        probe_result.model.evaluate(holdout, verbose=0)
        timed = time.perf_counter()
        probe_result.model.evaluate(holdout, verbose=0)
        eval_seconds = time.perf_counter() - timed
        fixed_seconds = max(fixed_seconds - 2 * eval_seconds, 0.0)
    del probe_result
    # The main run's own checkpoints and final save add a little; keep 8% back for them.
    available = budget_s - probe_wall - fixed_seconds
    if select_best:
        # Each evaluation costs eval_seconds: steps + evaluations(steps / eval_every) must fit.
        per_step = 1 / steps_per_second + eval_seconds / recipe.eval_every
        train_steps = int(0.92 * available / per_step)
        train_steps = max(train_steps // recipe.eval_every * recipe.eval_every, recipe.eval_every)
        checkpoint_every = recipe.eval_every
    else:
        train_steps = int(0.92 * available * steps_per_second)
        # A multiple of 4 x STEP_GRANULARITY where possible, so that it splits into 4 checkpoint intervals.
        granularity = 4 * STEP_GRANULARITY if train_steps >= 4 * STEP_GRANULARITY else STEP_GRANULARITY
        train_steps = max(train_steps // granularity * granularity, STEP_GRANULARITY)
        checkpoint_every = checkpoint_interval(train_steps)
    train_rows = prepared["train_rows"]
    print(f"[{dataset} {variant}] probe: {steps_per_second:.2f} steps/s, fixed cost {fixed_seconds:.0f}s, "
          f"evaluation {eval_seconds:.1f}s -> {train_steps} steps ({train_steps * recipe.batch_size / train_rows:.2f} "
          f"epochs), checkpoint/evaluation every {checkpoint_every}", flush=True)

    main_started = time.perf_counter()
    model_dir = work / f"model-{variant}"
    config = training_config(model_dir, albert_config_path, train_steps, checkpoint_every, recipe, warm_start,
                             select_best)
    result = train(config, str(paths["train"]), str(paths["holdout"]) if select_best else None)
    main_wall = time.perf_counter() - main_started
    training_wall = time.perf_counter() - training_started

    accuracy, dev_examples = dev_accuracy(result.model, paths["dev"], recipe.max_seq_length)
    with open(model_dir / "metrics.json", encoding="utf-8") as handle:
        metrics = json.load(handle)
    print(f"[{dataset} {variant}] dev accuracy {accuracy:.4f} on {dev_examples} examples after {train_steps} steps"
          + (f" (selected: step {result.best['step']}, holdout accuracy {result.best['value']:.4f})"
             if result.best else "")
          + f"; training {training_wall / 60:.1f} min", flush=True)

    final_loss = (result.history.get("loss") or [None])[-1]
    final_train_accuracy = (result.history.get("accuracy") or result.history.get("logits_accuracy") or [None])[-1]
    prefix = f"{dataset}_{variant}_" if warm_start else f"{dataset}_"
    out = {
        f"{dataset}_dev_accuracy_{variant}": round(accuracy, 4),
        f"{prefix}train_steps": train_steps,
        f"{prefix}train_epochs": round(train_steps * recipe.batch_size / train_rows, 3),
        f"{prefix}steps_per_second_probe": round(steps_per_second, 3),
        f"{prefix}steps_per_second_main": round(metrics.get("examples_per_second", 0) / recipe.batch_size, 3),
        f"{prefix}final_train_loss": round(final_loss, 4) if final_loss is not None else None,
        f"{prefix}final_train_accuracy": round(final_train_accuracy, 4) if final_train_accuracy is not None else None,
        f"{prefix}budget_minutes": budget_minutes,
        f"{prefix}training_wall_minutes": round(training_wall / 60, 2),
        f"{prefix}main_run_wall_minutes": round(main_wall / 60, 2),
        f"{prefix}selection": ("best holdout accuracy, evaluated every "
                               f"{checkpoint_every} steps" if select_best else "final weights"),
    }
    if select_best:
        history = result.history.get("val_accuracy") or []
        out.update({
            f"{prefix}selected_step": result.best["step"],
            f"{prefix}selected_holdout_accuracy": round(result.best["value"], 4),
            f"{prefix}final_holdout_accuracy": round(history[-1], 4) if history else None,
            f"{prefix}holdout_accuracy_curve": [round(v, 4) for v in history],
            f"{prefix}evaluation_seconds_probe": round(eval_seconds, 2),
        })
    return out


def run(dataset: str, budget_minutes: float, quick: bool, work: Path, recipe: Recipe) -> Dict:
    settings = DATASET_SETTINGS[dataset]
    started = time.perf_counter()
    prepared = prepare(dataset, recipe, quick, work)
    results = fine_tune(dataset, recipe, budget_minutes, work, prepared)
    total_wall = time.perf_counter() - started
    print(f"[{dataset}] total {total_wall / 60:.1f} min (vocabulary and tokenization included)", flush=True)
    stats, vocab = prepared["stats"], prepared["vocab"]
    results.update({
        f"{dataset}_dev_examples": stats["dev"]["examples"],
        f"{dataset}_dev_majority_share": round(max(stats["dev"]["majority_share"], 1 - stats["dev"]["majority_share"]), 4),
        f"{dataset}_target_dev_accuracy": settings["target"],
        f"{dataset}_train_examples": prepared["train_rows"],
        f"{dataset}_train_split_rows": prepared["all_train_rows"],
        f"{dataset}_holdout_examples": prepared["holdout_rows"],
        f"{dataset}_holdout_overlap_dropped": prepared["dropped"],
        f"{dataset}_vocab_wall_seconds": round(vocab["seconds"], 1),
        f"{dataset}_tokenize_wall_seconds": round(prepared["tokenize_seconds"], 1),
        f"{dataset}_wall_minutes": round(total_wall / 60, 2),
        f"{dataset}_vocab_pieces": vocab["pieces"],
        f"{dataset}_vocab_lines": vocab["lines"],
        f"{dataset}_character_coverage": settings["character_coverage"],
        f"{dataset}_train_mean_pieces": round(stats["train"]["mean_length"], 2),
        f"{dataset}_train_full_length_share": round(stats["train"]["full_length_share"], 4),
        f"{dataset}_dev_unknown_rate": round(stats["dev"]["unknown_rate"], 5),
        f"{dataset}_date": datetime.date.today().isoformat(),
    })
    results.update(recipe_keys(dataset, recipe))
    return results


def recipe_keys(dataset: str, recipe: Recipe) -> Dict:
    keys = {f"{dataset}_{field.name}": getattr(recipe, field.name) for field in dataclasses.fields(recipe)}
    keys.update({f"{dataset}_preset": PRESET, f"{dataset}_vocab_size": VOCAB_SIZE, f"{dataset}_optimizer": "adamw",
                 f"{dataset}_precision": "float32"})
    return keys


# --- output ----------------------------------------------------------------------------------------------


def _previous_results() -> Dict:
    path = report.RESULTS_DIR / f"{BENCHMARK}.json"
    if path.exists():
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    return {}


# The recipe keys the first runs recorded once for the whole file (both datasets used these values then).
LEGACY_RECIPE_KEYS = {"max_seq_length": "max_seq_length", "global_batch_size": "batch_size",
                      "learning_rate": "learning_rate", "warmup_fraction": "warmup_fraction", "dropout": "dropout",
                      "vocab_size": "vocab_size", "optimizer": "optimizer", "precision": "precision",
                      "preset": "preset"}


def migrate_legacy_keys(results: Dict) -> Dict:
    """Per-dataset recipe keys for results recorded when the recipe was one set of top-level keys."""
    results = dict(results)
    if "max_seq_length" not in results:
        return results
    for dataset in DATASET_SETTINGS:
        if f"{dataset}_dev_accuracy_from_scratch" in results and f"{dataset}_max_seq_length" not in results:
            for old, new in LEGACY_RECIPE_KEYS.items():
                if old in results:
                    results[f"{dataset}_{new}"] = results[old]
            results.setdefault(f"{dataset}_weight_decay", 0.01)
            results.setdefault(f"{dataset}_holdout", 0)
            results.setdefault(f"{dataset}_eval_every", 0)
            results.setdefault(f"{dataset}_selection", "final weights")
    for old in LEGACY_RECIPE_KEYS:
        results.pop(old, None)
    return results


def _describe(results: Dict, dataset: str, prefix: str) -> str:
    def value(name, default=None):
        return results.get(f"{prefix}{name}", results.get(f"{dataset}_{name}", default))

    parts = [f"seq {value('max_seq_length', 64)}", f"batch {value('batch_size', 64)}",
             f"lr {value('learning_rate', 1e-3):g}", f"dropout {value('dropout', 0.1):g}",
             f"{results[f'{prefix}train_steps']} steps"]
    if f"{prefix}selected_step" in results:
        parts.append(f"best of {value('holdout_examples')}-row train holdout every {value('eval_every')} steps: "
                     f"step {results[f'{prefix}selected_step']}")
    return ", ".join(parts)


def table_rows(results: Dict) -> List[report.Row]:
    rows = []
    for dataset in DATASET_SETTINGS:
        for variant in ("from_scratch", "from_pretrained"):
            key = f"{dataset}_dev_accuracy_{variant}"
            if key not in results:
                continue
            prefix = f"{dataset}_" if variant == "from_scratch" else f"{dataset}_{variant}_"
            budget = results[f"{prefix}budget_minutes"]
            budget = int(budget) if float(budget).is_integer() else budget
            if variant == "from_scratch":
                what = (f"from scratch, {budget}-minute CPU training budget, "
                        f"{results[f'{dataset}_wall_minutes']:g} min wall in all")
            else:
                what = (f"{results.get(f'{dataset}_from_pretrained_source', 'from pretrained')}, {budget}-minute CPU "
                        f"fine-tuning budget, {results[f'{prefix}total_wall_minutes']:g} min wall for the fine-tune")
            rows.append(report.Row(
                benchmark=BENCHMARK,
                metric=(f"{dataset} dev accuracy, {results.get(f'{dataset}_preset', PRESET)} {what} "
                        f"({_describe(results, dataset, prefix)}; peer = target)"),
                ours=f"{results[key]:.4f}",
                peer=f"{results[f'{dataset}_target_dev_accuracy']:.2f}",
                ratio="-",
                command=results.get(f"{prefix}command", f"python -m benchmarks.quality_finetune --dataset {dataset}"),
                date=results.get(f"{prefix}date", results[f"{dataset}_date"]),
            ))
    return rows


def add_recipe_arguments(parser: argparse.ArgumentParser) -> None:
    default = Recipe()
    parser.add_argument("--max-seq-length", type=int, default=default.max_seq_length)
    parser.add_argument("--batch-size", type=int, default=default.batch_size)
    parser.add_argument("--learning-rate", type=float, default=default.learning_rate)
    parser.add_argument("--warmup-fraction", type=float, default=default.warmup_fraction)
    parser.add_argument("--dropout", type=float, default=default.dropout,
                        help="encoder (hidden, attention) and classifier-head dropout")
    parser.add_argument("--weight-decay", type=float, default=default.weight_decay)
    parser.add_argument("--holdout", type=int, default=default.holdout,
                        help="train rows held out for model selection (0: none, the final weights count)")
    parser.add_argument("--eval-every", type=int, default=default.eval_every,
                        help="steps between evaluations on the holdout (the best weights are kept)")


def recipe_from_args(args) -> Recipe:
    recipe = Recipe(max_seq_length=args.max_seq_length, batch_size=args.batch_size, learning_rate=args.learning_rate,
                    warmup_fraction=args.warmup_fraction, dropout=args.dropout, weight_decay=args.weight_decay,
                    holdout=args.holdout, eval_every=args.eval_every)
    if bool(recipe.holdout) != bool(recipe.eval_every):
        raise SystemExit("--holdout and --eval-every go together")
    return recipe


def parse_args(argv: Optional[Sequence[str]]):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality_finetune", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(DATASET_SETTINGS), required=True)
    parser.add_argument("--budget-minutes", type=float, required=True,
                        help="CPU minutes for training (probe + main run, evaluations included); vocabulary and "
                             "tokenization come on top")
    add_recipe_arguments(parser)
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run on the first {QUICK_TRAIN_ROWS} training rows; writes nothing")
    parser.add_argument("--keep-work-dir", action="store_true", help="keep the vocabulary, records and model")
    return parser.parse_args(argv)


def machine_keys() -> Dict:
    import sentencepiece
    import tensorflow as tf

    return {
        "machine_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "sentencepiece": sentencepiece.__version__,
    }


def record(results: Dict) -> Path:
    """Merges `results` into the result JSON and rewrites this benchmark's BENCHMARKS.md rows."""
    merged = migrate_legacy_keys(_previous_results())
    merged.update(results)
    merged.update(machine_keys())
    path = report.write_results(BENCHMARK, merged)
    report.update_benchmarks_md(BENCHMARK, table_rows(merged))
    print(f"wrote {path} and {report.BENCHMARKS_MD}")
    return path


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    recipe = recipe_from_args(args)
    work = Path(tempfile.mkdtemp(prefix=f"quality_finetune-{args.dataset}-"))
    try:
        results = run(args.dataset, args.budget_minutes, args.quick, work, recipe)
    finally:
        if args.keep_work_dir:
            print(f"work dir kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.quick:
        print(json.dumps(results, indent=2, sort_keys=True))
        return 0
    results[f"{args.dataset}_command"] = " ".join(
        ["python -m benchmarks.quality_finetune", "--dataset", args.dataset, "--budget-minutes",
         f"{args.budget_minutes:g}", *recipe.flags()])
    record(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
