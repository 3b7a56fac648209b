"""The albert-tfx command line: thin commands that delegate to trainer, serving and pipeline."""
