"""What ``Model.fit`` reads when a text branch trains, or an input is mapped
from a file: batches of rows of alike lengths, each padded to its own
longest row, read a batch at a time. Imports Keras."""

import keras

from ._sequences import batch_inputs, length_batches, row_lengths


class LengthBatches(keras.utils.PyDataset):
    """(inputs, targets[, weights]) batches of rows of alike lengths, drawn
    again every epoch when ``shuffle``.

    Parameters
    ----------
    x : dict
        The model's inputs by name: arrays, and ``TokenSequences`` for the
        text branches (padded per batch, each with its ``<input>_mask``).

    y : array or list of arrays
        The targets, one per model output in a list.

    sample_weight : array or None
        Per-row weights.

    batch_size : int
        Rows per batch.

    shuffle : bool
        Whether the batches are drawn again, in a random order, every epoch
        (see ``_sequences.length_batches``).
    """

    def __init__(self, x, y, sample_weight, batch_size, shuffle):
        # On TensorFlow a one-worker PyDataset is read through a tf.data
        # prefetch, and about every other epoch then stalled before its first
        # batch, between the old iterator and the new (7-9 s in a fit of
        # MiniLM's top 2 layers on 1,024 reviews); two workers give Keras' own
        # prefetching queue instead, which did not stall once
        super().__init__(workers=2 if keras.backend.backend() == "tensorflow" else 1)
        self.x = x
        self.y = tuple(y) if isinstance(y, list) else y  # one per output: tf.data wants a tuple
        self.sample_weight = sample_weight
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.lengths = row_lengths(x)
        self.plan = length_batches(self.lengths, batch_size, shuffle)

    def __len__(self):
        return len(self.plan)

    def __getitem__(self, index):
        rows = self.plan[index]
        batch = (batch_inputs(self.x, rows), keras.tree.map_structure(lambda a: a[rows], self.y))
        if self.sample_weight is not None:
            batch += (self.sample_weight[rows],)
        return batch

    def on_epoch_end(self):
        if self.shuffle:
            self.plan = length_batches(self.lengths, self.batch_size, self.shuffle)
