"""Text branches that train: their rows as ragged token arrays, batched by
length (dynamic padding), for ``Model.fit`` and prediction."""

import numpy as np

from ._bert import pad_batch

# rows shuffled, then sorted by length within windows of this many batches:
# batches of alike lengths (little padding) in a random order every epoch
_SORT_WINDOW = 50


class TokenSequences:
    """One text branch's rows: per row, its token ids (a branch that trains
    the embeddings) or the frozen bottom's token states, unpadded.

    Indexing with rows gives another ``TokenSequences``, so the Keras base
    splits and selects rows of it as of any input array.
    """

    def __init__(self, arrays, limit):
        self.arrays = list(arrays)
        self.limit = limit

    def __len__(self):
        return len(self.arrays)

    def __getitem__(self, rows):
        if isinstance(rows, slice):
            return TokenSequences(self.arrays[rows], self.limit)
        return TokenSequences([self.arrays[i] for i in np.asarray(rows)], self.limit)

    def lengths(self):
        return np.asarray([len(a) for a in self.arrays])

    def padded(self, rows):
        """The rows as one zero-padded batch and its mask."""
        return pad_batch([self.arrays[i] for i in rows], self.limit)


def has_sequences(x):
    return isinstance(x, dict) and any(isinstance(v, TokenSequences) for v in x.values())


def batch_inputs(x, rows):
    """The model inputs of ``rows``: arrays as they are, each text branch
    padded to its longest row there, with its ``<input>_mask``."""
    batch = {}
    for key, value in x.items():
        if isinstance(value, TokenSequences):
            batch[key], batch[f"{key}_mask"] = value.padded(rows)
        else:
            batch[key] = value[rows]
    return batch


def row_lengths(x):
    """Per row, its longest text over the branches (0 without text branches)."""
    lengths = [v.lengths() for v in x.values() if isinstance(v, TokenSequences)]
    if not lengths:
        return np.zeros(len(next(iter(x.values()))), dtype=int)
    return np.max(lengths, axis=0)


def length_batches(lengths, batch_size, shuffle):
    """Row batches of alike lengths: sorted within windows of shuffled rows
    (or all sorted, without ``shuffle``), the batches in random order except
    the first two, the longest batch then the shortest: TensorFlow fixes its
    input signature from the first two batches, which so differ in length
    (and, with a partial batch, in size) whenever any batches do."""
    n = len(lengths)
    if shuffle:
        order = np.random.permutation(n)
        window = batch_size * _SORT_WINDOW
        order = np.concatenate([
            chunk[np.argsort(-lengths[chunk], kind="stable")]
            for chunk in np.array_split(order, max(1, -(-n // window)))
        ]) if n else order
    else:
        order = np.argsort(-lengths, kind="stable")
    batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    if len(batches) > 2:
        longest = int(np.argmax([lengths[b].max() for b in batches]))
        shortest = min(range(len(batches)),
                       key=lambda i: (len(batches[i]), lengths[batches[i]].max()))
        if shortest == longest:
            shortest = next(i for i in range(len(batches)) if i != longest)
        rest = [i for i in range(len(batches)) if i not in (longest, shortest)]
        if shuffle:
            rest = list(np.random.permutation(rest))
        batches = [batches[longest], batches[shortest]] + [batches[i] for i in rest]
    return batches


def sequence_dataset(keras, x, y, sample_weight, batch_size, shuffle):
    """A ``keras.utils.PyDataset`` of (inputs, targets[, weights]) batches
    of alike lengths, re-drawn every epoch when ``shuffle``."""

    if isinstance(y, list):
        y = tuple(y)  # one target per output: tf.data wants a tuple

    # On TensorFlow a one-worker PyDataset is read through a tf.data
    # prefetch, and about every other epoch then stalled before its first
    # batch, between the old iterator and the new (7-9 s in a fit of MiniLM's
    # top 2 layers on 1,024 reviews); two workers give Keras' own prefetching
    # queue instead, which did not stall once
    workers = 2 if keras.backend.backend() == "tensorflow" else 1

    class LengthBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=workers)
            self.lengths = row_lengths(x)
            self.plan = length_batches(self.lengths, batch_size, shuffle)

        def __len__(self):
            return len(self.plan)

        def __getitem__(self, index):
            rows = self.plan[index]
            batch = (batch_inputs(x, rows), keras.tree.map_structure(lambda a: a[rows], y))
            if sample_weight is not None:
                batch += (sample_weight[rows],)
            return batch

        def on_epoch_end(self):
            if shuffle:
                self.plan = length_batches(self.lengths, batch_size, shuffle)

    return LengthBatches()
