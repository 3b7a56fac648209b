"""PretrainingDataGen's check on its input examples, made before the Beam job starts.

A misspelt or non-text `text_feature` would otherwise give an empty output and a summary full of
`missing_feature` skips; `check_text_feature` fails early instead, naming the features that exist.
"""

from typing import Sequence

from components.pretraining_data import beam_pipeline


def check_text_feature(files: Sequence[str], text_feature: str) -> None:
    """Fail early, naming the features that exist, when no row has `text_feature`, or it is not text.

    `files`: TFRecord files of serialized tf.Examples (gzipped when named *.gz). Records are scanned in
    order until one has the feature, so a present feature costs a few reads; a misspelt one costs a pass
    over the input (only on the way to this error).
    """
    import tensorflow as tf  # tf.data reads any file system TFX writes to

    seen = set()
    for path in files:
        compression = "GZIP" if path.endswith(".gz") else ""
        for record in tf.data.TFRecordDataset(path, compression_type=compression).as_numpy_iterator():
            try:
                features = beam_pipeline.parse_example_features(record)
            except (ValueError, UnicodeDecodeError):
                continue
            if text_feature in features:
                kind = features[text_feature][0]
                if kind not in (None, "bytes_list"):
                    raise ValueError(f"text_feature {text_feature!r} holds {kind} values, not text "
                                     f"(bytes_list); the examples' features are {sorted(features)}")
                if kind == "bytes_list":
                    return
            seen.update(features)
    if seen and text_feature not in seen:
        raise ValueError(f"text_feature {text_feature!r} is not a feature of the input examples; "
                         f"their features are: {sorted(seen)}")
