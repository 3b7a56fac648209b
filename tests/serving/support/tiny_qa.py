"""An export of an untrained tiny question-answering model (the `qa` signature), for the serving tests.

`tiny_qa_export()`: one per test process (~10 s: a ~100-piece SentencePiece model, a 2-layer encoder, the export
with its warmup requests), read-only for the tests: copy it before changing it. Untrained, its answers are
arbitrary spans, but always the context's own text (the contract), which is what the serving tests check.
"""

import atexit
import functools
import os
import shutil
import tempfile

QA_MODEL = "tiny-qa"
MAX_SEQ_LENGTH = 32
SETTINGS = dict(max_seq_length=MAX_SEQ_LENGTH, max_query_length=8, doc_stride=8, max_windows=4)
_LINES = ["The quick brown fox jumps over the lazy dog.", "A lazy dog sleeps in the warm sun.",
          "Who wrote the book about the quick fox?", "what? an answer.", "北京 是 中国 的 首都。"]


@functools.lru_cache(maxsize=None)
def tiny_qa_export() -> str:
    """The export directory of an untrained tiny QA model (metadata task "qa")."""
    import keras

    from serving import qa_export
    from text_contract import normalization, sentencepiece_training
    from text_contract import transform as tr
    from trainer.config import AlbertConfig
    from trainer.encoder import AlbertEncoder
    from trainer.question_answering import AlbertQuestionAnswerer

    root = tempfile.mkdtemp(prefix="albert-tfx-tiny-qa-")
    atexit.register(shutil.rmtree, root, True)
    lines = sorted({normalization.normalize(line) for line in _LINES})
    vocabulary = sentencepiece_training.train_sentencepiece(lines, vocab_size=80, character_coverage=1.0,
                                                             num_threads=1)
    vocabulary_path = os.path.join(root, "spm.model")
    with open(vocabulary_path, "wb") as handle:
        handle.write(vocabulary)
    tokenizer = tr.build_tokenizer(vocabulary, "sentencepiece", False)
    keras.utils.set_random_seed(0)
    config = AlbertConfig(vocab_size=tokenizer.vocab_size, embedding_size=16, hidden_size=32, num_hidden_layers=2,
                          num_attention_heads=2, intermediate_size=64, max_position_embeddings=MAX_SEQ_LENGTH)
    model = AlbertQuestionAnswerer(AlbertEncoder.from_albert_config(config))
    return qa_export.export_qa_model(model, tokenizer, os.path.join(root, "export"), **SETTINGS,
                                     vocabulary_path=vocabulary_path, model_name=QA_MODEL, preset="tiny")
