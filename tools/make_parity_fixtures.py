"""Writes the Hugging Face / original-checkpoint parity fixtures under tests/fixtures/parity/.

Run through `bash tools/make_parity_fixtures.sh` (it uses the Python 3.11 .venv-reference with torch,
transformers and tensorflow-cpu). The script:

1. builds a tiny `transformers.AlbertForPreTraining` and re-randomizes every parameter with a seeded
   normal so nothing sits at its trivial init (LayerNorm at 1/0, biases at 0),
2. runs it in float32 on seeded inputs (batch 3, seq 12, two padded rows),
3. saves it with `save_pretrained` (hf/config.json + hf/model.safetensors),
4. writes the same weights as an original google-research/albert TF1 checkpoint
   (original/model.ckpt.* + original/albert_config.json) and proves the names and layouts by loading
   that checkpoint into a fresh model with HF's own `load_tf_weights_in_albert`,
5. writes expected.npz with the inputs and the four outputs, and README.md.

Everything is seeded: rerunning gives byte-identical files (for the same library versions).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import safetensors
import torch
import transformers
from safetensors import safe_open
from transformers import AlbertConfig, AlbertForPreTraining
from transformers.models.albert.modeling_albert import load_tf_weights_in_albert

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "fixtures", "parity")

# The tiny model. HF's "gelu_new" is the tanh approximation, which the original code calls "gelu".
HF_CONFIG = dict(
    vocab_size=100,
    embedding_size=16,
    hidden_size=32,
    num_hidden_layers=4,
    num_hidden_groups=2,
    inner_group_num=2,
    num_attention_heads=4,
    intermediate_size=37,
    hidden_act="gelu_new",
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    classifier_dropout_prob=0.0,
    max_position_embeddings=64,
    type_vocab_size=2,
    layer_norm_eps=1e-12,
    initializer_range=0.02,
)
ORIGINAL_CONFIG_KEYS = (
    "vocab_size", "embedding_size", "hidden_size", "num_hidden_layers", "num_hidden_groups",
    "inner_group_num", "num_attention_heads", "intermediate_size", "hidden_act",
    "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings",
    "type_vocab_size", "initializer_range",
)

BATCH, SEQ_LEN = 3, 12
REAL_LENGTHS = (SEQ_LEN, 8, 5)  # row 2 is padded after 8 tokens, row 3 after 5
PARAM_SEED, INPUT_SEED = 1234, 5678
GLOBAL_STEP = 12345  # an arbitrary value; importers must ignore this variable
ROUND_TRIP_TOL = 1e-5


def log(msg: str) -> None:
    print(f"[parity] {msg}", flush=True)


def make_config() -> AlbertConfig:
    config = AlbertConfig(**HF_CONFIG)
    config._attn_implementation = "eager"  # the plain softmax path; sdpa agrees to ~1e-7 anyway
    return config


def new_model(config: AlbertConfig) -> AlbertForPreTraining:
    model = AlbertForPreTraining(config)
    model.eval()
    return model


def randomize(model: AlbertForPreTraining, seed: int) -> None:
    """Gives every parameter a seeded non-trivial value, keeping HF's ties intact."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        # named_parameters() lists each tied parameter once (word embeddings / decoder weight,
        # predictions.bias / decoder.bias), in a fixed order.
        for name, param in model.named_parameters():
            shape = tuple(param.shape)
            if "LayerNorm.weight" in name or "layer_norm.weight" in name:
                value = 1.0 + rng.normal(0.0, 0.1, shape)
            elif name.endswith("bias"):
                value = rng.normal(0.0, 0.1, shape)
            else:
                value = rng.normal(0.0, 0.2, shape)
            param.copy_(torch.from_numpy(value.astype(np.float32)))


def check_ties(model: AlbertForPreTraining) -> None:
    preds = model.predictions
    word = model.albert.embeddings.word_embeddings.weight
    assert preds.decoder.weight.data_ptr() == word.data_ptr(), "decoder weight is not tied to word embeddings"
    assert preds.decoder.bias.data_ptr() == preds.bias.data_ptr(), "decoder bias is not tied to predictions.bias"


def make_inputs(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    token_ids = rng.integers(0, HF_CONFIG["vocab_size"], size=(BATCH, SEQ_LEN)).astype(np.int32)
    token_ids[:, 0] = 2  # [CLS]
    padding_mask = np.zeros((BATCH, SEQ_LEN), np.int32)
    segment_ids = np.zeros((BATCH, SEQ_LEN), np.int32)
    for row, length in enumerate(REAL_LENGTHS):
        padding_mask[row, :length] = 1
        segment_ids[row, length // 2:length] = 1  # a pair: first half segment 0, second half segment 1
        token_ids[row, length:] = 0  # [PAD]
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}


def run_model(model: AlbertForPreTraining, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    kwargs = dict(
        input_ids=torch.from_numpy(inputs["token_ids"].astype(np.int64)),
        token_type_ids=torch.from_numpy(inputs["segment_ids"].astype(np.int64)),
        attention_mask=torch.from_numpy(inputs["padding_mask"].astype(np.int64)),
    )
    with torch.no_grad():
        base = model.albert(**kwargs)
        full = model(**kwargs)
    out = {
        "sequence_output": base.last_hidden_state,
        "pooled_output": base.pooler_output,
        "mlm_logits": full.prediction_logits,
        "sop_logits": full.sop_logits,
    }
    out = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in out.items()}
    expected_shapes = {
        "sequence_output": (BATCH, SEQ_LEN, HF_CONFIG["hidden_size"]),
        "pooled_output": (BATCH, HF_CONFIG["hidden_size"]),
        "mlm_logits": (BATCH, SEQ_LEN, HF_CONFIG["vocab_size"]),
        "sop_logits": (BATCH, 2),
    }
    for k, shape in expected_shapes.items():
        assert out[k].shape == shape, (k, out[k].shape, shape)
        assert np.all(np.isfinite(out[k])), k
    return out


def write_hf(model: AlbertForPreTraining, hf_dir: str) -> list[str]:
    shutil.rmtree(hf_dir, ignore_errors=True)
    model.save_pretrained(hf_dir, safe_serialization=True)
    for name in sorted(os.listdir(hf_dir)):
        if name not in ("config.json", "model.safetensors"):
            log(f"removing {name} written by save_pretrained (not needed)")
            path = os.path.join(hf_dir, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    os.chmod(os.path.join(hf_dir, "model.safetensors"), 0o644)  # safetensors writes it 0600
    with safe_open(os.path.join(hf_dir, "model.safetensors"), framework="np") as f:
        keys = sorted(f.keys())
    return keys


# ---------------------------------------------------------------------------------------------
# The original google-research/albert checkpoint.


def original_variables(model: AlbertForPreTraining) -> dict[str, np.ndarray]:
    """Maps the HF parameters to the original TF1 variable names and layouts ([in, out] kernels)."""

    def t(p: torch.Tensor) -> np.ndarray:
        return p.detach().cpu().numpy().astype(np.float32)

    def kernel(linear: torch.nn.Linear) -> np.ndarray:
        return np.ascontiguousarray(t(linear.weight).T)  # torch [out, in] -> TF [in, out]

    cfg = model.config
    albert = model.albert
    emb = albert.embeddings
    v = {
        "bert/embeddings/word_embeddings": t(emb.word_embeddings.weight),
        "bert/embeddings/token_type_embeddings": t(emb.token_type_embeddings.weight),
        "bert/embeddings/position_embeddings": t(emb.position_embeddings.weight),
        "bert/embeddings/LayerNorm/gamma": t(emb.LayerNorm.weight),
        "bert/embeddings/LayerNorm/beta": t(emb.LayerNorm.bias),
        "bert/encoder/embedding_hidden_mapping_in/kernel": kernel(albert.encoder.embedding_hidden_mapping_in),
        "bert/encoder/embedding_hidden_mapping_in/bias": t(albert.encoder.embedding_hidden_mapping_in.bias),
    }
    for g, group in enumerate(albert.encoder.albert_layer_groups):
        assert len(group.albert_layers) == cfg.inner_group_num
        for i, layer in enumerate(group.albert_layers):
            p = f"bert/encoder/transformer/group_{g}/inner_group_{i}"
            att = layer.attention
            for proj in ("query", "key", "value"):
                v[f"{p}/attention_1/self/{proj}/kernel"] = kernel(getattr(att, proj))
                v[f"{p}/attention_1/self/{proj}/bias"] = t(getattr(att, proj).bias)
            v[f"{p}/attention_1/output/dense/kernel"] = kernel(att.dense)
            v[f"{p}/attention_1/output/dense/bias"] = t(att.dense.bias)
            v[f"{p}/LayerNorm/gamma"] = t(att.LayerNorm.weight)
            v[f"{p}/LayerNorm/beta"] = t(att.LayerNorm.bias)
            v[f"{p}/ffn_1/intermediate/dense/kernel"] = kernel(layer.ffn)
            v[f"{p}/ffn_1/intermediate/dense/bias"] = t(layer.ffn.bias)
            v[f"{p}/ffn_1/intermediate/output/dense/kernel"] = kernel(layer.ffn_output)
            v[f"{p}/ffn_1/intermediate/output/dense/bias"] = t(layer.ffn_output.bias)
            v[f"{p}/LayerNorm_1/gamma"] = t(layer.full_layer_layer_norm.weight)
            v[f"{p}/LayerNorm_1/beta"] = t(layer.full_layer_layer_norm.bias)
    v["bert/pooler/dense/kernel"] = kernel(albert.pooler)
    v["bert/pooler/dense/bias"] = t(albert.pooler.bias)
    preds = model.predictions
    v["cls/predictions/transform/dense/kernel"] = kernel(preds.dense)
    v["cls/predictions/transform/dense/bias"] = t(preds.dense.bias)
    v["cls/predictions/transform/LayerNorm/gamma"] = t(preds.LayerNorm.weight)
    v["cls/predictions/transform/LayerNorm/beta"] = t(preds.LayerNorm.bias)
    v["cls/predictions/output_bias"] = t(preds.bias)
    sop = model.sop_classifier.classifier
    v["cls/seq_relationship/output_weights"] = t(sop.weight)  # [2, H]: the original keeps [out, in]
    v["cls/seq_relationship/output_bias"] = t(sop.bias)

    n_params = sum(p.numel() for p in model.parameters())  # tied parameters counted once
    n_vars = sum(a.size for a in v.values())
    assert n_vars == n_params, f"checkpoint holds {n_vars} values, the model {n_params}"
    return v


def write_original_checkpoint(variables: dict[str, np.ndarray], prefix: str) -> None:
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        var_list = {}
        for name in sorted(variables):
            var_list[name] = tf.compat.v1.Variable(variables[name], name=name, dtype=tf.float32, use_resource=False)
        var_list["global_step"] = tf.compat.v1.Variable(
            np.int64(GLOBAL_STEP), name="global_step", dtype=tf.int64, trainable=False, use_resource=False
        )
        saver = tf.compat.v1.train.Saver(var_list=var_list)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, prefix, write_meta_graph=False, write_state=False)


def check_original_checkpoint(variables: dict[str, np.ndarray], prefix: str) -> None:
    import tensorflow as tf

    listed = dict(tf.train.list_variables(prefix))
    assert set(listed) == set(variables) | {"global_step"}, sorted(set(listed) ^ (set(variables) | {"global_step"}))
    for name, value in variables.items():
        stored = tf.train.load_variable(prefix, name)
        assert stored.dtype == np.float32 and np.array_equal(stored, value), name
    step = tf.train.load_variable(prefix, "global_step")
    assert step.dtype == np.int64 and step.shape == () and int(step) == GLOBAL_STEP


def hf_round_trip(config: AlbertConfig, prefix: str, inputs, expected) -> float:
    """Loads the original checkpoint with HF's own converter and compares outputs."""
    fresh = new_model(config)
    # load_tf_weights_in_albert silently skips names it cannot place, so start from NaN: any
    # parameter it does not overwrite shows up below.
    with torch.no_grad():
        for param in fresh.parameters():
            param.fill_(float("nan"))
    log_buffer = io.StringIO()
    with contextlib.redirect_stdout(log_buffer):  # it prints every variable name
        load_tf_weights_in_albert(fresh, config, prefix)
    fresh.eval()
    # The converter replaces .data; make sure the ties (and so the decoder) still see the loaded values.
    check_ties(fresh)
    unset = [n for n, p in fresh.named_parameters() if torch.isnan(p).any()]
    assert not unset, f"load_tf_weights_in_albert left these parameters unset: {unset}"
    initialized = [line for line in log_buffer.getvalue().splitlines() if line.startswith("Initialize PyTorch weight")]
    log(f"load_tf_weights_in_albert initialized {len(initialized)} tensors (global_step skipped by its own rule)")
    got = run_model(fresh, inputs)
    max_diff = 0.0
    for k in expected:
        d = float(np.max(np.abs(got[k] - expected[k])))
        log(f"  round trip {k:16s} max |diff| = {d:.3e}")
        max_diff = max(max_diff, d)
    if not max_diff <= ROUND_TRIP_TOL:
        raise SystemExit(f"FAIL: load_tf_weights_in_albert round trip differs by {max_diff} > {ROUND_TRIP_TOL}")
    return max_diff


def write_readme(out_dir: str, hf_keys: list[str], round_trip_diff: float) -> None:
    import tensorflow as tf

    decoder_note = (
        "present" if "predictions.decoder.weight" in hf_keys else
        "absent (tied to `albert.embeddings.word_embeddings.weight`; importers must tie it)"
    )
    decoder_bias_note = (
        "present" if "predictions.decoder.bias" in hf_keys else
        "absent (same parameter as `predictions.bias`)"
    )
    text = f"""# Parity fixtures

Small reference models and their outputs, for the ALBERT importer / parity tests.
Regenerate with:

    bash tools/make_parity_fixtures.sh

All of it is seeded: rerunning the command reproduces the files byte for byte (for the same
library versions). Do not edit by hand.

## The model (Hugging Face `AlbertConfig`)

```json
{json.dumps(HF_CONFIG, indent=2)}
```

`hidden_act="gelu_new"` is the tanh approximation of GELU, which the original google-research/albert
code calls `"gelu"` (so `original/albert_config.json` says `"gelu"`). 4 layers share 2 groups
(layers 0-1 use group 0, layers 2-3 use group 1), each group has 2 inner layers.

Every parameter was re-randomized after construction (`torch.manual_seed(0)`, then a numpy
generator seeded {PARAM_SEED}): weights ~ N(0, 0.2), LayerNorm weights ~ 1 + N(0, 0.1), biases
~ N(0, 0.1), so no value sits at its trivial init. The MLM decoder stays tied to the word
embeddings and its bias is the MLM output bias (`predictions.bias`), as in HF.

## Files

- `hf/config.json`, `hf/model.safetensors`: `AlbertForPreTraining.save_pretrained(...,
  safe_serialization=True)` (other files it writes are deleted). Safetensors keys (all {len(hf_keys)}):
{chr(10).join(f"  - `{k}`" for k in hf_keys)}

  `predictions.decoder.weight` is {decoder_note}.
  `predictions.decoder.bias` is {decoder_bias_note}.
  LayerNorm parameters are stored as `weight`/`bias` (not `gamma`/`beta`).
- `original/model.ckpt.index`, `original/model.ckpt.data-00000-of-00001`: the same weights as an
  original google-research/albert TF1 checkpoint (written with `tf.compat.v1.train.Saver`), with the
  original variable names (`bert/...`, `cls/...`), Dense kernels in TF layout `[in, out]` (the
  transpose of torch `Linear.weight`), `cls/seq_relationship/output_weights` as `[2, hidden]`
  (not transposed), and an int64 scalar `global_step` = {GLOBAL_STEP} that importers must ignore.
- `original/albert_config.json`: the original config format.
- `expected.npz`: inputs `token_ids`, `segment_ids`, `padding_mask` (int32, [3, 12]; 1 = real
  token; row 2 is padded after 8 tokens and row 3 after 5; token 2 at position 0; segment 1 on
  the second half of each row's real tokens) and float32 outputs of the HF model run in float32
  (eager attention, `attention_mask=padding_mask`, `token_type_ids=segment_ids`):
  `sequence_output` [3, 12, 32] and `pooled_output` [3, 32] from `model.albert`, `mlm_logits`
  [3, 12, 100] and `sop_logits` [3, 2] from `AlbertForPreTraining`. Outputs at padded positions are
  included; compare them only where `padding_mask == 1` if an implementation treats padded queries
  differently.

## Cross-check of the original checkpoint

The TF1 checkpoint was loaded into a fresh (NaN-filled) `AlbertForPreTraining` with HF's own
`transformers.models.albert.modeling_albert.load_tf_weights_in_albert`, which skips `global_step`
by itself; every parameter was set, and the four outputs matched `expected.npz` with max abs diff
{round_trip_diff:.3e} (tolerance {ROUND_TRIP_TOL:g}).

<!-- keras-hub section: written by tools/make_keras_hub_fixture.py -->
<!-- end keras-hub section -->

## Versions

- python {sys.version.split()[0]}, torch {torch.__version__}, transformers {transformers.__version__},
  safetensors {safetensors.__version__}, numpy {np.__version__}, tensorflow {tf.__version__}
  (the keras-hub fixture: see its section)
"""
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: tests/fixtures/parity)")
    args = ap.parse_args()
    out_dir = args.out
    os.makedirs(out_dir, exist_ok=True)

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    config = make_config()
    model = new_model(config)
    randomize(model, PARAM_SEED)
    check_ties(model)
    log(f"AlbertForPreTraining with {sum(p.numel() for p in model.parameters())} parameters (tied counted once)")

    inputs = make_inputs(INPUT_SEED)
    expected = run_model(model, inputs)

    hf_dir = os.path.join(out_dir, "hf")
    hf_keys = write_hf(model, hf_dir)
    log(f"hf/model.safetensors keys ({len(hf_keys)}): decoder weight "
        f"{'present' if 'predictions.decoder.weight' in hf_keys else 'absent'}")

    orig_dir = os.path.join(out_dir, "original")
    shutil.rmtree(orig_dir, ignore_errors=True)
    os.makedirs(orig_dir)
    prefix = os.path.join(orig_dir, "model.ckpt")
    variables = original_variables(model)
    write_original_checkpoint(variables, prefix)
    check_original_checkpoint(variables, prefix)
    original_config = {k: HF_CONFIG[k] for k in ORIGINAL_CONFIG_KEYS}
    original_config["hidden_act"] = "gelu"
    with open(os.path.join(orig_dir, "albert_config.json"), "w") as f:
        json.dump(original_config, f, indent=2)
        f.write("\n")
    log(f"original/model.ckpt: {len(variables)} variables + global_step")

    round_trip_diff = hf_round_trip(config, prefix, inputs, expected)

    # Also reload the safetensors through from_pretrained, so the hf/ folder is known to be complete.
    reloaded = AlbertForPreTraining.from_pretrained(hf_dir, attn_implementation="eager").eval()
    got = run_model(reloaded, inputs)
    hf_diff = max(float(np.max(np.abs(got[k] - expected[k]))) for k in expected)
    if hf_diff != 0.0:
        raise SystemExit(f"FAIL: from_pretrained(hf/) reproduces the outputs only to {hf_diff}")
    log("from_pretrained(hf/) reproduces the outputs exactly")

    np.savez(os.path.join(out_dir, "expected.npz"), **inputs, **expected)
    write_readme(out_dir, hf_keys, round_trip_diff)
    log("done")


if __name__ == "__main__":
    main()
