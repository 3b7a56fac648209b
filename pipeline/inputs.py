"""Where the pipeline's labelled rows are and how ExampleGen reads them: `plan_input(config.data)`.

Checked before anything runs, so a wrong path or column is one readable error (`InputError`) instead of
a failure deep inside Beam. Layouts, in the order they are recognised:

- `data.span_pattern` given: files matching it (relative to `data.path`, with `{SPAN}`); the newest span
  is read, rows split into train/eval by hash;
- span directories `span-<N>/` under `data.path`: the newest span; inside it either `train.*` and
  `dev.*`/`eval.*`/`validation.*` files (two splits) or other data files (hash split);
- `train.*` and `dev.*`/`eval.*`/`validation.*` files in `data.path`: two splits (SST-2, ChnSentiCorp);
- a single file, or a directory of data files: one split, divided into train/eval by hash.

Task qa (`qa=True`) reads SQuAD-format `.json` files in the same layouts, and a single split is divided by a
hash of the article title (QaExampleGen's own split), never by question.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
from typing import List, Optional, Sequence, Tuple

from pipeline.configs import JSON_FORMAT, DataConfig
from text_contract import storage

EVAL_NAMES = ("dev", "eval", "validation", "valid")
TEXT_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv"}
TFRECORD_EXTENSIONS = (".tfrecord", ".tfrecords", ".gz")
JSON_EXTENSION = ".json"
SPAN_DIR = re.compile(r"^span-(\d+)$")
TRAIN_SPLIT, EVAL_SPLIT = "train", "eval"


class InputError(ValueError):
    """The data cannot be read as configured; the message names the path, column or setting."""


@dataclasses.dataclass(frozen=True)
class InputPlan:
    """What ExampleGen needs. `split_patterns`: [(split, pattern relative to input_base)]; one entry means
    the rows are hash-split into train/eval with `eval_buckets` of 10 buckets for eval."""

    input_base: str
    format: str  # csv | tsv | tfrecord | json
    split_patterns: Tuple[Tuple[str, str], ...]
    delimiter: str
    quoting: str
    header: bool
    column_names: Optional[Tuple[str, ...]]
    span: Optional[int]  # the newest span number when the layout has spans
    eval_buckets: int
    sample_file: str  # a file whose columns were checked

    @property
    def uses_spans(self) -> bool:
        return any("{SPAN}" in pattern for _, pattern in self.split_patterns)


def _format_of(path: str, configured: str, qa: bool = False) -> str:
    if qa:
        return JSON_FORMAT  # the config refuses any other format for task qa
    if configured != "auto":
        return configured
    lower = path.lower()
    if lower.endswith(TFRECORD_EXTENSIONS):
        return "tfrecord"
    extension = os.path.splitext(lower)[1]
    if extension in TEXT_EXTENSIONS:
        return TEXT_EXTENSIONS[extension]
    if extension == JSON_EXTENSION:
        raise InputError(f"{path}: a .json file is read as SQuAD-format question answering data, by training.task qa "
                         "(--task qa); classification reads csv, tsv or tfrecord")
    raise InputError(f"{path}: cannot tell the format from the extension; set data.format to csv, tsv or tfrecord")


def _is_data_file(name: str, qa: bool) -> bool:
    lower = name.lower()
    if qa:
        return lower.endswith(JSON_EXTENSION)
    return os.path.splitext(lower)[1] in TEXT_EXTENSIONS or lower.endswith(TFRECORD_EXTENSIONS)


def _data_files(directory: str, qa: bool = False) -> List[str]:
    return sorted(
        name for name in os.listdir(directory)
        if os.path.isfile(os.path.join(directory, name)) and not name.startswith(".") and _is_data_file(name, qa)
    )


def _split_files(names: Sequence[str]) -> Optional[Tuple[str, str]]:
    """(train file, eval file) when the names hold one of each."""
    def stem(name):
        return name.split(".", 1)[0].lower()

    train = [n for n in names if stem(n) == TRAIN_SPLIT]
    evals = [n for n in names if stem(n) in EVAL_NAMES]
    if len(train) == 1 and len(evals) >= 1:
        return train[0], sorted(evals, key=lambda n: EVAL_NAMES.index(stem(n)))[0]
    return None


def _newest_span(path: str) -> Optional[int]:
    spans = [int(m.group(1)) for name in os.listdir(path) if (m := SPAN_DIR.match(name))
             and os.path.isdir(os.path.join(path, name))]
    return max(spans) if spans else None


def _eval_buckets(fraction: float) -> int:
    return min(9, max(1, round(fraction * 10)))


def plan_input(data: DataConfig, qa: bool = False) -> InputPlan:
    """The plan for local data; `qa`: task qa's SQuAD-format JSON files."""
    kinds = ".json" if qa else ".csv/.tsv/.txt/.tfrecord"
    path = os.path.abspath(os.path.expanduser(data.path))
    if storage.is_remote(data.path):
        raise InputError(f"data.path {data.path}: remote paths are read by ExampleGen but cannot be checked here; "
                         "use a local copy for `albert-tfx run`")
    if not os.path.exists(path):
        raise InputError(f"data.path {path} does not exist")
    buckets = _eval_buckets(data.eval_fraction)

    if data.span_pattern:
        base = path
        matches = sorted(glob.glob(os.path.join(base, data.span_pattern.replace("{SPAN}", "*"))))
        if not matches:
            raise InputError(f"no file matches data.span_pattern {data.span_pattern!r} under {base}")
        spans = []
        regex = re.escape(data.span_pattern).replace(re.escape("{SPAN}"), r"(\d+)").replace(r"\*", ".*")
        for match in matches:
            found = re.fullmatch(regex, os.path.relpath(match, base))
            if found:
                spans.append(int(found.group(1)))
        return _plan(data, base, ((TRAIN_SPLIT, data.span_pattern),), max(spans) if spans else None, buckets,
                     matches[-1], qa)

    if os.path.isfile(path):
        return _plan(data, os.path.dirname(path), ((TRAIN_SPLIT, os.path.basename(path)),), None, buckets, path, qa)

    span = _newest_span(path)
    if span is not None:
        span_dir = os.path.join(path, f"span-{span}")
        names = _data_files(span_dir, qa)
        if not names:
            raise InputError(f"{span_dir}: the newest span holds no {kinds} file")
        pair = _split_files(names)
        if pair:
            patterns = ((TRAIN_SPLIT, f"span-{{SPAN}}/{pair[0]}"), (EVAL_SPLIT, f"span-{{SPAN}}/{pair[1]}"))
        else:
            extension = os.path.splitext(names[0])[1]
            patterns = ((TRAIN_SPLIT, f"span-{{SPAN}}/*{extension}"),)
        return _plan(data, path, patterns, span, buckets, os.path.join(span_dir, names[0]), qa)

    names = _data_files(path, qa)
    if not names:
        hint = ""
        if not qa and _data_files(path, qa=True):
            hint = "; its .json files are question answering data: use training.task qa (--task qa)"
        raise InputError(f"{path}: no {kinds} file (nor span-<N>/ directories) to read{hint}")
    pair = _split_files(names)
    if pair:
        return _plan(data, path, ((TRAIN_SPLIT, pair[0]), (EVAL_SPLIT, pair[1])), None, buckets,
                     os.path.join(path, pair[0]), qa)
    extension = os.path.splitext(names[0])[1]
    return _plan(data, path, ((TRAIN_SPLIT, f"*{extension}"),), None, buckets, os.path.join(path, names[0]), qa)


def _plan(data: DataConfig, base: str, patterns, span, buckets, sample_file: str, qa: bool = False) -> InputPlan:
    file_format = _format_of(sample_file, data.format, qa)
    delimiter = data.delimiter or ("\t" if file_format == "tsv" else ",")
    quoting = data.quoting if data.quoting != "auto" else ("none" if file_format == "tsv" else "csv")
    plan = InputPlan(
        input_base=base, format=file_format, split_patterns=tuple(patterns), delimiter=delimiter, quoting=quoting,
        header=data.header, column_names=tuple(data.column_names) if data.column_names else None, span=span,
        eval_buckets=buckets, sample_file=sample_file)
    if file_format == JSON_FORMAT:
        check_squad_file(sample_file)
    elif file_format != "tfrecord":
        check_columns(plan, data)
    return plan


def check_squad_file(path: str) -> None:
    """The file is SQuAD-format JSON with at least one article (QaExampleGen counts and reports the bad entries
    inside it; a file that is not such JSON at all is one error here, before anything runs)."""
    from components.qa_example_gen import parsing  # pure Python

    with open(path, "rb") as handle:
        data = handle.read()
    try:
        articles = parsing.load_json(data, path)
    except parsing.QaFileError as error:
        raise InputError(str(error)) from None
    if not articles:
        raise InputError(f"{path}: its 'data' list holds no article")


def read_header(path: str, delimiter: str) -> List[str]:
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for line in handle:
            if line.strip():
                return [name.strip().strip('"') for name in line.rstrip("\r\n").split(delimiter)]
    raise InputError(f"{path}: the file is empty (no header, no rows)")


def check_columns(plan: InputPlan, data: DataConfig) -> None:
    """The text and label columns exist (in the header, or in data.column_names), and there are rows."""
    if plan.header:
        columns = read_header(plan.sample_file, plan.delimiter)
        if plan.column_names and list(plan.column_names) != columns:
            raise InputError(f"{plan.sample_file}: header {columns} differs from data.column_names "
                             f"{list(plan.column_names)}")
        hint = " (is data.delimiter right?)" if len(columns) == 1 else ""
    else:
        columns = list(plan.column_names or ())
        hint = ""
    for name in (*data.text_columns, data.label_column):
        if name not in columns:
            where = "its header" if plan.header else "data.column_names"
            raise InputError(f"{plan.sample_file}: no column {name!r}; {where} names {columns}{hint}")
    rows = 0
    with open(plan.sample_file, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                rows += 1
                if rows > (1 if plan.header else 0):
                    return
    raise InputError(f"{plan.sample_file}: no data rows")


def example_gen_protos(plan: InputPlan, eval_fraction: float):
    """(input_config, output_config) protos for ExampleGen: two named splits, or one split hash-divided."""
    from tfx.proto import example_gen_pb2

    input_config = example_gen_pb2.Input(
        splits=[example_gen_pb2.Input.Split(name=name, pattern=pattern) for name, pattern in plan.split_patterns])
    if len(plan.split_patterns) > 1:
        return input_config, None
    output_config = example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
        example_gen_pb2.SplitConfig.Split(name=TRAIN_SPLIT, hash_buckets=10 - plan.eval_buckets),
        example_gen_pb2.SplitConfig.Split(name=EVAL_SPLIT, hash_buckets=plan.eval_buckets),
    ]))
    return input_config, output_config


def plan_remote_input(data: DataConfig) -> InputPlan:
    """The plan for data on a remote file system (gs://...), which cannot be listed or checked here.

    With `data.span_pattern`: that pattern, hash-split. Otherwise `train.<ext>` and `dev.<ext>` under
    `data.path`, with the extension of `data.format` (which must then be set).
    """
    if data.format == "auto":
        raise InputError(f"data.path {data.path} is remote: set data.format (csv, tsv or tfrecord)")
    extension = {"csv": "csv", "tsv": "tsv", "tfrecord": "tfrecord*", JSON_FORMAT: "json"}[data.format]
    if data.span_pattern:
        patterns = ((TRAIN_SPLIT, data.span_pattern),)
    else:
        patterns = ((TRAIN_SPLIT, f"train.{extension}"), (EVAL_SPLIT, f"dev.{extension}"))
    delimiter = data.delimiter or ("\t" if data.format == "tsv" else ",")
    quoting = data.quoting if data.quoting != "auto" else ("none" if data.format == "tsv" else "csv")
    return InputPlan(input_base=data.path, format=data.format, split_patterns=patterns, delimiter=delimiter,
                     quoting=quoting, header=data.header,
                     column_names=tuple(data.column_names) if data.column_names else None, span=None,
                     eval_buckets=_eval_buckets(data.eval_fraction), sample_file="")


def plan_any_input(data: DataConfig, qa: bool = False) -> InputPlan:
    """`plan_input` for local data (checked), `plan_remote_input` for remote data (`qa`: task qa's JSON)."""
    if storage.is_remote(data.path):
        if qa and data.format == "auto":
            data = dataclasses.replace(data, format=JSON_FORMAT)
        return plan_remote_input(data)
    return plan_input(data, qa)
