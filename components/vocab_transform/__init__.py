"""VocabTransform: TFX's Transform with the SentencePieceVocab artifact as an input (its path reaches
`preprocessing_fn` through custom_config). Imports are lazy so Beam workers start fast."""


def __getattr__(name):
    if name == "VocabTransform":
        from components.vocab_transform.component import VocabTransform

        return VocabTransform
    raise AttributeError(name)
