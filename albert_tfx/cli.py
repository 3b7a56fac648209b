"""`albert-tfx`: thin subcommands that delegate to `trainer`, `serving` and `pipeline`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from typing import List, Optional

# TensorFlow's C++ start-up chatter hides our output; users can still set their own level.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Google client libraries warn about Python 3.10 on import; TFX 1.16 requires 3.10, so the warning is noise.
warnings.filterwarnings("ignore", message="You are using a non-supported Python version", category=FutureWarning)


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


def _cmd_run(args) -> int:
    # Until the TFX pipeline lands (issue 6), `run` does the most the project can: build the preset's
    # pretraining model, push one batch through it, and print the parameter table.
    import numpy as np

    from trainer.encoder import AlbertEncoder
    from trainer.info import all_preset_names, format_table, parameter_rows
    from trainer.presets import get_preset
    from trainer.pretrainer import AlbertPretrainer

    config = get_preset(args.preset)
    print(f"building the {args.preset!r} ALBERT pretraining model ...", file=sys.stderr)
    started = time.time()
    model = AlbertPretrainer(AlbertEncoder.from_albert_config(config))
    rng = np.random.default_rng(0)
    batch, length = 2, 32
    outputs = model(
        {
            "token_ids": rng.integers(5, config.vocab_size, (batch, length)).astype("int32"),
            "segment_ids": np.repeat([[0] * (length // 2) + [1] * (length // 2)], batch, axis=0).astype("int32"),
            "padding_mask": np.ones((batch, length), "int32"),
            "masked_lm_positions": np.tile(np.arange(1, 6, dtype="int32"), (batch, 1)),
        }
    )
    print(
        f"forward pass ok in {time.time() - started:.1f}s: mlm_logits {tuple(outputs['mlm_logits'].shape)}, "
        f"sop_logits {tuple(outputs['sop_logits'].shape)}"
    )
    print(format_table(parameter_rows(all_preset_names())))
    return 0


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

    run = commands.add_parser("run", help="run the main job (for now: build a preset and print the parameter table)")
    run.add_argument("--preset", default="tiny")
    run.set_defaults(handler=_cmd_run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from trainer.checkpoints import WeightImportError
    from trainer.config import ConfigError

    try:
        return args.handler(args)
    except (ConfigError, WeightImportError, FileExistsError, FileNotFoundError) as error:
        print(f"albert-tfx {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
