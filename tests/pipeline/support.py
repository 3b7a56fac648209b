"""Released-checkpoint fixtures for the pipeline tests: the parity checkpoints (100 embedding rows) in each
format the pipeline starts from, the 100-entry vocabularies of each kind, and the reference encoder."""

import numpy as np

from tests.support import FIXTURES, PARITY

VOCABULARIES = FIXTURES / "vocabularies"
# 100 entries each: the parity checkpoints' embedding rows.
VOCABULARY_FILES = {
    "sentencepiece": VOCABULARIES / "albert_spm_100.model",
    "wordpiece": VOCABULARIES / "wordpiece_vocab_100.txt",
}
CHECKPOINTS = {
    "hf": PARITY / "hf",
    "original": PARITY / "original",
    "keras-hub": PARITY / "keras_hub" / "preset",
}
# Raw text of both languages, with digits before a comma (ALBERT's piece split), accents, case and a pair.
TEXTS = [
    "The Delivery was reliable, five stars from me.",
    "朋友推荐的，剧情很吵，浪费钱。",
    "Café prices rose 1,200, then 3,4 in 1990, ``quoted'' text",
    "",
]


def write_easy_data(directory, train_rows: int = 400, dev_rows: int = 80) -> None:
    """train.tsv / dev.tsv whose label shows in the first word (English) or characters (Chinese): learnable
    in a few dozen steps by the parity checkpoints (random weights, 100 pieces), so the gate can bless them."""
    import random

    rng = random.Random(0)
    fillers = ["the plot", "the delivery", "a kettle", "the screen", "快递很快", "这本书", "battery life", "客服"]
    directory.mkdir(parents=True, exist_ok=True)
    for name, count in (("train.tsv", train_rows), ("dev.tsv", dev_rows)):
        lines = ["text\tlabel"]
        for i in range(count):
            positive = i % 2 == 0
            opening = rng.choice(["great!", "好评！"] if positive else ["awful.", "差评！"])
            lines.append(f"{opening} {rng.choice(fillers)} {rng.choice(fillers)}\t{'positive' if positive else 'negative'}")
        (directory / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def converted_checkpoint(directory) -> str:
    """The hf fixture as an `albert-tfx convert` directory under `directory`."""
    from trainer.checkpoints import import_weights, save_converted

    model, report = import_weights("hf", str(CHECKPOINTS["hf"]))
    return save_converted(model, str(directory), report, "hf", overwrite=True)


def checkpoint_path(source_format: str, tmp_dir) -> str:
    return converted_checkpoint(tmp_dir / "converted") if source_format == "converted" else str(CHECKPOINTS[source_format])


def reference_encoder_outputs(source_format: str, source: str, inputs) -> dict:
    """The released model's own outputs: keras-hub's AlbertBackbone for a preset, else the importer's encoder
    read straight from the source (not through CheckpointImport and the warm start)."""
    if source_format == "keras-hub":
        import keras_hub

        backbone = keras_hub.models.AlbertBackbone.from_preset(source)
        outputs = backbone({"token_ids": inputs["token_ids"], "segment_ids": inputs["segment_ids"],
                            "padding_mask": inputs["padding_mask"]})
    else:
        from trainer.checkpoints import import_weights, load_converted

        model = load_converted(source) if source_format == "converted" else import_weights(source_format, source)[0]
        encoder = getattr(model, "encoder", model)
        outputs = encoder(inputs)
    return {k: np.asarray(outputs[k]) for k in ("sequence_output", "pooled_output")}
