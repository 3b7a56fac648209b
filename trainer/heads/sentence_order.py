"""`SentenceOrderHead`: ALBERT's sentence-order prediction (SOP) on the pooled output."""

import keras

from trainer.heads.classification import ClassificationHead


@keras.saving.register_keras_serializable(package="albert_tfx")
class SentenceOrderHead(ClassificationHead):
    """A 2-way classification head: logit 0 = segments in their original order, 1 = swapped."""

    def __init__(self, dropout=0.0, initializer_range=0.02, **kwargs):
        kwargs.pop("num_classes", None)  # fixed; present in configs saved through the base class
        super().__init__(num_classes=2, dropout=dropout, initializer_range=initializer_range, **kwargs)
