"""Keras layers of the ALBERT encoder that keras-hub has no shareable equivalent for."""
