"""Special pieces: the ids every vocabulary must give them, and the one check of that."""

import pytest
import sentencepiece

from text_contract import pieces, sentencepiece_training

LINES = [f"the {w} sat on a mat with {v}" for w in ("cat", "dog", "bird", "fox") for v in ("joy", "ease", "care")]


def test_a_trained_vocabulary_has_albert_special_pieces_at_their_ids():
    model = sentencepiece_training.train_sentencepiece(LINES, vocab_size=40, character_coverage=1.0)
    processor = sentencepiece.SentencePieceProcessor(model_proto=model)
    assert [processor.id_to_piece(i) for i in range(5)] == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    assert processor.bos_id() == -1 and processor.eos_id() == -1
    assert pieces.check_special_pieces(model) == processor.get_piece_size() == pieces.piece_count(model)
    assert pieces.check_special_pieces(processor) == processor.get_piece_size()  # a loaded processor too


def test_a_vocabulary_with_pieces_elsewhere_is_refused_naming_the_source_and_the_ids(tmp_path):
    sentencepiece.SentencePieceTrainer.train(  # SentencePiece's defaults: <unk>=0, <s>=1, </s>=2
        sentence_iterator=iter(LINES), model_prefix=str(tmp_path / "plain"), vocab_size=26,
        hard_vocab_limit=False, minloglevel=2)
    model = (tmp_path / "plain.model").read_bytes()
    with pytest.raises(pieces.VocabularyError, match=r"reused\.model: special pieces at the wrong ids.*'<unk>'"):
        pieces.check_special_pieces(model, "reused.model")
    with pytest.raises(pieces.VocabularyError, match=r"junk\.model: not a SentencePiece model"):
        pieces.check_special_pieces(b"not a model", "junk.model")
