"""Shared output of the benchmarks: a result JSON per benchmark and the rows of `BENCHMARKS.md`.

`BENCHMARKS.md` at the repository root holds one markdown table between two marker comments. Each
benchmark owns the rows whose first cell is its name: `update_benchmarks_md` replaces all of them at once
(where the first of them was, or at the end for a new benchmark), so the table always matches the
benchmark's latest result JSON, and other benchmarks' rows are left as they are.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, List, Mapping, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"

TABLE_BEGIN = "<!-- benchmarks-table:begin -->"
TABLE_END = "<!-- benchmarks-table:end -->"
COLUMNS = ("benchmark", "metric", "ours", "peer", "ratio (peer time / our time)", "command", "date")

HEADER = """# Benchmarks

Speed of albert-tfx against a peer measured the same way in the same run: keras-hub for the model,
a single-process loop for the Beam data path, the in-process SavedModel for gRPC serving; each row names
its peer. Quality rows (`quality_finetune`, `quality_pretrain`, `pipeline_sst2`) give an accuracy, with
the target it must reach (or chance) in the peer column and no ratio.

- **ratio** is `peer_time / our_time` (for a throughput, `our_throughput / peer_throughput`, the same
  thing): **>= 1.0 means we are faster**, below 1.0 means the peer is.
- Every figure below is produced by `make bench` (`python -m benchmarks.run_all`) or by the command in
  its row, which also writes the full results to `benchmarks/results/<benchmark>.json` (repeats,
  machine, library versions). **Never edit the table by hand**: rerun the benchmark instead.
- Figures come from one machine at one time (CPU timings on a shared box are noisy, a few percent
  run to run); compare ratios rather than absolute times across machines.
"""


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the `BENCHMARKS.md` table; values are already formatted for display."""

    benchmark: str
    metric: str
    ours: str
    peer: str
    ratio: str
    command: str
    date: str

    def cells(self) -> List[str]:
        return [self.benchmark, self.metric, self.ours, self.peer, self.ratio, f"`{self.command}`", self.date]


def write_results(benchmark: str, results: Mapping[str, Any], results_dir: Optional[Path] = None) -> Path:
    """Writes `results` (flat, JSON-serializable) to `<results_dir>/<benchmark>.json`; returns the path."""
    results_dir = Path(results_dir) if results_dir is not None else RESULTS_DIR
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{benchmark}.json"
    _write_atomically(path, json.dumps(dict(results), indent=2, sort_keys=True) + "\n")
    return path


def update_benchmarks_md(benchmark: str, rows: Iterable[Row], path: Optional[Path] = None) -> Path:
    """Replaces every table row of `benchmark` in `BENCHMARKS.md` by `rows`; creates the file if needed."""
    path = Path(path) if path is not None else BENCHMARKS_MD
    rows = list(rows)
    if any(row.benchmark != benchmark for row in rows):
        raise ValueError(f"all rows must belong to benchmark {benchmark!r}")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    before, existing, after = _split_table(text)

    new_lines: List[str] = []
    inserted = False
    for line in existing:
        if _first_cell(line) == benchmark:
            if not inserted:
                new_lines.extend(_format_row(row.cells()) for row in rows)
                inserted = True
        else:
            new_lines.append(line)
    if not inserted:
        new_lines.extend(_format_row(row.cells()) for row in rows)

    table = [TABLE_BEGIN, _format_row(list(COLUMNS)), _format_row(["---"] * len(COLUMNS)), *new_lines, TABLE_END]
    _write_atomically(path, before + "\n".join(table) + "\n" + after)
    return path


# --- internals -----------------------------------------------------------------------------------------


def _split_table(text: str):
    """(text before the table, the table's data rows, text after it); a fresh header when there is none."""
    if TABLE_BEGIN not in text or TABLE_END not in text:
        before = text if text.strip() else HEADER
        return before.rstrip("\n") + "\n\n", [], ""
    before, rest = text.split(TABLE_BEGIN, 1)
    table, after = rest.split(TABLE_END, 1)
    lines = [line.strip() for line in table.strip().splitlines() if line.strip().startswith("|")]
    # The first two table lines are the column names and the separator.
    return before, lines[2:], after.lstrip("\n")


def _first_cell(line: str) -> str:
    cells = line.strip().strip("|").split("|")
    return cells[0].strip() if cells else ""


def _format_row(cells: List[str]) -> str:
    return "| " + " | ".join(str(cell).replace("|", "\\|").replace("\n", " ") for cell in cells) + " |"


def _write_atomically(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(content)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
