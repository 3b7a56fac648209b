"""The labelled sample `make run` trains on: short English and Chinese product and film reviews.

Written by this project (no third-party text), generated from word lists with a fixed seed, so it is small
(well under 1 MB), reproducible and free to ship: `data/sample/span-1/{train,dev}.tsv`, columns
`text<TAB>label`, labels `positive`/`negative`, about half English and half Chinese. Regenerate with

    python -m pipeline.sample_data --out data/sample --span 1

The sentiment is carried by opinion words, sometimes negated ("not good", "不好"), among neutral words,
so a small model must read more than one word, yet learns it in a few hundred steps. Tests write further
spans (another seed) to exercise scheduled retraining, and shuffle labels to check the blessing gate.
"""

from __future__ import annotations

import argparse
import os
import random
from typing import List, Tuple

POSITIVE, NEGATIVE = "positive", "negative"
LABELS = (NEGATIVE, POSITIVE)

_EN_SUBJECTS = ["the film", "this phone", "the hotel", "the story", "this laptop", "the service", "the soundtrack",
                "the camera", "this book", "the delivery", "the acting", "the screen", "the battery", "the ending",
                "the staff", "the room", "the plot", "this kettle", "the app", "the cast"]
_EN_GOOD = ["good", "great", "wonderful", "excellent", "charming", "reliable", "delightful", "superb", "lovely",
            "impressive", "pleasant", "brilliant"]
_EN_BAD = ["bad", "awful", "terrible", "boring", "disappointing", "broken", "dull", "poor", "slow", "annoying",
           "unreliable", "horrible"]
_EN_FILLERS = ["to be honest", "overall", "in the end", "after a week", "for the price", "as expected",
               "frankly", "all things considered", "at first", "this time"]
_EN_GOOD_ENDINGS = ["i would recommend it", "worth every penny", "we will come back", "five stars from me",
                    "my friends loved it too"]
_EN_BAD_ENDINGS = ["i want a refund", "never again", "a waste of money", "one star from me",
                   "i returned it the next day"]

_ZH_SUBJECTS = ["这部电影", "这款手机", "酒店", "故事", "这台电脑", "服务", "配乐", "相机", "这本书", "快递",
                "演员的表演", "屏幕", "电池", "结局", "前台", "房间", "剧情", "这个水壶", "这个应用", "包装"]
_ZH_GOOD = ["很好", "不错", "非常棒", "很满意", "很精彩", "很可靠", "很舒服", "很漂亮", "物超所值", "很流畅"]
_ZH_BAD = ["很差", "太糟糕", "很失望", "很无聊", "坏了", "很慢", "很吵", "质量不行", "不值这个价", "很难用"]
_ZH_NEGATED_GOOD = ["不好", "不太行", "不满意", "不怎么样"]
_ZH_NEGATED_BAD = ["不差", "不失望", "没问题", "不贵"]
_ZH_FILLERS = ["说实话", "总的来说", "用了一周", "这个价格", "第一次买", "整体上", "朋友推荐的", "这次"]
_ZH_GOOD_ENDINGS = ["推荐购买", "下次还会再来", "五星好评", "值得一看"]
_ZH_BAD_ENDINGS = ["不会再买了", "要求退货", "一星差评", "浪费钱"]


def _english(rng: random.Random, positive: bool) -> str:
    subject = rng.choice(_EN_SUBJECTS)
    negated = rng.random() < 0.25
    # A negated opinion word carries the opposite sentiment ("not bad" is positive here).
    words = (_EN_BAD if positive else _EN_GOOD) if negated else (_EN_GOOD if positive else _EN_BAD)
    opinion = ("not " if negated else "") + rng.choice(words)
    parts = [f"{subject} was {opinion}"]
    if rng.random() < 0.6:
        parts.insert(0, rng.choice(_EN_FILLERS))
    if rng.random() < 0.5:
        parts.append(rng.choice(_EN_GOOD_ENDINGS if positive else _EN_BAD_ENDINGS))
    sentence = ", ".join(parts)
    return sentence[0].upper() + sentence[1:] + rng.choice([".", "!", "."])


def _chinese(rng: random.Random, positive: bool) -> str:
    subject = rng.choice(_ZH_SUBJECTS)
    if rng.random() < 0.25:
        opinion = rng.choice(_ZH_NEGATED_BAD if positive else _ZH_NEGATED_GOOD)
    else:
        opinion = rng.choice(_ZH_GOOD if positive else _ZH_BAD)
    parts = [subject + opinion]
    if rng.random() < 0.6:
        parts.insert(0, rng.choice(_ZH_FILLERS))
    if rng.random() < 0.5:
        parts.append(rng.choice(_ZH_GOOD_ENDINGS if positive else _ZH_BAD_ENDINGS))
    return "，".join(parts) + rng.choice(["。", "！", "。"])


def generate_rows(count: int, seed: int) -> List[Tuple[str, str]]:
    """`count` (text, label) rows, labels balanced, languages alternating, in a seeded order."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        positive = i % 2 == 0
        text = _english(rng, positive) if (i // 2) % 2 == 0 else _chinese(rng, positive)
        rows.append((text, POSITIVE if positive else NEGATIVE))
    rng.shuffle(rows)
    return rows


def write_tsv(path: str, rows: List[Tuple[str, str]]) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("text\tlabel\n")
        for text, label in rows:
            handle.write(f"{text}\t{label}\n")


def write_span(out_dir: str, span: int, train_rows: int = 3000, dev_rows: int = 400, seed: int = 0,
               shuffle_labels: bool = False) -> str:
    """Writes `<out_dir>/span-<span>/train.tsv` and `dev.tsv`; returns the span directory.

    `shuffle_labels`: the train labels are permuted (the text no longer predicts them): a bad data drop.
    """
    span_dir = os.path.join(out_dir, f"span-{span}")
    train = generate_rows(train_rows, seed=1000 * seed + 2 * span)
    dev = generate_rows(dev_rows, seed=1000 * seed + 2 * span + 1)
    if shuffle_labels:
        rng = random.Random(seed + 7)
        labels = [label for _, label in train]
        rng.shuffle(labels)
        train = [(text, label) for (text, _), label in zip(train, labels)]
        labels = [label for _, label in dev]
        rng.shuffle(labels)
        dev = [(text, label) for (text, _), label in zip(dev, labels)]
    write_tsv(os.path.join(span_dir, "train.tsv"), train)
    write_tsv(os.path.join(span_dir, "dev.tsv"), dev)
    return span_dir


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/sample")
    parser.add_argument("--span", type=int, default=1)
    parser.add_argument("--train-rows", type=int, default=3000)
    parser.add_argument("--dev-rows", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    span_dir = write_span(args.out, args.span, args.train_rows, args.dev_rows, args.seed)
    print(f"wrote {span_dir}/train.tsv ({args.train_rows} rows) and dev.tsv ({args.dev_rows} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
