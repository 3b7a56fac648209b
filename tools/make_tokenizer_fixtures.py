"""Writes the imported-vocabulary fixtures under tests/fixtures/vocabularies/ (run through
`bash tools/make_tokenizer_fixtures.sh`, which runs this file twice, with two interpreters):

- `spm` (the project's .venv, Python 3.10, the sentencepiece the Transform links): the ALBERT-style
  SentencePiece models `albert_spm.model` (4,000 pieces, ALBERT's trainer settings: unigram, nmt_nfkc,
  <pad>=0 <unk>=1 [CLS]=2 [SEP]=3 [MASK]=4) and `albert_spm_100.model` (exactly 100 pieces);
- `reference` (.venv-tokenizer-reference, Python 3.11 with transformers, tokenizers and sentencepiece
  only): the BERT-style WordPiece vocabularies `wordpiece_vocab.txt` (characters, frequent words and "##"
  sub-words counted over Hugging Face's BERT basic tokenization of the training text, laid out as BERT's:
  [PAD]=0, [unused0..9], [UNK], [CLS], [SEP], [MASK], ...) and
  `wordpiece_vocab_100.txt` (exactly 100 lines), then `reference_ids.npz`: the ids Hugging Face's slow
  `AlbertTokenizer` / `BertTokenizer` give every text of the shared dev sets, for lower_case True and
  False, without special tokens or truncation, and `README.md`.

The reference ids come from an implementation independent of ours (transformers' Python tokenizers), so
the tests can hold the in-graph tokenizers and the Python twin to them. Everything is seeded: reruns give
the same files for the same library versions.

reference_ids.npz: `meta` is a JSON string (versions; `edge_texts`, hand-written texts for the cases the
dev sets rarely hold, data set "edge"; per dev set its file, header, text columns, text
count and the sha256 of its texts joined by "\\n", so a test can tell it reads the same texts); per
(vocabulary, data set, case) `<vocabulary>/<dataset>/<lower|cased>/ids` (uint16, every text's ids one
after the other) and `.../lengths` (int32, ids per text). Texts are the columns of each row in order (for
MRPC: #1 String, #2 String of row 1, then of row 2, ...).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "fixtures", "vocabularies")
SHARED_DATASETS_ENV = "ALBERT_TFX_SHARED_DATASETS"  # as tests/support.py

ALBERT_MODEL = "albert_spm.model"
ALBERT_MODEL_100 = "albert_spm_100.model"
WORDPIECE_VOCAB = "wordpiece_vocab.txt"
WORDPIECE_VOCAB_100 = "wordpiece_vocab_100.txt"
REFERENCE_IDS = "reference_ids.npz"
SEED = 0
ALBERT_PIECES = 4000
WORDPIECE_SIZE = 8000
# BERT's layout: [PAD], [unusedN]..., [UNK], [CLS], [SEP], [MASK] (bert-base-* have 99 unused; 10 here).
WORDPIECE_UNUSED = 10
WORDPIECE_UNUSED_100 = 2
# (file, header row, text columns) of the dev sets the reference ids cover.
REFERENCE_DATASETS = {
    "sst2": ("sst2/dev.tsv", True, (0,)),
    "mrpc": ("mrpc/dev.tsv", True, (3, 4)),
    "chnsenticorp": ("chnsenticorp/dev.tsv", False, (0,)),
}
# Training text: English and Chinese samples of the train splits, plus seeded numbers with thousands
# separators so that pieces ending in a digit and a comma ("▁1,", "7,") exist and ALBERT's digit-comma
# rule has something to split.
TRAIN_SAMPLES = (("sst2/train.tsv", True, (0,), 6000), ("mrpc/train.tsv", True, (3, 4), 1500),
                 ("chnsenticorp/train.tsv", False, (0,), 3000))
NUMBER_LINES = 2000
# Hand-written texts for what the dev sets rarely hold (stored in the npz's meta, "edge" data set): the
# digit-comma rule, accents, quotes, whitespace and control characters, NUL, full-width forms, superscripts,
# scripts without spaces, over-long words, empty text.
EDGE_TEXTS = (
    "I was born in 92000, and this is falsé.",
    "Prices rose 1,234,567, then fell 12,000, ok? 1990, 2000, 7,",
    "``Quoted'' text with  multiple   spaces\tand\ttabs\n",
    "Café naïve résumé Ångström ÉCOLE Straße İstanbul",
    "ﬁne ligature ｆｕｌｌｗｉｄｔｈ １２３，４５６，元",
    "x² y³, 2², ½, ①,",
    "NUL\x00inside and after\x00",
    "zero\u200bwidth soft\u00adhyphen nbsp\u00a0here ideographic\u3000space line\u2028sep",
    "控制\x01字符\x7f and \x0bvertical\x0cform\x1cfeed\x85next",
    "e\u0301 combining a\u0308 n\u0303 \u0300 alone",
    "Mixed 中文English混合123,456。价格：2,000，元。",
    "한국어 텍스트 日本語のテキスト、カタカナ ไทยภาษา",
    "emoji 😀👍🏽 text \ufeffBOM \ufffd replacement",
    "tab\tnewline\ncarriage\rreturn\r\n",
    "a" * 150 + " " + "é" * 80 + " " + "ア" * 50 + " ok",
    "",
    "   ",
    "ΟΔΟΣ ΟΔΟΣ. Ἀθῆναι",
    "....... !!!!!! 。。。。 goooooood",
    "(parenthesis) [brackets] {braces} <angle> \"double\" 'single' `back` - – — … ¿¡",
)


def shared_datasets() -> str:
    path = os.environ.get(SHARED_DATASETS_ENV) or os.path.join(os.path.dirname(REPO_ROOT), "shared", "datasets")
    if not os.path.isdir(path):
        sys.exit(f"error: the shared data sets folder {path} is missing (or set {SHARED_DATASETS_ENV})")
    return path


def read_texts(file: str, header: bool, columns, limit: int = 0):
    """The texts of a TSV as the project reads it (tests/support.py `read_tsv`: no quoting, BOM in the header)."""
    with open(os.path.join(shared_datasets(), file), encoding="utf-8") as handle:
        rows = handle.read().split("\n")[1 if header else 0:]
    rows = [row.split("\t") for row in rows if row]
    rows = rows[:limit] if limit else rows
    return [row[c] for row in rows for c in columns]


def number_lines():
    rng = random.Random(SEED)
    suffixes = (",", "", " ,", "年,", "元,", "")
    return [" ".join(f"{rng.randrange(10 ** rng.randrange(1, 9)):,}{rng.choice(suffixes)}" for _ in range(6))
            for _ in range(NUMBER_LINES)]


def training_lines():
    lines = [text for file, header, columns, limit in TRAIN_SAMPLES for text in read_texts(file, header, columns, limit)]
    return [line for line in lines + number_lines() if line.strip()]


def sha256_texts(texts) -> str:
    return hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()


# --- part 1: the SentencePiece models (project venv) ------------------------------------------------------

def _train_spm(lines, vocab_size: int, albert_normalization: bool) -> bytes:
    import sentencepiece

    sys.path.insert(0, REPO_ROOT)
    from text_contract import sentencepiece_training, vocabulary

    options = sentencepiece_training.trainer_options(
        vocab_size=vocab_size, character_coverage=0.9995 if vocab_size > 100 else 1.0)
    # Exactly vocab_size pieces; pieces may mix digits and punctuation ("1,"), as in ALBERT's vocabularies.
    options.update(hard_vocab_limit=True, split_by_unicode_script=False)
    if albert_normalization:
        # ALBERT's models normalize inside SentencePiece (nmt_nfkc, extra whitespace removed): the
        # imported-model tokenizers must let the model do that.
        options.update(normalization_rule_name="nmt_nfkc", remove_extra_whitespaces=True)
    sentencepiece.set_random_generator_seed(SEED)
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model, **options)
    data = model.getvalue()
    info = vocabulary.read_vocabulary(data, "the trained fixture model")
    assert info.size == vocab_size and info.special_ids == vocabulary.DEFAULT_SPECIAL_IDS, info
    return data


def make_spm(out: str) -> None:
    lines = training_lines()
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, ALBERT_MODEL), "wb") as handle:
        handle.write(_train_spm(lines, ALBERT_PIECES, albert_normalization=True))
    # The 100-piece model: lower-cased English and numbers, SentencePiece's identity rule (the nmt_nfkc
    # tables alone are 240 KB, more than this model's pieces need).
    small = [line.lower() for line in read_texts("sst2/train.tsv", True, (0,), 2000)] + number_lines()[:300]
    with open(os.path.join(out, ALBERT_MODEL_100), "wb") as handle:
        handle.write(_train_spm(small, 100, albert_normalization=False))


# --- part 2: WordPiece vocabularies and the reference ids (reference venv) --------------------------------

def _count_wordpieces(lines):
    """(word counts, "##" sub-word counts) over BERT's basic tokenization of `lines` (Hugging Face's
    BasicTokenizer, cased: CJK characters and punctuation split off)."""
    from collections import Counter

    from transformers.models.bert.tokenization_bert import BasicTokenizer

    basic = BasicTokenizer(do_lower_case=False, tokenize_chinese_chars=True, strip_accents=False)
    words = Counter(word for line in lines for word in basic.tokenize(line))
    subwords = Counter()
    for word, count in words.items():
        for start in range(1, len(word)):
            for end in range(start + 1, min(len(word), start + 6) + 1):
                subwords[SUFFIX + word[start:end]] += count
    return words, subwords


SUFFIX = "##"


def _build_wordpiece(lines, size: int, unused: int):
    """A BERT-style vocab.txt of `size` lines: [PAD], [unused0..], [UNK], [CLS], [SEP], [MASK], then every
    character seen twice, "##" + every character seen twice inside a word, then the most frequent words
    and "##" sub-words (2-6 characters) in turn, until `size`. Counted, not trained (the `tokenizers`
    trainer's result changes from run to run with its hash maps' order), ties in code-point order."""
    words, subwords = _count_wordpieces(lines)
    chars, inner = {}, {}
    for word, count in words.items():
        for i, char in enumerate(word):
            table = inner if i else chars
            table[char] = table.get(char, 0) + count
            if i:  # a character inside a word may also start one
                chars.setdefault(char, 0)
    head = ["[PAD]"] + [f"[unused{i}]" for i in range(unused)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    def by_count(table):
        return [token for token, count in sorted(table.items(), key=lambda item: (-item[1], item[0])) if count >= 2]

    tokens = head + by_count(chars) + [SUFFIX + c for c in by_count(inner)]
    if len(tokens) > size:
        return tokens[:size]
    seen = set(tokens)
    longer_words = [w for w in by_count(words) if len(w) > 1 and w not in seen]
    longer_subwords = [w for w in by_count(subwords) if len(w) > len(SUFFIX) + 1 and w not in seen]
    for word, subword in zip(longer_words, longer_subwords):
        for token in (word, subword):
            if len(tokens) < size:
                tokens.append(token)
    if len(tokens) < size:
        raise SystemExit(f"error: only {len(tokens)} WordPiece tokens, fewer than {size}")
    return tokens


def make_wordpiece(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    big = _build_wordpiece(training_lines(), WORDPIECE_SIZE, WORDPIECE_UNUSED)
    small_lines = [line.lower() for line in read_texts("sst2/train.tsv", True, (0,), 2000)] + number_lines()[:300]
    small = _build_wordpiece(small_lines, 100, WORDPIECE_UNUSED_100)
    for name, tokens in ((WORDPIECE_VOCAB, big), (WORDPIECE_VOCAB_100, small)):
        assert len(tokens) == len(set(tokens)), name
        with open(os.path.join(out, name), "w", encoding="utf-8", newline="\n") as handle:
            handle.write("".join(token + "\n" for token in tokens))


def _reference_tokenizers(out: str):
    """(vocabulary name, lower_case) -> Hugging Face slow tokenizer."""
    from transformers import AlbertTokenizer, BertTokenizer

    tokenizers = {}
    for lower_case in (True, False):
        tokenizers["albert", lower_case] = AlbertTokenizer(
            os.path.join(out, ALBERT_MODEL), do_lower_case=lower_case, keep_accents=not lower_case)
        tokenizers["wordpiece", lower_case] = BertTokenizer(
            os.path.join(out, WORDPIECE_VOCAB), do_lower_case=lower_case)
    return tokenizers


def _write_npz(path: str, arrays) -> None:
    """An .npz (np.load reads it) with LZMA entries and fixed entry times, so reruns give the same bytes
    (np.savez stamps the current time) and the file stays small."""
    import zipfile

    import numpy as np

    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_LZMA
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
            archive.writestr(info, buffer.getvalue())


def make_reference_ids(out: str) -> dict:
    import numpy as np
    import sentencepiece
    import tokenizers as tokenizers_lib
    import transformers

    arrays = {}
    meta = {"versions": {"python": sys.version.split()[0], "transformers": transformers.__version__,
                         "sentencepiece": sentencepiece.__version__, "tokenizers": tokenizers_lib.__version__,
                         "numpy": np.__version__},
            "datasets": {}}
    tokenizers = _reference_tokenizers(out)
    meta["edge_texts"] = list(EDGE_TEXTS)
    datasets = dict(REFERENCE_DATASETS, edge=None)
    for dataset, spec in datasets.items():
        if spec is None:
            texts = list(EDGE_TEXTS)
        else:
            file, header, columns = spec
            texts = read_texts(file, header, columns)
            meta["datasets"][dataset] = {"file": file, "header": header, "columns": list(columns),
                                         "texts": len(texts), "sha256": sha256_texts(texts)}
        for name in ("albert", "wordpiece"):
            ids = {lower_case: [tokenizers[name, lower_case].convert_tokens_to_ids(
                tokenizers[name, lower_case].tokenize(text)) for text in texts] for lower_case in (True, False)}
            # lower_case=False is stored as the rows that differ from lower_case=True (most Chinese rows and
            # all of SST-2, which is lower-cased already, do not).
            rows = {True: range(len(texts)), False: [i for i, (a, b) in enumerate(zip(ids[True], ids[False])) if a != b]}
            for lower_case, case in ((True, "lower"), (False, "cased")):
                key = f"{name}/{dataset}/{case}"
                chosen = [ids[lower_case][i] for i in rows[lower_case]]
                flat = [i for row in chosen for i in row]
                assert not flat or max(flat) < 2 ** 16
                arrays[key + "/ids"] = np.asarray(flat, dtype=np.uint16)
                arrays[key + "/lengths"] = np.asarray([len(row) for row in chosen], dtype=np.int32)
                if not lower_case:
                    arrays[key + "/rows"] = np.asarray(rows[False], dtype=np.int32)
    arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True))
    _write_npz(os.path.join(out, REFERENCE_IDS), arrays)
    return meta


README = """# Imported-vocabulary fixtures

Vocabularies of the two kinds a released ALBERT checkpoint brings, and the ids an independent
implementation (Hugging Face transformers' slow tokenizers) gives the shared dev sets with them. The
tests in tests/text_contract/ hold the in-graph tokenizers (`text_contract.transform.make_tokenizer`) and
the Python twin (`text_contract.vocabulary.albert_encode`) to these ids. Regenerate with:

    bash tools/make_tokenizer_fixtures.sh

Seeded: reruns give the same files for the same library versions. Do not edit by hand.

| file | what |
|---|---|
| `albert_spm.model` | ALBERT-style SentencePiece model: unigram, {albert_pieces} pieces, <pad>=0 <unk>=1 [CLS]=2 [SEP]=3 [MASK]=4, SentencePiece's nmt_nfkc normalization (as ALBERT's 30k-clean.model); trained with the project's sentencepiece {spm_version} on samples of sst2, mrpc and chnsenticorp train plus seeded numbers (pieces like "▁1," and "7," exist, so ALBERT's digit-comma rule applies) |
| `albert_spm_100.model` | exactly 100 pieces, same special pieces, identity normalization, lower-cased English |
| `wordpiece_vocab.txt` | BERT-style vocab.txt, {wordpiece_size} lines: [PAD]=0, [unused0..{last_unused}], [UNK]={unk_id}, [CLS], [SEP], [MASK], then every character seen twice in the same text (CJK characters as single tokens), "##" + those seen inside words, then the most frequent words and "##" sub-words in turn, counted over Hugging Face's (cased) BERT basic tokenization; counted rather than trained with `tokenizers`, whose trainer gives a different vocabulary on every run |
| `wordpiece_vocab_100.txt` | exactly 100 lines, same layout with 2 unused tokens, from lower-cased English |
| `reference_ids.npz` | the reference ids (layout in tools/make_tokenizer_fixtures.py) |

## Reference ids

Made with Python {python}, transformers {transformers}, sentencepiece {sentencepiece}, tokenizers
{tokenizers}, numpy {numpy} (no torch), in `.venv-tokenizer-reference`:

- "albert": `AlbertTokenizer(albert_spm.model, do_lower_case=lower_case, keep_accents=not lower_case)`
- "wordpiece": `BertTokenizer(wordpiece_vocab.txt, do_lower_case=lower_case)`

`convert_tokens_to_ids(tokenize(text))`: no special tokens, no truncation, for lower_case True and False,
on every text of:

{datasets}
- "edge": {edge} hand-written texts (in the npz's `meta`, `edge_texts`): the digit-comma rule, accents,
  quotes, whitespace and control characters, NUL, full-width forms, over-long words, empty text.
"""


def write_readme(out: str, meta: dict) -> None:
    versions = meta["versions"]
    datasets = "\n".join(f"- `{spec['file']}`: columns {spec['columns']}, {spec['texts']} texts (sha256 "
                         f"{spec['sha256'][:16]}...)" for spec in meta["datasets"].values())
    text = README.format(albert_pieces=ALBERT_PIECES, wordpiece_size=WORDPIECE_SIZE,
                         last_unused=WORDPIECE_UNUSED - 1, unk_id=WORDPIECE_UNUSED + 1,
                         spm_version=meta["project_sentencepiece"], datasets=datasets, edge=len(meta["edge_texts"]),
                         **versions)
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as handle:
        handle.write(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=("spm", "reference"))
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--project-sentencepiece", default="", help="the project venv's sentencepiece version")
    args = parser.parse_args(argv)
    if args.part == "spm":
        make_spm(args.out)
        return 0
    make_wordpiece(args.out)
    meta = make_reference_ids(args.out)
    meta["project_sentencepiece"] = args.project_sentencepiece or "(unknown)"
    write_readme(args.out, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
