"""Speed benchmarks of albert-tfx, each against a peer measured in the same run (keras-hub for the model,
a single-process loop for the Beam data path).

Each benchmark is a module of this package, runnable on its own (`python -m benchmarks.<name>`), that
times our code and the peer's the same way, prints a table, writes `benchmarks/results/<name>.json` and
refreshes its rows in the repository's `BENCHMARKS.md` through `benchmarks.report`.

`python -m benchmarks.run_all` (what `make bench` runs) runs every benchmark module in turn. Helper
modules that are not benchmarks start with an underscore or are listed in `run_all.NOT_BENCHMARKS`.

Modules:
    encoder_speed: encoder inference latency/throughput and one MLM training step, ours vs keras-hub.
    training_throughput: Keras training steps/s with and without XLA, ours vs keras-hub's AlbertMaskedLM.
    tokenization_speed: SentencePiece tokenization of SST-2 train, Beam and tf-text vs a Python loop.
    pretraining_data_speed: PretrainingDataGen on WikiText-2, Beam vs a single-process loop.
    quality_finetune: dev accuracy of `tiny` fine-tuned from scratch on SST-2 / ChnSentiCorp in a CPU budget.
    harness: interleaved timing and machine-load measurement (shared helper).
    report: writes result JSON files and the `BENCHMARKS.md` table (shared helper).
    run_all: runs every benchmark module.
"""
