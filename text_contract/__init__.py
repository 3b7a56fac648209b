"""The text contract, the bottom of albert-tfx: what raw text becomes and how artifacts are published.

Feature keys and label-vocabulary names (`features`), ALBERT's special pieces and their ids (`pieces`),
the text normalization in Python (`normalization`) and its TensorFlow twin with the one Transform
`preprocessing_fn` (`transform`), the Transform's options (`transform_options`), how a SentencePiece model
is trained (`sentencepiece_training`), and atomic publication and remote-path rules (`storage`).

It imports nothing of ours; every other package imports it. Only `transform` imports TensorFlow at
import time, so Beam workers and clients that need keys, pieces or normalization start light.
"""
