"""The `qa` serving signature (serving/qa_export.py): the n-best search against a Python reference, answers that
are always the context's own text, rigged models pointing at known pieces, the v2.0 no-answer rule, and the
exported SavedModel loaded and run with the op check passing."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from serving import contract, op_check, push, warmup
from serving import qa_export
from text_contract import features, normalization, sentencepiece_training
from text_contract import transform as tr
from text_contract import windows as qa_windows
from trainer.config import AlbertConfig
from trainer.encoder import AlbertEncoder
from text_contract.features import END_LOGITS, NO_ANSWER_SCORE, START_LOGITS
from trainer.heads.span import MASKED_LOGIT
from trainer.question_answering import AlbertQuestionAnswerer

MAX_SEQ_LENGTH, MAX_QUERY_LENGTH, DOC_STRIDE, MAX_WINDOWS = 32, 8, 8, 6
SETTINGS = dict(max_seq_length=MAX_SEQ_LENGTH, max_query_length=MAX_QUERY_LENGTH, doc_stride=DOC_STRIDE,
                max_windows=MAX_WINDOWS)

_ENGLISH = ["The quick brown fox jumps over the lazy dog.", "A lazy dog sleeps in the warm sun.",
            "The price is 123 dollars and the fox paid it.", "Who wrote the book about the quick fox?",
            "The river runs past the old mill near the town.", "She read the book in the garden every morning."]
_CHINESE = ["价格 是 123 元。", "北京 是 中国 的 首都。", "谁 写 了 这 本 书？", "小 狗 在 花园 里 睡觉。",
            "长江 是 中国 最 长 的 河流。"]
QUESTIONS = ["Who jumps over the dog?", "谁 写 了 这 本 书？", "What does the river run past?", "价格 是 多少？",
             "Where?"]
CONTEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "北京是中国的首都。长江是中国最长的河流。" * 6,  # several windows of Chinese
    " ".join(_ENGLISH * 3),  # longer than MAX_WINDOWS windows: the tail is never searched
    "价格是 １２３ 元。  Ｔｈｅ  ｑｕｉｃｋ fox\t\tpaid.",  # full-width forms and whitespace runs
    "",  # no context: no span
]


@pytest.fixture(scope="module")
def vocabulary_model():
    """A ~100-piece SentencePiece model of English and Chinese (words mostly split into characters)."""
    lines = sorted({normalization.normalize(line) for line in (_ENGLISH + _CHINESE)})
    return sentencepiece_training.train_sentencepiece(lines, vocab_size=120, character_coverage=1.0, num_threads=1)


def _tokenizer(vocabulary_model):
    """Built in each test (tf-text's SentencePiece kernel cache is dropped by the autouse seeding)."""
    return tr.build_tokenizer(vocabulary_model, "sentencepiece", False)


def _qa_model(vocab_size, with_no_answer=False):
    config = AlbertConfig(vocab_size=vocab_size, embedding_size=16, hidden_size=32, num_hidden_layers=2,
                          num_attention_heads=2, intermediate_size=64, max_position_embeddings=MAX_SEQ_LENGTH)
    return AlbertQuestionAnswerer(AlbertEncoder.from_albert_config(config), with_no_answer=with_no_answer)


class RiggedModel(keras.Model):
    """Start logit `high` on every piece `start_id`, end logit `high` on every piece `end_id`, 0 elsewhere
    (padding at MASKED_LOGIT, as SpanHead does). With `no_answer`: no_answer_score is `no_answer` in a window
    without `start_id` and `no_answer_in_answer_window` in one with it."""

    def __init__(self, start_id, end_id, high=10.0, no_answer=None, no_answer_in_answer_window=None):
        super().__init__()
        self.start_id, self.end_id, self.high = start_id, end_id, high
        self.no_answer, self.no_answer_in_answer_window = no_answer, no_answer_in_answer_window
        self.with_no_answer = no_answer is not None

    def call(self, inputs, training=False):
        ids = inputs[features.TOKEN_IDS]
        real = inputs[features.PADDING_MASK] > 0
        start = tf.where(real, tf.where(tf.equal(ids, self.start_id), self.high, 0.0), MASKED_LOGIT)
        end = tf.where(real, tf.where(tf.equal(ids, self.end_id), self.high, 0.0), MASKED_LOGIT)
        outputs = {START_LOGITS: start, END_LOGITS: end}
        if self.with_no_answer:
            holds = tf.reduce_any(tf.equal(ids, self.start_id), axis=1)
            outputs[NO_ANSWER_SCORE] = tf.where(holds, self.no_answer_in_answer_window, self.no_answer)
        return outputs


# --- (a) the n-best search ------------------------------------------------------------------------------------

def reference_best_spans(start, end, char_starts, char_ends, window_count, n_best_size, max_answer_length):
    """BERT's n-best search in plain Python: per window the n_best_size best context positions for start and
    for end (ties: the earlier position), every pair with start <= end, at most max_answer_length pieces and at
    least one character; the best start + end logit (float32) over the windows in use, the first on ties."""
    results = []
    for b in range(start.shape[0]):
        best = (-np.inf, 0, 0, 0)
        for w in range(int(window_count[b])):
            context = [p for p in range(start.shape[2]) if char_starts[b, w, p] != -1]
            top_starts = sorted(context, key=lambda p: (-start[b, w, p], p))[:n_best_size]
            top_ends = sorted(context, key=lambda p: (-end[b, w, p], p))[:n_best_size]
            for s in top_starts:
                for e in top_ends:
                    if e < s or e - s + 1 > max_answer_length or char_ends[b, w, e] <= char_starts[b, w, s]:
                        continue
                    score = np.float32(start[b, w, s]) + np.float32(end[b, w, e])
                    if score > best[0]:
                        best = (score, w, s, e)
        results.append(best)
    return results


def _random_layout(rng, batch, windows, length):
    """Offsets and window counts shaped like build_windows': [CLS] question [SEP] context [SEP] padding, unused
    windows all -1, some windows without any context position."""
    char_starts = np.full((batch, windows, length), -1, np.int64)
    char_ends = np.full_like(char_starts, -1)
    window_count = rng.integers(1, windows + 1, batch)
    for b in range(batch):
        question = int(rng.integers(1, 4))
        for w in range(window_count[b]):
            pieces = int(rng.integers(0, length - question - 2))
            begin = question + 2
            offsets = np.cumsum(rng.integers(0, 3, pieces + 1)) + 7 * w
            char_starts[b, w, begin:begin + pieces] = offsets[:-1]
            char_ends[b, w, begin:begin + pieces] = offsets[:-1] + rng.integers(0, 3, pieces)  # some empty
    return char_starts, char_ends, window_count


@pytest.mark.parametrize("seed, n_best_size, max_answer_length", [(0, 20, 30), (1, 3, 4), (2, 1, 1), (3, 50, 2),
                                                                  (4, 5, 30)])
def test_the_graph_search_equals_the_python_reference_on_random_logits(seed, n_best_size, max_answer_length):
    rng = np.random.default_rng(seed)
    batch, windows, length = 7, 4, 12
    char_starts, char_ends, window_count = _random_layout(rng, batch, windows, length)
    # Large logits on question and padding positions and in unused windows: they must never be chosen.
    start = rng.normal(size=(batch, windows, length)).astype(np.float32) + 5 * (char_starts == -1)
    end = rng.normal(size=(batch, windows, length)).astype(np.float32) + 5 * (char_starts == -1)
    got = {k: v.numpy() for k, v in qa_export.best_spans(start, end, char_starts, char_ends, window_count,
                                                          n_best_size, max_answer_length).items()}
    expected = reference_best_spans(start, end, char_starts, char_ends, window_count, n_best_size, max_answer_length)
    for b, (score, w, s, e) in enumerate(expected):
        found = bool(np.isfinite(score))
        assert bool(got[qa_export.SPAN_FOUND][b]) == found, b
        if not found:
            assert got[qa_export.SPAN_SCORE][b] == -np.inf
            continue
        assert got[qa_export.SPAN_SCORE][b] == score, b
        assert (got[qa_export.SPAN_WINDOW][b], got[qa_export.SPAN_START][b], got[qa_export.SPAN_END][b]) == (w, s, e), b
    assert any(np.isfinite(r[0]) for r in expected)  # the random layouts do answer (n_best_size 1: rarely)


def _one_window_case(**logits):
    """Two windows of 12 positions, window_count 1: [CLS] q [SEP] at 0-2, context at 3-8 (chars 0-5), [SEP] at 9,
    padding at 10-11; the unused second window has context offsets too. `logits`: {"start"/"end": {pos: value}}
    for the first window."""
    char_starts = np.full((1, 2, 12), -1, np.int64)
    char_starts[0, :, 3:9] = np.arange(6)
    char_ends = np.where(char_starts >= 0, char_starts + 1, -1)
    values = {}
    for key in ("start", "end"):
        values[key] = np.zeros((1, 2, 12), np.float32)
        values[key][0, 1, :] = 1000  # the unused window
        for position, value in logits.get(key, {}).items():
            values[key][0, 0, position] = value
    return values["start"], values["end"], char_starts, char_ends


@pytest.mark.parametrize("logits, max_answer_length, expected", [
    # The best pair is reversed (end 4 before start 6): start 6 with its best end at or after it instead.
    ({"start": {6: 10}, "end": {4: 10}}, 30, (10.0, 6, 6)),
    # 3..8 is 6 pieces: too long for 5, fine for 6.
    ({"start": {3: 10}, "end": {8: 10}}, 5, (10.0, 3, 3)),
    ({"start": {3: 10}, "end": {8: 10}}, 6, (20.0, 3, 8)),
    # [CLS], question, [SEP] and padding positions never answer, however high their logits.
    ({"start": {0: 100, 1: 100, 9: 100, 10: 100}, "end": {0: 100, 2: 100, 9: 100, 11: 100}}, 30, (0.0, 3, 3)),
])
def test_the_search_skips_reversed_too_long_and_non_context_spans(logits, max_answer_length, expected):
    start, end, char_starts, char_ends = _one_window_case(**logits)
    spans = qa_export.best_spans(start, end, char_starts, char_ends, [1], n_best_size=4,
                                 max_answer_length=max_answer_length)
    got = (spans[qa_export.SPAN_SCORE].numpy()[0], spans[qa_export.SPAN_START].numpy()[0],
           spans[qa_export.SPAN_END].numpy()[0])
    assert got == expected and spans[qa_export.SPAN_WINDOW].numpy()[0] == 0
    score, window, first, last = reference_best_spans(start, end, char_starts, char_ends, [1], 4, max_answer_length)[0]
    assert (score, first, last) == expected and window == 0


def test_the_search_finds_nothing_without_context_and_refuses_bad_settings():
    start, end, char_starts, char_ends = _one_window_case()
    no_context = np.full_like(char_starts, -1)
    spans = qa_export.best_spans(start, end, no_context, no_context, [2])
    assert spans[qa_export.SPAN_FOUND].numpy().tolist() == [False]
    assert spans[qa_export.SPAN_SCORE].numpy().tolist() == [-np.inf]
    with pytest.raises(ValueError, match="n_best_size must be a positive integer, got 0"):
        qa_export.best_spans(start, end, char_starts, char_ends, [1], n_best_size=0)
    with pytest.raises(ValueError, match="max_answer_length must be a positive integer, got 2.5"):
        qa_export.best_spans(start, end, char_starts, char_ends, [1], max_answer_length=2.5)


# --- (b), (d) a real (untrained) model, exported ---------------------------------------------------------------

@pytest.fixture(scope="module")
def exported(vocabulary_model, tmp_path_factory):
    tokenizer = _tokenizer(vocabulary_model)
    model = _qa_model(tokenizer.vocab_size)
    root = tmp_path_factory.mktemp("qa")
    vocabulary_path = root / "spm.model"
    vocabulary_path.write_bytes(vocabulary_model)
    export_dir = qa_export.export_qa_model(model, tokenizer, str(root / "serving" / "1"), **SETTINGS,
                                           vocabulary_path=str(vocabulary_path), model_name="tiny-qa", preset="tiny")
    return model, export_dir


def _eager_reference(model, tokenizer, questions, contexts, n_best_size=qa_export.DEFAULT_N_BEST_SIZE,
                     max_answer_length=qa_export.DEFAULT_MAX_ANSWER_LENGTH):
    """The answers computed outside the serving graph: eager windows, the model on every window, the Python
    search and Python slicing of the context."""
    windows = qa_windows.build_windows(tokenizer, tf.constant(questions), tf.constant(contexts), **SETTINGS)
    inputs = {name: tf.cast(tf.reshape(windows[name], [-1, MAX_SEQ_LENGTH]), tf.int32) for name in features.MODEL_INPUTS}
    outputs = model(inputs, training=False)
    shape = (len(questions), MAX_WINDOWS, MAX_SEQ_LENGTH)
    start, end = (np.reshape(outputs[key].numpy(), shape) for key in (START_LOGITS, END_LOGITS))
    char_starts, char_ends = windows[features.CONTEXT_CHAR_STARTS].numpy(), windows[features.CONTEXT_CHAR_ENDS].numpy()
    answers = []
    for context, (score, w, s, e), b in zip(contexts, reference_best_spans(
            start, end, char_starts, char_ends, windows[features.WINDOW_COUNT].numpy(), n_best_size,
            max_answer_length), range(len(contexts))):
        if not np.isfinite(score):
            answers.append(("", -1, -1, contract.NO_SPAN_SCORE))
        else:
            first, last = int(char_starts[b, w, s]), int(char_ends[b, w, e])
            answers.append((context[first:last], first, last, score))
    return answers


def test_answers_are_the_contexts_own_text_and_match_the_eager_reference(exported, vocabulary_model):
    model, export_dir = exported
    qa = tf.saved_model.load(export_dir).signatures[contract.QA_SIGNATURE]
    got = qa(question=tf.constant(QUESTIONS), context=tf.constant(CONTEXTS))
    assert sorted(got) == sorted(contract.QA_OUTPUTS)
    answers = [a.decode("utf-8") for a in got[contract.ANSWER_TEXT].numpy()]
    starts, ends = got[contract.START_CHAR].numpy().tolist(), got[contract.END_CHAR].numpy().tolist()
    scores = got[contract.SCORE].numpy()
    assert got[contract.SCORE].dtype == tf.float32 and got[contract.START_CHAR].dtype == tf.int64
    for context, answer, start, end in zip(CONTEXTS[:4], answers, starts, ends):
        assert 0 <= start < end <= len(context) and answer == context[start:end] and answer in context, (context, answer)
    assert (answers[4], starts[4], ends[4], scores[4]) == ("", -1, -1, contract.NO_SPAN_SCORE)  # empty context
    expected = _eager_reference(model, _tokenizer(vocabulary_model), QUESTIONS, CONTEXTS)
    assert [(a, s, e) for a, s, e, _ in expected] == list(zip(answers, starts, ends))
    np.testing.assert_allclose(scores, [score for *_, score in expected], rtol=1e-5, atol=1e-5)
    # Every non-empty context spans several windows; the long ones more than are kept, whose tail is never
    # searched: the answer lies in the first MAX_WINDOWS.
    windows = qa_windows.build_windows(_tokenizer(vocabulary_model), tf.constant(QUESTIONS), tf.constant(CONTEXTS),
                                       **SETTINGS)
    window_count = windows[features.WINDOW_COUNT].numpy().tolist()
    assert min(window_count[:4]) >= 2 and window_count[1:3] == [MAX_WINDOWS, MAX_WINDOWS], window_count
    last_kept = windows[features.CONTEXT_CHAR_ENDS].numpy()[2, MAX_WINDOWS - 1].max()
    assert ends[2] <= last_kept < len(CONTEXTS[2])


def test_the_export_loads_runs_a_batch_of_three_and_passes_the_op_check(exported):
    _, export_dir = exported
    loaded = tf.saved_model.load(export_dir)
    got = loaded.signatures[contract.QA_SIGNATURE](
        question=tf.constant(["Who?", "谁？", "What?"]),
        context=tf.constant(["The quick brown fox.", "", "长江是中国最长的河流。"]))
    assert {key: value.shape.as_list() for key, value in got.items()} == {key: [3] for key in contract.QA_OUTPUTS}
    assert got[contract.ANSWER_TEXT].numpy()[1] == b"" and got[contract.START_CHAR].numpy()[1] == -1
    empty = loaded.signatures[contract.QA_SIGNATURE](question=tf.constant([], tf.string),
                                                     context=tf.constant([], tf.string))
    assert {key: value.shape.as_list() for key, value in empty.items()} == {key: [0] for key in contract.QA_OUTPUTS}
    signature_defs = contract.list_signature_defs(export_dir)
    assert [key for key in signature_defs if not key.startswith("__")] == [contract.QA_SIGNATURE]  # not __saved_model_init_op
    assert contract.missing_from_qa_contract(signature_defs, with_no_answer=False) == []
    assert signature_defs[contract.QA_SIGNATURE].method_name == contract.PREDICT_METHOD_NAME
    report = op_check.check_export_ops(export_dir)
    assert report.ok and not any("PyFunc" in op for op in report.ops)
    metadata = contract.read_metadata(export_dir)
    assert metadata.task == contract.TASK_QA and metadata.input_keys == contract.QA_INPUTS
    assert metadata.signatures == contract.qa_signature_table(False)
    assert metadata.qa_settings == dict(SETTINGS, n_best_size=20, max_answer_length=30, no_answer_threshold=0.0,
                                        with_no_answer=False, tokenization="sentencepiece", lower_case=False)
    assert metadata.vocabulary_size and metadata.albert_config["max_position_embeddings"] == MAX_SEQ_LENGTH
    assert json.loads(metadata.to_json())["task"] == "qa"
    # The push step checks an export against its task's contract: a QA export passes, as a classifier would not.
    assert push.verify_export(export_dir).task == contract.TASK_QA
    assert contract.missing_from_contract(signature_defs, 2)  # the classifier's signatures are not there
    # TF Serving replays the warmup requests at load time: each must run.
    logs = warmup.read_warmup_requests(export_dir)
    assert len(logs) == len(warmup.DEFAULT_BATCH_SIZES)
    for log in logs:
        signature, inputs = warmup.request_inputs(log)
        assert signature == contract.QA_SIGNATURE
        loaded.signatures[signature](**{key: tf.constant(value) for key, value in inputs.items()})


# --- (c) rigged models: the answer is the original text -------------------------------------------------------

def _piece_ids(tokenizer, context, start_text, end_text):
    """The ids of the first piece of `start_text` and the last of `end_text` in `context` (each unique there)."""
    ids, starts, ends = [x.to_list()[0] for x in tokenizer.tokenize_with_offsets(tf.constant([context]))]
    # Bare word boundaries "▁" span no characters: the pieces that hold the text's first and last characters.
    first = [i for i, (s, e) in enumerate(zip(starts, ends)) if s == context.index(start_text) and e > s][0]
    last = [i for i, (s, e) in enumerate(zip(starts, ends)) if e == context.index(end_text) + len(end_text) and e > s][-1]
    assert ids.count(ids[first]) == 1 and ids.count(ids[last]) == 1, (ids, first, last)
    return ids[first], ids[last]


@pytest.mark.parametrize("context, answer", [
    ("Ｔｈｅ  quick   ｂｒｏｗｎ fox jumps.", "quick   ｂｒｏｗｎ"),  # full-width forms and space runs inside
    ("价格是 １２３ 元。", "１２３"),
    ("北京是中国的首都。" * 4 + "长江  是河流。", "长江  是河"),  # in a later window
])
def test_a_rigged_model_gets_the_original_characters_of_the_pieces_it_points_at(vocabulary_model, context, answer):
    tokenizer = _tokenizer(vocabulary_model)
    start_id, end_id = _piece_ids(tokenizer, context, answer, answer)
    module = qa_export.QaServingModule(RiggedModel(start_id, end_id), tokenizer, **SETTINGS)
    got = module.qa(tf.constant(["哪个?", "q"]), tf.constant([context, ""]))
    start = context.index(answer)
    assert got[contract.ANSWER_TEXT].numpy().tolist() == [answer.encode("utf-8"), b""]
    assert got[contract.START_CHAR].numpy().tolist() == [start, -1]
    assert got[contract.END_CHAR].numpy().tolist() == [start + len(answer), -1]
    assert got[contract.SCORE].numpy().tolist() == [20.0, contract.NO_SPAN_SCORE]
    assert contract.NO_ANSWER_SCORE not in got


# --- (e) SQuAD v2.0: no answer ---------------------------------------------------------------------------------

def test_v2_withholds_the_answer_when_the_lowest_cls_score_beats_the_best_span(vocabulary_model, tmp_path):
    tokenizer = _tokenizer(vocabulary_model)
    context = "北京是中国的首都。" * 4 + "长江是河流。"  # the answer in a later window than the first
    start_id, end_id = _piece_ids(tokenizer, context, "长江", "长江")
    questions = tf.constant(["哪个?", "哪个?", "哪个?"])
    contexts = tf.constant([context, "北京是中国的首都。", ""])
    # Null score 35 in every window but the answer's, 28 there; the answer's span scores 20, any other 0.
    model = RiggedModel(start_id, end_id, no_answer=35.0, no_answer_in_answer_window=28.0)

    # Threshold 0 (the default), exported: the lowest null (28) beats the span (20): withheld, score kept.
    export_dir = qa_export.export_qa_model(model, tokenizer, str(tmp_path / "1"), **SETTINGS)
    assert contract.missing_from_qa_contract(contract.list_signature_defs(export_dir), with_no_answer=True) == []
    assert contract.read_metadata(export_dir).signatures == contract.qa_signature_table(True)
    signature = tf.saved_model.load(export_dir).signatures[contract.QA_SIGNATURE]
    got = {key: value.numpy().tolist() for key, value in signature(question=questions, context=contexts).items()}
    assert sorted(got) == sorted(contract.qa_signature_outputs(True))
    assert got[contract.NO_ANSWER_SCORE] == [28.0, 35.0, 35.0]  # the minimum over each question's windows
    assert got[contract.ANSWER_TEXT] == [b"", b"", b""]
    assert got[contract.START_CHAR] == [-1, -1, -1] and got[contract.END_CHAR] == [-1, -1, -1]
    assert got[contract.SCORE] == [20.0, 0.0, contract.NO_SPAN_SCORE]

    # Threshold 10: 28 > 20 + 10 no longer holds, so the span is the answer; 35 > 0 + 10 still withholds.
    module = qa_export.QaServingModule(model, tokenizer, **SETTINGS, no_answer_threshold=10.0)
    assert module.with_no_answer
    got = {key: value.numpy().tolist() for key, value in module.qa(questions, contexts).items()}
    assert got[contract.ANSWER_TEXT] == ["长江".encode("utf-8"), b"", b""]
    assert got[contract.START_CHAR] == [context.index("长江"), -1, -1]
    assert got[contract.END_CHAR] == [context.index("长江") + 2, -1, -1]
    assert got[contract.NO_ANSWER_SCORE] == [28.0, 35.0, 35.0]


def test_settings_are_checked_with_what_was_received(vocabulary_model):
    tokenizer = _tokenizer(vocabulary_model)
    with pytest.raises(ValueError, match="max_windows must be a positive integer, got 0"):
        qa_export.QaServingModule(RiggedModel(1, 1), tokenizer, **dict(SETTINGS, max_windows=0))
    with pytest.raises(ValueError, match="no_answer_threshold must be a finite number, got nan"):
        qa_export.QaServingModule(RiggedModel(1, 1), tokenizer, **SETTINGS, no_answer_threshold=float("nan"))
    with pytest.raises(TypeError, match="TextTokenizer, got bytes"):
        qa_export.QaServingModule(RiggedModel(1, 1), vocabulary_model, **SETTINGS)
