"""QA windows in the graph (`text_contract.windows`): piece offsets into the original text for every tokenization
style, BERT's sliding windows and the answer positions, against Python references on the shared dev sets."""

import functools
import json
import unicodedata

import numpy as np
import pytest
import tensorflow as tf

from serving import op_check
from tests import support
from tests.text_contract import support as text_support
from text_contract import features, normalization, pieces, sentencepiece_training, vocabulary
from text_contract import transform as tr
from text_contract import alignment
from text_contract import windows as qa

EDGE_TEXTS = ["", "   ", "Hello  world, 1990, ok", "ﬁx e\u0301 x ``q'' ```", "中文 测试。ΑΣ Σ", " \x00a\ufeffb İ ",
              "\u3000全角，ＡＢＣ１２３\t\n端", b"bad \xff utf-8".decode("utf-8", "replace"), "x" * 120 + " end"]


def _squad_contexts(path, limit):
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [p["context"] for article in data for p in article["paragraphs"]][:limit]


def _squad_questions(path, limit):
    """(question, context, answer start, answer text) of each question whose first answer is where it says."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    rows = []
    for article in data:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa_ in paragraph["qas"]:
                answer = qa_["answers"][0]
                start, text = answer["answer_start"], answer["text"]
                if context[start:start + len(text)] == text:
                    rows.append((qa_["question"], context, start, text))
    return rows[:limit]


def _english_texts(limit):
    return [row[0] for row in support.read_tsv(support.dataset("sst2") / "dev.tsv", header=True, limit=limit)]


def _cmrc():
    return support.dataset("cmrc2018") / "cmrc2018_dev.json"


def _drcd():
    return support.dataset("drcd") / "DRCD_dev.json"


@pytest.fixture(scope="module")
def real_texts():
    return (_english_texts(100) + _squad_contexts(_cmrc(), 25) + _squad_contexts(_drcd(), 25) + EDGE_TEXTS)


@pytest.fixture(scope="module")
def spm_model():
    """Ours ("sentencepiece"): 3,000 pieces trained on SST-2 dev and cmrc2018/DRCD dev contexts (enough Chinese
    pieces that contexts are not mostly <unk>)."""
    texts = _english_texts(0) + _squad_contexts(_cmrc(), 150) + _squad_contexts(_drcd(), 150)
    lines = sorted({normalization.normalize(line) for text in texts for line in text.splitlines()} - {""})
    return sentencepiece_training.train_sentencepiece(lines, vocab_size=3000, character_coverage=0.995)


def _tokenizer(tokenization, lower_case, spm_model=None):
    """Built in each test (tf-text's SentencePiece kernel cache is dropped by the autouse seeding)."""
    data = spm_model if tokenization == vocabulary.SENTENCEPIECE else (
        text_support.REFERENCE_VOCABULARY[tokenization].read_bytes())
    return tr.build_tokenizer(data, tokenization, lower_case)


def _with_offsets(tokenizer, texts):
    """Eager: tracing the tokenizers takes seconds; test_build_windows_runs_in_a_serving_signature traces."""
    return [x.to_list() for x in tokenizer.tokenize_with_offsets(tf.constant(texts, tf.string))]


def _one_to_one(text):
    """True when every character is whitespace or one that each style's preprocessing keeps as one character."""
    def kept(c):
        return (not unicodedata.category(c).startswith(("C", "M")) and unicodedata.combining(c) == 0
                and all(len(unicodedata.normalize(form, c)) == 1 for form in ("NFKC", "NFKD", "NFC", "NFD"))
                and len(c.lower()) == 1)
    return all(c.isspace() or (kept(c) and c != "\ufffd") for c in text)  # BERT removes U+FFFD


# --- offsets -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tokenization, lower_case", [("sentencepiece", False), ("sentencepiece", True),
                                                      ("albert", True), ("albert", False), ("wordpiece", True)])
def test_offsets_come_with_the_tokenizer_ids_and_map_back_to_the_original(tokenization, lower_case, spm_model,
                                                                          real_texts):
    tokenizer = _tokenizer(tokenization, lower_case, spm_model)
    ids, starts, ends = _with_offsets(tokenizer, real_texts)
    assert ids == tokenizer(tf.constant(real_texts)).to_list()
    # The aligned preprocessing is the style's own, character for character.
    repaired = tr.repair_utf8(tf.constant(real_texts))
    prepared = alignment.to_strings(tokenizer.prepare_aligned(alignment.align(repaired)))
    assert prepared.numpy().tolist() == tokenizer.prepare(tf.constant(real_texts)).numpy().tolist()
    exact = 0
    for text, row_starts, row_ends in zip(real_texts, starts, ends):
        assert all(0 <= s <= e <= len(text) for s, e in zip(row_starts, row_ends)), text
        assert row_starts == sorted(row_starts), text
        if not _one_to_one(text):
            continue
        # Every non-space character lies in a piece, in order, and no space does ("▁" points at its word).
        # The pieces of one digit-comma split number may share a span: each span counts once.
        spans = list(zip(row_starts, row_ends))
        distinct = [span for i, span in enumerate(spans) if i == 0 or span != spans[i - 1]]
        assert "".join(text[s:e] for s, e in distinct) == "".join(c for c in text if not c.isspace()), text
        exact += 1
    print(f"{tokenization}/lower_case={lower_case}: {exact} of {len(real_texts)} texts checked character for character")
    assert exact >= 0.8 * len(real_texts)


@functools.lru_cache(maxsize=None)
def _changing_code_points():
    """The assigned code points (private use aside) that some style's preprocessing changes or drops."""
    def changes(ch):
        return (unicodedata.category(ch)[0] in "CZM" or ch.lower() != ch
                or any(unicodedata.normalize(form, ch) != ch for form in ("NFKC", "NFKD")))
    return tuple(c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF
                 and unicodedata.category(chr(c)) not in ("Cn", "Co") and changes(chr(c)))


# Lower-casing runs every preprocessing step of each style (cased ones skip some); real texts also run cased.
@pytest.mark.parametrize("tokenization", vocabulary.TOKENIZATIONS)
def test_aligned_preprocessing_is_the_style_own_on_every_code_point_it_changes(tokenization):
    """Each such code point between two letters, and runs that depend on their neighbours (final sigma, ``,
    combining marks reordered, whitespace runs): the same prepared text, the same ids, offsets in range."""
    texts = ["A" + chr(c) + "b" for c in _changing_code_points()] + [
        "ΑΣ Σ ΣΑ", "x\u0301\u0316y", "a```''''b", " \t\u3000 a \u00a0\u2028 ", "\x00Ab\x00", "ﬃ½ǅ"]
    data = (text_support.ALBERT_MODEL_100 if tokenization == vocabulary.SENTENCEPIECE
            else text_support.REFERENCE_VOCABULARY[tokenization]).read_bytes()
    tokenizer = tr.build_tokenizer(data, tokenization, lower_case=True)
    prepared = alignment.to_strings(tokenizer.prepare_aligned(alignment.align(tr.repair_utf8(tf.constant(texts)))))
    differ = [t for t, a, b in zip(texts, prepared.numpy(), tokenizer.prepare(tf.constant(texts)).numpy()) if a != b]
    assert not differ, [ascii(t) for t in differ[:5]]
    ids, starts, ends = tokenizer.tokenize_with_offsets(tf.constant(texts))
    assert ids.to_list() == tokenizer(tf.constant(texts)).to_list()
    lengths = tf.cast(tf.strings.length(tf.constant(texts), unit="UTF8_CHAR"), tf.int64)[:, None]
    assert bool(tf.reduce_all((starts >= 0) & (starts <= ends) & (ends <= lengths)))


def test_offsets_point_at_the_word_not_the_space_and_the_digit_comma_split_shares_the_number():
    tokenizer = _tokenizer("albert", False)
    text = "Hello  world, 1990, ok"
    ids, starts, ends = _with_offsets(tokenizer, [text])
    processor = pieces.load_processor(text_support.ALBERT_MODEL.read_bytes())
    assert [processor.id_to_piece(i) for i in ids[0]] == ["▁H", "ell", "o", "▁world", ",", "▁19", "90", ",", "▁", "ok"]
    assert list(zip(starts[0], ends[0])) == [(0, 1), (1, 4), (4, 5), (7, 12), (12, 13), (14, 16), (16, 18),
                                             (18, 19), (20, 20), (20, 22)]


def test_normalization_expansions_compositions_and_removed_characters_map_to_their_source():
    ids, starts, ends = _with_offsets(_tokenizer("wordpiece", False), ["ﬁx\x00e\u0301 end", "a\ufeffb"])
    # The word "ﬁxé" ([UNK]) ends after U+0301, which NFC composed into é; the NUL inside it is removed.
    assert ids[0][0] == _tokenizer("wordpiece", False).special_ids.unk_id
    assert [list(zip(s, e)) for s, e in zip(starts, ends)] == [[(0, 5), (6, 9)],
                                                               [(0, 1), (2, 3)]]  # U+FEFF is in no piece


# --- windows -------------------------------------------------------------------------------------------------

def _reference_windows(question_ids, context_ids, context_starts, context_ends, max_seq_length, max_query_length,
                       doc_stride, max_windows, special, answer=None):
    """BERT's run_squad.py convert_examples_to_features on pieces, in Python: the windows of one question."""
    query = question_ids[:max_query_length]
    capacity = max_seq_length - len(query) - 3
    spans, start = [], 0
    while True:
        length = min(len(context_ids) - start, capacity)
        spans.append((start, length))
        if start + length >= len(context_ids):
            break
        start += min(length, doc_stride)
    first = last = None
    if answer is not None and answer[1] > answer[0]:
        inside = [i for i, (s, e) in enumerate(zip(context_starts, context_ends))
                  if (e > answer[0] or s >= answer[0]) and s < answer[1]]
        first, last = (inside[0], inside[-1]) if inside else (None, None)
    out = []
    for start, length in spans[:max_windows]:
        tokens = [special.cls_id] + query + [special.sep_id] + context_ids[start:start + length] + [special.sep_id]
        segments = [0] * (len(query) + 2) + [1] * (length + 1)
        offsets = ([qa.NO_OFFSET] * (len(query) + 2) + context_starts[start:start + length] + [qa.NO_OFFSET],
                   [qa.NO_OFFSET] * (len(query) + 2) + context_ends[start:start + length] + [qa.NO_OFFSET])
        pad = max_seq_length - len(tokens)
        window = {features.TOKEN_IDS: tokens + [special.pad_id] * pad, features.SEGMENT_IDS: segments + [0] * pad,
                  features.PADDING_MASK: [1] * len(tokens) + [0] * pad,
                  features.CONTEXT_CHAR_STARTS: offsets[0] + [qa.NO_OFFSET] * pad,
                  features.CONTEXT_CHAR_ENDS: offsets[1] + [qa.NO_OFFSET] * pad}
        if answer is not None:
            contains = first is not None and start <= first and last < start + length
            offset = len(query) + 2 - start
            window[features.START_POSITIONS] = first + offset if contains else 0
            window[features.END_POSITIONS] = last + offset if contains else 0
        out.append(window)
    return out


def _windows_function(tokenizer, answers=True, **settings):
    """build_windows with fixed settings, eager (see _with_offsets)."""
    def run(questions, contexts, answer_starts=None, answer_texts=None):
        return qa.build_windows(tokenizer, questions, contexts, **settings, answer_starts=answer_starts,
                                answer_texts=answer_texts)
    return run


def _check_against_reference(tokenizer, rows, **settings):
    """build_windows on (question, context, answer start, answer text) rows equals the Python reference."""
    questions, contexts, starts, texts = (list(column) for column in zip(*rows))
    out = _windows_function(tokenizer, **settings)(tf.constant(questions), tf.constant(contexts),
                                                   tf.constant(starts, tf.int64), tf.constant(texts))
    out = {name: value.numpy() for name, value in out.items()}
    question_ids = tokenizer(tf.constant(questions)).to_list()
    context_ids, context_starts, context_ends = _with_offsets(tokenizer, contexts)
    labelled = 0
    for i, (start, text) in enumerate(zip(starts, texts)):
        expected = _reference_windows(question_ids[i], context_ids[i], context_starts[i], context_ends[i],
                                      special=tokenizer.special_ids, answer=(start, start + len(text)), **settings)
        assert out[features.WINDOW_COUNT][i] == len(expected)
        for w, window in enumerate(expected):
            for name, value in window.items():
                assert out[name][i, w].tolist() == value, (i, w, name)
            if window[features.START_POSITIONS]:
                labelled += 1
                s = out[features.CONTEXT_CHAR_STARTS][i, w, window[features.START_POSITIONS]]
                e = out[features.CONTEXT_CHAR_ENDS][i, w, window[features.END_POSITIONS]]
                assert s <= start and start + len(text) <= e and text in contexts[i][s:e]
        assert out[features.TOKEN_IDS][i, len(expected):].tolist() == [[tokenizer.special_ids.pad_id] * settings[
            "max_seq_length"]] * (settings["max_windows"] - len(expected))
        assert (out[features.CONTEXT_CHAR_STARTS][i, len(expected):] == qa.NO_OFFSET).all()
    return out, labelled


@pytest.mark.parametrize("dataset", ["cmrc2018", "drcd"])
def test_windows_of_real_chinese_questions_equal_bert_reference(dataset, spm_model):
    rows = _squad_questions(_cmrc() if dataset == "cmrc2018" else _drcd(), 40)
    out, labelled = _check_against_reference(_tokenizer("sentencepiece", False, spm_model), rows, max_seq_length=128,
                                             max_query_length=24, doc_stride=48, max_windows=16)
    assert out[features.WINDOW_COUNT].max() >= 4  # contexts longer than several windows
    assert labelled >= len(rows)  # each answer is inside at least one window (overlapping windows: often two)


def test_windows_of_english_text_with_imported_albert_and_wordpiece():
    context = " ".join(" ".join(_english_texts(12)).split())
    words = context.split()
    rows = []
    for k in range(0, len(words) - 3, 7):  # answers of 1 to 3 words all over the context
        start = len(" ".join(words[:k])) + (1 if k else 0)
        text = " ".join(words[k:k + 1 + k % 3])
        assert context[start:start + len(text)] == text
        rows.append((f"what about {words[k]}?", context, start, text))
    for tokenization in ("albert", "wordpiece"):
        out, labelled = _check_against_reference(_tokenizer(tokenization, True), rows, max_seq_length=40,
                                                 max_query_length=8, doc_stride=10, max_windows=40)
        assert out[features.WINDOW_COUNT].min() >= 4 and labelled >= len(rows)


@pytest.fixture
def chinese():
    """The wordpiece fixture splits CJK characters: one piece per character, so positions are easy to read."""
    tokens = text_support.WORDPIECE_VOCAB.read_text(encoding="utf-8").split("\n")
    characters = "".join(t for t in tokens if len(t) == 1 and "\u4e00" <= t <= "\u9fff")[:40]
    return _tokenizer("wordpiece", False), characters, {c: tokens.index(c) for c in characters}


def test_window_edges_straddling_answers_caps_and_long_questions(chinese):
    tokenizer, chars, ids = chinese
    cls, sep, pad = tokenizer.special_ids.cls_id, tokenizer.special_ids.sep_id, tokenizer.special_ids.pad_id
    context = chars[:20]  # 20 pieces; a 2-piece question leaves 7 per window of 12: windows at 0, 3, 6, 9, 12, 15
    question = chars[30:32]
    settings = dict(max_seq_length=12, max_query_length=3, doc_stride=3, max_windows=8)
    answers = [(3, 4),  # pieces 3-6: the end of window 0 and the start of window 1, both hold it
               (6, 2),  # pieces 6-7: straddles the end of window 0; windows 1 and 2 hold it whole
               (2, 8),  # longer than a window: no window holds it whole
               (19, 1)]  # the last piece: the last window only
    run = _windows_function(tokenizer, **settings)
    out = run(tf.constant([question] * 4), tf.constant([context] * 4),
              tf.constant([a for a, _ in answers], tf.int64), tf.constant([context[a:a + n] for a, n in answers]))
    out = {name: value.numpy() for name, value in out.items()}
    assert out[features.WINDOW_COUNT].tolist() == [6] * 4
    q = [ids[c] for c in question]
    assert out[features.TOKEN_IDS][0, 1].tolist() == [cls] + q + [sep] + [ids[c] for c in context[3:10]] + [sep]
    last_window = [cls] + q + [sep] + [ids[c] for c in context[15:]] + [sep, pad, pad]
    assert out[features.TOKEN_IDS][0, 5].tolist() == last_window
    assert out[features.SEGMENT_IDS][0, 5].tolist() == [0] * 4 + [1] * 6 + [0] * 2
    assert out[features.CONTEXT_CHAR_STARTS][0, 1].tolist() == [-1] * 4 + list(range(3, 10)) + [-1]
    assert out[features.CONTEXT_CHAR_ENDS][0, 1].tolist() == [-1] * 4 + list(range(4, 11)) + [-1]
    assert (out[features.TOKEN_IDS][:, 6:] == pad).all() and (out[features.PADDING_MASK][:, 6:] == 0).all()
    # Positions in the packed window: 4 = [CLS] + 2 question pieces + [SEP] before the context.
    assert out[features.START_POSITIONS].tolist() == [[7, 4, 0, 0, 0, 0, 0, 0], [0, 7, 4, 0, 0, 0, 0, 0],
                                                      [0] * 8, [0, 0, 0, 0, 0, 8, 0, 0]]
    assert out[features.END_POSITIONS].tolist() == [[10, 7, 0, 0, 0, 0, 0, 0], [0, 8, 5, 0, 0, 0, 0, 0],
                                                    [0] * 8, [0, 0, 0, 0, 0, 8, 0, 0]]

    # At most 4 windows: the first 4 are kept, the answer in the tail labels none.
    capped = _windows_function(tokenizer, **dict(settings, max_windows=4))(
        tf.constant([question]), tf.constant([context]), tf.constant([19], tf.int64), tf.constant([context[19]]))
    assert capped[features.WINDOW_COUNT].numpy().tolist() == [4]
    assert capped[features.TOKEN_IDS].shape == (1, 4, 12)
    assert capped[features.START_POSITIONS].numpy().tolist() == [[0, 0, 0, 0]]

    # A question of 10 pieces keeps its first 3; an empty context still makes one window.
    out = _windows_function(tokenizer, answers=False, **settings)(tf.constant([chars[:10], chars[:10]]),
                                                                  tf.constant(["", context]))
    assert features.START_POSITIONS not in out
    assert out[features.WINDOW_COUNT].numpy().tolist() == [1, 1 + -(-(20 - 6) // 3)]
    cut_question = [ids[c] for c in chars[:3]]
    assert out[features.TOKEN_IDS].numpy()[0, 0].tolist() == [cls] + cut_question + [sep, sep] + [pad] * 6
    assert out[features.TOKEN_IDS].numpy()[1, 0, 5:11].tolist() == [ids[c] for c in context[:6]]


def test_answers_inside_a_word_take_the_whole_word_and_bad_answers_label_nothing():
    tokenizer = _tokenizer("albert", False)
    context = "The river Rhine flows north."
    rows = [(context.index("hin"), "hin"),  # inside "▁Rhine": the straddling piece(s) of the word
            (-1, "x"), (3, ""), (3, " ")]  # no start, empty answer, an answer of whitespace only
    out = _windows_function(tokenizer, max_seq_length=32, max_query_length=4, doc_stride=8, max_windows=2)(
        tf.constant(["where?"] * 4), tf.constant([context] * 4), tf.constant([a for a, _ in rows], tf.int64),
        tf.constant([t for _, t in rows]))
    start, end = out[features.START_POSITIONS].numpy(), out[features.END_POSITIONS].numpy()
    s = out[features.CONTEXT_CHAR_STARTS].numpy()[0, 0, start[0, 0]]
    e = out[features.CONTEXT_CHAR_ENDS].numpy()[0, 0, end[0, 0]]
    assert start[0, 0] > 0 and s <= context.index("hin") and e >= context.index("hin") + 3
    assert start[1:].tolist() == [[0, 0]] * 3 and end[1:].tolist() == [[0, 0]] * 3


def test_per_window_rows_unbatch_questions_into_windows_in_tf_data(chinese):
    tokenizer, chars, _ = chinese
    questions = [chars[30:32], chars[32:33], chars[33:35]]
    contexts = [chars[:20], "", chars[:9]]
    settings = dict(max_seq_length=12, max_query_length=3, doc_stride=3, max_windows=8)
    # As the trainer reads the Transform's output: one row per question, with its id.
    per_question = _windows_function(tokenizer, answers=False, **settings)(tf.constant(questions),
                                                                           tf.constant(contexts))
    assert per_question[features.WINDOW_COUNT].numpy().tolist() == [6, 1, 2]  # 20 and 9 pieces, 7 a window
    per_question[features.QA_ID] = tf.constant(["q0", "q1", "q2"])
    dataset = tf.data.Dataset.from_tensor_slices(per_question).batch(2)
    rows = list(dataset.map(qa.per_window_rows).unbatch().as_numpy_iterator())
    assert [(r[features.QA_ID], r[features.WINDOW_INDEX], r[features.QUESTION_INDEX]) for r in rows] == (
        [(b"q0", w, 0) for w in range(6)] + [(b"q1", 0, 1), (b"q2", 0, 0), (b"q2", 1, 0)])
    assert all(r[features.TOKEN_IDS].shape == (12,) and r[features.PADDING_MASK].sum() > 0 for r in rows)


def test_build_windows_runs_in_a_serving_signature_with_ops_tf_serving_provides(tmp_path, spm_model):
    """Traced over [None] strings as the Transform and serving call it; the export gives the eager windows."""
    class Module(tf.Module):
        def __init__(self, tokenizer):
            super().__init__()
            self.tokenizer = tokenizer

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)] * 2)
        def windows(self, questions, contexts):
            return qa.build_windows(self.tokenizer, questions, contexts, max_seq_length=64, max_query_length=16,
                                    doc_stride=32, max_windows=4)

    tokenizer = _tokenizer("sentencepiece", True, spm_model)
    module = Module(tokenizer)
    assert module.windows.get_concrete_function().structured_outputs[features.TOKEN_IDS].shape.as_list() == [
        None, 4, 64]
    export_dir = str(tmp_path / "export")
    tf.saved_model.save(module, export_dir, signatures={"serving_default": module.windows})
    report = op_check.check_export_ops(export_dir)
    assert report.ok and not any("PyFunc" in op for op in report.ops)
    questions = tf.constant(["谁?", "who?", ""])
    contexts = tf.constant(["中文 测试。" * 40, "Some English text.", ""])
    served = tf.saved_model.load(export_dir).signatures["serving_default"](questions=questions, contexts=contexts)
    eager = qa.build_windows(tokenizer, questions, contexts, max_seq_length=64, max_query_length=16, doc_stride=32,
                             max_windows=4)
    assert served[features.TOKEN_IDS].shape == (3, 4, 64)
    assert served[features.WINDOW_COUNT].numpy().tolist() == [4, 1, 1]
    assert sorted(served) == sorted(eager)
    for name, value in eager.items():
        assert served[name].numpy().tolist() == value.numpy().tolist(), name


def test_settings_that_leave_no_room_for_the_context_are_refused():
    tokenizer = _tokenizer("wordpiece", False)
    with pytest.raises(ValueError, match="must exceed max_query_length"):
        qa.build_windows(tokenizer, tf.constant(["q"]), tf.constant(["c"]), 10, 7, 2, 2)
    with pytest.raises(ValueError, match="doc_stride and max_windows"):
        qa.build_windows(tokenizer, tf.constant(["q"]), tf.constant(["c"]), 10, 3, 0, 2)
    np.testing.assert_array_equal(qa.count_windows(tf.constant([0, 7, 8, 20], tf.int64), tf.constant([2] * 4, tf.int64),
                                                   12, 3), [1, 1, 2, 6])


def test_first_answers_takes_the_first_gold_answer_of_parsed_answer_lists():
    examples = [tf.train.Example(features=tf.train.Features(feature={
        features.QA_ANSWER_STARTS: tf.train.Feature(int64_list=tf.train.Int64List(value=starts)),
        features.QA_ANSWER_TEXTS: tf.train.Feature(bytes_list=tf.train.BytesList(value=texts))})).SerializeToString()
        for starts, texts in [([4, 9], [b"ab", b"cd"]), ([], [])]]
    parsed = tf.io.parse_example(tf.constant(examples), {features.QA_ANSWER_STARTS: tf.io.VarLenFeature(tf.int64),
                                                         features.QA_ANSWER_TEXTS: tf.io.VarLenFeature(tf.string)})
    starts, texts = qa.first_answers(parsed[features.QA_ANSWER_STARTS], parsed[features.QA_ANSWER_TEXTS])
    assert starts.numpy().tolist() == [4, -1] and texts.numpy().tolist() == [b"ab", b""]
    starts, texts = qa.first_answers(tf.ragged.constant([[], [7]], tf.int64), tf.constant([["x"], ["y"]]))
    assert starts.numpy().tolist() == [-1, 7] and texts.numpy().tolist() == [b"x", b"y"]
