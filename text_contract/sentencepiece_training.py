"""How albert-tfx trains a SentencePiece vocabulary: the trainer options, their defaults, one public function.

`train_sentencepiece(lines, vocab_size, ...)` returns the serialized model. The SentencePieceVocab component
trains with it after its Beam steps; tests and benchmarks that need a vocabulary call it too, so every model
we make has ALBERT's special pieces (`pieces`) at their ids, no BOS/EOS, and the "identity" normalization
rule: the lines are normalized beforehand (`normalization.normalize`), and SentencePiece must not change
them further, or tokenization would not round-trip.

Determinism: SentencePiece's EM sums depend on the thread count, so `num_threads` is a fixed setting (not
the machine's cores); with the same lines, options and seed the model bytes are the same.
"""

import io
from typing import Any, Dict, Iterable, List

from text_contract import pieces

MODEL_TYPES = ("unigram", "bpe")
DEFAULT_MODEL_TYPE = "unigram"
# ALBERT's released vocabularies have 30,000 pieces; the corpora a pipeline trains on are far smaller.
DEFAULT_VOCAB_SIZE = 8000
# SentencePiece's advice: 0.9995 for languages with rich character sets (Chinese, Japanese); 1.0 suits
# small alphabets. 0.9995 works for both, so it is the default for data we have not seen.
DEFAULT_CHARACTER_COVERAGE = 0.9995
DEFAULT_NUM_THREADS = 2
DEFAULT_SEED = 0
# Longer lines are cut to this many characters before training (the component counts them as truncated).
DEFAULT_MAX_SENTENCE_CHARS = 4096
# Fewest pieces a vocabulary can have: the special pieces and at least one more.
MIN_VOCAB_SIZE = len(pieces.SPECIAL_PIECES) + 1


def trainer_options(
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    model_type: str = DEFAULT_MODEL_TYPE,
    character_coverage: float = DEFAULT_CHARACTER_COVERAGE,
    num_threads: int = DEFAULT_NUM_THREADS,
    max_sentence_chars: int = DEFAULT_MAX_SENTENCE_CHARS,
) -> Dict[str, Any]:
    """The keyword arguments of `SentencePieceTrainer.train` (without the input and the output)."""
    if model_type not in MODEL_TYPES:
        raise ValueError(f"model_type must be one of {MODEL_TYPES}, got {model_type!r}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < MIN_VOCAB_SIZE:
        raise ValueError(f"vocab_size must be an integer >= {MIN_VOCAB_SIZE} (the special pieces and one more), "
                         f"got {vocab_size!r}")
    if not 0.0 < character_coverage <= 1.0:
        raise ValueError(f"character_coverage must be in (0, 1], got {character_coverage!r}")
    return dict(
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=character_coverage,
        pad_id=pieces.PAD_ID,
        pad_piece=pieces.PAD_PIECE,
        unk_id=pieces.UNK_ID,
        unk_piece=pieces.UNK_PIECE,
        bos_id=-1,
        eos_id=-1,
        control_symbols=list(pieces.CONTROL_PIECES),
        # The lines are normalized already; SentencePiece must not change them further.
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        # Read every line, in order: no sampling, no shuffling.
        input_sentence_size=0,
        shuffle_input_sentence=False,
        num_threads=num_threads,
        # In bytes; lines are at most max_sentence_chars characters of at most 4 bytes.
        max_sentence_length=4 * max_sentence_chars,
        # A small corpus yields fewer pieces rather than an error; callers can read the piece count.
        hard_vocab_limit=False,
        minloglevel=1,
    )


def train_sentencepiece(
    lines: Iterable[str],
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    *,
    model_type: str = DEFAULT_MODEL_TYPE,
    character_coverage: float = DEFAULT_CHARACTER_COVERAGE,
    seed: int = DEFAULT_SEED,
    num_threads: int = DEFAULT_NUM_THREADS,
    max_sentence_chars: int = DEFAULT_MAX_SENTENCE_CHARS,
) -> bytes:
    """The serialized model trained on `lines` (normalized text, one sentence each), in memory.

    In memory because a model written to a file records that path. Raises ValueError when SentencePiece
    cannot train (too little text) and `pieces.VocabularyError` if the result lacks the special pieces.
    """
    import sentencepiece

    options = trainer_options(vocab_size, model_type, character_coverage, num_threads, max_sentence_chars)
    lines: List[str] = list(lines)
    sentencepiece.set_random_generator_seed(seed % 2**32)
    model = io.BytesIO()
    try:
        sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model, **options)
    except RuntimeError as error:
        raise ValueError(f"SentencePiece could not train a {model_type} model of {vocab_size} pieces on "
                         f"{len(lines)} lines: {error}") from error
    model_proto = model.getvalue()
    pieces.check_special_pieces(model_proto, "the trained SentencePiece model")
    return model_proto


def vocab_text(model_proto: bytes) -> str:
    """The .vocab file SentencePiece writes beside a model: "piece<TAB>score" per id."""
    processor = pieces.load_processor(model_proto)
    return "".join(f"{processor.id_to_piece(i)}\t{processor.get_score(i):g}\n"
                   for i in range(processor.get_piece_size()))
