"""The Keras trainer: ALBERT config, encoder, heads, task models, weight import (and, next, run_fn)."""
