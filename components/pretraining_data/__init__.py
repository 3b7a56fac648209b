"""PretrainingDataGen: ALBERT pretraining examples (MLM + SOP) from raw documents, on Apache Beam.

`generation` holds the method (pure numpy), `beam_pipeline` the Beam steps, `inputs` the check on the
input examples; `spec` (keys, defaults, `resolve_parameters`, the ComponentSpec), `executor` (the TFX glue)
and `component` make the TFX component. The component is imported lazily so that Beam workers, which
import `beam_pipeline`, do not pay for TFX.
"""

__all__ = ["PretrainingDataGen", "SentencePieceModel"]


def __getattr__(name):
    if name == "PretrainingDataGen":
        from components.pretraining_data.component import PretrainingDataGen

        return PretrainingDataGen
    if name == "SentencePieceModel":
        from components.artifacts import SentencePieceModel

        return SentencePieceModel
    raise AttributeError(name)
