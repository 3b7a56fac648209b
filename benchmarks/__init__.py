"""Speed benchmarks of albert-tfx against its peer implementation (keras-hub).

Each benchmark is a module of this package, runnable on its own (`python -m benchmarks.<name>`), that
times our code and the peer's the same way, prints a table, writes `benchmarks/results/<name>.json` and
refreshes its rows in the repository's `BENCHMARKS.md` through `benchmarks.report`.

`python -m benchmarks.run_all` (what `make bench` runs) runs every benchmark module in turn. Helper
modules that are not benchmarks start with an underscore or are listed in `run_all.NOT_BENCHMARKS`.

Modules:
    encoder_speed: encoder inference latency/throughput and one MLM training step, ours vs keras-hub.
    report: writes result JSON files and the `BENCHMARKS.md` table (shared helper).
    run_all: runs every benchmark module.
"""
