"""The Keras trainer: ALBERT config, encoder, heads, task models, weight import, Transform module, training, TFX run_fn."""
