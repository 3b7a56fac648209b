"""Vocabulary files (`text_contract.vocabulary`): their kind by content, size and special ids, the errors that
name the file, and the "albert" Python twin against Hugging Face's ids."""

import io

import pytest
import sentencepiece

from tests.text_contract import support
from text_contract import pieces, vocabulary


def test_the_fixture_vocabularies_are_read_with_their_kind_size_and_special_ids():
    albert = vocabulary.read_vocabulary(support.ALBERT_MODEL.read_bytes(), "albert_spm.model")
    assert albert == vocabulary.VocabularyInfo(vocabulary.SENTENCEPIECE, 4000, vocabulary.DEFAULT_SPECIAL_IDS)
    assert vocabulary.read_vocabulary(support.ALBERT_MODEL_100.read_bytes(), "100").size == 100
    wordpiece = vocabulary.read_vocabulary(support.WORDPIECE_VOCAB.read_bytes(), "vocab.txt")
    # BERT's layout: [PAD]=0, [unused0..9], then [UNK], [CLS], [SEP], [MASK].
    assert wordpiece == vocabulary.VocabularyInfo(vocabulary.WORDPIECE, 8000, vocabulary.SpecialIds(0, 11, 12, 13, 14))
    small = vocabulary.read_vocabulary(support.WORDPIECE_VOCAB_100.read_bytes(), "vocab_100.txt")
    assert (small.size, small.special_ids) == (100, vocabulary.SpecialIds(0, 3, 4, 5, 6))
    assert vocabulary.imported_tokenization(albert.kind) == vocabulary.ALBERT
    assert vocabulary.imported_tokenization(wordpiece.kind) == vocabulary.WORDPIECE


def test_kind_is_told_by_content_and_anything_else_is_an_error_naming_the_source():
    assert vocabulary.detect_kind(support.ALBERT_MODEL.read_bytes()) == vocabulary.SENTENCEPIECE
    assert vocabulary.detect_kind(b"[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n") == vocabulary.WORDPIECE  # CRLF lines too
    with pytest.raises(vocabulary.VocabularyError, match=r"notes\.txt: neither .*UTF-8 text without \[CLS\] and \[SEP\]"):
        vocabulary.detect_kind(b"hello\nworld\n", "notes.txt")
    with pytest.raises(vocabulary.VocabularyError, match=r"blob\.bin: neither .*not UTF-8 text"):
        vocabulary.detect_kind(b"\xff\xfe\x00garbage", "blob.bin")
    with pytest.raises(vocabulary.VocabularyError, match="empty.model"):
        vocabulary.read_vocabulary(b"", "empty.model")
    assert issubclass(vocabulary.VocabularyError, pieces.VocabularyError)  # one error type whatever the kind


def test_a_wordpiece_vocab_without_a_special_token_is_an_error_naming_it_and_the_file():
    lines = support.WORDPIECE_VOCAB_100.read_text(encoding="utf-8").split("\n")
    broken = "\n".join(line for line in lines if line not in ("[MASK]", "[PAD]")).encode("utf-8")
    with pytest.raises(vocabulary.VocabularyError, match=r"zh/vocab\.txt: .*no line \[PAD\] or \[MASK\]"):
        vocabulary.read_vocabulary(broken, "zh/vocab.txt")


def test_a_sentencepiece_model_without_the_special_pieces_is_an_error_naming_them():
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(["a b c d e f g h", "abc def gh"] * 20),
                                             model_writer=model, vocab_size=12, minloglevel=2,
                                             hard_vocab_limit=False)
    with pytest.raises(vocabulary.VocabularyError, match=r"plain\.model: .*lacks the special pieces "
                                                         r"\['<pad>', '\[CLS\]', '\[SEP\]', '\[MASK\]'\]"):
        vocabulary.read_vocabulary(model.getvalue(), "plain.model")


def test_wordpiece_lines_are_read_as_hugging_face_reads_them():
    assert vocabulary.wordpiece_tokens(b"a\r\nb\rc\n\nd") == ["a", "b", "c", "", "d"]
    assert vocabulary.wordpiece_tokens(b"a\nb\n") == ["a", "b"]  # a final newline ends the last line
    assert vocabulary.wordpiece_ids(["x", "y", "x"]) == {"x": 2, "y": 1}  # a repeated token: its last line
    with pytest.raises(vocabulary.VocabularyError, match="v.txt: a WordPiece vocab.txt must be UTF-8"):
        vocabulary.wordpiece_tokens(b"\xff", "v.txt")


def test_tokenization_must_suit_the_vocabulary_kind():
    vocabulary.check_tokenization(vocabulary.ALBERT, vocabulary.SENTENCEPIECE, "m")
    with pytest.raises(vocabulary.VocabularyError, match=r"vocab\.txt: tokenization 'albert' needs a sentencepiece "
                                                         r"vocabulary, this one is wordpiece"):
        vocabulary.check_tokenization(vocabulary.ALBERT, vocabulary.WORDPIECE, "vocab.txt")
    with pytest.raises(ValueError, match=r"one of \('sentencepiece', 'albert', 'wordpiece'\), got 'bpe'"):
        vocabulary.check_tokenization("bpe", vocabulary.SENTENCEPIECE, "m")
    with pytest.raises(ValueError, match="kind must be one of"):
        vocabulary.imported_tokenization("albert")


def test_albert_preprocessing_follows_the_original_steps():
    text = "  ``Café''\t\tNAÏVE  x\u00b2 "
    assert vocabulary.albert_preprocess(text, lower_case=False) == '"Café" NAÏVE x\u00b2'  # accents kept
    assert vocabulary.albert_preprocess(text, lower_case=True) == '"cafe" naive x2'  # NFKD, combining marks dropped


def test_the_digit_comma_rule_splits_the_comma_off_number_pieces():
    processor = pieces.load_processor(support.ALBERT_MODEL.read_bytes())
    text = "rose 1, then 12,345,678, ok"
    raw = processor.encode(text, out_type=str)
    assert raw == ["▁rose", "▁1,", "▁the", "n", "▁12", ",", "34", "5,", "6", "78", ",", "▁", "ok"]
    split = vocabulary.albert_pieces(processor, text, lower_case=False)
    # "▁1," keeps its "▁"; "5," is re-encoded as "▁5" whose "▁" goes, since the piece had none.
    assert split == ["▁rose", "▁1", ",", "▁the", "n", "▁12", ",", "34", "5", ",", "6", "78", ",", "▁", "ok"]
    assert vocabulary.albert_encode(processor, text, False) == [processor.piece_to_id(p) for p in split]


@pytest.mark.parametrize("lower_case", [True, False], ids=["lower", "cased"])
@pytest.mark.parametrize("dataset", support.REFERENCE_DATASETS)
def test_albert_encode_gives_hugging_face_ids(dataset, lower_case):
    """The Python twin (what the pretraining data is made with) == AlbertTokenizer, every text."""
    processor = pieces.load_processor(support.ALBERT_MODEL.read_bytes())
    texts = support.reference_texts(dataset)
    expected = support.reference_ids("albert", dataset, lower_case)
    got = [vocabulary.albert_encode(processor, text, lower_case) for text in texts]
    rows = support.differing_rows(got, expected)
    assert not rows, support.describe_difference(texts, got, expected, rows)


def test_digit_and_combining_ranges_are_the_python_predicates():
    digits = vocabulary.digit_ranges()
    assert (0x30, 0x39) in digits and any(a <= 0xB2 <= b for a, b in digits)  # "²".isdigit()
    assert not any(a <= 0xBD <= b for a, b in digits)  # "½" is numeric, not a digit
    combining = vocabulary.combining_ranges()
    assert any(a <= 0x301 <= b for a, b in combining) and not any(a <= 0x41 <= b for a, b in combining)
    count = sum(b - a + 1 for a, b in digits)
    assert count == sum(chr(c).isdigit() for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
