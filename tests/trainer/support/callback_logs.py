"""Keras-like logs for driving a training callback by hand."""


def feed_batch_losses(callback, losses, epoch=0):
    """One interval (a Keras "epoch") of batches whose losses are `losses`, with the batch logs Keras gives:
    the loss averaged since the interval began."""
    callback.on_epoch_begin(epoch)
    total = 0.0
    for batch, loss in enumerate(losses):
        total += loss
        callback.on_train_batch_end(batch, {"loss": total / (batch + 1)})
