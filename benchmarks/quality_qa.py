"""Question-answering quality (issue 15, item 8): the `tiny` preset trained on Chinese extractive QA within a
fixed CPU time budget, scored on held-out CMRC 2018 articles (EM and F1, in percent points like the CMRC
official script) beside a non-learned baseline computed in the same run; the same with a warm start from a
pretraining run on the training contexts at equal total budget; and the speed of the `qa` signature in-process
and over gRPC.

The run goes through the project's own pieces:

1. data: DRCD dev + test (traditional Chinese) and CMRC 2018 dev (simplified), read by the QA ExampleGen's
   parser (`components/qa_example_gen/parsing.py`: `parse_squad`, which drops gold answers whose
   answer_start does not point at their text, and a question left without one). CMRC 2018 is split by
   article with the ExampleGen's own rule (`article_split`, default eval fraction 0.2): its train-side articles
   and all of DRCD are the training questions, its eval-side articles the test questions. Scoring uses every
   gold answer text of a test question as the file has it (the official scripts do), whether or not its
   answer_start is right;
2. vocabulary: an 8,000-piece SentencePiece model (the SentencePieceVocab component's training,
   `quality_finetune.train_vocabulary`, character_coverage 0.9995 as for Chinese) on the training questions and
   contexts; no test text goes into it;
3. windows: the qa Transform's own function (`text_contract.transform.qa_windows`: `build_windows`, the first
   gold answer's pieces labelled, windows without it targeting [CLS]) on batches of raw questions, written as
   gzipped TFRecords in the Transform's per-question layout (`input_pipeline.qa_feature_spec(L, W)`), at the
   Transform's defaults: max_seq_length 256, max_query_length 64, doc_stride 128, 8 windows at most;
4. training (variant `scratch`): `trainer.train.train` with task `qa` (`AlbertQuestionAnswerer`, span head),
   from randomly initialized weights: AdamW at lr 1e-3, 10% linear warmup then linear decay, weight decay 0.01,
   dropout 0.1 (the pipeline's from-scratch fine-tuning defaults, `pipeline/configs.py`), batch 32 windows (BERT's
   run_squad.py batch rather than the pipeline's 64: on 2 shared cores a 30-minute budget is about one pass over
   the windows, and half the batch gives twice the updates). Training reads the windows that hold the answer only
   (`--train-windows answer`, one window a row, `qa_max_windows` None): every question here has an answer and the
   export scores spans without [CLS] (no `with_no_answer`), and with every window (`--train-windows all`, BERT's
   run_squad.py: the windows without the answer target [CLS]) a 30-minute run of 1,000 steps learnt nothing but
   [CLS]: on training windows holding the answer its start and end accuracy was 0.00 (argmax [CLS] everywhere),
   on the test questions F1 8.3 against the baseline's 19.6. A short probe measures steps/s and the main run gets
   the rest of `--budget-minutes`
   (vocabulary and windows come on top; all wall times are recorded). Final weights, no model selection;
5. variant `pretrained`: `--pretrain-fraction` (default 1/3) of the same budget pretrains MLM + SOP (as
   quality_pretrain.py does: `components/pretraining_data/generation.py` instances of the training contexts,
   one context a document, here at sequence length 128 with 20 predictions and dupe_factor 5; AdamW at 1e-3,
   5% warmup, no clipping, batch 64), and the rest fine-tunes from its `final/` (`warm_start_path`) with the
   scratch recipe. Same vocabulary, same windows;
6. evaluation: each trained model is exported by `serving/qa_export.py` (`export_qa_model`, the SavedModel
   with the `qa` signature, tokenization, windows, n-best and merge in the graph) and the test questions go
   through that signature; `components/qa_scoring.evaluate` (Chinese rules) scores the answers. The baseline
   (`components/qa_baseline.py`: the context span after the longest overlap with the question) answers the
   same questions;
7. speed: the scratch export's `qa` signature, batches of 32 test questions whose contexts are 400-600
   characters (about 500), questions/s from the median time per call, called in-process
   (`tf.saved_model.load`) and over gRPC (`albert-tfx serve` on 127.0.0.1, `serving.client.ServingClient.answer`;
   the server start of benchmarks/serving_latency.py), calls alternating. The ratio is gRPC throughput /
   in-process throughput (in-process time / gRPC time, >= 1.0 would mean gRPC is faster).

    python -m benchmarks.quality_qa --budget-minutes 30
    python -m benchmarks.quality_qa --quick          # smoke run: 2-minute budgets, few questions, writes nothing

Results: benchmarks/results/quality_qa.json (flat keys: `scratch_f1`, `baseline_f1`,
`scratch_f1_gain_over_baseline`, `pretrained_f1`, `qa_inprocess_questions_per_s_batch32`, ...) and the
`quality_qa` rows of BENCHMARKS.md. The goal (issue 15): the scratch F1 at least 10 points above the baseline's.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import collections  # noqa: E402
import dataclasses  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
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

from benchmarks import quality_finetune as finetune  # noqa: E402
from benchmarks import harness, quality_pretrain  # noqa: E402
from benchmarks import report  # noqa: E402
from benchmarks.harness import CpuShare, Plan  # noqa: E402

BENCHMARK = "quality_qa"
CMRC = finetune.DATASETS / "cmrc2018" / "cmrc2018_dev.json"
DRCD = (finetune.DATASETS / "drcd" / "DRCD_dev.json", finetune.DATASETS / "drcd" / "DRCD_test.json")
LANGUAGE = "zh"
PRESET = "tiny"
VOCAB_SIZE = 8000
CHARACTER_COVERAGE = 0.9995  # the SentencePieceVocab component's default (Chinese)
F1_GAIN_GOAL = 10.0  # F1 points over the baseline (issue 15)
DEFAULT_BUDGET_MINUTES = 30.0
QUICK_BUDGET_MINUTES = 2.0
QUICK_TRAIN_QUESTIONS = 400
QUICK_EVAL_QUESTIONS = 64
PROBE_STEPS = 30
STEP_GRANULARITY = 50
WINDOW_BATCH = 256  # questions per qa_windows call when writing the records
SERVED_MODEL_NAME = "qa"

# Pretraining (variant pretrained): quality_pretrain.py's recipe (AdamW at 1e-3, 5% warmup, no clipping, batch
# 64), at a sequence length nearer the QA windows' and BERT's 20 predictions for 128.
PRETRAIN_SEQ_LENGTH = 128
PRETRAIN_MAX_PREDICTIONS = 20
PRETRAIN_DUPE_FACTOR = 5

# Speed: batches of THROUGHPUT_BATCH questions with contexts of SPEED_CONTEXT_CHARS characters.
THROUGHPUT_BATCH = 32
SPEED_CONTEXT_CHARS = (400, 600)
SPEED_PLAN = Plan(warmup=2, repeats=12)
QUICK_SPEED_PLAN = Plan(warmup=1, repeats=2)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Windows and fine-tuning hyperparameters: the Transform's qa defaults and the pipeline's TrainingSettings."""

    max_seq_length: int = 256
    max_query_length: int = 64
    doc_stride: int = 128
    max_windows: int = 8
    batch_size: int = 32
    learning_rate: float = 1e-3
    warmup_fraction: float = 0.1
    dropout: float = 0.1
    weight_decay: float = 0.01
    # "answer": train on the windows that hold the answer only (one window a row); "all": every window, those
    # without the answer targeting [CLS] (BERT's run_squad.py). See the module docstring.
    train_windows: str = "answer"

    def flags(self) -> List[str]:
        return harness.changed_flags(self)


# --- data ------------------------------------------------------------------------------------------------


def read_questions(quick: bool) -> Dict:
    """Training questions (DRCD + CMRC train side), test questions (CMRC eval side) with their gold texts."""
    from components.qa_example_gen import parsing

    counts = collections.Counter()
    train = []
    for path in DRCD:
        parsed = parsing.parse_squad(path.read_bytes(), str(path))
        train += parsed.questions
        counts["drcd_questions"] += len(parsed.questions)
        counts["drcd_questions_skipped"] += parsed.counts[parsing.QUESTIONS] - len(parsed.questions)
        counts["drcd_answers_dropped"] += sum(parsed.counts[r] for r in parsing.ANSWER_DROP_REASONS)
    parsed = parsing.parse_squad(CMRC.read_bytes(), str(CMRC))
    counts["cmrc_questions_skipped"] = parsed.counts[parsing.QUESTIONS] - len(parsed.questions)
    counts["cmrc_answers_dropped"] = sum(parsed.counts[r] for r in parsing.ANSWER_DROP_REASONS)
    test = []
    for question in parsed.questions:
        (train if parsing.article_split(question.title) == "train" else test).append(question)
    counts["cmrc_train_questions"] = sum(1 for q in parsed.questions if parsing.article_split(q.title) == "train")
    counts["cmrc_eval_questions"] = len(test)
    counts["cmrc_train_articles"] = len({q.title for q in parsed.questions if parsing.article_split(q.title) == "train"})
    counts["cmrc_eval_articles"] = len({q.title for q in test})
    # Every gold text of the test questions, as the file has it (misplaced answer_start or not).
    raw = json.loads(CMRC.read_text(encoding="utf-8-sig"))
    gold = {}
    for article in raw["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                gold[str(qa["id"])] = [a["text"] for a in qa.get("answers", [])
                                       if isinstance(a, dict) and isinstance(a.get("text"), str) and a["text"].strip()]
    references = {q.id: gold[q.id] for q in test}
    if quick:
        train, test = train[::max(1, len(train) // QUICK_TRAIN_QUESTIONS)][:QUICK_TRAIN_QUESTIONS], \
            test[:QUICK_EVAL_QUESTIONS]
        references = {q.id: references[q.id] for q in test}
    return {"train": train, "test": test, "references": references, "counts": dict(counts)}


def transform_options(recipe: Recipe, vocabulary: Path):
    from text_contract.transform_options import QA_TASK, TransformOptions

    return TransformOptions(task=QA_TASK, sentencepiece_model_path=str(vocabulary),
                            max_seq_length=recipe.max_seq_length, max_query_length=recipe.max_query_length,
                            doc_stride=recipe.doc_stride, max_windows=recipe.max_windows)


def write_windows(questions, options, out_path: Path, answer_path: Path) -> Dict:
    """The qa Transform's windows of `questions` (text_contract.transform.qa_windows) -> gzipped TFRecords in the
    per-question layout the trainer reads (`out_path`), and the windows that hold the answer in the one-window-a-row
    layout (`answer_path`); counts of windows and of questions whose answer a window holds."""
    import numpy as np
    import tensorflow as tf

    from text_contract import features
    from text_contract import transform as tr
    from trainer import input_pipeline

    tokenizer = tr.make_tokenizer(options)
    names = list(input_pipeline.qa_feature_spec(options.max_seq_length, options.max_windows))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)] * 3 + [tf.TensorSpec([None], tf.int64)],
                 autograph=False)
    def windows(question, context, answer_text, answer_start):
        inputs = {features.QA_ID: question, features.QA_QUESTION: question, features.QA_CONTEXT: context,
                  features.QA_ANSWER_STARTS: answer_start[:, None], features.QA_ANSWER_TEXTS: answer_text[:, None],
                  features.QA_IS_IMPOSSIBLE: tf.zeros_like(answer_start)[:, None]}
        out = tr.qa_windows(inputs, options, tokenizer)
        return {name: out[name] for name in names}

    def int64(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=np.ravel(values)))

    stats = collections.Counter()
    with tf.io.TFRecordWriter(str(out_path), "GZIP") as writer, \
            tf.io.TFRecordWriter(str(answer_path), "GZIP") as answer_writer:
        for begin in range(0, len(questions), WINDOW_BATCH):
            batch = questions[begin:begin + WINDOW_BATCH]
            out = windows(tf.constant([q.question for q in batch]), tf.constant([q.context for q in batch]),
                          tf.constant([q.answer_texts[0] for q in batch]),
                          tf.constant([q.answer_starts[0] for q in batch], tf.int64))
            out = {name: value.numpy() for name, value in out.items()}
            for i in range(len(batch)):
                feature = {name: tf.train.Feature(int64_list=tf.train.Int64List(value=np.ravel(out[name][i])))
                           for name in names}
                writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
                count = int(out[features.WINDOW_COUNT][i])
                stats["questions"] += 1
                stats["windows"] += count
                labelled = int(np.count_nonzero(out[features.START_POSITIONS][i][:count]))
                stats["windows_with_answer"] += labelled
                stats["questions_with_answer_in_a_window"] += int(labelled > 0)
                stats["questions_at_max_windows"] += int(count == options.max_windows)
                for window in np.flatnonzero(out[features.START_POSITIONS][i][:count]):
                    feature = {name: int64(out[name][i][window]) for name in features.MODEL_INPUTS}
                    for name in (features.START_POSITIONS, features.END_POSITIONS):
                        feature[name] = int64(out[name][i][window])
                    answer_writer.write(tf.train.Example(features=tf.train.Features(feature=feature))
                                        .SerializeToString())
    return dict(stats)


def check_labels(records: Path, options, questions, limit: int = 200) -> float:
    """Share of the first `limit` labelled windows whose labelled pieces, mapped back through the windows'
    character offsets, read as the first gold answer (the alignment check of tests/text_contract)."""
    import numpy as np
    import tensorflow as tf

    from text_contract import features
    from text_contract import transform as tr

    tokenizer = tr.make_tokenizer(options)
    batch = questions[:limit]
    answer_start = tf.constant([q.answer_starts[0] for q in batch], tf.int64)
    inputs = {features.QA_ID: tf.constant([q.id for q in batch]),
              features.QA_QUESTION: tf.constant([q.question for q in batch]),
              features.QA_CONTEXT: tf.constant([q.context for q in batch]),
              features.QA_ANSWER_STARTS: answer_start[:, None],
              features.QA_ANSWER_TEXTS: tf.constant([q.answer_texts[0] for q in batch])[:, None],
              features.QA_IS_IMPOSSIBLE: tf.zeros_like(answer_start)[:, None]}
    out = {k: v.numpy() for k, v in tr.qa_windows(inputs, options, tokenizer).items()}
    checked = matched = 0
    for i, question in enumerate(batch):
        for window in np.flatnonzero(out[features.START_POSITIONS][i]):
            start, end = out[features.START_POSITIONS][i][window], out[features.END_POSITIONS][i][window]
            span = question.context[out[features.CONTEXT_CHAR_STARTS][i][window][start]:
                                    out[features.CONTEXT_CHAR_ENDS][i][window][end]]
            checked += 1
            matched += int(span.strip() == question.answer_texts[0].strip())
    return matched / max(checked, 1)


# --- training --------------------------------------------------------------------------------------------


def qa_config(model_dir: Path, albert_config_path: Path, train_steps: int, recipe: Recipe,
              warm_start: Optional[Path] = None):
    from trainer.training_config import TrainingConfig

    return TrainingConfig(
        task="qa", model_dir=str(model_dir), preset=PRESET,
        albert_config_path=None if warm_start else str(albert_config_path),
        warm_start_path=str(warm_start) if warm_start else None,
        max_seq_length=recipe.max_seq_length,
        qa_max_windows=recipe.max_windows if recipe.train_windows == "all" else None,
        global_batch_size=recipe.batch_size, train_steps=train_steps,
        checkpoint_every_steps=finetune.checkpoint_interval(train_steps), keep_checkpoints=1,
        learning_rate=recipe.learning_rate, warmup_steps=int(recipe.warmup_fraction * train_steps),
        weight_decay=recipe.weight_decay, optimizer="adamw", precision="float32", strategy="default",
        log_every_steps=10, seed=42,
    )


def pretrain_config(model_dir: Path, albert_config_path: Path, train_steps: int):
    from trainer.training_config import TrainingConfig

    return TrainingConfig(
        task="pretrain", model_dir=str(model_dir), albert_config_path=str(albert_config_path), preset=PRESET,
        max_seq_length=PRETRAIN_SEQ_LENGTH, max_predictions_per_seq=PRETRAIN_MAX_PREDICTIONS,
        global_batch_size=quality_pretrain.BATCH_SIZE, train_steps=train_steps,
        checkpoint_every_steps=finetune.checkpoint_interval(train_steps), keep_checkpoints=1,
        learning_rate=quality_pretrain.LEARNING_RATE,
        warmup_steps=int(quality_pretrain.WARMUP_FRACTION * train_steps), optimizer=quality_pretrain.OPTIMIZER,
        clip_norm=quality_pretrain.CLIP_NORM, precision="float32", strategy="default", log_every_steps=10, seed=42,
    )


def budgeted_train(name: str, make_config, data: str, budget_s: float, examples: int, batch_size: int) -> Dict:
    """A probe of PROBE_STEPS steps (steady-state steps/s and fixed cost), then a main run of the steps that fit
    in what is left of `budget_s` (8% kept back for checkpoints and the final save, as quality_finetune does)."""
    from trainer.train import train

    started = time.perf_counter()
    probe_config = make_config("probe", PROBE_STEPS)
    train(probe_config, data)
    probe_wall = time.perf_counter() - started
    with open(Path(probe_config.model_dir) / "progress.json", encoding="utf-8") as handle:
        steps_per_second = json.load(handle)["examples_per_second"] / batch_size
    fixed_seconds = max(probe_wall - PROBE_STEPS / steps_per_second, 0.0)
    available = budget_s - probe_wall - fixed_seconds
    steps = int(0.92 * available * steps_per_second)
    granularity = 4 * STEP_GRANULARITY if steps >= 4 * STEP_GRANULARITY else STEP_GRANULARITY
    steps = max(steps // granularity * granularity, STEP_GRANULARITY)
    print(f"[{name}] probe: {steps_per_second:.2f} steps/s, fixed cost {fixed_seconds:.0f}s -> {steps} steps "
          f"({steps * batch_size / examples:.2f} passes over {examples} rows)", flush=True)
    main_started = time.perf_counter()
    config = make_config("model", steps)
    result = train(config, data)
    main_wall = time.perf_counter() - main_started
    with open(Path(config.model_dir) / "metrics.json", encoding="utf-8") as handle:
        metrics = json.load(handle)
    final_loss = (result.history.get("loss") or [None])[-1]
    return {
        "result": result, "final_dir": Path(config.model_dir) / "final",
        "keys": {
            "train_steps": steps,
            "train_passes": round(steps * batch_size / examples, 3),
            "steps_per_second_probe": round(steps_per_second, 3),
            "steps_per_second_main": round(metrics.get("examples_per_second", 0) / batch_size, 3),
            "final_train_loss": round(final_loss, 4) if final_loss is not None else None,
            "training_wall_minutes": round((time.perf_counter() - started) / 60, 2),
            "main_run_wall_minutes": round(main_wall / 60, 2),
        },
    }


def generate_pretraining_records(contexts: Sequence[str], model_path: Path, out_path: Path) -> Dict:
    """MLM + SOP instances of `contexts` (one context a document) by the PretrainingDataGen method
    (components/pretraining_data: its text-file reader splits a document into sentences, generation.py masks
    and pairs them) -> gzipped tf.Examples."""
    text_path = out_path.with_suffix(".txt")
    text_path.write_text("".join(" ".join(c.split()) + "\n\n" for c in contexts), encoding="utf-8")
    return quality_pretrain.generate_records(text_path, model_path, out_path, PRETRAIN_DUPE_FACTOR, seed=0,
                                             max_seq_length=PRETRAIN_SEQ_LENGTH,
                                             max_predictions=PRETRAIN_MAX_PREDICTIONS)["counts"]


# --- evaluation ------------------------------------------------------------------------------------------


def export(model, options, vocabulary: Path, export_dir: Path, final_step: int) -> str:
    from serving import qa_export
    from text_contract.transform import make_tokenizer

    return qa_export.export_qa_model(
        model, make_tokenizer(options), str(export_dir), max_seq_length=options.max_seq_length,
        max_query_length=options.max_query_length, doc_stride=options.doc_stride, max_windows=options.max_windows,
        model_name=SERVED_MODEL_NAME, preset=PRESET, vocabulary_path=str(vocabulary),
        extra_metadata={"final_step": final_step, "benchmark": BENCHMARK}, overwrite=True)


def qa_signature(export_dir: str):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (SentencePiece ops, before loading)

    from serving import contract

    signature = tf.saved_model.load(export_dir).signatures[contract.QA_SIGNATURE]

    def answer(questions: List[str], contexts: List[str]) -> List[str]:
        out = signature(**{contract.QUESTION: tf.constant(questions), contract.CONTEXT: tf.constant(contexts)})
        return [text.decode("utf-8") for text in out[contract.ANSWER_TEXT].numpy()]

    return answer


def score_export(export_dir: str, test, references) -> Dict:
    """The test questions through the export's `qa` signature (batches of 32), scored by qa_scoring."""
    from components import qa_scoring

    answer = qa_signature(export_dir)
    started = time.perf_counter()
    predictions = {}
    for begin in range(0, len(test), THROUGHPUT_BATCH):
        batch = test[begin:begin + THROUGHPUT_BATCH]
        for question, text in zip(batch, answer([q.question for q in batch], [q.context for q in batch])):
            predictions[question.id] = text
    scores = qa_scoring.evaluate(predictions, references, LANGUAGE)
    return {"em": round(scores.exact_match, 2), "f1": round(scores.f1, 2), "questions": scores.count,
            "empty_answers": sum(1 for text in predictions.values() if not text.strip()),
            "eval_seconds": round(time.perf_counter() - started, 1)}


def score_baseline(test, references) -> Dict:
    from components import qa_baseline, qa_scoring

    predictions = qa_baseline.predict(((q.id, q.question, q.context) for q in test), LANGUAGE)
    scores = qa_scoring.evaluate(predictions, references, LANGUAGE)
    return {"em": round(scores.exact_match, 2), "f1": round(scores.f1, 2), "questions": scores.count}


# --- speed -----------------------------------------------------------------------------------------------


def speed(export_dir: str, test, work: Path, quick: bool) -> Dict:
    """Questions/s of the `qa` signature at batch 32, in-process and over gRPC (albert-tfx serve)."""
    from benchmarks import serving_latency
    from serving.client import ClientConfig, ServingClient
    from serving.push import push_export

    low, high = SPEED_CONTEXT_CHARS
    chosen = [q for q in test if low <= len(q.context) <= high] or list(test)
    batches = [chosen[i:i + THROUGHPUT_BATCH] for i in range(0, len(chosen), THROUGHPUT_BATCH)]
    batches = [b for b in batches if len(b) == THROUGHPUT_BATCH] or [(chosen * THROUGHPUT_BATCH)[:THROUGHPUT_BATCH]]
    batches = [([q.question for q in b], [q.context for q in b]) for b in batches]
    serving_base = work / "serving"
    push_export(export_dir, str(serving_base), SERVED_MODEL_NAME)
    server_started = time.perf_counter()
    server = serving_latency.start_server([SERVED_MODEL_NAME], serving_base, work)
    server_start_seconds = time.perf_counter() - server_started
    print(f"[speed] serving on {server.address} after {server_start_seconds:.0f} s", flush=True)
    in_process = qa_signature(export_dir)
    client = ServingClient(ClientConfig(server.address, model_name=SERVED_MODEL_NAME, deadline_s=600,
                                        batch_size=THROUGHPUT_BATCH))

    def grpc(questions, contexts):
        return [a.text for a in client.answer(questions, contexts).answers]

    sides = {"inprocess": in_process, "grpc": grpc}
    plan = QUICK_SPEED_PLAN if quick else SPEED_PLAN
    cpu_share = CpuShare().start()
    try:
        first = {name: side(*batches[0]) for name, side in sides.items()}
        same = sum(a == b for a, b in zip(first["inprocess"], first["grpc"])) / THROUGHPUT_BATCH
        for i in range(plan.warmup):
            for side in sides.values():
                side(*batches[i % len(batches)])
        times = {name: [] for name in sides}
        for i in range(plan.repeats):
            for name, side in sides.items():
                call_started = time.perf_counter()
                side(*batches[i % len(batches)])
                times[name].append(time.perf_counter() - call_started)
    finally:
        exit_code = server.stop()
        other_share = cpu_share.stop()
    per_s = {name: THROUGHPUT_BATCH / statistics.median(values) for name, values in times.items()}
    contexts = [len(c) for _, cs in batches for c in cs]
    return {
        "qa_inprocess_questions_per_s_batch32": round(per_s["inprocess"], 2),
        "qa_grpc_questions_per_s_batch32": round(per_s["grpc"], 2),
        "qa_grpc_over_inprocess_throughput_ratio": round(per_s["grpc"] / per_s["inprocess"], 3),
        "qa_grpc_overhead_time_ratio": round(per_s["inprocess"] / per_s["grpc"], 3),
        "qa_speed_batches": len(batches),
        "qa_speed_calls_per_side": plan.repeats,
        "qa_speed_warmup_calls_per_side": plan.warmup,
        "qa_speed_context_chars_mean": round(statistics.mean(contexts), 1),
        "qa_speed_context_chars_range": f"{min(contexts)}-{max(contexts)}",
        "qa_speed_grpc_same_answers_share": round(same, 4),
        "qa_speed_server_start_seconds": round(server_start_seconds, 1),
        "qa_speed_server_exit_code": exit_code,
        "qa_speed_machine_cpu_share_used_by_other_processes": other_share,
        "qa_speed_server": "albert-tfx serve (separate process, 127.0.0.1, no server-side batching)",
        "qa_speed_client": "serving.client.ServingClient.answer (gRPC Predict, signature qa)",
    }


# --- the run ---------------------------------------------------------------------------------------------


def run(args, recipe: Recipe, work: Path) -> Dict:
    from components.qa_example_gen import spec as qa_spec
    from trainer.presets import get_preset

    started = time.perf_counter()
    budget_minutes = args.budget_minutes
    budget_s = budget_minutes * 60
    results: Dict = {"benchmark": BENCHMARK, "date": datetime.date.today().isoformat(), "quick": bool(args.quick)}

    data = read_questions(args.quick)
    train_questions, test, references = data["train"], data["test"], data["references"]
    results.update({f"data_{k}": v for k, v in data["counts"].items()})
    results.update({"train_questions": len(train_questions), "eval_questions": len(test),
                    "eval_fraction": qa_spec.DEFAULT_EVAL_FRACTION,
                    "train_data": "DRCD dev + test, CMRC 2018 dev train-side articles (article_split)",
                    "eval_data": "CMRC 2018 dev eval-side articles (article_split, eval fraction "
                                 f"{qa_spec.DEFAULT_EVAL_FRACTION:g})"})
    print(f"[data] {len(train_questions)} training questions, {len(test)} test questions "
          f"({data['counts']['cmrc_eval_articles']} held-out CMRC articles)", flush=True)

    baseline = score_baseline(test, references)
    results.update({"baseline_em": baseline["em"], "baseline_f1": baseline["f1"],
                    "baseline": "components/qa_baseline.py: the context span after the longest overlap with the "
                                "question (Chinese: characters, at most 10)"})
    print(f"[baseline] EM {baseline['em']:.2f} F1 {baseline['f1']:.2f} on {baseline['questions']} questions",
          flush=True)

    vocab_texts = [q.question for q in train_questions] + sorted({q.context for q in train_questions})
    vocab = finetune.train_vocabulary(vocab_texts, CHARACTER_COVERAGE, work / "spm.model", VOCAB_SIZE)
    options = transform_options(recipe, work / "spm.model")
    windows_started = time.perf_counter()
    window_stats = write_windows(train_questions, options, work / "train.tfrecord.gz",
                                 work / "train_answer_windows.tfrecord.gz")
    alignment = check_labels(work / "train.tfrecord.gz", options, train_questions)
    windows_seconds = time.perf_counter() - windows_started
    print(f"[data] vocabulary {vocab['seconds']:.0f}s ({vocab['pieces']} pieces); windows {windows_seconds:.0f}s: "
          f"{window_stats['windows']} windows, {window_stats['questions_with_answer_in_a_window']} of "
          f"{window_stats['questions']} questions labelled; labelled spans reading as the answer: {alignment:.3f}",
          flush=True)
    results.update({"vocab_pieces": vocab["pieces"], "vocab_lines": vocab["lines"],
                    "vocab_wall_seconds": round(vocab["seconds"], 1), "windows_wall_seconds": round(windows_seconds, 1),
                    "vocab_text": "training questions and contexts", "character_coverage": CHARACTER_COVERAGE,
                    "train_windows": window_stats["windows"],
                    "train_windows_with_answer": window_stats["windows_with_answer"],
                    "train_questions_with_answer_in_a_window": window_stats["questions_with_answer_in_a_window"],
                    "train_questions_at_max_windows": window_stats["questions_at_max_windows"],
                    "train_labelled_span_matches_answer_share": round(alignment, 4)})

    albert_config = get_preset(PRESET).replace(vocab_size=vocab["pieces"], hidden_dropout_prob=recipe.dropout,
                                               attention_probs_dropout_prob=recipe.dropout)
    albert_config.to_json_file(str(work / "albert_config.json"))
    if recipe.train_windows == "all":
        records, windows = str(work / "train.tfrecord.gz"), window_stats["windows"]
    else:
        records, windows = str(work / "train_answer_windows.tfrecord.gz"), window_stats["windows_with_answer"]

    def fine_tune(variant: str, budget: float, warm_start: Optional[Path]) -> Dict:
        trained = budgeted_train(
            variant, lambda name, steps: qa_config(work / variant / name, work / "albert_config.json", steps, recipe,
                                                   warm_start),
            records, budget, windows, recipe.batch_size)
        export_dir = export(trained["result"].model, options, work / "spm.model", work / variant / "export",
                            trained["result"].final_step)
        scores = score_export(export_dir, test, references)
        print(f"[{variant}] EM {scores['em']:.2f} F1 {scores['f1']:.2f} (baseline F1 {baseline['f1']:.2f}) after "
              f"{trained['keys']['train_steps']} steps", flush=True)
        keys = {f"{variant}_{k}": v for k, v in trained["keys"].items()}
        keys.update({f"{variant}_em": scores["em"], f"{variant}_f1": scores["f1"],
                     f"{variant}_f1_gain_over_baseline": round(scores["f1"] - baseline["f1"], 2),
                     f"{variant}_em_gain_over_baseline": round(scores["em"] - baseline["em"], 2),
                     f"{variant}_empty_answers": scores["empty_answers"],
                     f"{variant}_eval_wall_seconds": scores["eval_seconds"]})
        return {"keys": keys, "export_dir": export_dir}

    scratch = fine_tune("scratch", budget_s, None)
    results.update(scratch["keys"])
    results["scratch_budget_minutes"] = budget_minutes

    if args.pretrain_fraction > 0:
        pretrain_started = time.perf_counter()
        contexts = sorted({q.context for q in train_questions})
        pretrain_data = generate_pretraining_records(contexts, work / "spm.model", work / "pretrain.tfrecord.gz")
        data_seconds = time.perf_counter() - pretrain_started
        print(f"[pretrain] {pretrain_data['instances']} instances of {pretrain_data['documents_used']} contexts in "
              f"{data_seconds:.0f}s", flush=True)
        pretrain_budget = budget_s * args.pretrain_fraction
        pretrained = budgeted_train(
            "pretrain", lambda name, steps: pretrain_config(work / "pretrain" / name, work / "albert_config.json",
                                                            steps),
            str(work / "pretrain.tfrecord.gz"), pretrain_budget, pretrain_data["instances"],
            quality_pretrain.BATCH_SIZE)
        history = pretrained["result"].history or {}
        final_metrics = {k: round(float(v[-1]), 4) for k, v in history.items() if v}
        results.update({f"pretrain_{k}": v for k, v in pretrained["keys"].items()})
        results.update({"pretrain_final_train_metrics": final_metrics,
                        "pretrain_instances": pretrain_data["instances"],
                        "pretrain_documents": pretrain_data["documents_used"],
                        "pretrain_data_wall_seconds": round(data_seconds, 1),
                        "pretrain_budget_minutes": round(pretrain_budget / 60, 2),
                        "pretrain_fraction": args.pretrain_fraction,
                        "pretrain_text": "the training contexts (DRCD + CMRC 2018 train side), one a document",
                        "pretrain_max_seq_length": PRETRAIN_SEQ_LENGTH,
                        "pretrain_max_predictions_per_seq": PRETRAIN_MAX_PREDICTIONS,
                        "pretrain_dupe_factor": PRETRAIN_DUPE_FACTOR,
                        "pretrain_recipe": (f"MLM + SOP, {quality_pretrain.OPTIMIZER} lr "
                                            f"{quality_pretrain.LEARNING_RATE:g}, warmup "
                                            f"{quality_pretrain.WARMUP_FRACTION:g}, clip "
                                            f"{quality_pretrain.CLIP_NORM:g}, batch {quality_pretrain.BATCH_SIZE}")})
        used = (time.perf_counter() - pretrain_started) - data_seconds
        fine_tune_budget = max(budget_s - used, 60.0)
        tuned = fine_tune("pretrained", fine_tune_budget, pretrained["final_dir"])
        results.update(tuned["keys"])
        results.update({"pretrained_fine_tune_budget_minutes": round(fine_tune_budget / 60, 2),
                        "pretrained_total_training_wall_minutes": round(
                            (time.perf_counter() - pretrain_started - data_seconds) / 60, 2),
                        "pretrained_budget_minutes": budget_minutes})

    if not args.no_speed:
        results.update(speed(scratch["export_dir"], test, work, args.quick))
        print(f"[speed] qa signature, batch {THROUGHPUT_BATCH}: in-process "
              f"{results['qa_inprocess_questions_per_s_batch32']:.1f} questions/s, gRPC "
              f"{results['qa_grpc_questions_per_s_batch32']:.1f} questions/s", flush=True)

    results.update({f"recipe_{field.name}": getattr(recipe, field.name) for field in dataclasses.fields(recipe)})
    results.update({"preset": PRESET, "vocab_size": VOCAB_SIZE, "optimizer": "adamw", "precision": "float32",
                    "selection": "final weights", "budget_minutes": budget_minutes,
                    "f1_gain_goal": F1_GAIN_GOAL, "wall_minutes": round((time.perf_counter() - started) / 60, 2)})
    if "scratch_f1_gain_over_baseline" in results:
        results["scratch_f1_gain_goal_met"] = results["scratch_f1_gain_over_baseline"] >= F1_GAIN_GOAL
    return results


# --- output ----------------------------------------------------------------------------------------------


def machine_keys() -> Dict:
    import tensorflow as tf

    from benchmarks import quality_defaults

    return {"machine": platform.machine(), "machine_processor": platform.processor() or platform.machine(),
            "machine_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "machine_cpu_flags": quality_defaults._cpu_flags(), "python": platform.python_version(),
            "tensorflow": tf.__version__}


def table_rows(results: Dict) -> List[report.Row]:
    command, date = results["command"], results["date"]
    where = (f"CMRC 2018 held-out articles ({results['eval_questions']:,} questions), tiny trained on DRCD + CMRC "
             f"train-side articles ({results['train_questions']:,} questions)")
    window = (f"seq {results['recipe_max_seq_length']}, stride {results['recipe_doc_stride']}, batch "
              f"{results['recipe_batch_size']}, lr {results['recipe_learning_rate']:g}, "
              + ("every window" if results["recipe_train_windows"] == "all" else "the answer's windows"))
    baseline = (f"EM {results['baseline_em']:.2f} / F1 {results['baseline_f1']:.2f} (non-learned: span after the "
                "longest overlap with the question)")
    rows = []
    budget = results["budget_minutes"]
    budget = int(budget) if float(budget).is_integer() else budget
    if "scratch_f1" in results:
        rows.append(report.Row(
            BENCHMARK,
            f"{where}: EM / F1 (%), from scratch, {budget}-minute CPU training budget ({window}, "
            f"{results['scratch_train_steps']} steps, {results['scratch_train_passes']:g} passes); goal: F1 >= "
            f"baseline + {results['f1_gain_goal']:g}",
            f"EM {results['scratch_em']:.2f} / F1 {results['scratch_f1']:.2f}", baseline,
            f"{results['scratch_f1_gain_over_baseline']:+.2f} F1", command, date))
    if "pretrained_f1" in results:
        rows.append(report.Row(
            BENCHMARK,
            f"{where}: EM / F1 (%), warm-started from MLM+SOP pretraining on the training contexts "
            f"({results['pretrain_train_steps']} steps, {results['pretrain_fraction']:.2g} of the budget) then "
            f"fine-tuned ({results['pretrained_train_steps']} steps), {budget}-minute CPU budget in all ({window})",
            f"EM {results['pretrained_em']:.2f} / F1 {results['pretrained_f1']:.2f}", baseline,
            f"{results['pretrained_f1_gain_over_baseline']:+.2f} F1", command, date))
    if "qa_grpc_questions_per_s_batch32" in results:
        rows.append(report.Row(
            BENCHMARK,
            f"tiny: qa signature throughput, batch 32 questions, contexts of ~{results['qa_speed_context_chars_mean']:.0f}"
            f" characters (questions/s, seq {results['recipe_max_seq_length']}, float32, CPU; n-best and merge in the "
            f"graph)",
            f"{results['qa_grpc_questions_per_s_batch32']:.1f} (gRPC, albert-tfx serve)",
            f"{results['qa_inprocess_questions_per_s_batch32']:.1f} (SavedModel in-process)",
            f"{results['qa_grpc_over_inprocess_throughput_ratio']:.2f}", command, date))
    return rows


def parse_args(argv: Optional[Sequence[str]]):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality_qa", description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget-minutes", type=float, default=None,
                        help=f"CPU minutes of training per variant (probes and main runs; the pretrained variant's "
                             f"pretraining included); default {DEFAULT_BUDGET_MINUTES:g}, {QUICK_BUDGET_MINUTES:g} "
                             "with --quick")
    parser.add_argument("--pretrain-fraction", type=float, default=1 / 3,
                        help="share of the budget the pretrained variant spends pretraining (0: no such variant)")
    default = Recipe()
    for field in dataclasses.fields(Recipe):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(getattr(default, field.name)),
                            default=getattr(default, field.name),
                            choices=("answer", "all") if field.name == "train_windows" else None)
    parser.add_argument("--no-speed", action="store_true", help="skip the qa signature's speed measurement")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_TRAIN_QUESTIONS} training and {QUICK_EVAL_QUESTIONS} test questions, "
                             f"{QUICK_BUDGET_MINUTES:g}-minute budgets; writes nothing")
    parser.add_argument("--keep-work-dir", action="store_true", help="keep the vocabulary, records, models and exports")
    args = parser.parse_args(argv)
    if args.budget_minutes is None:
        args.budget_minutes = QUICK_BUDGET_MINUTES if args.quick else DEFAULT_BUDGET_MINUTES
    if not 0 <= args.pretrain_fraction < 1:
        parser.error("--pretrain-fraction must be in [0, 1)")
    return args


def import_everything() -> None:
    """Imports every module the run uses, up front: a run takes an hour, and other work may change files of the
    checkout meanwhile; a module first imported late would then come from another version than those imported
    early (an export once failed that way)."""
    import importlib

    for name in ("tensorflow_text", "benchmarks.quality_defaults", "benchmarks.serving_latency",
                 "components.qa_baseline", "components.qa_scoring", "components.qa_example_gen.parsing",
                 "components.pretraining_data.beam_pipeline", "components.pretraining_data.generation",
                 "components.pretraining_data.spec", "serving.client", "serving.contract", "serving.push",
                 "serving.qa_export", "text_contract.features", "text_contract.pieces", "text_contract.transform",
                 "text_contract.windows", "trainer.input_pipeline", "trainer.presets", "trainer.train",
                 "trainer.training_config"):
        importlib.import_module(name)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    import tensorflow as tf

    import_everything()

    try:
        tf.config.set_visible_devices([], "GPU")  # a CPU benchmark, even where a GPU exists
    except RuntimeError:
        pass
    recipe = Recipe(**{field.name: getattr(args, field.name) for field in dataclasses.fields(Recipe)})
    work = Path(tempfile.mkdtemp(prefix="quality_qa-"))
    try:
        results = run(args, recipe, work)
    finally:
        if args.keep_work_dir:
            print(f"work dir kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    results.update(machine_keys())
    if args.quick:
        print(json.dumps(results, indent=2, sort_keys=True, default=str))
        return 0
    flags = ["--budget-minutes", f"{args.budget_minutes:g}"]
    if abs(args.pretrain_fraction - 1 / 3) > 1e-9:
        flags += ["--pretrain-fraction", f"{args.pretrain_fraction:g}"]
    flags += recipe.flags() + (["--no-speed"] if args.no_speed else [])
    results["command"] = " ".join(["python -m benchmarks.quality_qa", *map(shlex.quote, flags)])
    path = report.write_results(BENCHMARK, results)
    report.update_benchmarks_md(BENCHMARK, table_rows(results))
    print(f"wrote {path} and {report.BENCHMARKS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
