"""Prediction of plain layer stacks in NumPy: the same arithmetic as Keras, without TensorFlow.

A network made only of Dense, Activation, BatchNormalization, PReLU, LeakyReLU, Dropout and
ActivityRegularization layers chained one after another (every ready-made MLP; its swish is a
sigmoid times its input, a Multiply layer) is evaluated
with NumPy float32 matrix products, reading the current weights from the model at every call
(or from given arrays: see :func:`numpy_forward`).
Predicting one row this way takes tens of microseconds instead of a graph execution; the
results equal the model's own outputs to float32 rounding. Anything else returns ``None`` from
:func:`numpy_forward` and is predicted by Keras.
"""

from __future__ import annotations

import weakref
from contextlib import suppress

import numpy as np
from scipy.special import erf, expit

from ._blas import one_blas_thread

_F32 = np.float32


def reader(variable):
    """A function returning ``variable``'s current value as a NumPy array, as cheaply as possible.

    On TensorFlow one ``ReadVariableOp`` is several times cheaper than ``Variable.numpy()``.
    """
    value = variable.value
    handle = getattr(value, "handle", None)
    if handle is not None and type(value).__module__.startswith("tensorflow"):
        import tensorflow as tf

        dtype = value.dtype
        return lambda: tf.raw_ops.ReadVariableOp(resource=handle, dtype=dtype).numpy()
    return lambda: np.asarray(variable.numpy())


def _softmax(x):
    exps = np.exp(x - x.max(axis=-1, keepdims=True))
    return exps / exps.sum(axis=-1, keepdims=True)


def _sigmoid(x):
    return expit(x)  # no overflow warning for large negative x, unlike 1 / (1 + exp(-x))


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _selu(x):
    return _F32(1.0507009873554805) * np.where(
        x > 0, x, _F32(1.6732632423543772) * np.expm1(np.minimum(x, 0))
    )


ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "softmax": _softmax,
    "elu": _elu,
    "selu": _selu,
    "softplus": lambda x: np.logaddexp(_F32(0), x),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "exponential": np.exp,
    "gelu": lambda x: _F32(0.5) * x * (1 + erf(x / np.sqrt(_F32(2)))),
}


def _softmax_in_place(x):
    x -= x.max(axis=-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=-1, keepdims=True)
    return x


#: The same functions, overwriting their argument (an array the forward pass made itself):
#: on 10,000 rows, allocating a new array per operation costs as much as the arithmetic.
IN_PLACE_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0, out=x),
    "tanh": lambda x: np.tanh(x, out=x),
    "sigmoid": lambda x: expit(x, out=x),
    "softmax": _softmax_in_place,
}


#: Activation names by activation function: serializing one costs more than predicting a
#: small batch, and studies build a forward for every epoch's weights.
_activation_names: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _activation_name(function) -> str | None:
    try:
        return _activation_names[function]
    except (KeyError, TypeError):  # not seen yet; or not hashable or weakly referable
        pass
    name = _serialized_activation_name(function)
    with suppress(TypeError):
        _activation_names[function] = name
    return name


def _serialized_activation_name(function) -> str | None:
    import keras

    name = keras.activations.serialize(function)
    if isinstance(name, dict):
        name = name.get("config", name.get("class_name"))
    return name if isinstance(name, str) else None


def _activation(function):
    return ACTIVATIONS.get(_activation_name(function))


def _fixed(value):
    value = np.asarray(value)
    return lambda: value


def _dense(layer, read):
    name = _activation_name(layer.activation)
    activation = IN_PLACE_ACTIVATIONS.get(name) or ACTIVATIONS.get(name)
    if activation is None:
        return None
    kernel = read(layer.kernel)
    bias = read(layer.bias) if layer.use_bias else None

    def apply(x):
        x = x @ kernel()  # a new array: the bias and activation may overwrite it
        if bias is not None:
            x += bias()
        return activation(x)

    return apply


def _batch_normalization(layer, read):
    if layer.axis not in (-1, len(layer.input.shape) - 1):
        return None

    mean, variance = read(layer.moving_mean), read(layer.moving_variance)
    gamma = read(layer.gamma) if layer.scale else None
    beta = read(layer.beta) if layer.center else None
    epsilon = _F32(layer.epsilon)

    def apply(x):
        inverse = 1 / np.sqrt(variance() + epsilon)
        if gamma is not None:
            inverse = inverse * gamma()
        offset = -mean() * inverse
        if beta is not None:
            offset = offset + beta()
        x = x * inverse  # a new array
        x += offset
        return x

    return apply


def _prelu(layer, read):
    alpha = read(layer.alpha)

    def apply(x):
        return np.maximum(x, 0) - alpha() * np.maximum(-x, 0)

    return apply


def _leaky_relu(layer, read):
    slope = _F32(layer.negative_slope)
    return lambda x: np.where(x >= 0, x, x * slope)


def _layer_function(layer, read):
    kind = type(layer).__name__
    if kind in {"InputLayer", "Dropout", "ActivityRegularization"}:
        return lambda x: x
    if kind == "Activation":
        return _activation(layer.activation)
    builders = {
        "Dense": _dense,
        "BatchNormalization": _batch_normalization,
        "PReLU": _prelu,
        "LeakyReLU": _leaky_relu,
    }
    return builders[kind](layer, read) if kind in builders else None


def _in_place_variant(layer):
    """The overwriting version of an Activation layer's function, if there is one."""
    if type(layer).__name__ != "Activation":
        return None
    return IN_PLACE_ACTIVATIONS.get(_activation_name(layer.activation))


def _is_swish_product(layer, previous, current, steps) -> bool:
    """Whether ``layer`` multiplies ``previous`` by ``current = sigmoid(previous)``."""
    if type(layer).__name__ != "Multiply" or not steps:
        return False
    if steps[-1] is not ACTIVATIONS["sigmoid"]:
        return False
    inputs = layer.input
    return (
        isinstance(inputs, list | tuple)
        and len(inputs) == 2
        and {id(tensor) for tensor in inputs} == {id(previous), id(current)}
    )


def numpy_forward(model, values: dict | None = None):
    """A function ``X -> outputs`` computing ``model`` in NumPy, or None if it cannot.

    ``values`` maps ``id(variable)`` to an array to use instead of that variable of ``model``
    (the function then reads none of the model's variables and keeps no reference to them).
    """
    if values is None:
        read = reader
    else:
        def read(variable):
            return _fixed(values[id(variable)])

    try:
        current = model.inputs[0]
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            return None
        # a Sequential model is a chain by construction (a reloaded one's layers do not share
        # tensor objects with model.inputs, so the identity check below cannot be used)
        chain = type(model).__name__ == "Sequential"
        steps = []
        overwriting = []  # per step, a version that may overwrite its argument (or None)
        previous = None  # the input of the last layer taken
        for layer in model.layers:
            if type(layer).__name__ == "InputLayer":
                continue
            if not chain and _is_swish_product(layer, previous, current, steps):
                # x * sigmoid(x), as skkeras builds swish: the sigmoid step becomes swish
                steps[-1], overwriting[-1] = ACTIVATIONS["swish"], None
                current = layer.output
                continue
            linked = chain or layer.input is current
            if not linked or getattr(layer, "dtype", "float32") != "float32":
                return None
            function = _layer_function(layer, read)
            if function is None:
                return None
            steps.append(function)
            overwriting.append(_in_place_variant(layer))
            previous, current = current, layer.output
        if not chain and current is not model.outputs[0]:
            return None
    except (AttributeError, ValueError, IndexError, TypeError, KeyError):
        return None

    def forward(X):
        X = original = np.asarray(X, dtype=_F32)
        # overflow to inf is what the backend computes too; it is not worth a warning
        with np.errstate(over="ignore", under="ignore"), one_blas_thread(len(X)):
            for step, in_place in zip(steps, overwriting, strict=True):
                # an array an earlier step made may be overwritten, the caller's may not
                X = in_place(X) if in_place is not None and X is not original else step(X)
        return X.astype(_F32, copy=False)

    return forward
