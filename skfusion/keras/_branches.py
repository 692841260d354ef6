"""What a Keras model with branches needs for branches that train (a
TextEncoder or ImageEncoder with ``trainable`` set): the checks and inputs
of such a branch, its BERT tower or backbone copy, per-layer learning rates,
batches of alike lengths and the matching predict path, and the branches'
nested parameters. Shared by the KerasFusion models and
MultiTaskKerasEstimator."""

import os
import re

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from ..encoders import ImageEncoder, TextEncoder
from ..encoders._base import _one_column, is_missing
from . import _checkpoint
from ._base import _limited_threads, _pad_rows, _take, import_keras, predict_batch
from ._compat import scale_learning_rates
from ._sequences import TokenSequences, batch_inputs, has_sequences, length_batches, row_lengths


def trains(encoder):
    """Whether a branch's encoder is a text or image encoder that trains in
    the model (``trainable`` True or k >= 1)."""
    return isinstance(encoder, (TextEncoder, ImageEncoder)) and bool(encoder.trainable)


def _is_triples(inputs):
    return isinstance(inputs, list) and all(
        isinstance(b, (tuple, list)) and len(b) == 3 and isinstance(b[0], str) for b in inputs)


def check_branches(owner, inputs):
    """``inputs`` as a non-empty list of (name, encoder, columns) triples
    with unique names, or a clear error."""
    if not inputs or not _is_triples(inputs):
        raise ValueError(
            f"{owner}: inputs must be a non-empty list of (name, encoder, columns) "
            f"triples, as in a ColumnTransformer; got {inputs!r}."
        )
    names = [b[0] for b in inputs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(
            f"{owner}: inputs names must be unique, but {duplicated} appear more "
            f"than once in {names}."
        )
    return inputs


class TrainableBranches:
    """Mixin placed before the Keras base. The host calls
    ``_reset_trainable_branches`` when a fit starts afresh,
    ``_fit_trainable_branch`` and ``_trainable_inputs`` while preparing X (a
    text branch that trains enters the model as a :class:`TokenSequences`)
    and ``_branch_input`` while building the model, and says with
    ``_trains_branches()`` whether any branch trains."""

    def _trains_branches(self):
        raise NotImplementedError

    # -- nested parameters of the branches, as ColumnTransformer has them --

    def _triples(self):
        """``inputs`` when it is a list of triples, else nothing (malformed
        inputs are fit's to report)."""
        inputs = getattr(self, "inputs", None)
        return inputs if _is_triples(inputs) else []

    def get_params(self, deep=True):
        """Parameters of this estimator; with ``deep``, each branch's encoder
        as ``<branch>`` and its parameters as ``<branch>__<param>``
        (``review__trainable``), so a grid search can reach them.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of the branches' encoders.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=deep)
        if deep:
            for name, encoder, _ in self._triples():
                params[name] = encoder
                if hasattr(encoder, "get_params") and not isinstance(encoder, type):
                    params.update((f"{name}__{k}", v)
                                  for k, v in encoder.get_params(deep=True).items())
        return params

    def set_params(self, **params):
        """Set parameters, a branch's encoder (``review=...``) or its
        parameters (``review__trainable=2``) included.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
        """
        if "inputs" in params:
            super().set_params(inputs=params.pop("inputs"))
        # a branch's encoder replaced by name; its nested parameters
        # (``review__trainable``) are BaseEstimator's to set, in place
        names = {b[0] for b in self._triples()}
        replaced = {k: params.pop(k) for k in list(params) if k in names}
        if replaced:
            super().set_params(inputs=[(name, replaced.get(name, encoder), columns)
                                       for name, encoder, columns in self._triples()])
        return super().set_params(**params) if params else self

    def _fit_trainable_branch(self, owner, name, encoder, part):
        """The branch's encoder, cloned and fitted, after the checks of its
        checkpoint (or backbone), depth and ``max_length``; records which
        layers train."""
        if isinstance(encoder, ImageEncoder):
            encoder = clone(encoder).fit(part)
            blocks = backbone_blocks(owner, name, encoder)
            if encoder.trainable is not True and int(encoder.trainable) > len(blocks):
                raise ValueError(
                    f"{owner}: branch {name!r} asks for trainable={int(encoder.trainable)} "
                    f"blocks, but its backbone has {len(blocks)}; use "
                    f"trainable<={len(blocks)}, or True to train all of it."
                )
            self._trained_layers_[name] = "image"
            return encoder
        _texts(owner, name, part)  # missing texts, named by branch and row
        config, _ = _checkpoint.read_checkpoint(owner, name, encoder.model, weights=False)
        _checkpoint.check_positions(owner, name, encoder, config)
        encoder = clone(encoder).fit(part)
        self._trained_layers_[name] = _checkpoint.bottom_layer(owner, name, encoder, config)
        return encoder

    def _trainable_inputs(self, owner, name, encoder, part):
        """A trainable branch's rows: preprocessed pixels for an image;
        for a text, token ids when it trains the embeddings, else the frozen
        bottom's token states (computed once per distinct text through the
        encoder's cache)."""
        if isinstance(encoder, ImageEncoder):
            return _image_pixels(owner, name, encoder, part)
        texts = _texts(owner, name, part)
        start = self._trained_layers_[name]
        encoder._ensure_loaded()
        if start == 0:
            arrays = [np.asarray(ids, dtype=np.int32) for ids in encoder._token_ids(texts)]
        else:
            arrays = encoder.token_states(texts, start)
        return TokenSequences(arrays, encoder.max_length)

    def _branch_input(self, keras, inputs, name, encoder, key, block):
        """Add the branch's model input(s) to ``inputs``; return the tensor
        the branch gives: the input itself, or a text tower's pooled output."""
        kind = self._trained_layers_.get(name)
        if kind == "image":
            inputs[key] = keras.Input(shape=block.shape[1:], name=key)
            return self._image_tower(keras, encoder, key, inputs[key])
        if kind is None:
            inputs[key] = keras.Input(shape=(block.shape[1],), name=key)
            return inputs[key]
        from ._tower import text_tower

        config, weights = _checkpoint.read_checkpoint(type(self).__name__, name, encoder.model)
        start = self._trained_layers_[name]
        if start == 0:
            inputs[key] = keras.Input(shape=(None,), dtype="int32", name=key)
        else:
            inputs[key] = keras.Input(shape=(None, encoder.n_features_out_), name=key)
        inputs[f"{key}_mask"] = mask = keras.Input(shape=(None,), name=f"{key}_mask")
        pooled, rates = text_tower(encoder, key, inputs[key], mask, config, weights, start)
        self._learning_rate_multipliers_.update(rates)
        return pooled

    def _image_tower(self, keras, encoder, key, pixels):
        """A copy of the image branch's backbone (its weights), the top
        ``trainable`` blocks trainable, pooled as the encoder pools."""
        loaded = encoder._loaded_model["model"]
        backbone = keras.models.clone_model(loaded)
        backbone.set_weights(loaded.get_weights())
        backbone.name = f"{key}_backbone"  # a name of its own in the fused model
        blocks = backbone_blocks(type(self).__name__, key, encoder, backbone)
        k = len(blocks) if encoder.trainable is True else int(encoder.trainable)
        frozen = {id(layer) for block in blocks[:len(blocks) - k] for layer in block}
        for layer in backbone.layers:
            # batch norms stay frozen, hence in inference mode, as Keras'
            # fine-tuning guide advises: small batches would wreck their
            # statistics (a call with training=False would not hold: the
            # outer model's training flag overrides it)
            if id(layer) in frozen or isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
        features = backbone(pixels)
        if len(features.shape) > 2:
            pool = keras.layers.GlobalAveragePooling2D if encoder.pooling == "avg" \
                else keras.layers.GlobalMaxPooling2D
            features = pool(name=f"{key}_pooling")(features)
        rate = encoder.learning_rate_multiplier
        if rate != 1.0:
            self._learning_rate_multipliers_.update(
                {v.path: rate for v in backbone.trainable_weights})
        return features

    def _reset_trainable_branches(self):
        """Called by the host when a fit starts afresh."""
        self._trained_layers_ = {}
        self._learning_rate_multipliers_ = {}

    def _eager_training(self, keras, n_rows):
        # a transformer step is dear enough that tracing it always pays
        if self._trains_branches():
            return False
        return super()._eager_training(keras, n_rows)

    def _build_optimizer(self, keras):
        optimizer = super()._build_optimizer(keras)
        return scale_learning_rates(optimizer, getattr(self, "_learning_rate_multipliers_", {}))

    def _fit_kwargs(self, keras, x, y, sample_weight):
        kwargs = super()._fit_kwargs(keras, x, y, sample_weight)
        if not has_sequences(kwargs["x"]):
            return kwargs
        # text branches that train: batches of alike lengths, padded per batch
        from ._batches import LengthBatches

        batch_size = kwargs.pop("batch_size")
        shuffle = kwargs.pop("shuffle", True)
        kwargs["x"] = LengthBatches(kwargs["x"], kwargs.pop("y"), kwargs.pop("sample_weight"),
                                    batch_size, shuffle)
        if kwargs.get("validation_data"):
            x_val, y_val, *weights = kwargs["validation_data"]
            kwargs["validation_data"] = LengthBatches(
                x_val, y_val, weights[0] if weights else None, batch_size, False)
        return kwargs

    def _forward(self, X):
        if not self._trains_branches():
            return super()._forward(X)
        # a trainable branch's rows go in batches of batch_size (a
        # backbone's activations for the base's 1024 rows would not fit)
        check_is_fitted(self, "model_")
        keras = import_keras(type(self).__name__)
        x = self._prepare_X(X, reset=False)
        parts, order = [], []
        with _limited_threads(keras):
            for rows in length_batches(row_lengths(x), self.batch_size, shuffle=False):
                # full batches only: one row count, one trace
                batch = _pad_rows(keras, batch_inputs(x, rows), self.batch_size)
                parts.append(_take(keras, predict_batch(keras, self.model_, batch),
                                   slice(0, len(rows))))
                order.append(rows)
        inverse = np.argsort(np.concatenate(order))
        return keras.tree.map_structure(
            lambda *blocks: np.concatenate(blocks).astype(np.float64)[inverse], *parts)

    def __setstate__(self, state):
        super().__setstate__(state)
        # the optimizer comes back from the .keras file with one learning
        # rate: a warm-start fit after unpickling keeps the per-layer ones
        optimizer = getattr(getattr(self, "model_", None), "optimizer", None)
        if optimizer is not None and getattr(self, "_learning_rate_multipliers_", None):
            scale_learning_rates(optimizer, self._learning_rate_multipliers_)

    def _custom_objects(self):
        from ._layers import CUSTOM_OBJECTS

        return {**(super()._custom_objects() or {}), **CUSTOM_OBJECTS}


_BLOCK = re.compile(r"^(conv\d+_block\d+|block_?\d+[a-z]?|stage\d+_unit\d+|stage\d+_block\d+)_")


def backbone_blocks(owner, name, encoder, model=None):
    """The backbone's layers with weights, grouped into blocks, bottom to
    top: a Keras application's named blocks (``conv5_block3_*``,
    ``block_16_*``, ``block7a_*``), any other layer a block of its own."""
    import keras

    model = encoder._loaded_model["model"] if model is None else model
    if not isinstance(model, keras.Model):
        raise ValueError(
            f"{owner}: branch {name!r} cannot train {type(model).__name__!r}: a trainable "
            "image branch needs a keras.Model backbone (a backbone name of ImageEncoder, "
            "a saved .keras model or a keras.Model); use trainable=False for a callable."
        )
    groups = []
    for layer in model.layers:
        if not layer.weights:
            continue
        match = _BLOCK.match(layer.name)
        key = match.group(1) if match else layer.name
        if groups and groups[-1][0] == key:
            groups[-1][1].append(layer)
        else:
            groups.append((key, [layer]))
    return [layers for _, layers in groups]


def _image_pixels(owner, name, encoder, part):
    """An image branch's rows as preprocessed float32 pixels, or a clear
    error naming the branch and the row."""
    from ..encoders._image import _DECODE_ERRORS, _pixels

    encoder._ensure_loaded()
    images = _one_column(part, owner)
    size = tuple(encoder.image_size)
    pixels = np.empty((len(images), *size, 3), dtype=np.float32)
    for row, image in enumerate(images):
        try:
            encoder._check_item(image, row)
            pixels[row] = _pixels(image, size)
        except _DECODE_ERRORS as exc:
            where = f" ({os.fspath(image)!r})" if isinstance(image, (str, os.PathLike)) else ""
            raise ValueError(
                f"{owner}: branch {name!r}, row {row} of X{where} cannot be used as an "
                f"image: {exc}"
            ) from None
    return np.asarray(encoder._loaded_model["preprocess"](pixels), dtype=np.float32)


def _texts(owner, name, part):
    """A trainable text branch's column as a list of str, or a clear error."""
    texts = _one_column(part, owner)
    for row, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(
                f"{owner}: branch {name!r}, row {row} of X is "
                f"{'missing (None/NaN)' if is_missing(text) else f'a {type(text).__name__}'}, "
                "not a text; fill or drop missing texts first (an empty string is a "
                "valid text)."
            )
    return texts
