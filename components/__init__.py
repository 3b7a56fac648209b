"""Custom TFX components: Beam SentencePiece work (vocabulary, pretraining data), tolerant CSV/TSV ExampleGen,
a Transform that takes the vocabulary artifact, a validator that stops on anomalies, and the serving Pusher."""
