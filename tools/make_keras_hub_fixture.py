"""Writes the keras-hub parity fixture under tests/fixtures/parity/keras_hub/.

Run by `bash tools/make_parity_fixtures.sh` with the project's Python 3.10 venv (.venv, keras-hub).
It builds a tiny `keras_hub.models.AlbertBackbone`, re-randomizes every weight with a seeded numpy
normal, runs it on seeded inputs (batch 3, seq 12, two padded rows), saves it with
`save_to_preset` (keeping only the files `AlbertBackbone.from_preset` needs), checks that the preset
reloads to the same outputs, writes expected.npz, and fills the keras-hub section of the parity
README (written before by tools/make_parity_fixtures.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import keras_hub
import numpy as np
import tensorflow as tf

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "fixtures", "parity")

BACKBONE_KWARGS = dict(
    vocabulary_size=100,
    num_layers=4,
    num_heads=4,
    embedding_dim=16,
    hidden_dim=32,
    intermediate_dim=37,
    num_groups=2,
    num_inner_repetitions=1,
    dropout=0.0,
    max_sequence_length=64,
    num_segments=2,
)
BATCH, SEQ_LEN = 3, 12
REAL_LENGTHS = (SEQ_LEN, 8, 5)  # row 2 is padded after 8 tokens, row 3 after 5
PARAM_SEED, INPUT_SEED = 4321, 8765
README_BEGIN = "<!-- keras-hub section: written by tools/make_keras_hub_fixture.py -->"
README_END = "<!-- end keras-hub section -->"


def log(msg: str) -> None:
    print(f"[keras-hub] {msg}", flush=True)


def randomize(backbone: keras.Model, seed: int) -> list[str]:
    """Gives every weight a seeded non-trivial value: LayerNorm gammas ~ 1 + N(0, 0.1),
    biases and LayerNorm betas ~ N(0, 0.1), everything else ~ N(0, 0.2)."""
    rng = np.random.default_rng(seed)
    paths = []
    for var in backbone.weights:  # a fixed order: the order the layers were built in
        path = var.path
        leaf = path.rsplit("/", 1)[-1]
        shape = tuple(var.shape)
        if leaf == "gamma":
            value = 1.0 + rng.normal(0.0, 0.1, shape)
        elif leaf in ("bias", "beta"):
            value = rng.normal(0.0, 0.1, shape)
        else:
            value = rng.normal(0.0, 0.2, shape)
        var.assign(value.astype(var.dtype))
        paths.append(f"{path} {list(shape)}")
    assert len({v.path for v in backbone.weights}) == len(backbone.weights), "duplicate weight paths"
    return paths


def make_inputs(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    token_ids = rng.integers(0, BACKBONE_KWARGS["vocabulary_size"], size=(BATCH, SEQ_LEN)).astype(np.int32)
    token_ids[:, 0] = 2  # [CLS]
    padding_mask = np.zeros((BATCH, SEQ_LEN), np.int32)
    segment_ids = np.zeros((BATCH, SEQ_LEN), np.int32)
    for row, length in enumerate(REAL_LENGTHS):
        padding_mask[row, :length] = 1
        segment_ids[row, length // 2:length] = 1
        token_ids[row, length:] = 0  # [PAD]
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}


def run_backbone(backbone: keras.Model, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = backbone(inputs, training=False)
    out = {k: np.asarray(keras.ops.convert_to_numpy(out[k]), np.float32) for k in ("sequence_output", "pooled_output")}
    assert out["sequence_output"].shape == (BATCH, SEQ_LEN, BACKBONE_KWARGS["hidden_dim"])
    assert out["pooled_output"].shape == (BATCH, BACKBONE_KWARGS["hidden_dim"])
    assert all(np.all(np.isfinite(v)) for v in out.values())
    return out


def prune_preset(preset_dir: str, inputs, expected) -> list[str]:
    """Drops every file from_preset can do without; returns the files kept."""
    kept = sorted(os.listdir(preset_dir))
    for name in list(kept):
        if name in ("config.json", "model.weights.h5"):
            continue
        path = os.path.join(preset_dir, name)
        trial = preset_dir + ".trial"
        shutil.rmtree(trial, ignore_errors=True)
        shutil.copytree(preset_dir, trial)
        os.remove(os.path.join(trial, name)) if os.path.isfile(path) else shutil.rmtree(os.path.join(trial, name))
        try:
            got = run_backbone(keras_hub.models.AlbertBackbone.from_preset(trial), inputs)
            ok = all(np.array_equal(got[k], expected[k]) for k in expected)
        except Exception as e:  # noqa: BLE001 - any failure means the file is needed
            log(f"{name} is needed: loading without it fails with {type(e).__name__}: {e}")
            ok = False
        finally:
            shutil.rmtree(trial, ignore_errors=True)
        if ok:
            log(f"removing {name}: from_preset loads the same model without it")
            os.remove(path) if os.path.isfile(path) else shutil.rmtree(path)
            kept.remove(name)
    return kept


def update_readme(out_dir: str, kept: list[str], weight_paths: list[str], reload_diff: float) -> None:
    readme = os.path.join(out_dir, "README.md")
    if not os.path.exists(readme):
        log("README.md not found (run tools/make_parity_fixtures.py first); skipping the README section")
        return
    with open(readme) as f:
        text = f.read()
    if README_BEGIN not in text or README_END not in text:
        raise SystemExit(f"{readme} lacks the keras-hub section markers")
    kwargs = ", ".join(f"{k}={v!r}" for k, v in BACKBONE_KWARGS.items())
    section = f"""{README_BEGIN}

## keras-hub fixture (`keras_hub/`)

A tiny backbone (note: 2 groups x 1 inner layer, each group called twice; not the same
architecture as the HF model above, whose groups have 2 inner layers):

```python
keras_hub.models.AlbertBackbone({kwargs})
```

After `keras.utils.set_random_seed(0)` every weight was re-randomized with a numpy generator seeded
{PARAM_SEED} (LayerNorm gammas ~ 1 + N(0, 0.1), biases and betas ~ N(0, 0.1), other weights
~ N(0, 0.2)) and assigned with `variable.assign`.

- `keras_hub/preset/`: `backbone.save_to_preset(...)`, keeping only what
  `keras_hub.models.AlbertBackbone.from_preset` needs: {", ".join(f"`{n}`" for n in kept)}.
  Reloading it reproduces the outputs with max abs diff {reload_diff:.3e}.
- `keras_hub/expected.npz`: inputs `token_ids`, `segment_ids`, `padding_mask` (int32, [3, 12]; same
  layout as above: 1 = real token, rows 2 and 3 padded after 8 and 5 tokens; own random token ids,
  input seed {INPUT_SEED}) and float32 outputs `sequence_output` [3, 12, 32] and `pooled_output`
  [3, 32] (TensorFlow backend, float32, `training=False`).
- Versions: python {sys.version.split()[0]}, keras {keras.__version__}, keras-hub
  {keras_hub.__version__}, tensorflow {tf.__version__}, numpy {np.__version__}.

Weights ({len(weight_paths)} variables, as `variable.path [shape]`):

```
{chr(10).join(weight_paths)}
```

{README_END}"""
    start = text.index(README_BEGIN)
    end = text.index(README_END) + len(README_END)
    with open(readme, "w") as f:
        f.write(text[:start] + section + text[end:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: tests/fixtures/parity)")
    args = ap.parse_args()
    out_dir = os.path.join(args.out, "keras_hub")
    preset_dir = os.path.join(out_dir, "preset")

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.AlbertBackbone(**BACKBONE_KWARGS)
    weight_paths = randomize(backbone, PARAM_SEED)
    log(f"AlbertBackbone with {backbone.count_params()} parameters in {len(weight_paths)} variables")

    inputs = make_inputs(INPUT_SEED)
    expected = run_backbone(backbone, inputs)

    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    backbone.save_to_preset(preset_dir)
    log(f"save_to_preset wrote: {sorted(os.listdir(preset_dir))}")
    kept = prune_preset(preset_dir, inputs, expected)

    reloaded = keras_hub.models.AlbertBackbone.from_preset(preset_dir)
    got = run_backbone(reloaded, inputs)
    reload_diff = max(float(np.max(np.abs(got[k] - expected[k]))) for k in expected)
    if reload_diff != 0.0:
        raise SystemExit(f"FAIL: from_preset reproduces the outputs only to {reload_diff}")
    log(f"from_preset({os.path.relpath(preset_dir, REPO_ROOT)}) with {kept} reproduces the outputs exactly")

    np.savez(os.path.join(out_dir, "expected.npz"), **inputs, **expected)
    update_readme(args.out, kept, weight_paths, reload_diff)
    log("done")


if __name__ == "__main__":
    main()
