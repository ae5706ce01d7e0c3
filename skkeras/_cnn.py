"""Ready-made convolutional estimators: conv blocks (optionally residual), augmentation layers,
a dense head and an output layer."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._classifier import KerasClassifierBase
from ._keras import import_keras
from ._layers import ACTIVATIONS, activation_layer, dense_block, output_layer
from ._ready_made import (
    ATTRIBUTES_DOC,
    CLASS_WEIGHT_DOC,
    CLASSES_DOC,
    OPTIMIZER_CONSTRAINTS,
    TRAINING_PARAMS_DOC,
    ClassifierOutputMixin,
    OptimizerParamsMixin,
    ParameterCountMixin,
    RegressorOutputMixin,
)
from ._regressor import KerasRegressorBase
from ._shapes import check_declared_shape, check_matches, infer_shape

FLIP_MODES = frozenset({"horizontal", "vertical", "horizontal_and_vertical"})
FILL_MODES = frozenset({"reflect", "wrap", "constant", "nearest"})
AUGMENTATION_KEYS = ("flip", "translation", "rotation", "zoom", "fill_mode")
POOL_SIZE = 2
#: The networks read images as (height, width, channels) whatever Keras's global
#: ``image_data_format`` (``keras.config.set_image_data_format`` or ``~/.keras/keras.json``).
DATA_FORMAT = "channels_last"

_CNN_CONSTRAINTS = {
    "filters": ["array-like", Interval(Integral, 1, None, closed="left")],
    "kernel_size": ["array-like", Interval(Integral, 1, None, closed="left")],
    "strides": ["array-like", Interval(Integral, 1, None, closed="left")],
    "padding": [StrOptions({"same", "valid"})],
    "pooling": [StrOptions({"max", "average"}), None],
    "residual": ["boolean"],
    "convs_per_block": [Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "batch_normalization": ["boolean"],
    "dense_units": ["array-like", Interval(Integral, 1, None, closed="left")],
    "dropout": [Interval(Real, 0.0, 1.0, closed="left")],
    "augmentation": [dict, None],
    "image_shape": ["array-like", None],
    **OPTIMIZER_CONSTRAINTS,
}


# ---------------------------------------------------------------------- builders
def augmentation_layers(augmentation: dict | None) -> list:
    """Keras random preprocessing layers for ``augmentation``; they act only in training."""
    layers = import_keras().layers
    spec = dict(augmentation or {})
    fill_mode = spec.get("fill_mode", "reflect")
    result = []
    common = {"fill_mode": fill_mode, "data_format": DATA_FORMAT}
    if spec.get("flip"):
        result.append(
            layers.RandomFlip(spec["flip"], data_format=DATA_FORMAT, name="augment_flip")
        )
    if spec.get("translation"):
        height, width = _pair(spec["translation"])
        result.append(
            layers.RandomTranslation(height, width, **common, name="augment_translation")
        )
    # one float each (checked by check_augmentation): Keras would read a pair as the (lower,
    # upper) bounds of the rotation, and a zoom pair as the bounds of the height's zoom
    if spec.get("rotation"):
        result.append(layers.RandomRotation(spec["rotation"], **common, name="augment_rotation"))
    if spec.get("zoom"):
        result.append(layers.RandomZoom(spec["zoom"], **common, name="augment_zoom"))
    return result


def conv_block(
    x,
    filters: int,
    *,
    kernel_size,
    strides,
    padding: str,
    convs: int,
    residual: bool,
    activation: str,
    batch_normalization: bool,
    name: str,
):
    """``convs`` Conv2D layers (the first with ``strides``), each followed by (batch
    normalization and) the activation; with ``residual``, the block's input (projected by a 1x1
    convolution when its shape differs) is added before the last activation, as in ResNet."""
    layers = import_keras().layers
    shortcut = x
    for index in range(convs):
        x = layers.Conv2D(
            filters,
            kernel_size,
            strides=strides if index == 0 else 1,
            padding=padding,
            use_bias=not batch_normalization,
            data_format=DATA_FORMAT,
            name=f"{name}_conv{index + 1}",
        )(x)
        if batch_normalization:
            x = layers.BatchNormalization(name=f"{name}_bn{index + 1}")(x)
        if index < convs - 1 or not residual:
            x = activation_layer(activation, layer_name=f"{name}_activation{index + 1}")(x)
    if residual:
        if shortcut.shape[-1] != filters or _pair(strides) != (1, 1):
            shortcut = layers.Conv2D(
                filters, 1, strides=strides, padding="same", data_format=DATA_FORMAT,
                name=f"{name}_projection",
            )(shortcut)
        x = layers.Add(name=f"{name}_add")([x, shortcut])
        x = activation_layer(activation, layer_name=f"{name}_activation")(x)
    return x


def pooling_layer(pooling: str, name: str):
    """2x2 max or average pooling ("same" padding, so a 1-pixel side stays 1 pixel)."""
    layers = import_keras().layers
    pool = layers.MaxPooling2D if pooling == "max" else layers.AveragePooling2D
    return pool(POOL_SIZE, padding="same", data_format=DATA_FORMAT, name=name)


def build_cnn(
    input_shape: tuple[int, ...],
    image_shape: tuple[int, int, int],
    filters: Sequence[int],
    n_outputs: int,
    output_activation: str,
    *,
    augmentation: dict | None,
    pooling: str | None,
    dense_units: Sequence[int],
    dropout: float,
    activation: str,
    batch_normalization: bool,
    **block_options,
):
    """(reshape) -> (augmentation) -> conv blocks, each (pooled) -> flatten -> (dropout) ->
    dense blocks -> output layer."""
    keras = import_keras()
    inputs = keras.Input(shape=input_shape, name="X")
    x = inputs
    if tuple(input_shape) != tuple(image_shape):
        x = keras.layers.Reshape(image_shape, name="to_images")(x)
    for layer in augmentation_layers(augmentation):
        x = layer(x)
    for index, n_filters in enumerate(filters):
        name = f"block{index + 1}"
        x = conv_block(
            x,
            int(n_filters),
            activation=activation,
            batch_normalization=batch_normalization,
            name=name,
            **block_options,
        )
        if pooling is not None:
            x = pooling_layer(pooling, f"{name}_pool")(x)
    x = keras.layers.Flatten(data_format=DATA_FORMAT, name="flatten")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="flatten_dropout")(x)
    for index, units in enumerate(dense_units):
        x = dense_block(
            x,
            int(units),
            name=f"dense_{index + 1}",
            activation=activation,
            dropout=dropout,
            l1=0.0,
            l2=0.0,
            activity_l1=0.0,
            activity_l2=0.0,
            batch_normalization=batch_normalization,
        )
    return keras.Model(inputs, output_layer(x, n_outputs, output_activation))


def _pair(value) -> tuple:
    """``value`` as a (height, width) pair (a list, tuple or 1-D array gives its entries)."""
    if isinstance(value, list | tuple) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return tuple(value)
    return (value, value)


# ---------------------------------------------------------------------- checks
def _check_pair(value, param: str, owner: str) -> tuple[int, int]:
    pair = _pair(value)
    if len(pair) != 2 or not all(
        isinstance(size, Integral) and not isinstance(size, bool) and size >= 1 for size in pair
    ):
        raise ValueError(
            f"The {param!r} parameter of {owner} must be a positive int or a pair of positive "
            f"ints (height, width). Got {value!r} instead."
        )
    return tuple(int(size) for size in pair)


def _check_positive_ints(value, param: str, owner: str, *, allow_empty: bool) -> tuple[int, ...]:
    sizes = (value,) if isinstance(value, Integral) else tuple(value)
    if (not sizes and not allow_empty) or not all(
        isinstance(size, Integral) and not isinstance(size, bool) and size >= 1 for size in sizes
    ):
        what = "a" if allow_empty else "a non-empty"
        raise ValueError(
            f"The {param!r} parameter of {owner} must be a positive int or {what} tuple of "
            f"positive ints. Got {value!r} instead."
        )
    return tuple(int(size) for size in sizes)


def _is_factor(value, *, pair: bool = False) -> bool:
    """Whether ``value`` is a float in [0, 1], or (with ``pair``) a (height, width) pair of
    them."""
    if pair and isinstance(value, list | tuple):
        return len(value) == 2 and all(_is_factor(part) for part in value)
    return isinstance(value, Real) and not isinstance(value, bool) and 0 <= value <= 1


_FACTOR_MEANINGS = {
    "translation": "largest shift, a fraction of the image's height and width",
    "rotation": "largest rotation either way, a fraction of a full turn",
    "zoom": "largest zoom in or out, a fraction of the image size",
}


def check_augmentation(augmentation, owner: str) -> None:
    """Refuse unknown keys and out-of-range values of ``augmentation`` before training."""
    if augmentation is None:
        return
    unknown = sorted(set(augmentation) - set(AUGMENTATION_KEYS))
    if unknown:
        raise ValueError(
            f"The 'augmentation' parameter of {owner} has unknown keys {unknown}; allowed keys "
            f"are {list(AUGMENTATION_KEYS)}."
        )
    flip = augmentation.get("flip")
    if flip is not None and flip not in FLIP_MODES:
        raise ValueError(
            f"augmentation['flip'] of {owner} must be one of {sorted(FLIP_MODES)} or None. "
            f"Got {flip!r} instead."
        )
    for key, meaning in _FACTOR_MEANINGS.items():
        value = augmentation.get(key)
        pair = key == "translation"
        if value is not None and not _is_factor(value, pair=pair):
            allowed = (
                "a float in [0, 1] or a (height, width) pair of them" if pair
                else "a single float in [0, 1]"
            )
            raise ValueError(
                f"augmentation[{key!r}] of {owner} must be {allowed} ({meaning}). Got "
                f"{value!r} instead."
            )
    fill_mode = augmentation.get("fill_mode", "reflect")
    if fill_mode not in FILL_MODES:
        raise ValueError(
            f"augmentation['fill_mode'] of {owner} must be one of {sorted(FILL_MODES)}. "
            f"Got {fill_mode!r} instead."
        )


def _conv_output(size: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel) // stride + 1 if size >= kernel else 0


# ---------------------------------------------------------------------- estimators
class _CNNMixin(ParameterCountMixin, OptimizerParamsMixin):
    """Builds the convolutional network from flat parameters."""

    _network_from_params = True
    _allow_nd = True
    _stop_on_training_loss = True

    def _check_params(self) -> None:
        super()._check_params()
        owner = type(self).__name__
        _check_positive_ints(self.filters, "filters", owner, allow_empty=False)
        _check_positive_ints(self.dense_units, "dense_units", owner, allow_empty=True)
        _check_pair(self.kernel_size, "kernel_size", owner)
        _check_pair(self.strides, "strides", owner)
        check_augmentation(self.augmentation, owner)
        if self.image_shape is not None:
            check_declared_shape(self.image_shape, length=3, param="image_shape", owner=owner)
        if self.residual and self.padding != "same":
            raise ValueError(
                f"residual=True needs padding='same' in {owner}: with padding='valid' the "
                "convolutions shrink the image and the skip connection no longer matches. "
                "Pass padding='same' or residual=False."
            )

    def _image_shape(self, X_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """The (height, width, channels) of one sample, from X's shape and ``image_shape``."""
        owner = type(self).__name__
        declared = self.image_shape
        if declared is not None:
            declared = check_declared_shape(declared, length=3, param="image_shape", owner=owner)
        if len(X_shape) in (3, 4):
            actual = tuple(X_shape[1:]) + ((1,) if len(X_shape) == 3 else ())
            check_matches(actual, declared, param="image_shape", owner=owner)
            return actual
        if len(X_shape) == 2 and declared is not None:
            return infer_shape(declared, X_shape[1], param="image_shape", owner=owner)
        if len(X_shape) == 2:
            raise ValueError(
                f"{owner} got 2-D X of shape {tuple(X_shape)}; pass image_shape=(height, width, "
                "channels) to say how to read each row as an image, or pass 4-D X of shape "
                "(n_samples, height, width, channels)."
            )
        raise ValueError(
            f"{owner} expects X of shape (n_samples, height, width, channels), (n_samples, "
            f"height, width) or 2-D X with image_shape; got {len(X_shape)}-D X of shape "
            f"{tuple(X_shape)}."
        )

    def _check_image_size(self, image_shape: tuple[int, int, int]) -> None:
        """Refuse, before building, layers that would shrink the image to nothing (only
        padding='valid' can: images with no pixels are refused with X, by check_fit_data)."""
        owner = type(self).__name__
        kernel = _check_pair(self.kernel_size, "kernel_size", owner)
        strides = _check_pair(self.strides, "strides", owner)
        n_blocks = len(_check_positive_ints(self.filters, "filters", owner, allow_empty=False))
        sizes = list(image_shape[:2])
        for block in range(n_blocks):
            for conv in range(self.convs_per_block):
                stride = strides if conv == 0 else (1, 1)
                sizes = [
                    _conv_output(size, kernel[axis], stride[axis], self.padding)
                    for axis, size in enumerate(sizes)
                ]
                if min(sizes) < 1:
                    raise ValueError(
                        f"Images of shape {image_shape} are too small for "
                        f"{owner}: convolution {conv + 1} of block {block + 1} "
                        f"(kernel_size={self.kernel_size}, strides={self.strides}, "
                        "padding='valid') leaves no pixels. Use padding='same', a smaller "
                        "kernel_size or fewer filters (blocks)."
                    )
            if self.pooling is not None:
                sizes = [math.ceil(size / POOL_SIZE) for size in sizes]

    def _build_keras_model(self, meta: dict[str, Any]):
        X_shape = tuple(meta["X_shape_"])
        image_shape = self._image_shape(X_shape)
        self._check_image_size(image_shape)
        owner = type(self).__name__
        n_units, output_activation = self._output_spec()
        return build_cnn(
            input_shape=X_shape[1:],
            image_shape=image_shape,
            filters=_check_positive_ints(self.filters, "filters", owner, allow_empty=False),
            n_outputs=n_units,
            output_activation=output_activation,
            augmentation=self.augmentation,
            pooling=self.pooling,
            dense_units=_check_positive_ints(
                self.dense_units, "dense_units", owner, allow_empty=True
            ),
            dropout=self.dropout,
            activation=self.activation,
            batch_normalization=self.batch_normalization,
            kernel_size=_check_pair(self.kernel_size, "kernel_size", owner),
            strides=_check_pair(self.strides, "strides", owner),
            padding=self.padding,
            convs=self.convs_per_block,
            residual=self.residual,
        )


_CNN_PARAMS_DOC = """
    filters : int or tuple of int, default=(32, 64)
        Filters of each convolutional block; one entry per block.
    kernel_size : int or (int, int), default=3
        Size of the convolution windows.
    strides : int or (int, int), default=1
        Strides of the first convolution of each block (the others use 1).
    padding : {"same", "valid"}, default="same"
        "same" keeps the image size (divided by the strides); "valid" shrinks it by
        ``kernel_size - 1`` per convolution.
    pooling : {"max", "average"} or None, default="max"
        2x2 pooling after each block (halves height and width, rounding up); None for none.
    residual : bool, default=False
        Make each block a ResNet-style residual block: the block's input is added to the output
        of its last convolution, before the last activation; a 1x1 convolution (the block's
        ``projection`` layer) adapts the input when the number of filters or the strides change
        its shape. Needs ``padding="same"``.
    convs_per_block : int, default=2
        Convolutions per block, each followed by (batch normalization and) the activation.
    activation : str, default="relu"
        Activation of the convolutions and dense layers (the names ``activation`` of the MLPs
        takes).
    batch_normalization : bool, default=False
        Batch normalization between each convolution (or dense layer) and its activation.
    dense_units : int or tuple of int, default=(64,)
        Units of the dense layers between the flattened feature maps and the output layer
        (``()`` for none).
    dropout : float in [0, 1), default=0.0
        Dropout rate after the flattened feature maps and after each dense layer.
    augmentation : dict or None, default=None
        Random data augmentation, applied by Keras preprocessing layers at the start of the
        network. They change the images only in training (``fit``); prediction sees the images
        unchanged. Keys (all optional): ``"flip"`` ("horizontal", "vertical" or
        "horizontal_and_vertical"), ``"translation"`` (largest shift, a fraction of the height
        and width, or a (height, width) pair of them), ``"rotation"`` (largest rotation either
        way, a single fraction of a full turn), ``"zoom"`` (largest zoom in or out, a single
        fraction of the size, the same for height and width) and ``"fill_mode"`` ("reflect",
        "wrap", "constant" or "nearest"; default "reflect"). Fractions are floats in [0, 1].
    image_shape : tuple (height, width, channels) or None, default=None
        How to read a 2-D ``X``: each row is reshaped (row by row, channels fastest) to this
        shape inside the network, so the estimator can follow a scaler in a ``Pipeline``. One
        entry may be -1, inferred from the number of columns. With 3-D or 4-D ``X`` it is only
        checked against the shape of the samples."""

_CNN_INPUT_DOC = """
    ``X`` is 4-D, ``(n_samples, height, width, channels)``; 3-D, ``(n_samples, height, width)``
    (one channel); or 2-D, ``(n_samples, height * width * channels)`` with ``image_shape``."""


class KerasCNNClassifier(_CNNMixin, ClassifierOutputMixin, KerasClassifierBase):
    __doc__ = f"""Convolutional neural network classifier built with Keras.
    {_CNN_INPUT_DOC}

    Binary targets get one sigmoid output unit, multiclass targets a softmax layer and
    multilabel (indicator) targets one sigmoid unit per label.

    Parameters
    ----------
    {_CNN_PARAMS_DOC.strip()}
    {TRAINING_PARAMS_DOC.strip()}
    {CLASS_WEIGHT_DOC.strip()}

    Attributes
    ----------
    {ATTRIBUTES_DOC.strip()}
    {CLASSES_DOC.strip()}

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skkeras import KerasCNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = KerasCNNClassifier(
    ...     filters=(8,), dense_units=(), image_shape=(8, 8, 1), epochs=2, random_state=0
    ... ).fit(X / 16, y)
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    _parameter_constraints: dict = {
        **KerasClassifierBase._parameter_constraints,
        **_CNN_CONSTRAINTS,
    }

    def __init__(
        self,
        filters: int | tuple[int, ...] = (32, 64),
        kernel_size: int | tuple[int, int] = 3,
        *,
        strides: int | tuple[int, int] = 1,
        padding: str = "same",
        pooling: str | None = "max",
        residual: bool = False,
        convs_per_block: int = 2,
        activation: str = "relu",
        batch_normalization: bool = False,
        dense_units: int | tuple[int, ...] = (64,),
        dropout: float = 0.0,
        augmentation: dict | None = None,
        image_shape: tuple[int, int, int] | None = None,
        optimizer: Any = "adam",
        learning_rate: float = 0.001,
        momentum: float = 0.9,
        batch_size: int = 32,
        epochs: int = 100,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int | None = 10,
        min_delta: float = 1e-4,
        restore_best_weights: bool = True,
        callbacks: Any = None,
        class_weight: dict | str | None = None,
        random_state: Any = None,
        verbose: int = 0,
        warm_start: bool = False,
        shuffle: bool = True,
        distribution: Any = None,
    ):
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.pooling = pooling
        self.residual = residual
        self.convs_per_block = convs_per_block
        self.activation = activation
        self.batch_normalization = batch_normalization
        self.dense_units = dense_units
        self.dropout = dropout
        self.augmentation = augmentation
        self.image_shape = image_shape
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.callbacks = callbacks
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.shuffle = shuffle
        self.distribution = distribution


class KerasCNNRegressor(_CNNMixin, RegressorOutputMixin, KerasRegressorBase):
    __doc__ = f"""Convolutional neural network regressor built with Keras (mean squared error
    loss).
    {_CNN_INPUT_DOC}

    Parameters
    ----------
    {_CNN_PARAMS_DOC.strip()}
    {TRAINING_PARAMS_DOC.strip()}

    Attributes
    ----------
    {ATTRIBUTES_DOC.strip()}

    Examples
    --------
    >>> import numpy as np
    >>> from skkeras import KerasCNNRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(size=(64, 6, 6, 1))
    >>> y = X.mean(axis=(1, 2, 3))
    >>> reg = KerasCNNRegressor(filters=(4,), dense_units=(), epochs=2, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **KerasRegressorBase._parameter_constraints,
        **_CNN_CONSTRAINTS,
    }

    def __init__(
        self,
        filters: int | tuple[int, ...] = (32, 64),
        kernel_size: int | tuple[int, int] = 3,
        *,
        strides: int | tuple[int, int] = 1,
        padding: str = "same",
        pooling: str | None = "max",
        residual: bool = False,
        convs_per_block: int = 2,
        activation: str = "relu",
        batch_normalization: bool = False,
        dense_units: int | tuple[int, ...] = (64,),
        dropout: float = 0.0,
        augmentation: dict | None = None,
        image_shape: tuple[int, int, int] | None = None,
        optimizer: Any = "adam",
        learning_rate: float = 0.001,
        momentum: float = 0.9,
        batch_size: int = 32,
        epochs: int = 100,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int | None = 10,
        min_delta: float = 1e-4,
        restore_best_weights: bool = True,
        callbacks: Any = None,
        random_state: Any = None,
        verbose: int = 0,
        warm_start: bool = False,
        shuffle: bool = True,
        distribution: Any = None,
    ):
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.pooling = pooling
        self.residual = residual
        self.convs_per_block = convs_per_block
        self.activation = activation
        self.batch_normalization = batch_normalization
        self.dense_units = dense_units
        self.dropout = dropout
        self.augmentation = augmentation
        self.image_shape = image_shape
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.shuffle = shuffle
        self.distribution = distribution
