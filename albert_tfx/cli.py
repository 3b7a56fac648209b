"""`albert-tfx`: thin subcommands that delegate to `trainer`, `serving` and `pipeline`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from typing import List, Optional

from text_contract import storage

# TensorFlow's C++ start-up chatter hides our output; users can still set their own level.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Google client libraries warn about Python 3.10 on import; TFX 1.16 requires 3.10, so the warning is noise.
warnings.filterwarnings("ignore", message="You are using a non-supported Python version", category=FutureWarning)
# Google client libraries' deprecation notices about versions TFX 1.16 pins: noise for our users.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")


def _cmd_info(args) -> int:
    from trainer.info import all_preset_names, format_table, parameter_rows

    names = all_preset_names() if args.preset == "all" else [args.preset]
    rows = parameter_rows(names)
    print(json.dumps(rows, indent=2) if args.json else format_table(rows))
    return 0


def _cmd_convert(args) -> int:
    from trainer.checkpoints import import_weights, save_converted

    started = time.time()
    print(f"reading {args.source_format} weights from {args.src} ...", file=sys.stderr)
    model, report = import_weights(args.source_format, args.src, args.config)
    save_converted(model, args.out, report, args.source_format, overwrite=args.overwrite)
    heads = ", ".join(report.heads) or "none"
    print(
        f"converted {len(report.loaded)} variables ({model.count_params():,} parameters; heads: {heads}) "
        f"to {args.out} in {time.time() - started:.1f}s"
    )
    return 0


def _pipeline_config(args):
    """The pipeline config: --config's YAML (or the defaults), then the flags, then --set overrides."""
    from pipeline.configs import PipelineConfig

    config = PipelineConfig.from_yaml(args.config) if args.config else PipelineConfig()
    overrides = {}
    flags = {
        "data.path": args.data, "data.label_column": args.label_column, "data.delimiter": args.delimiter,
        "data.format": args.format, "orchestration.output_dir": args.output, "serving.serving_dir": args.serving_dir,
        "serving.model_name": args.model_name, "training.preset": args.preset, "training.train_steps": args.train_steps,
        "training.task": args.task,
        "training.max_seq_length": args.max_seq_length,
    }
    overrides.update({key: value for key, value in flags.items() if value is not None})
    if args.text_column:
        overrides["data.text_columns"] = list(args.text_column)
    if args.no_header:
        overrides["data.header"] = False
    if args.column_names:
        overrides["data.column_names"] = args.column_names
    for item in args.set or ():
        key, sep, value = item.partition("=")
        if not sep:
            from pipeline.configs import ConfigError

            raise ConfigError(f"--set {item!r}: expected section.field=value")
        overrides[key.strip()] = value
    if args.beam_arg:  # appended to the config's list, in the same step as --set's runner: checked together
        from pipeline.configs import ConfigError

        key = "orchestration.beam_pipeline_args"
        if key in overrides:
            raise ConfigError(f"--beam-arg appends to {key}: give that list with --set or with --beam-arg, not both")
        overrides[key] = [*config.orchestration.beam_pipeline_args, *args.beam_arg]
    return config.with_overrides(overrides) if overrides else config


def _cmd_run(args) -> int:
    from pipeline import beam_worker  # noqa: F401  (its exit hook: Beam steps that run in this process)
    from pipeline import local_runner

    config = _pipeline_config(args)
    if args.print_config:
        print(config.to_yaml(), end="")
        return 0
    from pipeline import interrupts

    # SIGINT/SIGTERM: stops the Beam workers and other children, one line on stderr, exit 130/143.
    with interrupts.StopOnSignals("albert-tfx run"):
        summary = local_runner.run(config, report=lambda line: print(line, file=sys.stderr, flush=True))
        print("\n".join(summary.lines()))
    return 0


def _cmd_compile(args) -> int:
    config = _pipeline_config(args)
    if args.target == "kubeflow":
        from pipeline import kubeflow_runner

        path = kubeflow_runner.compile_pipeline(config, args.output_file)
    else:
        from pipeline import airflow_dag

        path = airflow_dag.write_dag_file(config, args.output_file)
    print(f"wrote the {args.target} pipeline to {path}")
    return 0


def _add_pipeline_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="a pipeline YAML file (sections as in pipeline/configs.py)")
    parser.add_argument("--data", help="a data file, a directory with train/dev files, or span-<N>/ directories")
    parser.add_argument("--text-column", action="append", help="the text column (twice for sentence pairs)")
    parser.add_argument("--label-column", help="the label column")
    parser.add_argument("--delimiter", help="the field delimiter (default from the extension)")
    # No argparse choices: the config checks the task and the format (one list each, pipeline/configs.py; importing
    # it here would load TensorFlow for every command).
    parser.add_argument("--task", help="classify (labelled text rows; the default) or qa "
                        "(extractive question answering on SQuAD-format JSON: train.json/dev.json, or one file split "
                        "by article)")
    parser.add_argument("--format", help="the data format: auto (from the extension), csv, tsv, tfrecord, or json "
                        "(task qa)")
    parser.add_argument("--no-header", action="store_true", help="the files have no header line (name the "
                        "columns with --column-names)")
    parser.add_argument("--column-names", help="comma-separated column names, in file order")
    parser.add_argument("--output", help="the output directory (pipeline root and ML Metadata)")
    parser.add_argument("--serving-dir", help="where blessed models are pushed (<dir>/<model-name>/<version>/)")
    parser.add_argument("--model-name", help="the served model's name")
    parser.add_argument("--preset", help="the encoder preset (tiny, base, large, ...)")
    parser.add_argument("--train-steps", type=int, help="training steps of the classifier")
    parser.add_argument("--max-seq-length", type=int, help="pieces per example (incl. [CLS]/[SEP]); default: derived from the data")
    parser.add_argument("--set", action="append", metavar="SECTION.FIELD=VALUE",
                        help="override any config field, e.g. --set evaluation.min_score=0.8")
    parser.add_argument("--beam-arg", action="append", metavar="--NAME=VALUE",
                        help="a Beam pipeline option for every Beam step, appended to orchestration.beam_pipeline_args "
                        "(repeatable; write it with '=', e.g. --beam-arg=--project=my-project)")


def _cmd_serve(args) -> int:
    import logging

    from serving.batching import BatchingConfig
    from serving.client import read_token_file
    from serving.model_manager import read_model_config_file
    from serving.server import ServerConfig, serve_until_signalled

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    batching = None
    if args.enable_batching:
        batching = BatchingConfig(max_batch_size=args.max_batch_size, batch_timeout_s=args.batch_timeout_ms / 1000,
                                  max_enqueued_batches=args.max_enqueued_batches, num_batch_threads=args.num_batch_threads)
    options = dict(host=args.host, port=args.port, poll_interval_s=args.poll_seconds, max_workers=args.workers,
                   max_request_batch=args.max_request_batch, max_text_bytes=args.max_text_bytes, batching=batching,
                   grace_s=args.grace_seconds, warmup=not args.no_warmup, ssl_cert_file=args.ssl_cert,
                   ssl_key_file=args.ssl_key, rest_port=args.rest_port)
    try:
        if args.auth_token_file:
            options["auth_token"] = read_token_file(args.auth_token_file)
        if args.model_config_file:
            config = ServerConfig(models=tuple(read_model_config_file(args.model_config_file)), **options)
        else:
            storage.register_filesystem(args.model_base_path)  # gs://, s3:// as with TF Serving
            if not storage.isdir(args.model_base_path):
                raise FileNotFoundError(f"--model-base-path {args.model_base_path}: no such directory")
            base_path = args.model_base_path if storage.is_remote(args.model_base_path) \
                else os.path.abspath(args.model_base_path)
            config = ServerConfig.for_base_path(base_path, args.model_name, **options)
    except (ValueError, OSError) as error:
        print(f"albert-tfx serve: error: {error}", file=sys.stderr)
        return 2

    def ready(server):
        models = ", ".join(f"{name} {manager.available_versions() or '(no version yet)'}"
                           for name, manager in server.registry.managers.items())
        rest = f"; REST API on {server.rest_address}" if server.rest_address else ""
        print(f"albert-tfx serve: listening on {server.address} ({models}){rest}; Ctrl-C or SIGTERM stops it",
              flush=True)

    try:
        serve_until_signalled(config, on_ready=ready)
    except OSError as error:
        print(f"albert-tfx serve: error: {error}", file=sys.stderr)
        return 2
    print("albert-tfx serve: stopped", flush=True)
    return 0


def _qa_lines(lines: List[str], where: str) -> Optional[List[tuple]]:
    """(question, context) per JSON line {"question": ..., "context": ...}; None when the first line is not such
    an object (a classifier's input file: one text per line)."""
    def parse(line):
        try:
            value = json.loads(line)
        except ValueError:
            return None
        return value if isinstance(value, dict) and "question" in value else None

    if not lines or parse(lines[0]) is None:
        return None
    pairs = []
    for number, line in enumerate(lines, 1):
        value = parse(line)
        if value is None or not isinstance(value.get("question"), str) or not isinstance(value.get("context"), str):
            raise ValueError(f"{where} line {number}: expected a JSON object with string 'question' and 'context' "
                             f"(a question-answering input file), received {line[:80]!r}")
        pairs.append((value["question"], value["context"]))
    return pairs


def _qa_inputs(args, lines: List[str]) -> Optional[tuple]:
    """(questions, contexts) when `predict` asks a QA export (--question/--context, or an input file of JSON
    lines); None for a classifier's texts. Refuses a half-given pair and a mix of the two kinds of input."""
    questions, contexts = list(args.question or ()), list(args.context or ())
    from_file = _qa_lines(lines, args.input_file or "")
    if not questions and not contexts and from_file is None:
        return None
    if len(questions) != len(contexts):
        raise ValueError(f"--question and --context go together, one --context per --question: received "
                         f"{len(questions)} --question and {len(contexts)} --context")
    if args.texts or args.text_pair or args.classify or (lines and from_file is None):
        raise ValueError("--question/--context (or an input file of JSON lines with 'question' and 'context') ask a "
                         "question-answering model; TEXT arguments, --text-pair, --classify and plain-text input "
                         f"files ask a classifier: received both (texts {list(args.texts)[:3]})")
    pairs = list(zip(questions, contexts)) + (from_file or [])
    return [q for q, _ in pairs], [c for _, c in pairs]


def _wrong_kind(client, client_lib, error, wanted: str) -> Exception:
    """A refused Predict whose signature the served model lacks, told as what the model is instead."""
    import grpc

    from serving import contract

    if error.code != grpc.StatusCode.FAILED_PRECONDITION:
        return error
    try:
        signatures = sorted(k for k in client.model_metadata().signature_defs if not k.startswith("__"))
    except client_lib.ServingError:
        return error
    if wanted == contract.TASK_QA and contract.QA_SIGNATURE not in signatures:
        return ValueError(f"the served model {client.config.model_name!r} is not a question-answering export (its "
                          f"signatures: {signatures}); --question/--context need one with {contract.QA_SIGNATURE!r}. "
                          f"Send TEXT arguments to a classifier")
    if wanted == contract.TASK_CLASSIFY and contract.QA_SIGNATURE in signatures:
        return ValueError(f"the served model {client.config.model_name!r} is a question-answering export (its "
                          f"signatures: {signatures}): ask it with --question Q --context C, not TEXT arguments")
    return error


def _cmd_predict(args) -> int:
    from serving import client as client_lib
    from serving import contract

    try:
        texts = list(args.texts)
        lines = []
        if args.input_file:
            with (sys.stdin if args.input_file == "-" else open(args.input_file, encoding="utf-8")) as handle:
                lines = [line.rstrip("\n") for line in handle if line.strip()]
        qa = _qa_inputs(args, lines)
        if qa is None:
            texts += lines
        pairs = list(args.text_pair) if args.text_pair else None
        config = client_lib.ClientConfig(
            target=args.server, model_name=args.model, version=args.version, version_label=args.version_label,
            deadline_s=args.deadline, retries=args.retries, batch_size=args.batch_size, tls=args.tls or bool(args.ca_cert),
            ca_cert=args.ca_cert, metadata=client_lib.parse_metadata(args.metadata or ()),
            auth_token=client_lib.read_token_file(args.auth_token_file) if args.auth_token_file else None)
        with client_lib.ServingClient(config) as client:
            if args.status:
                output = client_lib.status_json(args.model, client.model_status(args.version))
            elif args.metadata_only:
                output = client_lib.metadata_json(client.model_metadata())
            elif qa is not None:
                if not qa[0]:
                    raise ValueError("no question to answer: give --question and --context or --input-file")
                try:
                    result = client.answer(*qa, signature=args.signature or contract.QA_SIGNATURE)
                except client_lib.ServingError as error:
                    raise _wrong_kind(client, client_lib, error, contract.TASK_QA) from None
                # One JSON line per question: a stream of answers a shell pipeline reads line by line.
                for row in result.rows(qa[0]):
                    print(json.dumps(row, ensure_ascii=False))
                return 0
            elif not texts:
                raise ValueError("no text to predict: give TEXT arguments or --input-file")
            elif args.classify:
                if not args.text_feature:
                    raise ValueError("--classify sends tf.Examples keyed by the model's raw text feature names "
                                     "(the export's text_features, e.g. 'sentence'): pass --text-feature NAME "
                                     "(twice for a sentence-pair model)")
                result = client.classify(texts, pairs, text_features=args.text_feature)
                output = client_lib.predictions_json(result, texts, pairs)
            else:
                try:
                    result = client.predict(texts, pairs, signature=args.signature or contract.PREDICT_SIGNATURE)
                except client_lib.ServingError as error:
                    raise _wrong_kind(client, client_lib, error, contract.TASK_CLASSIFY) from None
                output = client_lib.predictions_json(result, texts, pairs)
    except (client_lib.ServingError, ValueError, OSError) as error:
        print(f"albert-tfx predict: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(output, indent=2, ensure_ascii=False))
    return 0


def _add_serving_commands(commands) -> None:
    """`serve` and `predict`: the local TF-Serving-API server and its gRPC client."""
    from serving.contract import PREDICT_SIGNATURE, QA_SIGNATURE
    from serving.deploy import CLIENT_DEADLINE_S, CLIENT_RETRIES, REST_PORT
    from serving.layout import DEFAULT_MODEL_NAME

    serve = commands.add_parser("serve", help="serve exports over TF Serving's gRPC and REST APIs (a development "
                                              "stand-in for TF Serving)")
    models = serve.add_mutually_exclusive_group(required=True)
    models.add_argument("--model-base-path", help="a directory of integer version directories (<dir>/<version>/)")
    models.add_argument("--model-config-file", help="a TF Serving ModelServerConfig text proto (several models, "
                                                    "version policies, version labels)")
    serve.add_argument("--model-name", default=DEFAULT_MODEL_NAME, help=f"served name (default {DEFAULT_MODEL_NAME})")
    serve.add_argument("--port", type=int, default=8500, help="gRPC port (default 8500; 0: any free port)")
    serve.add_argument("--rest-port", type=int, help="also serve TF Serving's REST API and Prometheus metrics "
                       f"on this port (TF Serving's is {REST_PORT}; 0: any free port; default: off)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 exposes it)")
    serve.add_argument("--poll-seconds", type=float, default=2.0, help="check for new versions this often (0: never)")
    serve.add_argument("--workers", type=int, default=16, help="concurrent calls (default 16)")
    serve.add_argument("--max-request-batch", type=int, default=256, help="rows per request (default 256)")
    serve.add_argument("--max-text-bytes", type=int, default=100_000, help="bytes per text or tf.Example")
    serve.add_argument("--enable-batching", action="store_true", help="merge concurrent requests server-side")
    serve.add_argument("--max-batch-size", type=int, default=32, help="rows per merged batch (default 32)")
    serve.add_argument("--batch-timeout-ms", type=float, default=2.0, help="wait this long to fill a batch")
    serve.add_argument("--max-enqueued-batches", type=int, default=64, help="queued batches before UNAVAILABLE")
    serve.add_argument("--num-batch-threads", type=int, default=1, help="batches run in parallel")
    serve.add_argument("--grace-seconds", type=float, default=10.0, help="time in-flight calls get on shutdown")
    serve.add_argument("--no-warmup", action="store_true", help="skip replaying assets.extra warmup requests")
    serve.add_argument("--ssl-cert", help="PEM certificate chain: serve TLS (with --ssl-key)")
    serve.add_argument("--ssl-key", help="PEM private key for --ssl-cert")
    serve.add_argument("--auth-token-file", metavar="PATH", help="require 'authorization: Bearer <token>' (the "
                       "file's one line) on every gRPC call and REST /v1/ request")
    serve.add_argument("--verbose", action="store_true", help="log every call")
    serve.set_defaults(handler=_cmd_serve)

    predict = commands.add_parser("predict", help="ask a served model (TF Serving or albert-tfx serve) over gRPC; "
                                                  "prints JSON")
    predict.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify")
    predict.add_argument("--server", default="127.0.0.1:8500", help="HOST:PORT (default 127.0.0.1:8500)")
    predict.add_argument("--model", default=DEFAULT_MODEL_NAME, help=f"model name (default {DEFAULT_MODEL_NAME})")
    which = predict.add_mutually_exclusive_group()
    which.add_argument("--version", type=int, help="a version number (default: the newest)")
    which.add_argument("--version-label", help="a version label of the server's model config")
    predict.add_argument("--text-pair", action="append", help="the second text, once per TEXT (pair models)")
    predict.add_argument("--question", action="append", help="a question for a question-answering model, with "
                         "--context (repeat both for several); prints one JSON line per question")
    predict.add_argument("--context", action="append", help="the text --question is answered from, once per --question")
    predict.add_argument("--input-file", help="more texts, one per line, or for a question-answering model JSON lines "
                         "{\"question\": ..., \"context\": ...} ('-': stdin)")
    predict.add_argument("--signature", help=f"Predict signature (default {PREDICT_SIGNATURE}; with questions "
                                             f"{QA_SIGNATURE})")
    predict.add_argument("--classify", action="store_true", help="use the Classify API (tf.Examples; needs --text-feature)")
    predict.add_argument("--text-feature", action="append", help="raw feature name(s) the model was trained on, "
                                                                 "for --classify")
    predict.add_argument("--batch-size", type=int, default=64, help="texts per request (default 64)")
    predict.add_argument("--deadline", type=float, default=CLIENT_DEADLINE_S,
                         help=f"seconds per request, retries included (default {CLIENT_DEADLINE_S:g})")
    predict.add_argument("--retries", type=int, default=CLIENT_RETRIES, help="retries on UNAVAILABLE, each on a "
                         f"fresh connection after a growing backoff, within the deadline (default {CLIENT_RETRIES})")
    predict.add_argument("--auth-token-file", metavar="PATH", help="send 'authorization: Bearer <token>' (the "
                         "file's one line), for albert-tfx serve --auth-token-file or a gateway")
    predict.add_argument("--tls", action="store_true", help="connect with TLS (system roots unless --ca-cert)")
    predict.add_argument("--ca-cert", help="PEM CA certificate to trust (implies --tls)")
    predict.add_argument("--metadata", action="append", metavar="KEY=VALUE", help="gRPC metadata on every call, "
                                                                                  "e.g. authorization='Bearer ...'")
    what = predict.add_mutually_exclusive_group()
    what.add_argument("--status", action="store_true", help="print the model's version states (GetModelStatus)")
    what.add_argument("--metadata-only", action="store_true", help="print the SignatureDefs (GetModelMetadata)")
    predict.set_defaults(handler=_cmd_predict)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="albert-tfx", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    info = commands.add_parser("info", help="print presets' parameter counts beside the released checkpoints'")
    info.add_argument("--preset", default="all", help="a preset name or 'all' (default)")
    info.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    info.set_defaults(handler=_cmd_info)

    from trainer.checkpoints import SOURCE_FORMATS

    convert = commands.add_parser("convert", help="import ALBERT weights (original TF1/TF-Hub, Hugging Face, keras-hub)")
    convert.add_argument("--from", dest="source_format", required=True, choices=SOURCE_FORMATS)
    convert.add_argument("src", help="checkpoint prefix or directory, TF-Hub module, safetensors file, or keras-hub preset")
    convert.add_argument("--out", required=True, help="output directory (albert_config.json, model.weights.h5)")
    convert.add_argument("--config", help="albert_config.json path or a preset name, when none sits beside SRC")
    convert.add_argument("--overwrite", action="store_true", help="replace a non-empty --out directory")
    convert.set_defaults(handler=_cmd_convert)
    _add_serving_commands(commands)

    run = commands.add_parser("run", help="run the TFX pipeline locally: data -> vocabulary -> train -> evaluate -> push")
    _add_pipeline_flags(run)
    run.add_argument("--print-config", action="store_true", help="print the resolved config as YAML and exit")
    run.set_defaults(handler=_cmd_run)

    compile_ = commands.add_parser("compile", help="compile the pipeline for Kubeflow Pipelines (v2 JSON) or Airflow (DAG file)")
    compile_.add_argument("--target", required=True, choices=("kubeflow", "airflow"))
    compile_.add_argument("--output-file", "-o", required=True, dest="output_file",
                          help="the file to write (pipeline JSON for kubeflow, a DAG .py for airflow)")
    _add_pipeline_flags(compile_)
    compile_.set_defaults(handler=_cmd_compile)
    return parser


def console_main() -> None:
    """The `albert-tfx` command (and `python -m albert_tfx`): `main`'s status as the process's exit status, also
    where tensorflow-io (s3://) would abort the interpreter's exit (`storage.finish_process`)."""
    sys.exit(storage.finish_process(main()))


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from trainer.checkpoints import WeightImportError
    from trainer.config import ConfigError

    from components.data_counts import DataError
    from pipeline.configs import ConfigError as PipelineConfigError
    from pipeline.inputs import InputError

    try:
        return args.handler(args)
    # The user's input or data is wrong (the message names the file, split or key): one line, no traceback file.
    except (ConfigError, PipelineConfigError, InputError, DataError, WeightImportError, FileExistsError,
            FileNotFoundError) as error:
        print(f"albert-tfx {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"albert-tfx {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a component failed: one readable line, the traceback in a log file
        log = _write_traceback(args.command)
        message = str(error).strip() or type(error).__name__
        print(f"albert-tfx {args.command}: error: {type(error).__name__}: {message}\n"
              f"(full traceback in {log})", file=sys.stderr)
        return 1


def _write_traceback(command: str) -> str:
    import tempfile
    import traceback

    handle, path = tempfile.mkstemp(prefix=f"albert-tfx-{command}-", suffix=".log")
    with os.fdopen(handle, "w") as out:
        traceback.print_exc(file=out)
    return path


if __name__ == "__main__":
    console_main()
