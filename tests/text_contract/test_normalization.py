"""The normalization's two homes agree: Python (`normalization.normalize`) and TensorFlow (`transform.normalize_text`)."""

import pytest
import tensorflow as tf

from tests import support
from text_contract import normalization, transform


def _sentences(dataset, header, split="dev", limit=0):
    return [row[0] for row in support.read_tsv(support.dataset(dataset) / f"{split}.tsv", header=header, limit=limit)]


def test_the_whitespace_list_is_exactly_what_python_calls_whitespace():
    assert normalization.WHITESPACE_CODEPOINTS == tuple(c for c in range(0x110000) if chr(c).isspace())


def test_python_normalization_removes_nul_and_bom_applies_nfkc_and_collapses_whitespace():
    assert normalization.normalize("\ufeff Ａb\x00c\u3000\t d ") == "Abc d"
    assert normalization.normalize("ÉCOLE ﬁ", lower_case=True) == "école fi"
    assert normalization.normalize("\uab69 x") == "\uab69 x"  # ICU leaves it as it is; so do we


@pytest.mark.parametrize("lower_case", [False, True])
def test_tf_normalization_equals_python_on_every_code_point(lower_case):
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts = [f"A{c}b {c}" for c in chars]  # each character inside a word and at a word start
    got = transform.normalize_text(tf.constant(texts), lower_case).numpy()
    differ = [hex(ord(c)) for c, t, g in zip(chars, texts, got)
              if g.decode("utf-8") != normalization.normalize(t, lower_case)]
    assert not differ, differ[:20]


@pytest.mark.parametrize("lower_case", [False, True])
def test_tf_normalization_equals_python_on_real_sentences(lower_case):
    texts = (_sentences("sst2", True) + _sentences("chnsenticorp", False)
             + [row[3] for row in support.read_tsv(support.dataset("mrpc") / "dev.tsv", header=True)]
             + ["\ufeffBOM first", " Ünïcödé  \u00a0 ＦＵＬＬ\u3000width\n\tline ", "ΟΔΟΣ İstanbul ß ﬁ", "a\x00b"])
    got = [t.decode("utf-8") for t in transform.normalize_text(tf.constant(texts), lower_case).numpy()]
    assert got == [normalization.normalize(t, lower_case) for t in texts]


def test_invalid_utf8_is_replaced_never_fatal():
    got = transform.normalize_text(tf.constant([b"ok \xff\xfe bytes \xc3", b"", b"  \t "])).numpy()
    assert [g.decode("utf-8") for g in got] == ["ok \ufffd\ufffd bytes \ufffd", "", ""]
