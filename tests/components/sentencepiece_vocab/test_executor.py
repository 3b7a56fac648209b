"""SentencePieceVocab's executor, run directly on Examples written here: counts, determinism, options, errors."""

import sentencepiece as spm
import pytest

from components import artifacts as artifact_lib
from tests.components.sentencepiece_vocab.support import example, run_executor, write_examples
from tests.support import dataset, read_tsv
from text_contract import pieces
from text_contract.normalization import normalize

MULTI_MEGABYTE = "word " * 600_000  # 3 MB, one line
VALID_ODDITIES = [
    "  Café  naïve\tfaçade  ",  # surrounding and inner whitespace, accents
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ１２３",  # NFKC folds full-width forms
    "first line\nsecond line\r\nthird line",  # one row, three lines
    "中文句子，没有空格。",
]


def _integer_scores(out) -> bool:
    """Whether every normal piece's score in the .vocab file is an integer (BPE) rather than a log prob."""
    rows = open(artifact_lib.vocab_path(str(out)), encoding="utf-8").read().splitlines()[5:]
    return all(float(row.split("\t")[1]).is_integer() for row in rows)


def _sentences():
    return [row[0] for row in read_tsv(dataset("sst2") / "dev.tsv", header=True)]


def _corpus():
    """SST-2 dev as tf.Examples plus every kind of bad row, and the normalized lines that must be kept."""
    sentences = _sentences()
    records = [example(sentence=s, label=i % 2) for i, s in enumerate(sentences)]
    records += [example(sentence=s, label=1) for s in VALID_ODDITIES]
    records += [
        example(sentence=b"\xff\xfe not utf-8 \xc3", label=0),  # invalid UTF-8
        example(sentence="", label=0),  # empty
        example(sentence=" \t\u3000 \n ", label=1),  # whitespace only (two lines, both empty)
        example(label=1),  # missing feature
        example(sentence=sentences[0], label=0),  # duplicate of a valid row
        example(sentence=MULTI_MEGABYTE, label=0),  # truncated to max_sentence_chars
        b"\x0a\xff",  # not a tf.Example (a length past the end)
    ]
    kept = {normalize(line) for text in sentences + VALID_ODDITIES for line in text.splitlines()}
    kept.add(normalize(MULTI_MEGABYTE[:1000]))
    kept.discard("")
    return records, kept


PARAMS = dict(text_features=["sentence"], vocab_size=400, heldout_fraction=0.1, max_sentence_chars=1000)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    records, kept = _corpus()
    return write_examples(tmp_path_factory.mktemp("examples"), {"train": records, "eval": records[:5]}), kept


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("vocab") / "model"
    return out, run_executor(corpus[0], out, **PARAMS)


def test_writes_the_model_vocab_and_summary_with_albert_special_pieces(trained):
    out, summary = trained
    sp = spm.SentencePieceProcessor(model_file=artifact_lib.model_path(str(out)))
    assert [sp.id_to_piece(i) for i in range(5)] == [
        pieces.PAD_PIECE, pieces.UNK_PIECE, *pieces.CONTROL_PIECES]
    assert (sp.pad_id(), sp.unk_id(), sp.bos_id(), sp.eos_id()) == (pieces.PAD_ID, pieces.UNK_ID, -1, -1)
    assert [sp.piece_to_id(p) for p in pieces.CONTROL_PIECES] == [
        pieces.CLS_ID, pieces.SEP_ID, pieces.MASK_ID]
    assert all(sp.is_control(i) for i in (pieces.CLS_ID, pieces.SEP_ID, pieces.MASK_ID))
    vocab = open(artifact_lib.vocab_path(str(out)), encoding="utf-8").read().splitlines()
    assert len(vocab) == sp.get_piece_size() == summary["pieces"] == 400
    assert vocab[0].split("\t")[0] == pieces.PAD_PIECE
    # Identity normalization: SentencePiece keeps full-width forms and runs of spaces
    # (text_contract.normalization owns those).
    assert "".join(sp.encode_as_pieces("ＡＢ  c")) == "\u2581ＡＢ\u2581\u2581c"
    assert not _integer_scores(out)  # unigram: log probabilities
    assert summary["model_type"] == "unigram" and summary["vocab_size"] == 400 and summary["lower_case"] is False
    assert 0.0 <= summary["unknown_rate"] < 0.05 and summary["heldout_pieces"] > 0


def test_counts_bad_rows_and_keeps_every_valid_line(trained, corpus):
    _, summary = trained
    _, kept = corpus
    assert summary["dropped"] == {
        "invalid_utf8": 1,
        "empty": 3,  # "", and the whitespace-only row's two lines
        "missing_feature": 1,
        "invalid_example": 1,
        "duplicate": summary["lines_read"] - summary["dropped"]["empty"] - len(kept),
    }
    assert summary["dropped"]["duplicate"] >= 1  # the repeated row (SST-2 dev may hold repeats of its own)
    assert summary["truncated"] == 1
    sentences = len(_sentences())
    assert summary["examples_read"] == sentences + len(VALID_ODDITIES) + 6
    assert summary["lines_read"] == sentences + len(VALID_ODDITIES) + 2 + 1 + 2 + 1 + 1  # 3-line row, empty rows, ...
    assert summary["lines_unique"] == len(kept)
    # Every distinct valid line is either held out or used for training.
    assert summary["sentences_heldout"] + summary["sentences_used"] == len(kept)
    assert summary["sentences_used"] == summary["sentences_for_training"]  # under the cap: nothing sampled out
    assert 0.05 * len(kept) < summary["sentences_heldout"] < 0.15 * len(kept)
    # The run's progress line: examples read, distinct lines kept, each drop reason, the truncated line.
    from components.sentencepiece_vocab import training

    dropped = summary["dropped"]
    assert training.describe(str(trained[0])) == (
        f"read {summary['examples_read']:,} examples, kept {len(kept):,} (distinct lines of "
        f"{summary['lines_read']:,}), skipped {sum(dropped.values()):,} (missing_feature 1, invalid_utf8 1, "
        f"invalid_example 1, empty 3, duplicate {dropped['duplicate']:,}), truncated 1 (lines cut to "
        f"{summary['max_sentence_chars']:,} characters); trained 400 pieces on {summary['sentences_used']:,} lines")


def test_two_runs_give_the_same_model_bytes_whatever_the_beam_parallelism(trained, corpus, tmp_path):
    out, summary = trained
    again = run_executor(corpus[0], tmp_path / "again",
                         beam_pipeline_args=["--direct_num_workers=2", "--direct_running_mode=multi_threading"],
                         **PARAMS)
    assert open(artifact_lib.model_path(str(tmp_path / "again")), "rb").read() == \
        open(artifact_lib.model_path(str(out)), "rb").read()
    assert again == summary


def test_the_cap_and_the_seed_pick_a_deterministic_sample(corpus, tmp_path):
    params = dict(PARAMS, max_sentences=300, vocab_size=300)
    first = run_executor(corpus[0], tmp_path / "a", **params)
    assert first["sentences_used"] == 300
    assert first["sentences_sampled_out"] == first["sentences_for_training"] - 300
    reseeded = run_executor(corpus[0], tmp_path / "b", **dict(params, seed=7))
    assert reseeded["sentences_used"] == 300 and reseeded["model_sha256"] != first["model_sha256"]


def test_an_unknown_text_feature_is_an_error_naming_it_and_the_features_that_exist(corpus, tmp_path):
    with pytest.raises(ValueError, match=r"'sentense'.*\['label', 'sentence'\]"):
        run_executor(corpus[0], tmp_path / "x", **dict(PARAMS, text_features=["sentense"]))
    with pytest.raises(ValueError, match=r"'label' holds \['int64_list'\].*\['sentence'\]"):
        run_executor(corpus[0], tmp_path / "y", **dict(PARAMS, text_features=["label"]))
    with pytest.raises(ValueError, match=r"split 'test'.*\['train', 'eval'\]"):
        run_executor(corpus[0], tmp_path / "z", **dict(PARAMS, splits=["test"]))


def test_bad_parameters_are_errors_naming_the_parameter(corpus, tmp_path):
    with pytest.raises(ValueError, match="model_type"):
        run_executor(corpus[0], tmp_path / "x", **dict(PARAMS, model_type="wordpiece"))
    with pytest.raises(ValueError, match="character_coverage"):
        run_executor(corpus[0], tmp_path / "y", **dict(PARAMS, character_coverage=1.5))


def test_bpe(corpus, tmp_path):
    summary = run_executor(corpus[0], tmp_path / "bpe", **dict(PARAMS, model_type="bpe"))
    assert _integer_scores(tmp_path / "bpe")  # BPE scores pieces by merge order
    assert summary["model_type"] == "bpe" and summary["pieces"] == 400
    sp = spm.SentencePieceProcessor(model_file=artifact_lib.model_path(str(tmp_path / "bpe")))
    assert [sp.id_to_piece(i) for i in range(5)] == [
        pieces.PAD_PIECE, pieces.UNK_PIECE, *pieces.CONTROL_PIECES]


def test_lower_case(tmp_path):
    records = [example(sentence=s.upper()) for s in _sentences()[:300]]
    examples = write_examples(tmp_path / "examples", {"train": records})
    summary = run_executor(examples, tmp_path / "lower", **dict(PARAMS, vocab_size=200, lower_case=True))
    sp = spm.SentencePieceProcessor(model_file=artifact_lib.model_path(str(tmp_path / "lower")))
    learned = [sp.id_to_piece(i) for i in range(5, sp.get_piece_size())]
    assert summary["lower_case"] is True
    assert not any(c.isupper() for piece in learned for c in piece)
    assert any(c.islower() for piece in learned for c in piece)


def test_the_newest_matching_vocabulary_is_reused_instead_of_training(trained, corpus, tmp_path):
    import shutil

    out, _ = trained
    for version in ("9", "10"):
        (tmp_path / "served" / version).mkdir(parents=True)
        shutil.copy(artifact_lib.model_path(str(out)), tmp_path / "served" / version / artifact_lib.MODEL_FILE)
    pattern = str(tmp_path / "served" / "*" / artifact_lib.MODEL_FILE)
    summary = run_executor(corpus[0], tmp_path / "reused", **dict(PARAMS, reuse_model_glob=pattern, lower_case=True))
    newest = str(tmp_path / "served" / "10" / artifact_lib.MODEL_FILE)  # natural order: 10 after 9
    assert summary["reused_from"] == newest and summary["pieces"] == 400 and summary["lower_case"] is True
    with open(artifact_lib.model_path(str(tmp_path / "reused")), "rb") as reused, open(newest, "rb") as source:
        assert reused.read() == source.read()
    assert len(open(artifact_lib.vocab_path(str(tmp_path / "reused")), encoding="utf-8").read().splitlines()) == 400


def test_a_reused_vocabulary_without_albert_special_pieces_is_refused_naming_its_path(corpus, tmp_path):
    import io
    import re

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(_sentences()[:300]), model_writer=model, vocab_size=100,
                                   minloglevel=2)  # SentencePiece's own ids: <unk>=0, <s>=1, </s>=2
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "spm.model").write_bytes(model.getvalue())
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "spm.model").write_bytes(b"not a model")
    for name, problem in (("served", "special pieces at the wrong ids"), ("junk", "not a SentencePiece model")):
        path = str(tmp_path / name / "spm.model")
        with pytest.raises(pieces.VocabularyError, match=rf"reuse_model_glob: {re.escape(path)} .*{problem}"):
            run_executor(corpus[0], tmp_path / f"out-{name}", **dict(PARAMS, reuse_model_glob=path))
