"""Custom TFX components that do the SentencePiece work on Apache Beam (vocabulary, pretraining data)."""
