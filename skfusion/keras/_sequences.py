"""Text branches that train: their rows as ragged token arrays, batched by
length and padded per batch (dynamic padding), for ``Model.fit`` (through
``_batches.LengthBatches``) and prediction. Imports no Keras."""

import numpy as np

from ..utils._cache import mapped

# rows shuffled, then sorted by length within windows of this many batches:
# batches of alike lengths (little padding) in a random order every epoch
_SORT_WINDOW = 50


class TokenSequences:
    """One text branch's rows: per row, its token ids (a branch that trains
    the embeddings) or the frozen bottom's token states, unpadded.

    Indexing with rows gives another ``TokenSequences``, so the Keras base
    splits and selects rows of it as of any input array.

    Parameters
    ----------
    arrays : iterable of ndarray
        Per row, an array of shape (length, ...): its token ids, or its
        token states.

    limit : int
        The longest sequence the branch's model takes (the encoder's
        ``max_length``): a padded batch is at most this long, unless a row
        is longer.

    See Also
    --------
    skfusion.keras.KerasBranch.transform : A branch's model input, which may be one.
    skfusion.keras.TextBranch : The branch whose input this is.

    Examples
    --------
    >>> import numpy as np
    >>> from skfusion.keras import TokenSequences
    >>> ids = TokenSequences([np.array([2, 5, 3]), np.array([2, 6, 7, 8, 3])], limit=16)
    >>> len(ids), ids[[1]].lengths()
    (2, array([5]))
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
        """Each row's number of tokens.

        Returns
        -------
        lengths : ndarray of shape (n_rows,)
            The length of each row's array, in row order.

        See Also
        --------
        padded : Rows as one padded batch.

        Examples
        --------
        >>> import numpy as np
        >>> from skfusion.keras import TokenSequences
        >>> TokenSequences([np.array([2, 5, 3]), np.array([2, 3])], limit=16).lengths()
        array([3, 2])
        """
        return np.asarray([len(a) for a in self.arrays])

    def padded(self, rows):
        """The rows as one zero-padded batch and its mask.

        The batch's length is its longest row's, rounded up to a multiple of
        8 but at most ``limit`` (so a traced step meets few shapes).

        Parameters
        ----------
        rows : sequence of int
            Positions of the rows in the batch, in its order.

        Returns
        -------
        padded : ndarray of shape (len(rows), length, ...)
            The rows' arrays, zeros after each row's end.

        mask : ndarray of shape (len(rows), length), float32
            1 for a real token, 0 for padding.

        See Also
        --------
        lengths : Each row's number of tokens.

        Examples
        --------
        >>> import numpy as np
        >>> from skfusion.keras import TokenSequences
        >>> ids = TokenSequences([np.array([2, 5, 3]), np.array([2, 3])], limit=16)
        >>> padded, mask = ids.padded([1, 0])
        >>> padded.shape
        (2, 8)
        >>> mask[0]
        array([1., 1., 0., 0., 0., 0., 0., 0.], dtype=float32)
        """
        return pad_batch([self.arrays[i] for i in rows], self.limit)


def pad_batch(arrays, limit, multiple=8):
    """Ragged per-text arrays (ids, or token states) as one zero-padded
    batch and its mask, the length rounded up to ``multiple`` but at most
    ``limit`` (a few shapes for a traced step to meet, not one per length)."""
    longest = max(len(a) for a in arrays)
    length = max(longest, min(limit, -(-longest // multiple) * multiple))
    first = arrays[0]
    padded = np.zeros((len(arrays), length, *first.shape[1:]), dtype=first.dtype)
    mask = np.zeros((len(arrays), length), dtype=np.float32)
    for row, array in enumerate(arrays):
        padded[row, :len(array)] = array
        mask[row, :len(array)] = 1.0
    return padded, mask


def has_sequences(x):
    return isinstance(x, dict) and any(isinstance(v, TokenSequences) for v in x.values())


def read_by_batch(x):
    """Whether ``Model.fit`` must read x a batch at a time: it holds text
    branches' rows of different lengths, or an array mapped from a file (an
    image branch's input beyond its memory budget), which TensorFlow's
    array adapter would copy whole into memory."""
    return has_sequences(x) or (isinstance(x, dict) and any(mapped(v) for v in x.values()))


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
